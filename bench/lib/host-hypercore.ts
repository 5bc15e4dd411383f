/**
 * Raw hypercore peers inside a worker process: the catch-up baseline. A writer appends
 * `count` blocks of `size` bytes to one core of its own Corestore; a reader in another
 * process opens the core by key and downloads every block. Both find each other the way
 * Solidar nodes do: Hyperswarm on the core's discovery key, a HyperDHT node made by the
 * node's own createDht (bound to 127.0.0.1, not firewalled, with the run's local bootstrap),
 * Corestore replication on each connection.
 */
import fs from 'node:fs'
import path from 'node:path'
import Corestore from 'corestore'
import Hyperswarm from 'hyperswarm'
import { createDht, parseHostPort } from '@solidar/node/hyperswarm-transport'
import b4a from 'b4a'
import { now, sleep } from './clock.ts'

interface Peer { store: any, swarm: any, core: any }
const peers = new Map<string, Peer>()

function swarmFor (store: any, bootstrap: string): any {
  // Before this was Solidar's createDht, both DHT nodes here took the default `firewalled`
  // and a fresh-clone bench run once never connected the reader (0 of 3000 blocks in 300 s).
  const swarm = new Hyperswarm({ dht: createDht({ mode: 'bootstrap', bootstrap: [parseHostPort(bootstrap)] }) })
  swarm.on('connection', (conn: any) => { conn.on('error', () => {}); store.replicate(conn) })
  return swarm
}

export const ops = {
  async writer ({ id, dir, bootstrap, count, size, batch = 1000 }: { id: string, dir: string, bootstrap: string, count: number, size: number, batch?: number }) {
    const store = new Corestore(path.join(dir, id))
    const core = store.get({ name: 'bench' })
    await core.ready()
    const block = b4a.alloc(size, 'x')
    const t0 = now()
    for (let i = 0; i < count; i += batch) {
      const blocks: Buffer[] = []
      for (let j = i; j < Math.min(count, i + batch); j++) blocks.push(block)
      await core.append(blocks)
    }
    const swarm = swarmFor(store, bootstrap)
    swarm.join(core.discoveryKey, { server: true, client: true })
    await swarm.flush()
    peers.set(id, { store, swarm, core })
    return { key: b4a.toString(core.key, 'hex'), length: core.length, byteLength: core.byteLength, ms: now() - t0 }
  },

  /** Opens the writer's core by key and downloads all `count` blocks; times it from the start. */
  async reader ({ id, dir, bootstrap, key, count, timeoutMs = 600_000 }: { id: string, dir: string, bootstrap: string, key: string, count: number, timeoutMs?: number }, emit: (e: string, d: unknown) => void) {
    fs.mkdirSync(dir, { recursive: true })
    const t0 = now()
    const store = new Corestore(path.join(dir, id))
    const core = store.get({ key: b4a.from(key, 'hex') })
    await core.ready()
    const swarm = swarmFor(store, bootstrap)
    peers.set(id, { store, swarm, core })
    swarm.join(core.discoveryKey, { server: true, client: true })
    const download = core.download({ start: 0, end: count })
    let lastReport = now()
    let tFirst = NaN
    const deadline = t0 + timeoutMs
    while (core.contiguousLength < count) {
      if (now() > deadline) {
        throw new Error(`raw hypercore: ${core.contiguousLength} of ${count} blocks after ${timeoutMs} ms ` +
          `(swarm: ${swarm.connections.size} connections, ${swarm.peers.size} peers known, ${swarm.connecting} connecting; core: ${core.peers.length} peers; DHT node ${swarm.dht.firewalled ? 'firewalled' : 'not firewalled'})`)
      }
      await sleep(20)
      if (core.contiguousLength > 0 && Number.isNaN(tFirst)) tFirst = now()
      if (now() - lastReport >= 2000) { lastReport = now(); emit('progress', { phase: 'raw', done: core.contiguousLength, total: count, t: lastReport - t0 }) }
    }
    const tDone = now()
    await download.done().catch(() => {})
    return { t0, tFirst, tDone, count: core.contiguousLength, byteLength: core.byteLength }
  },

  async close ({ id }: { id: string }) {
    const p = peers.get(id)
    if (!p) return
    peers.delete(id)
    await p.swarm.destroy().catch(() => {})
    await p.store.close().catch(() => {})
  }
}

export async function shutdown () {
  for (const id of [...peers.keys()]) await ops.close({ id }).catch(() => {})
}
