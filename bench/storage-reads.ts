/**
 * Counts the storage (RocksDB) reads behind one chat message, and where they come from —
 * the measurement behind the throughput finding in BENCHMARKS.md. One node, offline, on a
 * temporary home; sends N messages one at a time and counts, per message, the read batches and
 * key reads rocksdb-native serves, grouped by the innermost Solidar/Autobase call sites.
 *   node --import tsx bench/storage-reads.ts [N]      (default 50)
 */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { createRequire } from 'node:module'
import { createIdentity, encodeIdentity } from '@solidar/core'
import { startNode } from '@solidar/node/runtime'

Error.stackTraceLimit = 60
const N = Number(process.argv[2] ?? 50)
const RocksDB = createRequire(import.meta.resolve('@solidar/node/runtime'))('rocksdb-native')
let reads = 0
let batches = 0
let tracing = false
const sites = new Map<string, number>()
const SITE = /core\/src|node\/src|autobase\/lib|autobase\/index/
const originalRead = RocksDB.prototype.read
RocksDB.prototype.read = function (...args: any[]) {
  batches++
  const batch = originalRead.apply(this, args)
  const site = tracing
    ? (new Error().stack ?? '').split('\n').slice(2).filter(l => SITE.test(l)).slice(0, 2)
        .map(l => l.trim().replace(/^at (async )?/, '').replace(/\(.*node_modules\//, '(').replace(/\(.*\/work\/main\//, '(').replace(/\(\/.*?\/(core|node)\/src\//, '($1/src/')).join(' < ') || '(no Solidar or Autobase frame)'
    : '(batch opened before counting began)'
  const get = batch.get.bind(batch)
  batch.get = (...a: any[]) => { reads++; if (tracing) sites.set(site, (sites.get(site) ?? 0) + 1); return get(...a) }
  return batch
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'solidar-reads-'))
const home = path.join(dir, 'home')
fs.mkdirSync(home, { mode: 0o700 })
fs.writeFileSync(path.join(home, 'identity.json'), encodeIdentity(createIdentity('Reader')), { mode: 0o600 })
const node = await startNode({ home, network: { mode: 'none', bootstrap: [] } })
try {
  const group = await node.api.createGroup('Reads')
  for (let i = 0; i < 20; i++) await node.api.send(group.id, `warm-up ${i}`)
  await new Promise(resolve => setTimeout(resolve, 500))
  tracing = true
  const start = { reads, batches }
  for (let i = 0; i < N; i++) await node.api.send(group.id, `message ${i} ${'x'.repeat(80)}`)
  await new Promise(resolve => setTimeout(resolve, 500)) // the event feed's reads after the last send
  tracing = false
  console.log(`per message (${N} messages, one node, offline): ${((reads - start.reads) / N).toFixed(0)} key reads in ${((batches - start.batches) / N).toFixed(1)} read batches`)
  console.log('key reads per message by call site (innermost Solidar/Autobase frames):')
  for (const [site, n] of [...sites].sort((a, b) => b[1] - a[1]).slice(0, 15)) console.log(`${(n / N).toFixed(0).padStart(6)}  ${site}`)
} finally {
  await node.close()
  fs.rmSync(dir, { recursive: true, force: true })
}
