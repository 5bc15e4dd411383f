/**
 * `solidar invite [create] | list | revoke` and the API routes behind them, against a real daemon
 * (one node, no network: listing and revoking are log entries of the group itself).
 */
import { describe, it, before, after } from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { LongRunning, run } from './helpers/cli.ts'
import { raw } from '@solidar/node/testing/http'

describe('solidar invite list / revoke', { timeout: 300_000 }, () => {
  let root: string
  before(() => { root = fs.mkdtempSync(path.join(os.tmpdir(), 'solidar-invites-cli-')) })
  after(() => { fs.rmSync(root, { recursive: true, force: true }) })

  it('help documents the subcommands, states and examples', async () => {
    const top = await run(['invite', '--help'])
    assert.equal(top.code, 0)
    for (const word of ['invite list GROUP', 'invite revoke GROUP ID', 'create']) assert.ok(top.stdout.includes(word), `invite --help mentions ${word}`)
    const list = await run(['invite', 'list', '--help'])
    for (const word of ['open', 'used', 'expired', 'revoked', 'orphaned', '--json', '--open', 'Example']) assert.ok(list.stdout.includes(word), `invite list --help mentions ${word}`)
    const revoke = await run(['invite', 'revoke', '--help'])
    for (const word of ['<group>', '<invite>', 'code itself', '--json', 'Examples']) assert.ok(revoke.stdout.includes(word), `invite revoke --help mentions ${word}`)
    assert.equal((await run(['invite', 'revoke', 'g'])).code, 64, 'a missing invite is a usage error')
  })

  it('create (default and explicit), list, revoke by code and by id; errors are coded; the API agrees', async () => {
    const h = path.join(root, 'daemon')
    const serve = new LongRunning(['--home', h, 'serve', '--port', '0', '--no-dht', '--open-hint'])
    try {
      const [, port, token] = await serve.waitFor(/^http:\/\/127\.0\.0\.1:(\d+)\/#token=([0-9a-f]{64})\n/, 60_000)
      const group = JSON.parse((await run(['--home', h, 'group', 'create', 'Betriebsrat Nord', '--json'])).stdout)

      const first = JSON.parse((await run(['--home', h, 'invite', group.id, '--uses', '2', '--json'])).stdout)
      assert.deepEqual(Object.keys(first).sort(), ['code', 'expires', 'group', 'id', 'role', 'uses'])
      const second = JSON.parse((await run(['--home', h, 'invite', 'create', 'Betriebsrat Nord', '--json'])).stdout)
      const human = await run(['--home', h, 'invite', group.id])
      assert.equal(human.code, 0, human.stderr)
      assert.match(human.stdout, /^solidar1\S+\n$/, 'still the code alone on stdout')
      assert.match(human.stderr, /\(id \S+\)/, 'the id to revoke it by is on stderr')

      const listed = JSON.parse((await run(['--home', h, 'invite', 'list', group.id, '--json'])).stdout)
      assert.equal(listed.length, 3)
      const one = listed.find((i: { id: string }) => i.id === first.id)
      assert.deepEqual({ status: one.status, uses: one.uses, used: one.used, role: one.role }, { status: 'open', uses: 2, used: 0, role: 'member' })
      assert.ok(!JSON.stringify(listed).includes('solidar1'), 'the list never contains a code')
      const table = await run(['--home', h, 'invite', 'list', 'Betriebsrat Nord'])
      assert.match(table.stdout, /^ID +STATE +ROLE +USED +EXPIRES +BY/)
      assert.match(table.stdout, new RegExp(`${first.id} +open +member +0/2 `))

      // revoke by the code (sent to the wrong chat) and by the id
      const byCode = await run(['--home', h, 'invite', 'revoke', group.id, first.code])
      assert.equal(byCode.code, 0, byCode.stderr)
      assert.equal(byCode.stdout, `Revoked invite ${first.id}; its code admits nobody now.\n`)
      const byId = JSON.parse((await run(['--home', h, 'invite', 'revoke', 'Betriebsrat Nord', second.id, '--json'])).stdout)
      assert.equal(byId.status, 'revoked')
      assert.equal(typeof byId.revoked, 'number')

      const open = JSON.parse((await run(['--home', h, 'invite', 'list', group.id, '--open', '--json'])).stdout)
      assert.deepEqual(open.map((i: { id: string }) => i.id), listed.filter((i: { id: string }) => i.id !== first.id && i.id !== second.id).map((i: { id: string }) => i.id))

      const again = await run(['--home', h, 'invite', 'revoke', group.id, first.id])
      assert.equal(again.code, 1)
      assert.match(again.stderr, /already revoked/)
      const unknown = await run(['--home', h, 'invite', 'revoke', group.id, 'nonsense'])
      assert.equal(unknown.code, 1)
      assert.match(unknown.stderr, /^solidar: No invite "nonsense" in this group/)
      const badCode = await run(['--home', h, 'invite', 'revoke', group.id, first.code.slice(0, -3) + 'yyy'])
      assert.equal(badCode.code, 1)
      assert.match(badCode.stderr, /This invite code is not valid/)

      // the same through the HTTP API
      const api = (method: string, p: string, body?: unknown) => raw({ port: Number(port), method, path: p, token, body, headers: { accept: 'application/json' } })
      const list = await api('GET', `/api/groups/${group.id}/invites`)
      assert.equal(list.status, 200)
      assert.equal(list.json.length, 3)
      const notFound = await api('POST', `/api/groups/${group.id}/invites/revoke`, { invite: 'nonsense' })
      assert.equal(notFound.status, 404)
      assert.equal(notFound.json.error.code, 'INVITE_NOT_FOUND')
      const noBody = await api('POST', `/api/groups/${group.id}/invites/revoke`, { other: 1 })
      assert.equal(noBody.status, 400)
      const noToken = await raw({ port: Number(port), method: 'GET', path: `/api/groups/${group.id}/invites` })
      assert.equal(noToken.status, 401, 'the listing needs the token like every API route')
      const third = listed.find((i: { id: string }) => i.id !== first.id && i.id !== second.id)
      const revoked = await api('POST', `/api/groups/${group.id}/invites/revoke`, { invite: third.id })
      assert.equal(revoked.status, 200)
      assert.equal(revoked.json.status, 'revoked')
    } finally {
      assert.equal(await serve.stop('SIGTERM'), 0, serve.stderr)
    }
  })
})
