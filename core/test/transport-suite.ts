/**
 * The acceptance suite every Transport passes (memory here; hyperswarm and libp2p in
 * node/test/transports.test.ts). A network factory makes transports that can reach each
 * other; the suite checks what Solidar relies on: peers on a shared topic get one
 * authenticated connection each way, corestore replication and protomux channels run on
 * it, peers without a shared topic do not connect, a late join connects, close ends it.
 * Each join is followed by `flush` (a hyperswarm lookup made while the other peer's announce
 * is still in flight finds nothing until the next refresh, minutes later).
 */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import Corestore from 'corestore'
import Protomux from 'protomux'
import c from 'compact-encoding'
import crypto from 'hypercore-crypto'
import b4a from 'b4a'
import type { PeerConnection, Transport } from '../src/transport.ts'
import { waitFor } from './helpers.ts'

export interface TransportNetwork {
  /** A new transport on this network that can reach (or be reached by) all made before. */
  make (): Promise<Transport>
  /** Closes whatever the network itself runs (a DHT, …); transports are closed by the suite. */
  close (): Promise<void>
}

/** How long "no connection" is watched for (a transport that would connect does so well within it). */
const QUIET_MS = 1500

export function runTransportSuite (name: string, setup: () => Promise<TransportNetwork>, opts: { timeout?: number } = {}): void {
  const timeout = opts.timeout ?? 20_000

  describe(`transport acceptance: ${name}`, { timeout: timeout * 4 }, () => {
    async function scene (t: { after: (fn: () => Promise<void>) => void }) {
      const net = await setup()
      const made: Transport[] = []
      const dirs: string[] = []
      t.after(async () => {
        for (const tr of made) await tr.close().catch(() => {})
        await net.close()
        for (const d of dirs) await fs.rm(d, { recursive: true, force: true })
      })
      return {
        async make () {
          const tr = await net.make()
          made.push(tr)
          const conns: PeerConnection[] = []
          tr.on('connection', (conn) => { conn.stream.on('error', () => {}); conns.push(conn) }) // a peer going away is normal
          return { tr, conns }
        },
        async store () {
          const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'solidar-transport-'))
          dirs.push(dir)
          return new Corestore(dir)
        }
      }
    }

    it('peers on a shared topic connect once, authenticated both ways', { timeout }, async (t) => {
      const s = await scene(t)
      const topic = crypto.randomBytes(32)
      const a = await s.make()
      const b = await s.make()
      await a.tr.join(topic); await a.tr.flush()
      await b.tr.join(topic); await b.tr.flush()
      await waitFor(() => a.conns.length > 0 && b.conns.length > 0, 'a connection on both sides', timeout)
      const ca = a.conns[0]
      const cb = b.conns[0]
      assert.equal(ca.transport, a.tr.name)
      assert.ok(b4a.equals(ca.remotePublicKey, cb.stream.publicKey), 'A sees B\'s key')
      assert.ok(b4a.equals(cb.remotePublicKey, ca.stream.publicKey), 'B sees A\'s key')
      await new Promise(resolve => setTimeout(resolve, 300))
      assert.equal(a.conns.length, 1, 'one connection, not one per direction')
      assert.equal(b.conns.length, 1)
      assert.equal(a.tr.connectionCount, 1)
    })

    it('corestore replication and protomux channels run over the connection', { timeout }, async (t) => {
      const s = await scene(t)
      const topic = crypto.randomBytes(32)
      const a = await s.make()
      const b = await s.make()
      const storeA = await s.store()
      const storeB = await s.store()
      t.after(async () => { await storeA.close(); await storeB.close() })
      const core = storeA.get({ name: 'log' })
      await core.ready()
      await core.append([b4a.from('one'), b4a.from('two'), b4a.alloc(200_000, 7)])
      const echoes: string[] = []
      for (const [side, store] of [[a, storeA], [b, storeB]] as const) {
        side.tr.on('connection', (conn) => {
          store.replicate(conn.stream)
          const mux = Protomux.from(conn.stream)
          const channel = mux.createChannel({ protocol: 'solidar/suite/v1' })
          const msg = channel.addMessage({ encoding: c.string, onmessage: (text: string) => echoes.push(`${side === a ? 'A' : 'B'} got ${text}`) })
          channel.open()
          msg.send(side === a ? 'hello from A' : 'hello from B')
        })
      }
      await a.tr.join(topic); await a.tr.flush()
      await b.tr.join(topic); await b.tr.flush()
      const copy = storeB.get({ key: core.key })
      await copy.ready()
      assert.equal((await copy.get(0, { timeout: timeout - 2000 })).toString(), 'one')
      assert.equal((await copy.get(2, { timeout: timeout - 2000 })).byteLength, 200_000)
      await waitFor(() => echoes.length === 2, 'both protomux messages', timeout)
      assert.deepEqual(echoes.sort(), ['A got hello from B', 'B got hello from A'])
    })

    it('peers without a shared topic do not connect; a later join connects them', { timeout }, async (t) => {
      const s = await scene(t)
      const a = await s.make()
      const b = await s.make()
      const shared = crypto.randomBytes(32)
      await a.tr.join(crypto.randomBytes(32))
      await b.tr.join(crypto.randomBytes(32))
      await a.tr.join(shared); await a.tr.flush()
      await new Promise(resolve => setTimeout(resolve, QUIET_MS))
      assert.equal(a.conns.length + b.conns.length, 0, 'no connection without a shared topic')
      await b.tr.join(shared); await b.tr.flush()
      await waitFor(() => a.conns.length > 0 && b.conns.length > 0, 'a connection after the late join', timeout)
    })

    it('closing one side ends the connection on the other', { timeout }, async (t) => {
      const s = await scene(t)
      const topic = crypto.randomBytes(32)
      const a = await s.make()
      const b = await s.make()
      await a.tr.join(topic); await a.tr.flush()
      await b.tr.join(topic); await b.tr.flush()
      await waitFor(() => a.conns.length > 0 && b.conns.length > 0, 'a connection', timeout)
      const closed = new Promise(resolve => b.conns[0].stream.once('close', resolve))
      await a.tr.close()
      await closed
      await waitFor(() => b.tr.connectionCount === 0, 'no connections left on B', timeout)
    })
  })
}
