/**
 * Wrong input is refused clearly and does not hurt the daemon: CLI usage errors (exit 64),
 * unknown groups, unauthenticated or cross-site API requests, and commands with no daemon
 * running (exit 2).
 */
import { describe, it, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import idEncoding from 'hypercore-id-encoding'
import path from 'node:path'
import { Cluster, SolidarNode, type GroupRef } from './helpers/cluster.ts'
import { EXIT_NO_DAEMON, EXIT_USAGE, REPO_ROOT, formatResult, solidar } from './helpers/cli.ts'
import { apiRequest } from '@solidar/node/testing/api'

const tag = randomBytes(4).toString('hex')

describe('bad input', { timeout: 180_000 }, () => {
  let cluster: Cluster
  let alice: SolidarNode
  let group: GroupRef

  before(async () => {
    cluster = await Cluster.start({ names: ['alice'] })
    ;[alice] = cluster.nodes
    group = await alice.json<GroupRef>(['group', 'create', `bad-${tag}`])
  }, { timeout: 90_000 })

  after(async () => { await cluster?.close() })

  /** The API error body `{error: {code, message}}`. */
  const assertErrorBody = (body: any, status: number, text: string): void => {
    assert.equal(typeof body?.error?.code, 'string', `HTTP ${status} body has error.code: ${text}`)
    assert.equal(typeof body?.error?.message, 'string', `HTTP ${status} body has error.message: ${text}`)
  }

  it('malformed command lines exit 64 with a message on stderr', async () => {
    const cases: string[][] = [
      ['frobnicate'],
      ['send'],
      ['send', group.id],
      ['group', 'create'],
      ['join'],
      ['log', group.id, '--no-such-option'],
      ['invite', group.id, '--uses', 'many'],
      ['invite', group.id, '--expires', 'soon'],
      ['invite', group.id, '--role', 'king']
    ]
    const failures: string[] = []
    await Promise.all(cases.map(async (args) => {
      const r = await alice.run(args)
      if (r.code !== EXIT_USAGE || !/\S/.test(r.stderr)) failures.push(`solidar ${args.join(' ')}: expected exit 64 and a message on stderr\n${formatResult(r)}`)
    }))
    assert.deepEqual(failures, [], failures.join('\n\n'))
    // No stray group came out of it.
    const groups = await alice.json<Array<{ id: string }>>(['group', 'list'])
    assert.equal(groups.length, 1, JSON.stringify(groups))
  })

  it('an unknown group is a clear error, not a crash', async () => {
    const unknownId = idEncoding.encode(randomBytes(32)) as string
    const failures: string[] = []
    const cases = ['no-such-group', unknownId].flatMap((ref) =>
      [['send', ref, 'hello'], ['log', ref], ['members', ref], ['invite', ref]].map((args) => ({ ref, args })))
    await Promise.all(cases.map(async ({ ref, args }) => {
      const r = await alice.run(args)
      const problems: string[] = []
      if (r.code === 0 || r.code === null) problems.push('exit code should be non-zero')
      if (r.code === EXIT_USAGE) problems.push('an unknown group is not a usage error')
      if (!r.stderr.includes(ref) && !/group/i.test(r.stderr)) problems.push('stderr should name the group or say "group"')
      if (!/^solidar: /m.test(r.stderr)) problems.push('stderr should read "solidar: <message>"')
      if (/\n\s+at .+:\d+:\d+/.test(r.stderr)) problems.push('stderr shows a stack trace')
      if (problems.length > 0) failures.push(`solidar ${args.join(' ')}: ${problems.join('; ')}\n${formatResult(r)}`)
    }))
    assert.deepEqual(failures, [], failures.join('\n\n'))
    const api = await alice.api({ path: `/api/groups/${unknownId}/messages` })
    assert.ok(api.status >= 400 && api.status < 500, `GET messages of an unknown group: HTTP ${api.status} ${api.text}`)
    assertErrorBody(api.json, api.status, api.text)
    assert.equal(api.json.error.code, 'GROUP_NOT_FOUND', api.text)
  })

  it('API requests without a valid token get 401', async () => {
    for (const token of [null, '', 'wrong-token', alice.token.slice(0, -1)]) {
      const r = await alice.api({ path: '/api/whoami', token })
      assert.equal(r.status, 401, `token ${JSON.stringify(token)}: ${r.status} ${r.text}`)
      assertErrorBody(r.json, r.status, r.text)
      assert.ok(!r.text.includes(alice.id), 'a 401 must not leak the identity')
    }
    const post = await alice.api({ method: 'POST', path: '/api/groups', token: null, body: { name: `sneaky-${tag}` } })
    assert.equal(post.status, 401, `POST without token: ${post.text}`)
  })

  it('API requests from a foreign Origin get 403 and change nothing', async () => {
    for (const origin of ['http://evil.example', 'null', `http://127.0.0.1:${alice.port + 1}`, `http://localhost.evil.example:${alice.port}`]) {
      const r = await alice.api({ path: '/api/whoami', headers: { origin } })
      assert.equal(r.status, 403, `Origin ${origin}: ${r.status} ${r.text}`)
      assertErrorBody(r.json, r.status, r.text)
    }
    const name = `csrf-${tag}`
    const post = await alice.api({ method: 'POST', path: '/api/groups', headers: { origin: 'http://evil.example' }, body: { name } })
    assert.equal(post.status, 403, `cross-site POST: ${post.status} ${post.text}`)
    const groups = await alice.json<Array<{ name: string }>>(['group', 'list'])
    assert.ok(!groups.some((g) => g.name === name), 'the cross-site POST created a group')
    // The web UI's own origin is fine.
    const own = await alice.api({ path: '/api/whoami', headers: { origin: `http://127.0.0.1:${alice.port}` } })
    assert.equal(own.status, 200, `own origin: ${own.status} ${own.text}`)
  })

  it('API requests with a foreign Host header get 403 (DNS rebinding)', async () => {
    for (const host of ['evil.example', `evil.example:${alice.port}`, `127.0.0.1:${alice.port + 1}`, `127.0.0.1.evil.example:${alice.port}`]) {
      const r = await alice.api({ path: '/api/whoami', headers: { host } })
      assert.equal(r.status, 403, `Host ${host}: ${r.status} ${r.text}`)
      assert.ok(!r.text.includes(alice.id), 'a 403 must not leak the identity')
    }
    const local = await alice.api({ path: '/api/whoami', headers: { host: `localhost:${alice.port}` } })
    assert.equal(local.status, 200, `Host localhost:PORT: ${local.status} ${local.text}`)
  })

  it('a malformed API body is a 4xx with an error body', async () => {
    const r = await alice.api({ method: 'POST', path: '/api/groups', body: '{"name": ' })
    assert.ok(r.status >= 400 && r.status < 500, `broken JSON: ${r.status} ${r.text}`)
    const empty = await alice.api({ method: 'POST', path: '/api/groups', body: { name: '' } })
    assert.ok(empty.status >= 400 && empty.status < 500, `empty name: ${empty.status} ${empty.text}`)
    assertErrorBody(empty.json, empty.status, empty.text)
  })

  it('after all that the daemon still answers good requests', async () => {
    const r = await alice.api({ path: '/api/whoami' })
    assert.equal(r.status, 200, r.text)
    assert.equal(r.json?.id, alice.id)
    assert.equal(r.json?.name, 'alice')
    const groups = await alice.api({ path: '/api/groups' })
    assert.equal(groups.status, 200, groups.text)
    assert.ok(JSON.stringify(groups.json).includes(group.id), `GET /api/groups lists the group: ${groups.text}`)
    const sent = await alice.send(group.id, `still alive ${tag}`)
    const log = await alice.log(group.id)
    assert.ok(log.some((m) => m.id === sent.id))
    assert.ok(alice.running, 'the daemon is still running')
  })

  it('commands exit 2 when no daemon runs for the home', async () => {
    // A home with an identity but no daemon ever started.
    const idle = new SolidarNode('dora', path.join(cluster.dir, 'dora'), cluster.bootstrap)
    await idle.init()
    const failures: string[] = []
    const check = async (home: string, label: string, args: string[]): Promise<void> => {
      const r = await solidar(home, args)
      if (r.code !== EXIT_NO_DAEMON || !/\S/.test(r.stderr)) failures.push(`${label}: solidar ${args.join(' ')}: expected exit 2 and a message\n${formatResult(r)}`)
    }
    // A daemon that died without cleaning up leaves a stale daemon.json behind.
    await alice.kill9()
    await Promise.all([
      check(idle.home, 'never started', ['send', group.id, 'hello']),
      check(idle.home, 'never started', ['group', 'list']),
      check(path.join(cluster.dir, 'empty-home'), 'no identity', ['send', group.id, 'hello']),
      check(alice.home, 'after SIGKILL', ['send', group.id, 'hello']),
      check(alice.home, 'after SIGKILL', ['status', '--json'])
    ])
    assert.deepEqual(failures, [], failures.join('\n\n'))
    // whoami works without a daemon.
    const me = await idle.json<{ id: string }>(['whoami'])
    assert.equal(me.id, idle.id)
  })
})
