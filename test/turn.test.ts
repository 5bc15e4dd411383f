/**
 * Video meetings through a TURN server (issue 22 item 2): two Chromium browsers in network
 * namespaces with no route to each other, each with a route to a coturn server, meet through
 * it; test/turn/meeting.ts (run on the hub namespace) checks with getStats() that every
 * succeeded, nominated candidate pair has a local candidate of type `relay`. Alice's node gets
 * the TURN server with `serve --ice-server turn:USER:PASS@…`, Bob's in the web app's network page.
 * The topology is drawn in test/turn/topology.ts. Namespaces (names start with `ice`) and every
 * process in them are removed afterwards, also on failure.
 *
 * Needs root (ip netns), /usr/sbin/turnserver (Debian's coturn, run in the foreground with its
 * own config, never as the system service), /usr/bin/chromium and the built app.
 */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import path from 'node:path'
import { promisify } from 'node:util'
import { REPO_ROOT } from './helpers/cli.ts'
import { ip, netnsUnavailable, removeNamespaces, runTestFileInNs } from './helpers/netns.ts'
import { RELAY_ADDR, SIDES, TURN_ADDR } from './turn/topology.ts'

const run = promisify(execFile)
const INNER = path.join('test', 'turn', 'meeting.ts')
const INNER_TIMEOUT_MS = 150_000
const TURNSERVER = '/usr/bin/turnserver'

const skip = netnsUnavailable() ?? (existsSync(TURNSERVER) ? null : `${TURNSERVER} is missing: apt-get install coturn`)

describe('video meetings through a TURN server', { timeout: INNER_TIMEOUT_MS + 60_000, skip: skip ?? false }, () => {
  it('two browsers without a route to each other meet through coturn, over relay candidates only', async () => {
    assert.ok(existsSync(path.join(REPO_ROOT, 'web', 'dist', 'index.html')), 'web/dist is missing: run `npm run build` first (npm test does)')
    const tag = `ice${process.pid}`
    const hub = `${tag}-hub`
    const created: string[] = []
    const add = (ns: string): void => { ip(['netns', 'add', ns]); created.push(ns); ip(['-n', ns, 'link', 'set', 'lo', 'up']) }
    try {
      add(hub)
      ip(['-n', hub, 'addr', 'add', `${TURN_ADDR}/32`, 'dev', 'lo'])
      ip(['-n', hub, 'addr', 'add', `${RELAY_ADDR}/32`, 'dev', 'lo'])
      const env: Record<string, string> = {}
      for (const [i, side] of SIDES.entries()) {
        const ns = `${tag}-${side.name}`
        add(ns)
        ip(['link', 'add', `h${i}`, 'netns', hub, 'type', 'veth', 'peer', 'name', 'veth0', 'netns', ns])
        ip(['-n', hub, 'addr', 'add', `${side.hubAddr}/30`, 'dev', `h${i}`])
        ip(['-n', hub, 'link', 'set', `h${i}`, 'up'])
        ip(['-n', ns, 'addr', 'add', `${side.addr}/30`, 'dev', 'veth0'])
        ip(['-n', ns, 'link', 'set', 'veth0', 'up'])
        ip(['-n', ns, 'route', 'add', `${TURN_ADDR}/32`, 'via', side.hubAddr])
        env[`SOLIDAR_TURN_NS_${side.name.toUpperCase()}`] = ns
      }
      // The topology holds what the header says: no forwarding on the hub, no route between the browsers or to the relay address.
      const { stdout: forward } = await run('ip', ['netns', 'exec', hub, 'cat', '/proc/sys/net/ipv4/ip_forward'])
      assert.equal(forward.trim(), '0', 'the hub does not forward packets')
      for (const [i, side] of SIDES.entries()) {
        const other = SIDES[1 - i]
        for (const dest of [other.addr, RELAY_ADDR]) {
          assert.throws(() => ip(['-n', `${tag}-${side.name}`, 'route', 'get', dest]), /unreachable/i, `${side.name} has no route to ${dest}`)
        }
        assert.match(ip(['-n', `${tag}-${side.name}`, 'route', 'get', TURN_ADDR]), new RegExp(`via ${side.hubAddr.replace(/\./g, '\\.')}`))
      }
      await runTestFileInNs(hub, INNER, { what: 'the TURN meeting test on the hub', timeoutMs: INNER_TIMEOUT_MS, env })
    } finally {
      // Never throws here (that would hide the test's own error): problems are printed.
      for (const problem of removeNamespaces(created)) console.error(`cleanup: ${problem}`)
    }
  })
})
