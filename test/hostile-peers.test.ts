/**
 * Reliability 6b — hostile peers and a hostile local client against a live daemon.
 *
 * Peers: an attacker on the same loopback DHT that knows the group's discovery key (as any
 * DHT observer of the topic does) connects to alice's daemon again and again and sends
 * random and mutated bytes: on every Solidar protomux channel (pairing, presence, meeting),
 * on hypercore's replication channel for the group's core, on protocols nobody speaks, raw
 * bytes straight into the encrypted stream (no protomux framing), and raw UDP datagrams at
 * the daemon's DHT sockets. For a bounded time (15 s; 2 min with SOLIDAR_LONG=1), then:
 * both daemons (the attacker meets whichever member the DHT hands it) still run and answer, alice's state (messages, members, audit, pads) is exactly
 * what it was, it still syncs with bob, and its RSS grew by less than RSS_BOUND_MB.
 *
 * API: random requests (methods, real and random paths with real and random ids, headers,
 * JSON and non-JSON bodies, with and without the token, foreign Host/Origin) answer 4xx or
 * 2xx — 5xx only with a documented code (NO_NETWORK, BUSY, CLOSED, JOIN_TIMEOUT,
 * STORAGE_FAILED) — never without the token, and the daemon never dies.
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import dgram from 'node:dgram'
import { readFileSync } from 'node:fs'
import Hyperswarm from 'hyperswarm'
import { createDht, parseHostPort } from '@solidar/node/hyperswarm-transport'
import Protomux from 'protomux'
import c from 'compact-encoding'
import path from 'node:path'
import fc from 'fast-check'
import hcrypto from 'hypercore-crypto'
import { decodeKey } from '@solidar/core/ids'
import { Cluster, type GroupRef, type SolidarNode } from './helpers/cluster.ts'
import { REPO_ROOT } from './helpers/cli.ts'
import { LONG, testSeed, type Rng } from './helpers/seeded.ts'
import { sleep, waitFor } from './helpers/wait.ts'

const FUZZ_MS = LONG ? 120_000 : 15_000
const API_RUNS = LONG ? 5_000 : 400
/**
 * Allowed RSS growth of the attacked daemon over the whole run. Idle daemons here sit at
 * 120–200 MB and move by some tens of MB with GC timing; a leak per hostile connection or
 * message (thousands of each) would be far above this.
 */
const RSS_BOUND_MB = 96

function rssMb (pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  assert.ok(m, `VmRSS of ${pid}`)
  return Number(m[1]) / 1024
}

function udpPorts (pid: number): number[] {
  const out = execFileSync('ss', ['-H', '-uanp'], { encoding: 'utf8' })
  return out.split('\n').filter((l) => l.includes(`pid=${pid},`)).map((l) => Number(/:(\d+)\s/.exec(l)?.[1])).filter((p) => p > 0)
}

/** Garbage of several kinds: random, repeated bytes, huge varint length prefixes, CBOR-ish heads. */
function garbage (rng: Rng): Buffer {
  const n = rng.int(0, 2048)
  switch (rng.int(0, 4)) {
    case 0: return randomBytes(n)
    case 1: return Buffer.alloc(n, rng.int(0, 255))
    case 2: return Buffer.concat([Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f]), randomBytes(rng.int(0, 64))])
    case 3: return Buffer.concat([Buffer.from([rng.pick([0xa1, 0xbf, 0x5b, 0x9b, 0x81, 0xd8])]), randomBytes(rng.int(0, 256))])
    default: return Buffer.from(JSON.stringify({ t: 'message/post', v: 1, junk: randomBytes(16).toString('hex') }))
  }
}

interface Snapshot { messages: string, members: string, audit: string, pads: string }

async function snapshot (node: SolidarNode, group: string): Promise<Snapshot> {
  const get = async (p: string) => {
    const r = await node.api({ path: `/api/groups/${group}${p}` })
    assert.equal(r.status, 200, `${node.name} GET ${p}: ${r.text}`)
    return JSON.stringify(r.json)
  }
  return { messages: await get('/messages'), members: await get('/members'), audit: await get('/audit'), pads: await get('/pads') }
}

