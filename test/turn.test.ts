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
import { childEnv, startProcess } from './helpers/processes.ts'
import { ip, netnsUnavailable } from './helpers/netns.ts'
import { RELAY_ADDR, SIDES, TURN_ADDR } from './turn/topology.ts'

const run = promisify(execFile)
const INNER = path.join('test', 'turn', 'meeting.ts')
const INNER_TIMEOUT_MS = 150_000
const TURNSERVER = '/usr/bin/turnserver'

async function pidsIn (ns: string): Promise<number[]> {
  const { stdout } = await run('ip', ['netns', 'pids', ns]).catch(() => ({ stdout: '' }))
  return stdout.split(/\s+/).filter((s) => /^\d+$/.test(s)).map(Number)
}

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
      const inner = startProcess('ip', ['netns', 'exec', hub, process.execPath, '--import', 'tsx', '--test', '--test-reporter=spec', INNER],
        { name: 'TURN meeting (on the hub)', cwd: REPO_ROOT, env: childEnv(env) })
      let timer: NodeJS.Timeout | undefined
      const timedOut = new Promise<'timeout'>((resolve) => { timer = setTimeout(() => resolve('timeout'), INNER_TIMEOUT_MS) })
      const result = await Promise.race([inner.exited, timedOut])
      clearTimeout(timer)
      if (result === 'timeout') await inner.kill9().catch(() => {})
      const output = `${inner.stdout}\n${inner.stderr}`
      if (process.env.SOLIDAR_TEST_VERBOSE === '1' || result === 'timeout' || result.code !== 0) console.log(output)
      assert.notEqual(result, 'timeout', `the TURN meeting test did not finish within ${INNER_TIMEOUT_MS / 1000} s`)
      assert.equal(inner.exit?.code, 0, 'the TURN meeting test on the hub passed (its output is above)')
      assert.match(inner.stdout, /^ℹ pass [1-9]/m)
      assert.match(inner.stdout, /^ℹ fail 0$/m)
    } finally {
      for (const ns of created) {
        for (const pid of await pidsIn(ns)) { try { process.kill(pid, 'SIGKILL') } catch {} }
      }
      for (const ns of created.reverse()) await run('ip', ['netns', 'del', ns]).catch(() => {})
    }
  })
})
