/** The `solidar` command line: arguments, exit codes, output shapes, and a daemon's life cycle. */
import { describe, it, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { freeUdpPort } from '@solidar/node/testing/ports'
import dgram from 'node:dgram'
import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { runDhtBootstrap } from '@solidar/node/runtime'
import { LongRunning, run } from './helpers/cli.ts'

describe('solidar CLI', { timeout: 300_000 }, () => {
  let root: string
  const home = (name: string): string => path.join(root, name)

  before(() => { root = fs.mkdtempSync(path.join(os.tmpdir(), 'solidar-cli-test-')) })
  after(() => { fs.rmSync(root, { recursive: true, force: true }) })

  it('--help exits 0 and documents the commands, exit codes and examples', async () => {
    const r = await run(['--help'])
    assert.equal(r.code, 0, r.stderr)
    for (const word of ['Usage: solidar', 'init', 'serve', 'invite', 'join', 'log', '--home', 'Exit codes', 'Getting started']) {
      assert.ok(r.stdout.includes(word), `help mentions ${word}`)
    }
    for (const args of [['help', 'send'], ['send', '--help'], ['group', 'create', '--help'], ['serve', '--help'], ['--version']]) {
      const sub = await run(args)
      assert.equal(sub.code, 0, `${args.join(' ')}: ${sub.stderr}`)
      assert.match(sub.stdout, args[0] === '--version' ? /^\d+\.\d+\.\d+\n$/ : /Usage: solidar/)
    }
    assert.doesNotMatch((await run(['serve', '--help'])).stdout, /open-hint|dht-host/, '--open-hint and --dht-host (tests) are hidden')
  })

  it('usage errors exit 64 with "solidar: …" and a hint', async () => {
    const cases = [['--bogus'], ['frobnicate'], ['send'], ['send', 'g'], ['group', 'create'], ['init'],
      ['invite', 'g', '--uses', 'many'], ['invite', 'g', '--role', 'king'], ['join', 'c', '--timeout', '9'],
      ['serve', '--bootstrap', 'nope'], ['serve', '--bootstrap', '127.0.0.1:1', '--public-dht'],
      ['serve', '--no-dht', '--public-dht'], ['serve', '--port', '70000'], ['serve', '--dht-host', 'somewhere'], ['log'], ['log', 'g', '--dm', 'm'], []]
    // Four at a time: sixteen CLI processes at once on two busy cores can exceed each run's timeout.
    const results: Array<{ args: string[], r: Awaited<ReturnType<typeof run>> }> = []
    for (let i = 0; i < cases.length; i += 4) {
      results.push(...await Promise.all(cases.slice(i, i + 4).map(async (args) => ({ args, r: await run(['--home', home('usage'), ...args]) }))))
    }
    for (const { args, r } of results) {
      assert.equal(r.code, 64, `solidar ${args.join(' ')}: exit ${r.code}\n${r.stderr}`)
      assert.ok(r.stderr.trim().length > 0, `solidar ${args.join(' ')} explains itself`)
      assert.equal(r.stdout, '', `solidar ${args.join(' ')} prints nothing on stdout`)
    }
    const r = await run(['--home', home('usage'), 'send', '--bogus', 'g', 't'])
    assert.match(r.stderr, /^solidar: unknown option '--bogus'/)
    assert.match(r.stderr, /--help/)
    assert.doesNotMatch(r.stderr, /is an id/, 'a misspelt option gets no id hint')
  })

  it('consistent CLI: a bad invite code is a usage error at once, help texts write defaults one way, group --help names rename, dht refuses a port in use, a port in use is refused before an identity is made', async () => {
    const garbage = await run(['--home', home('garbage'), 'join', 'garbage'])
    assert.equal(garbage.code, 64, garbage.stderr)
    assert.doesNotMatch(garbage.stderr, /Waiting/, 'no waiting for a code that is not one')
    assert.match(garbage.stderr, /^solidar: This invite code is not valid/)

    for (const args of [['serve', '--help'], ['join', '--help'], ['invite', '--help'], ['repair', '--help'], ['dht', '--help'], ['log', '--help'], ['device', 'add', '--help'], ['mirror', 'serve', '--help']]) {
      const help = (await run(args)).stdout.replace(/\s+/g, ' ')
      for (const m of help.matchAll(/\(default[^)]*\)/g)) assert.match(m[0], /^\(default: /, `solidar ${args.join(' ')}: "${m[0]}"`)
      assert.doesNotMatch(help, /\(default: [^)]*\) \(default: /, `solidar ${args.join(' ')} states a default once`)
      assert.doesNotMatch(help, /\(default: "/, `solidar ${args.join(' ')}: no quoted defaults`)
    }
    assert.match((await run(['group', '--help'])).stdout, /create, list and rename groups/)

    const taken = dgram.createSocket('udp4')
    await new Promise<void>((resolve) => taken.bind(0, '127.0.0.1', resolve))
    try {
      const dht = await run(['dht', '--port', String(taken.address().port)])
      assert.equal(dht.code, 1, dht.stderr)
      assert.match(dht.stderr, new RegExp(`^solidar: UDP port ${taken.address().port} on 127\\.0\\.0\\.1 is in use`))
      assert.equal(dht.stdout, '', 'no address printed for a port it does not have')
    } finally {
      taken.close()
    }

    const server = net.createServer()
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    try {
      const port = (server.address() as net.AddressInfo).port
      const h = home('port-taken')
      const viaNpm = await run(['--home', h, 'serve', '--port', String(port), '--no-dht', '--open-hint'], { env: { npm_lifecycle_event: 'start' } })
      assert.equal(viaNpm.code, 1)
      assert.match(viaNpm.stderr, new RegExp(`Port ${port} on 127\\.0\\.0\\.1 is already in use.*\`npm start -- --port N\``))
      assert.equal(fs.existsSync(path.join(h, 'identity.json')), false, 'no identity made before the port was known to be free')
      const direct = await run(['--home', h, 'serve', '--port', String(port), '--no-dht'], { env: { npm_lifecycle_event: '' } })
      assert.match(direct.stderr, /Choose another with --port N, or --port 0/)
    } finally {
      server.close()
    }
  })

  it('an id that starts with "-" (made by an earlier version) gets a hint, and is accepted after --', async () => {
    const id = '-KM0-NgS6SrTIhwp'
    const asOption = await run(['--home', home('dash-id'), 'pad', 'export', 'g', id])
    assert.equal(asOption.code, 64, asOption.stderr)
    assert.ok(asOption.stderr.includes(`put -- before it: solidar … -- ${id}`), asOption.stderr)
    const afterDashes = await run(['--home', home('dash-id'), 'pad', 'export', 'g', '--', id])
    // Parsed as the PAD argument: the command gets as far as looking for the node.
    assert.equal(afterDashes.code, 2, afterDashes.stderr)
    assert.match(afterDashes.stderr, /No Solidar node is running/)
  })

  it('a bad --expires value exits 64 and says what a duration looks like', async () => {
    for (const value of ['soon', '10', '5x', '-1h']) {
      const r = await run(['--home', home('expires'), 'invite', 'g', '--expires', value])
      assert.equal(r.code, 64, `--expires ${value}: ${r.stderr}`)
      assert.match(r.stderr, /30s|unit/, r.stderr)
    }
  })

  it('commands that need a node exit 2 with a clear message when none runs', async () => {
    const h = home('nodaemon')
    for (const args of [['send', 'g', 'hi'], ['group', 'list'], ['log', 'g'], ['status'], ['invite', 'g']]) {
      const r = await run(['--home', h, ...args])
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`)
      assert.equal(r.stderr, `solidar: No Solidar node is running for home ${h}; start one with \`solidar serve\`\n`)
    }
    // A stale daemon.json (dead pid) is no daemon either.
    fs.mkdirSync(h, { recursive: true })
    fs.writeFileSync(path.join(h, 'daemon.json'), JSON.stringify({ pid: 2 ** 22 + 12345, host: '127.0.0.1', port: 1, url: 'http://127.0.0.1:1' }))
    assert.equal((await run(['--home', h, 'status'])).code, 2)
  })

  it('$SOLIDAR_HOME chooses the home when --home is absent', async () => {
    const h = home('env')
    const r = await run(['send', 'g', 'hi'], { env: { SOLIDAR_HOME: h } })
    assert.equal(r.code, 2)
    assert.ok(r.stderr.includes(h), r.stderr)
  })

  it('init creates an identity once; whoami reads it without a daemon', async () => {
    const h = home('init')
    const missing = await run(['--home', h, 'whoami'])
    assert.equal(missing.code, 1)
    assert.match(missing.stderr, /^solidar: No identity yet: run `solidar init --name NAME` first/)

    const first = await run(['--home', h, 'init', '--name', 'Alex Muster', '--json'])
    assert.equal(first.code, 0, first.stderr)
    const created = JSON.parse(first.stdout)
    assert.deepEqual(Object.keys(created).sort(), ['device', 'fingerprint', 'id', 'name'])
    assert.equal(created.device, created.fingerprint, 'a first device: its key is the member key')
    assert.equal(created.name, 'Alex Muster')

    const second = await run(['--home', h, 'init', '--name', 'Someone Else'])
    assert.equal(second.code, 1)
    assert.match(second.stderr, /^solidar: This home already has an identity/)
    assert.ok(second.stderr.includes(created.id))

    const who = await run(['--home', h, 'whoami', '--json'])
    assert.equal(who.code, 0, who.stderr)
    const me = JSON.parse(who.stdout)
    assert.deepEqual(me, created)
    assert.equal(typeof me.id, 'string')
    assert.match(me.fingerprint, /^[0-9a-f]{4}( [0-9a-f]{4}){4}$/)

    const human = await run(['--home', h, 'whoami'])
    assert.match(human.stdout, /name: +Alex Muster/)
    assert.equal(fs.statSync(path.join(h, 'identity.json')).mode & 0o777, 0o600)

    const badName = await run(['--home', home('badname'), 'init', '--name', 'a\u0007b'])
    assert.equal(badName.code, 64, badName.stderr)
  })

  it('repair: usage errors, no network, a device in no group, a running node', async () => {
    const both = await run(['--home', home('repair-usage'), 'repair', '--force', '--finish'])
    assert.equal(both.code, 64, both.stderr)
    assert.match(both.stderr, /either --force or --finish/)
    const h = home('repair')
    assert.equal((await run(['--home', h, 'init', '--name', 'Rita'])).code, 0)
    const offline = await run(['--home', h, 'repair', '--no-dht'])
    assert.equal(offline.code, 1)
    assert.match(offline.stderr, /No network to repair from/)
    const nothing = await run(['--home', h, 'repair', '--bootstrap', '127.0.0.1:9', '--json'])
    assert.equal(nothing.code, 0, nothing.stderr)
    assert.equal(JSON.parse(nothing.stdout).status, 'healthy')
    const finish = await run(['--home', h, 'repair', '--finish', '--bootstrap', '127.0.0.1:9'])
    assert.equal(finish.code, 1)
    assert.match(finish.stderr, /No repair is pending/)
  })

  it('serve refuses to start without an identity', async () => {
    const r = await run(['--home', home('noid'), 'serve', '--port', '0', '--no-dht'])
    assert.equal(r.code, 1)
    assert.match(r.stderr, /solidar init --name NAME/)
  })

  it('a daemon: URL line, daemon.json, commands, --follow, single instance, clean SIGTERM', async () => {
    const h = home('daemon')
    // --open-hint (npm start) creates an identity on a fresh machine.
    const serve = new LongRunning(['--home', h, 'serve', '--port', '0', '--no-dht', '--open-hint'])
    try {
      const [url, port, token] = await serve.waitFor(/^http:\/\/127\.0\.0\.1:(\d+)\/#token=([0-9a-f]{64})\n/, 60_000)
      assert.equal(serve.stdout.split('\n')[0], url.trim(), 'the URL is the first stdout line')
      await serve.waitFor(/Open the address above \(the first line\) in your web browser/, 10_000, 'stderr')
      assert.match(serve.stderr, /created one named/)
      assert.match(serve.stderr, /choose another name in the web app/, 'no advice to delete the home folder')
      assert.equal(serve.stderr.includes(url.trim()), false, 'the address is printed once (stdout)')
      assert.equal(fs.readFileSync(path.join(h, 'token'), 'utf8').trim(), token)
      const info = JSON.parse(fs.readFileSync(path.join(h, 'daemon.json'), 'utf8'))
      assert.deepEqual(info, { pid: serve.child.pid, host: '127.0.0.1', port: Number(port), url: `http://127.0.0.1:${port}` })
      assert.equal(fs.existsSync(path.join(h, 'config.json')), false, '--no-dht is not remembered')

      const who = JSON.parse((await run(['--home', h, 'whoami', '--json'])).stdout)

      const twice = await run(['--home', h, 'serve', '--port', '0', '--no-dht'])
      assert.equal(twice.code, 1)
      assert.match(twice.stderr, /already running for home/)
      const repairing = await run(['--home', h, 'repair', '--bootstrap', '127.0.0.1:9'])
      assert.equal(repairing.code, 1)
      assert.match(repairing.stderr, /stop it before repairing/)

      const group = JSON.parse((await run(['--home', h, 'group', 'create', 'Betriebsrat Nord', '--json'])).stdout)
      assert.deepEqual(Object.keys(group).sort(), ['id', 'name'])
      const list = JSON.parse((await run(['--home', h, 'group', 'list', '--json'])).stdout)
      assert.deepEqual(list, [{ id: group.id, name: 'Betriebsrat Nord', role: 'admin', members: 1, unread: 0 }])
      const table = (await run(['--home', h, 'group', 'list'])).stdout
      assert.match(table, /^NAME +ROLE +MEMBERS +UNREAD +ID\n/, 'the table has an unread column')
      assert.match(table, new RegExp(`Betriebsrat Nord +admin +1 +- +${group.id}`), 'nothing unread shows as -')

      const sent = await run(['--home', h, 'send', 'Betriebsrat Nord', 'Hallo \u001b[31mzusammen', '--json'])
      assert.equal(sent.code, 0, sent.stderr)
      const message = JSON.parse(sent.stdout)
      assert.equal(message.authorName, who.name)

      // Long text: from standard input ("-") or a file, one final newline dropped; not UTF-8 is refused.
      assert.equal((await run(['--home', h, 'group', 'create', 'Long texts'])).code, 0)
      const long = 'line one\n\n\tindented line two ' + 'ä'.repeat(3000)
      const piped = await run(['--home', h, 'send', 'Long texts', '-', '--json'], { input: `${long}\n` })
      assert.equal(piped.code, 0, piped.stderr)
      assert.equal(JSON.parse(piped.stdout).text, long)
      const file = path.join(h, 'message.txt')
      fs.writeFileSync(file, 'from a file\r\n')
      const filed = await run(['--home', h, 'send', 'Long texts', '--text-file', file, '--json'])
      assert.equal(JSON.parse(filed.stdout).text, 'from a file')
      fs.writeFileSync(file, Buffer.from([0x66, 0xfc, 0x72]))
      const latin1 = await run(['--home', h, 'send', 'Long texts', '--text-file', file])
      assert.equal(latin1.code, 64)
      assert.match(latin1.stderr, /is not UTF-8 text/)
      const both = await run(['--home', h, 'send', 'Long texts', 'x', '--text-file', file])
      assert.equal(both.code, 64)
      const invisible = await run(['--home', h, 'send', 'Long texts', '\u200B'])
      assert.equal(invisible.code, 1)
      assert.match(invisible.stderr, /something visible/)
      assert.match((await run(['send', '--help'])).stdout, /at most 16,000 characters/)

      const longLog = JSON.parse((await run(['--home', h, 'log', 'Long texts', '--json'])).stdout)
      assert.deepEqual(longLog.map((m: { text: string }) => m.text), [long, 'from a file'])
      // A reply says what it answers.
      const answer = await run(['--home', h, 'send', 'Long texts', 'Agreed', '--reply-to', JSON.parse(filed.stdout).id])
      assert.equal(answer.code, 0, answer.stderr)
      const shown = (await run(['--home', h, 'log', 'Long texts'])).stdout
      assert.match(shown, new RegExp(`↳ reply to ${who.name}: from a file\\n\\[\\d\\d:\\d\\d\\] ${who.name}: Agreed\\n$`))
      // Reactions: one emoji per member and message, shown under the message; taken back with --remove.
      const reacted = await run(['--home', h, 'react', 'Long texts', JSON.parse(filed.stdout).id, '👍', '--json'])
      assert.equal(reacted.code, 0, reacted.stderr)
      assert.deepEqual(JSON.parse(reacted.stdout).reactions, [{ emoji: '👍', members: [who.id] }])
      assert.match((await run(['--home', h, 'log', 'Long texts'])).stdout, /: from a file\n +👍 1\n/)
      const notEmoji = await run(['--home', h, 'react', 'Long texts', JSON.parse(filed.stdout).id, 'yes'])
      assert.equal(notEmoji.code, 1)
      assert.match(notEmoji.stderr, /one emoji/)
      assert.equal((await run(['--home', h, 'react', 'Long texts', JSON.parse(filed.stdout).id])).code, 64, 'no emoji and no --remove')
      const back = await run(['--home', h, 'react', 'Long texts', JSON.parse(filed.stdout).id, '--remove', '--json'])
      assert.equal(back.code, 0, back.stderr)
      assert.equal(JSON.parse(back.stdout).reactions, undefined)

      const log = JSON.parse((await run(['--home', h, 'log', group.id, '--json'])).stdout)
      assert.deepEqual(log.map((m: { id: string }) => m.id), [message.id])
      const human = await run(['--home', h, 'log', group.id])
      assert.match(human.stdout, /^\[\d\d:\d\d\] .+: Hallo \ufffd\[31mzusammen\n$/, 'escape sequences from others never reach the terminal')

      const follow = new LongRunning(['--home', h, 'log', group.id, '--follow', '--json'])
      try {
        await follow.waitFor(new RegExp(`"id":"${message.id}"`))
        await run(['--home', h, 'send', group.id, 'live'])
        const [line] = await follow.waitFor(/^.*"text":"live".*$/m)
        assert.equal(JSON.parse(line).text, 'live', 'one JSON object per line')
      } finally {
        assert.equal(await follow.stop('SIGINT'), 0)
      }
      // By name in another case: the node resolves it for the history and for the live events alike.
      const byName = new LongRunning(['--home', h, 'log', 'betriebsrat NORD', '--follow', '--json'])
      try {
        await byName.waitFor(/"text":"live"/)
        await run(['--home', h, 'send', 'Betriebsrat Nord', 'live by name'])
        const [line] = await byName.waitFor(/^.*"text":"live by name".*$/m)
        assert.equal(JSON.parse(line).text, 'live by name')
      } finally {
        assert.equal(await byName.stop('SIGINT'), 0)
      }
      // One page: the newest --limit messages, older ones --before the oldest shown.
      const texts = (out: string): string[] => JSON.parse(out).map((m: { text: string }) => m.text)
      const lastTwo = await run(['--home', h, 'log', group.id, '--limit', '2', '--json'])
      assert.equal(lastTwo.code, 0, lastTwo.stderr)
      assert.deepEqual(texts(lastTwo.stdout), ['live', 'live by name'])
      const earlier = await run(['--home', h, 'log', group.id, '--limit', '2', '--before', JSON.parse(lastTwo.stdout)[0].id, '--json'])
      assert.deepEqual(texts(earlier.stdout).map((x) => x.slice(0, 5)), ['Hallo'], 'fewer than the limit: the start')
      const all = await run(['--home', h, 'log', group.id, '--all', '--json'])
      assert.deepEqual(texts(all.stdout).slice(1), ['live', 'live by name'], '--all: every page')
      assert.equal((await run(['--home', h, 'log', group.id, '--all', '--limit', '2'])).code, 64)
      const humanPage = await run(['--home', h, 'log', group.id, '-n', '1'])
      assert.match(humanPage.stdout, /^\[\d\d:\d\d\] .+: live by name\n$/)
      const zero = await run(['--home', h, 'log', group.id, '--limit', '0'])
      assert.equal(zero.code, 64, 'a usage error')
      assert.match(zero.stderr, /whole number of 1 or more/)
      const tooMany = await run(['--home', h, 'log', group.id, '--limit', '501'])
      assert.equal(tooMany.code, 1)
      assert.match(tooMany.stderr, /limit must be a whole number from 1 to 500/)
      const followBefore = await run(['--home', h, 'log', group.id, '--follow', '--before', message.id])
      assert.equal(followBefore.code, 64, followBefore.stderr)
      const lastPage = new LongRunning(['--home', h, 'log', group.id, '--follow', '--limit', '1', '--json'])
      try {
        await lastPage.waitFor(/"text":"live by name"/)
        await run(['--home', h, 'send', group.id, 'after the page'])
        await lastPage.waitFor(/"text":"after the page"/)
        assert.deepEqual(lastPage.stdout.trim().split('\n').map((l) => JSON.parse(l).text), ['live by name', 'after the page'], 'the last page, then live')
      } finally {
        assert.equal(await lastPage.stop('SIGINT'), 0)
      }
      const nowhere = await run(['--home', h, 'log', 'no-such-group', '--follow'])
      assert.equal(nowhere.code, 1)
      assert.match(nowhere.stderr, /No group matches "no-such-group"/)

      const unknown = await run(['--home', h, 'send', 'no-such-group', 'hi'])
      assert.equal(unknown.code, 1)
      assert.match(unknown.stderr, /^solidar: No group matches "no-such-group"\n$/)

      const invite = await run(['--home', h, 'invite', group.id, '--expires', '10m', '--uses', '2'])
      assert.equal(invite.code, 0, invite.stderr)
      assert.match(invite.stdout, /^\S+\n$/, 'the code alone on stdout')

      const status = JSON.parse((await run(['--home', h, 'status', '--json'])).stdout)
      assert.equal(status.network.mode, 'none')
      assert.ok(status.memory.rss > 0 && status.memory.heapUsed > 0, 'memory in bytes')
      assert.match((await run(['--home', h, 'status'])).stdout, /^memory: +rss \d+ MB; heap \d+\/\d+ MB; external \d+ MB \(array buffers \d+ MB\)$/m)
    } finally {
      assert.equal(await serve.stop('SIGTERM'), 0, serve.stderr)
    }
    assert.equal(fs.existsSync(path.join(h, 'daemon.json')), false, 'daemon.json is removed on a clean exit')
    assert.equal((await run(['--home', h, 'group', 'list'])).code, 2)
  })

  it('serve with a bootstrap address where nothing answers says so in the terminal and in status, until a DHT node runs there', async () => {
    const h = home('silent-bootstrap')
    const port = await freeUdpPort()
    const serve = new LongRunning(['--home', h, 'serve', '--port', '0', '--bootstrap', `127.0.0.1:${port}`, '--open-hint'])
    let dht: { close: () => Promise<void> } | null = null
    try {
      await serve.waitFor(/^http:\/\/127\.0\.0\.1:\d+\/#token=/, 60_000)
      await serve.waitFor(new RegExp(`Warning: the bootstrap node 127\\.0\\.0\\.1:${port} does not answer`), 60_000, 'stderr')
      const status = await run(['--home', h, 'status'])
      assert.equal(status.code, 0, status.stderr)
      assert.match(status.stdout, new RegExp(`warning: +the bootstrap node 127\\.0\\.0\\.1:${port} does not answer`))
      const json = JSON.parse((await run(['--home', h, 'status', '--json'])).stdout)
      const hyperswarm = json.network.transports.find((t: { name: string }) => t.name === 'hyperswarm')
      assert.deepEqual(hyperswarm.bootstrap, { nodes: 1, answering: 0, checked: true, silent: [`127.0.0.1:${port}`] })

      dht = await runDhtBootstrap({ host: '127.0.0.1', port })
      await serve.waitFor(/The bootstrap nodes answer now\./, 60_000, 'stderr')
      const after = await run(['--home', h, 'status'])
      assert.doesNotMatch(after.stdout, /warning:/)
    } finally {
      assert.equal(await serve.stop(), 0)
      await dht?.close()
    }
  })
})