describe('hostile peers and a hostile local client', { timeout: LONG ? 900_000 : 240_000 }, () => {
  let cluster: Cluster
  let alice: SolidarNode
  let bob: SolidarNode
  let group: GroupRef
  let pad = ''

  before(async () => {
    cluster = await Cluster.start({ names: ['alice', 'bob'] })
    ;[alice, bob] = cluster.nodes
    group = await cluster.withLogs(() => cluster.createGroup(alice, `hostile-${randomBytes(3).toString('hex')}`, [bob]))
    const r = await alice.api({ method: 'POST', path: `/api/groups/${group.id}/pads`, body: { title: 'Target' } })
    assert.equal(r.status, 201, r.text)
    pad = r.json.id
    const m = await bob.send(group.id, 'before the attack')
    await alice.waitForLog(group.id, [m.id])
  }, { timeout: 180_000 })

  after(async () => { await cluster?.close() })

  it('garbage on every channel, raw stream bytes and UDP datagrams change nothing and crash nothing', async () => {
    const rng = testSeed('hostile peers')
    const groupKey = decodeKey(group.id, 'group id')
    const dk = hcrypto.discoveryKey(groupKey)
    const before = await snapshot(alice, group.id)
    const rssBefore = [alice, bob].map((n) => rssMb(n.proc!.pid))
    const swarm = new Hyperswarm({ dht: createDht({ mode: 'bootstrap', bootstrap: [parseHostPort(cluster.bootstrap)] }) })
    const stats = { connections: 0, channelMessages: 0, rawWrites: 0, datagrams: 0 }
    const conns = new Set<any>()
    swarm.on('connection', (conn: any) => {
      stats.connections++
      conns.add(conn)
      swarm.joinPeer(conn.remotePublicKey) // come back at once after the member hangs up
      conn.on('error', () => {})
      conn.on('close', () => conns.delete(conn))
    })
    const udp = dgram.createSocket('udp4')
    const ports = [alice, bob].flatMap((n) => udpPorts(n.proc!.pid))
    assert.ok(ports.length > 0, 'the daemons\' UDP ports')
    const deadline = Date.now() + FUZZ_MS
    try {
      await swarm.join(dk, { server: false, client: true }).flushed()
      await waitFor(() => conns.size > 0, { timeout: 30_000, interval: 100, what: 'the attacker to connect to a member on the group topic' })
      // Solidar's channels most of the time; hypercore's and the others (which rightly end the connection on garbage) less often.
      const protocols = ['solidar/pairing/v2', 'solidar/presence/v1', 'solidar/meeting/v1', 'solidar/pairing/v2', 'solidar/presence/v1', 'solidar/meeting/v1',
        'solidar/pairing/v2', 'solidar/presence/v1', 'solidar/meeting/v1', 'hypercore/alpha', 'wakeup', 'no/such/protocol']
      while (Date.now() < deadline) {
        // UDP garbage at the DHT sockets, every round.
        for (let i = 0; i < 5; i++) {
          udp.send(garbage(rng).subarray(0, 1400), rng.pick(ports), '127.0.0.1')
          stats.datagrams++
        }
        const conn = [...conns][0]
        if (conn === undefined) { await sleep(100); swarm.flush?.().catch?.(() => {}); continue }
        if (rng.next() < 0.02) {
          // Raw bytes into the secret stream: no protomux frame at all. The daemon should hang up.
          conn.write(garbage(rng))
          stats.rawWrites++
          await sleep(50)
          continue
        }
        const mux = Protomux.from(conn)
        const protocol = rng.pick(protocols)
        const id = protocol === 'wakeup' && rng.next() < 0.5 ? null : rng.next() < 0.9 ? dk : randomBytes(32)
        const ch = mux.createChannel({
          protocol,
          id,
          unique: false,
          // Solidar's channels frame each message as c.buffer (messages 0 and 1): framed garbage
          // reaches their decoders; unframed garbage (c.raw, 2…11) tests the framing itself.
          messages: Array.from({ length: 12 }, (_, i) => ({ encoding: i < 2 ? c.buffer : c.raw }))
        })
        if (ch === null) { await sleep(10); continue }
        ch.open(rng.next() < 0.3 ? garbage(rng) : undefined)
        for (let i = rng.int(1, 20); i > 0 && !ch.closed; i--) {
          const solidar = protocol.startsWith('solidar/')
          ch.messages[solidar && rng.next() < 0.95 ? rng.int(0, 1) : rng.int(0, 11)].send(garbage(rng))
          stats.channelMessages++
        }
        await sleep(rng.int(0, 20))
        if (rng.next() < 0.5) ch.close()
      }
    } finally {
      udp.close()
      await swarm.destroy().catch(() => {})
    }
    console.log(`# hostile peers: ${JSON.stringify(stats)} in ${FUZZ_MS / 1000} s`)
    assert.ok(stats.connections >= 1 && stats.channelMessages > 100, `the attack happened: ${JSON.stringify(stats)}`)

    for (const n of [alice, bob]) assert.ok(n.running, `${n.name}'s daemon survived\n${n.proc!.describe()}`)
    await sleep(1000)
    assert.deepEqual(await snapshot(alice, group.id), before, 'alice: messages, members, audit and pads are unchanged')
    assert.deepEqual((await snapshot(bob, group.id)).messages, before.messages, 'bob: the same messages')
    for (const [i, n] of [alice, bob].entries()) {
      const rssAfter = rssMb(n.proc!.pid)
      console.log(`# hostile peers: ${n.name} RSS ${rssBefore[i].toFixed(0)} → ${rssAfter.toFixed(0)} MB`)
      assert.ok(rssAfter - rssBefore[i] < RSS_BOUND_MB, `${n.name}'s RSS grew by ${(rssAfter - rssBefore[i]).toFixed(0)} MB (bound ${RSS_BOUND_MB} MB)`)
    }
    // Still a working member: a message from each side reaches the other.
    const a = await alice.send(group.id, 'after the attack, from alice')
    const b = await bob.send(group.id, 'after the attack, from bob')
    await cluster.withLogs(() => cluster.converge([alice, bob], group.id, [a.id, b.id], { timeout: 60_000 }))
    const r = await alice.api({ path: `/api/groups/${group.id}/pads/${pad}/export?format=md` })
    assert.equal(r.status, 200, r.text)
  })

  it('random API requests: 4xx (or a documented 5xx), nothing without the token, no crash', async () => {
    const rng = testSeed('API fuzz')
    const DOCUMENTED_5XX = new Set(['NO_NETWORK', 'BUSY', 'CLOSED', 'JOIN_TIMEOUT', 'STORAGE_FAILED'])
    const segment = fc.oneof(fc.constant(group.id), fc.constant(pad), fc.constant(alice.id), fc.constant(bob.id), fc.constant('general'),
      fc.string({ maxLength: 30 }).map(encodeURIComponent), fc.constantFrom('..', '%2e%2e', '%00', 'a'.repeat(300), '%ff%fe', '..%2f..%2fetc%2fpasswd'))
    const templates = ['/api/whoami', '/api/status', '/api/groups', '/api/groups/:g', '/api/groups/:g/members', '/api/groups/:g/rooms',
      '/api/groups/:g/invites', '/api/join', '/api/groups/:g/messages', '/api/groups/:g/messages/:x', '/api/groups/:g/audit',
      '/api/dms/:x/messages', '/api/dms/:x/messages/:x', '/api/members/:x/verification', '/api/groups/:g/pads', '/api/groups/:g/pads/:x',
      '/api/groups/:g/pads/:x/export', '/api/groups/:g/pads/:x/append', '/api/groups/:g/pads/:x/history', '/api/groups/:g/pads/:x/state',
      '/api/groups/:g/pads/:x/updates', '/api/groups/:g/pads/:x/presence', '/api/groups/:g/present', '/api/groups/:g/meetings',
      '/api/groups/:g/meetings/:x', '/api/groups/:g/meetings/:x/participants/:x', '/api/groups/:g/meetings/:x/signal', '/api/meetings/config',
      '/api/groups/:g/mirrors', '/api/groups/:g/bridge/allowlist', '/api/groups/:g/bridge/allowlist/:x', '/api/groups/:g/bridge/members', '/api/groups/:g/bridge/members/:x', '/api/devices', '/api/devices/link',
      '/api/devices/add', '/api/settings', '/api/events', '/api/dms', '/api/groups/:g/read', '/api/dms/:x/read', '/', '/index.html', '/assets/:x', '/:x', '/:x/:x/:x']
    // Changes that would end the test's own setup (leaving, removing bob, revoking devices) are left out.
    const excluded = (method: string, p: string) => method === 'DELETE' && /\/members\/|\/devices\//.test(p) || /\/leave$/.test(p)
    const request = fc.record({
      method: fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'HEAD'),
      template: fc.constantFrom(...templates),
      segs: fc.array(segment, { minLength: 4, maxLength: 4 }),
      query: fc.oneof(fc.constant(''), fc.constantFrom('?room=general', '?format=html', '?at=3', '?archived=true', '?format=%00', '?at=99999999999999', '?limit=0', '?limit=501', '?limit=-1', '?before=%00', '?before=x&limit=5', '?group=nope', '?dm=x&group=y'), fc.string({ maxLength: 40 }).map((s) => `?${encodeURIComponent(s)}=${encodeURIComponent(s)}`)),
      body: fc.oneof(fc.constant(undefined), fc.anything({ maxDepth: 3 }).map((v) => { try { return JSON.stringify(v) ?? 'null' } catch { return '{}' } }),
        fc.record({ text: fc.string({ maxLength: 50 }), name: fc.string({ maxLength: 50 }), code: fc.string({ maxLength: 80 }), role: fc.string(), update: fc.base64String({ maxLength: 200 }), state: fc.anything({ maxDepth: 2 }), timeoutMs: fc.integer({ min: 0, max: 3000 }), expiresMs: fc.integer() }, { requiredKeys: [] }).map((o) => JSON.stringify(o)),
        fc.string({ maxLength: 200 })),
      auth: fc.constantFrom('token', 'token', 'token', 'token', 'token', 'token', 'none', 'wrong', 'garbage'),
      contentType: fc.constantFrom('application/json', 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', undefined),
      host: fc.constantFrom('ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'evil.example:80', 'localhost'),
      origin: fc.constantFrom(undefined, undefined, undefined, undefined, undefined, undefined, 'http://evil.example', 'null')
    })
    const samples = fc.sample(request, { numRuns: API_RUNS, seed: rng.seed })
    const counts: Record<string, number> = {}
    for (const req of samples) {
      let i = 0
      const p = req.template.replace(/:[gx]/g, (m) => m === ':g' ? (rng.next() < 0.8 ? group.id : req.segs[i++]) : req.segs[i++]) + req.query
      if (excluded(req.method, p)) continue
      const headers: Record<string, string | null> = {}
      if (req.auth === 'none') headers.authorization = null
      if (req.auth === 'wrong') headers.authorization = `Bearer ${randomBytes(32).toString('hex')}`
      if (req.auth === 'garbage') headers.authorization = randomBytes(30).toString('latin1').replace(/[^\x20-\x7e]/g, '')
      if (req.host !== 'ok') headers.host = req.host === 'localhost' ? `localhost:${alice.port}` : req.host
      if (req.origin !== undefined) headers.origin = req.origin
      if (req.body !== undefined) headers['content-type'] = req.contentType ?? null
      let r
      try {
        r = await alice.api({ method: req.method, path: p, body: req.body, headers, timeout: 15_000 })
      } catch (err: any) {
        assert.ok(alice.running, `alice died on ${req.method} ${p}\n${alice.proc!.describe()}`)
        throw new Error(`${req.method} ${p} failed: ${err.message}`)
      }
      counts[r.status] = (counts[r.status] ?? 0) + 1
      const what = `${req.method} ${p} auth=${req.auth} host=${req.host} origin=${req.origin} ct=${req.contentType} body=${String(req.body).slice(0, 200)} → ${r.status} ${r.text.slice(0, 300)}`
      if (r.status >= 500) assert.ok(DOCUMENTED_5XX.has(r.json?.error?.code), `only documented 5xx: ${what}`)
      const isApi = p.startsWith('/api/') || p === '/api'
      if (isApi && (req.auth !== 'token' || req.host === 'evil.example:80' || req.origin !== undefined && req.origin !== `http://127.0.0.1:${alice.port}`)) {
        assert.ok(r.status >= 400, `refused without a valid token, host and origin: ${what}`)
      }
      assert.doesNotMatch(r.text, /root:x:0:0/, `no file outside the web app is served: ${what}`)
    }
    console.log(`# API fuzz: ${samples.length} requests, statuses ${JSON.stringify(counts)}`)
    assert.ok(alice.running, 'alice survived the API fuzz')
    assert.equal((await alice.api({ path: '/api/whoami' })).status, 200)
  })
})
