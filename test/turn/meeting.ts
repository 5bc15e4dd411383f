/**
 * Run by test/turn.test.ts with `ip netns exec` on the hub namespace (see topology.ts); not a
 * *.test.ts file, because it needs that topology. Starts coturn in the foreground with its own
 * config (long-term credentials, no TLS/DTLS, relay address unreachable from the browsers),
 * two Solidar nodes on the hub's loopback DHT, a TCP forwarder per browser, and Chromium in
 * each browser namespace (through a wrapper script doing `ip netns exec NS chromium`).
 *
 * Alice's node gets the TURN server from `serve --ice-server turn:USER:PASS@HOST:PORT`; Bob
 * enters it on the web app's network page (no restart: the next join uses it). Then Alice starts
 * a meeting, Bob joins, and both must decode the other's video with every succeeded,
 * nominated candidate pair relayed (local candidate type `relay`, on the TURN relay address).
 */
import { describe, it, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { chmod, writeFile } from 'node:fs/promises'
import net from 'node:net'
import path from 'node:path'
import { promisify } from 'node:util'
import type { Browser, Page } from 'playwright-core'
import { Cluster, makeTempDir, removeTempDir, type SolidarNode } from '../helpers/cluster.ts'
import { CHROMIUM, launchChromium, screenshots } from '../helpers/browser.ts'
import { startProcess, type ManagedProcess } from '../helpers/processes.ts'
import { waitFor } from '../helpers/wait.ts'
import { RELAY_ADDR, TURN_ADDR, TURN_PASS, TURN_PORT, TURN_REALM, TURN_USER } from './topology.ts'

const MEDIA_TIMEOUT = 60_000
const UI_TIMEOUT = 30_000

interface PeerStats { name: string, state: string, framesDecoded: number, audioPackets: number, pairs: Array<{ local: string, localType: string, remote: string, remoteType: string }> }
interface Person { name: 'alice' | 'bob', ns: string, node: SolidarNode, browser: Browser, page: Page, problems: string[] }

const nsOf = (name: string): string => {
  const ns = process.env[`SOLIDAR_TURN_NS_${name.toUpperCase()}`]
  if (ns === undefined || !/^ice[\w-]+$/.test(ns)) throw new Error(`SOLIDAR_TURN_NS_${name.toUpperCase()} is not set: run test/turn.test.ts`)
  return ns
}

/** `ss` lines of the UDP sockets bound to HOST:PORT. */
async function udpListening (host: string, port: number): Promise<boolean> {
  const { stdout } = await promisify(execFile)('ss', ['-Huln'])
  return stdout.split('\n').some((l) => l.trim().split(/\s+/)[3] === `${host}:${port}`)
}

/** A forwarder on the hub: TURN_ADDR:port → 127.0.0.1:port (the node's API listens on loopback only). */
function hubForwarder (port: number): Promise<net.Server> {
  const server = net.createServer((c) => {
    const up = net.connect(port, '127.0.0.1')
    c.pipe(up).pipe(c)
    c.on('error', () => up.destroy()) // a closed browser tab: drop the other side too
    up.on('error', () => c.destroy())
  })
  return new Promise((resolve, reject) => { server.once('error', reject); server.listen(port, TURN_ADDR, () => resolve(server)) })
}

/** The same in a browser's namespace, as a child process: 127.0.0.1:port there → TURN_ADDR:port. */
async function nsForwarder (ns: string, port: number): Promise<ManagedProcess> {
  const script = `const net = require('node:net')
const [port, host] = [Number(process.argv[1]), process.argv[2]]
net.createServer((c) => { const up = net.connect(port, host); c.pipe(up).pipe(c); c.on('error', () => up.destroy()); up.on('error', () => c.destroy()) })
  .listen(port, '127.0.0.1', () => console.log('ready'))`
  const proc = startProcess('ip', ['netns', 'exec', ns, process.execPath, '-e', script, String(port), TURN_ADDR], { name: `forwarder in ${ns}` })
  assert.equal((await proc.firstLine(15_000)).trim(), 'ready')
  return proc
}

async function stats (p: Person): Promise<PeerStats[]> {
  return p.page.evaluate(async () => {
    const m = (window as any).solidarMeeting
    return m ? await m.stats() : []
  })
}

describe('a meeting through TURN only', { timeout: 150_000 }, () => {
  let cluster: Cluster | null = null
  let turn: ManagedProcess | null = null
  let tmp = ''
  const people: Person[] = []
  const servers: net.Server[] = []
  const forwarders: ManagedProcess[] = []
  let group = ''
  let shot: (page: Page, name: string) => Promise<void>

  before(async () => {
    shot = await screenshots('turn')
    tmp = await makeTempDir('solidar-turn-')
    const conf = path.join(tmp, 'turnserver.conf')
    await writeFile(conf, [
      `listening-ip=${TURN_ADDR}`, `listening-port=${TURN_PORT}`, `relay-ip=${RELAY_ADDR}`, `allowed-peer-ip=${RELAY_ADDR}`,
      'min-port=49160', 'max-port=49260', 'lt-cred-mech', `user=${TURN_USER}:${TURN_PASS}`, `realm=${TURN_REALM}`,
      'no-tls', 'no-dtls', 'no-cli', 'no-multicast-peers', 'fingerprint',
      `userdb=${path.join(tmp, 'turndb')}`, `pidfile=${path.join(tmp, 'turnserver.pid')}`, 'log-file=stdout', 'simple-log', 'verbose'
    ].join('\n') + '\n')
    turn = startProcess('turnserver', ['-c', conf], { name: 'coturn' })
    await waitFor(() => udpListening(TURN_ADDR, TURN_PORT), { timeout: 15_000, interval: 100, what: `coturn to listen on ${TURN_ADDR}:${TURN_PORT}` })
      .catch((err) => { throw new Error(`${err.message}\n${turn!.describe()}`) })

    const iceUrl = `turn:${TURN_USER}:${encodeURIComponent(TURN_PASS)}@${TURN_ADDR}:${TURN_PORT}?transport=udp`
    cluster = await Cluster.start({ names: ['alice', 'bob'], serveArgs: { alice: ['--ice-server', iceUrl] } })
    const [alice, bob] = cluster.nodes
    group = (await cluster.createGroup(alice, 'Union', [bob])).id
    for (const node of cluster.nodes) {
      const name = node.name as 'alice' | 'bob'
      const ns = nsOf(name)
      servers.push(await hubForwarder(node.port))
      forwarders.push(await nsForwarder(ns, node.port))
      const wrapper = path.join(tmp, `chromium-${name}`)
      await writeFile(wrapper, `#!/bin/sh\nexec ip netns exec ${ns} ${CHROMIUM} "$@"\n`)
      await chmod(wrapper, 0o755)
      const browser = await launchChromium(tmp, { media: true, webrtc: 'playback', executablePath: wrapper })
      const context = await browser.newContext({ viewport: { width: 1000, height: 760 }, locale: 'en-US' })
      const page = await context.newPage()
      page.setDefaultTimeout(UI_TIMEOUT)
      const problems: string[] = []
      page.on('pageerror', (err) => problems.push(`page error: ${err.message}`))
      page.on('console', (msg) => { if (msg.type() === 'error') problems.push(`console: ${msg.text()}`) })
      people.push({ name, ns, node, browser, page, problems })
      await page.goto(node.url)
      await page.getByRole('heading', { name: /Hello, / }).waitFor()
    }
  })

  after(async () => {
    // Teardown goes on past any one failure: turn.test.ts ends every process left in the namespaces.
    for (const p of people) await p.browser.close().catch(() => {})
    for (const s of servers) s.close()
    for (const f of forwarders) await f.stop(2000).catch(() => {})
    await cluster?.close()
    await turn?.stop(5000).catch(() => {})
    if (tmp !== '') await removeTempDir(tmp)
  })

  it('Bob enters the TURN server in the web app; the node remembers it', async () => {
    const bob = people[1]
    await bob.page.evaluate(() => { location.hash = '#/network' })
    const form = bob.page.getByRole('group', { name: 'Servers for video meetings (STUN/TURN)' })
    // By keyboard: "Add a server" moves the focus to the new address field.
    await form.getByRole('button', { name: 'Add a server' }).focus()
    await bob.page.keyboard.press('Enter')
    const server = form.getByRole('group', { name: 'Server 1', exact: true })
    await waitFor(() => server.getByLabel('Address').evaluate((el) => el === document.activeElement), { timeout: 5_000, interval: 100, what: 'the focus on the new address field' })
    await bob.page.keyboard.type(`turn:${TURN_ADDR}:${TURN_PORT}?transport=udp`)
    await server.getByLabel('Username').fill(TURN_USER)
    await server.getByLabel('Password').fill(TURN_PASS)
    await bob.page.getByRole('button', { name: 'Save meeting servers' }).click()
    await bob.page.getByRole('status').filter({ hasText: 'Applies from the next meeting you join' }).waitFor()
    const config = await bob.node.api({ path: '/api/meetings/config' })
    assert.deepEqual(config.json.iceServers, [{ urls: `turn:${TURN_ADDR}:${TURN_PORT}?transport=udp`, username: TURN_USER, credential: TURN_PASS }])
    await shot(bob.page, '01-bob-settings')
  })

  it('the meeting servers in German and 375 px wide', async () => {
    const alice = people[0]
    const a = alice.page
    await a.evaluate(() => { location.hash = '#/network' })
    await a.getByLabel('Language').selectOption('de')
    const form = a.getByRole('group', { name: 'Server für Videokonferenzen (STUN/TURN)' })
    // Alice's list came from `serve --ice-server`: shown with its username, the password masked.
    const server = form.getByRole('group', { name: 'Server 1', exact: true })
    assert.equal(await server.getByLabel('Adresse').inputValue(), `turn:${TURN_ADDR}:${TURN_PORT}?transport=udp`)
    assert.equal(await server.getByLabel('Benutzername').inputValue(), TURN_USER)
    assert.equal(await server.getByLabel('Passwort').getAttribute('type'), 'password')
    await form.getByRole('button', { name: 'Server hinzufügen' }).waitFor()
    await a.setViewportSize({ width: 375, height: 740 })
    const overflow = await a.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)
    assert.ok(overflow <= 0, `no horizontal scrolling at 375 px on the network page (${overflow} px too wide)`)
    await shot(a, '01-alice-settings-german-mobile')
    await a.setViewportSize({ width: 1000, height: 760 })
    await a.getByLabel('Sprache').selectOption('en')
  })

  it('Alice and Bob meet; both decode video over relay candidates only', async () => {
    const [alice, bob] = people
    for (const p of people) {
      await p.page.evaluate((g) => { location.hash = `#/g/${encodeURIComponent(g)}/meeting` }, group)
      await p.page.getByRole('heading', { name: 'Video meeting' }).waitFor()
    }
    await alice.page.getByRole('button', { name: 'Start meeting' }).click()
    await bob.page.getByRole('link', { name: /Meeting\s*running, 1 participant$/ }).waitFor()
    await bob.page.getByRole('button', { name: 'Join meeting' }).click()
    for (const [p, other] of [[alice, bob], [bob, alice]] as const) {
      let last: PeerStats[] = []
      try {
        await waitFor(async () => {
          last = await stats(p)
          return last.some((s) => s.name === other.name && s.state === 'connected' && s.framesDecoded > 0 && s.audioPackets > 0 && s.pairs.length > 0)
        }, { timeout: MEDIA_TIMEOUT, interval: 500, what: `${p.name} to decode video from ${other.name}` })
      } catch (err) {
        throw new Error(`${(err as Error).message}\n${p.name}'s connections: ${JSON.stringify(last)}\nproblems: ${p.problems.join('\n')}\n${turn!.describe()}`)
      }
      const s = last.find((x) => x.name === other.name)!
      for (const pair of s.pairs) {
        assert.equal(pair.localType, 'relay', `${p.name}→${other.name}: the pair in use has a relayed local candidate: ${JSON.stringify(pair)}`)
        assert.ok(pair.local.startsWith(`${RELAY_ADDR}:`), `${p.name}: the local candidate is on coturn's relay address: ${pair.local}`)
      }
      await shot(p.page, `02-meeting-${p.name}`)
    }
    assert.match(turn!.stdout, /ALLOCATE processed, success/, 'coturn logged allocations')
    for (const p of people) assert.deepEqual(p.problems.filter((x) => x.startsWith('page error')), [], `${p.name}: no page errors`)
  })
})
