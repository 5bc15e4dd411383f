import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import Corestore from 'corestore'
import crypto from 'hypercore-crypto'
import b4a from 'b4a'
import { MemoryNetwork, type MemoryTransport } from '../src/memory-transport.ts'
import { MultiTransport } from '../src/multi-transport.ts'
import type { PeerConnection } from '../src/transport.ts'
import { waitFor } from './helpers.ts'

/** Two nodes, each with a "first" and a "second" transport (two memory networks), one key pair per node. */
function twoNodes () {
  const first = new MemoryNetwork()
  const second = new MemoryNetwork()
  const node = () => {
    const keyPair = crypto.keyPair()
    const parts = { first: first.transport({ name: 'first', keyPair }), second: second.transport({ name: 'second', keyPair }) }
    const multi = new MultiTransport([parts.first, parts.second])
    const conns: PeerConnection[] = []
    multi.on('connection', (c) => { c.stream.on('error', () => {}); conns.push(c) })
    return { keyPair, parts, multi, conns }
  }
  return { a: node(), b: node() }
}

const live = (conns: PeerConnection[]) => conns.filter(c => !c.stream.destroyed)

describe('MultiTransport: one connection per peer over several transports', () => {
  it('the first-listed transport wins on both sides; the other waits as standby', async (t) => {
    const { a, b } = twoNodes()
    t.after(async () => { await a.multi.close(); await b.multi.close() })
    const topic = crypto.randomBytes(32)
    // The less preferred transport connects first: it is used, then replaced.
    await a.parts.second.join(topic); await b.parts.second.join(topic)
    await waitFor(() => live(a.conns).length === 1 && live(b.conns).length === 1, 'a connection over "second"')
    assert.equal(a.conns[0].transport, 'second')
    await a.parts.first.join(topic); await b.parts.first.join(topic)
    await waitFor(() => live(a.conns).length === 1 && live(a.conns)[0].transport === 'first' && live(b.conns)[0]?.transport === 'first', 'replication moved to "first"')
    assert.ok(b4a.equals(live(a.conns)[0].remotePublicKey, b.keyPair.publicKey), 'keyed by the node key')
    assert.equal(a.multi.connectionCount, 1)
    assert.equal(a.multi.carrier(b.keyPair.publicKey), 'first')
  })

  it('fails over to the standby when the winner drops, and replication goes on', async (t) => {
    const { a, b } = twoNodes()
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'solidar-multi-'))
    const storeA = new Corestore(path.join(dir, 'a'))
    const storeB = new Corestore(path.join(dir, 'b'))
    t.after(async () => {
      await a.multi.close(); await b.multi.close()
      await storeA.close(); await storeB.close()
      await fs.rm(dir, { recursive: true, force: true })
    })
    a.multi.on('connection', (c) => storeA.replicate(c.stream))
    b.multi.on('connection', (c) => storeB.replicate(c.stream))
    const core = storeA.get({ name: 'log' })
    await core.ready()
    await core.append(b4a.from('before'))
    const topic = crypto.randomBytes(32)
    for (const tr of [a.parts.first, a.parts.second, b.parts.first, b.parts.second]) await tr.join(topic)
    const copy = storeB.get({ key: core.key })
    await copy.ready()
    assert.equal((await copy.get(0, { timeout: 5000 })).toString(), 'before')
    assert.equal(live(a.conns).length, 1)
    assert.equal(a.multi.info().find(i => i.name === 'second')?.standby, 1)

    ;(a.parts.first as MemoryTransport).disconnectAll()
    await waitFor(() => live(a.conns)[0]?.transport === 'second' && live(b.conns)[0]?.transport === 'second', 'failover to "second"')
    await core.append(b4a.from('after'))
    assert.equal((await copy.get(1, { timeout: 5000 })).toString(), 'after')
    assert.equal(a.multi.connectionCount, 1)
  })
})
