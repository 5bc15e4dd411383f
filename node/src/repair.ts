/**
 * `solidar repair`: brings a node whose data store is damaged back from its peers.
 *
 * Everything a node stores is replicated, except that it is the only one who can *extend* its
 * own writer cores. So a repair (1) keeps the damaged store aside (`store.damaged-<time>`),
 * (2) makes an empty store with the same primary key (`store-key`), whose writer key pairs are
 * therefore the same, and (3) before any group is opened, fetches each of those writer cores
 * back from the peers that hold them. Only then may the node append again: appending to a
 * writer core that is shorter than the copies on the peers would fork it (verified: Autobase
 * opened on a writer core restored this way goes on from where it was; opened before the core
 * is restored, it stalls). The groups' other data — the others' writer cores, the views — is
 * fetched by the running node as usual. Entries that never reached any peer are lost with the
 * damaged store (they are still in its files, for a post-mortem).
 *
 * A log whose writer core no connected peer has is left pending (`repair.json`); `serve` refuses
 * to start until a later `repair` fetched it or `repair --finish` gave up on it (right for a
 * group this device never wrote to, or a vault of a member with one device).
 */
import fs from 'node:fs'
import path from 'node:path'
import crypto from 'hypercore-crypto'
import { Registry, encodeKey, errors, type LogRecord } from '@solidar/core'
import { FileStore } from './file-store.ts'
import {
  closeDiskStore, isCorruption, openDiskStore, readPendingRepair, scanStore, readStoreKey, storeDir, writePendingRepair, STORE_KEY_FILE, type PendingRepair
} from './disk-store.ts'
import { readIdentity } from './home.ts'
import { lanEnabled, openTransport, type StartNodeOptions } from './runtime.ts'

/** After the first peer of a core, how long to let other peers announce their (maybe longer) copies. */
const MORE_PEERS_MS = 1500

export interface LogRepair {
  /** The log's id as the CLI and API show it (z-base-32 of its key). */
  id: string
  kind: LogRecord['kind']
  /** restored: this device's entries are back (`entries` of them; 0 if a peer holds none yet). no-peer: nobody connected had them. */
  state: 'restored' | 'no-peer'
  entries: number
}

export interface RepairReport {
  /**
   * healthy: the store opens and nothing was pending, nothing done. repaired: every log restored.
   * incomplete: some logs still wait (see `logs`). finished: `--finish` gave up on the pending ones.
   */
  status: 'healthy' | 'repaired' | 'incomplete' | 'finished'
  /** Where the damaged store was moved (this run or an earlier one), or null. */
  damaged: string | null
  /** The reason the store was moved aside (this run), or null. */
  damage: string | null
  logs: LogRepair[]
}

export interface RepairProgress { id: string, kind: LogRecord['kind'], phase: 'waiting' | 'fetching' | 'done' | 'no-peer', have: number, length: number }

export interface RepairOptions extends Pick<StartNodeOptions, 'home' | 'network' | 'lan' | 'onWarning'> {
  /** How long to wait for peers of each log's writer core. */
  timeoutMs: number
  /** Move the store aside and restore even though it opens (e.g. after a disk error RocksDB did not notice). */
  force?: boolean
  /** Give up on the pending logs of an earlier repair. */
  finish?: boolean
  onProgress?: (p: RepairProgress) => void
}

export async function repairStore (opts: RepairOptions): Promise<RepairReport> {
  const { home } = opts
  if (!readIdentity(home)) throw errors.notInitialized()
  const registry = new Registry(new FileStore(home))
  await registry.load()
  const idOf = (r: LogRecord) => encodeKey(Buffer.from(r.key, 'hex'))
  let pending = readPendingRepair(home)

  if (opts.finish === true) {
    if (pending === null) throw errors.badRequest('No repair is pending: nothing to finish')
    const logs = pending.pending.map(key => registry.get(key)).filter(r => r !== undefined)
      .map(r => ({ id: idOf(r), kind: r.kind, state: 'no-peer' as const, entries: 0 }))
    writePendingRepair(home, null)
    return { status: 'finished', damaged: pending.damaged, damage: null, logs }
  }

  if (opts.network.mode === 'none' && !lanEnabled(opts.lan)) {
    throw errors.badRequest('No network to repair from: give --bootstrap HOST:PORT, --public-dht or --lan (or choose a network in the web app first)')
  }
  let damage: string | null = null
  if (pending === null) {
    // A device in no group has nothing that peers could give back (and maybe no store yet).
    if (registry.all().length === 0 && opts.force !== true) return { status: 'healthy', damaged: null, damage: null, logs: [] }
    damage = await probeStore(home)
    if (damage === null && opts.force !== true) return { status: 'healthy', damaged: null, damage: null, logs: [] }
    if (readStoreKey(home) === null) {
      throw errors.badRequest(`This home has no ${STORE_KEY_FILE} (it was made by a Solidar before 2026-11-27 and not started since), ` +
        'so a new store could not sign as this device: repair is not possible. Restore the store folder from a backup, or set up this device again.')
    }
    damage ??= 'repair forced (--force)'
    pending = { version: 1, since: new Date().toISOString(), damaged: moveAside(home), pending: registry.all().map(r => r.key) }
    writePendingRepair(home, pending)
  }

  const records = pending.pending.map(key => registry.get(key)).filter((r): r is LogRecord => r !== undefined)
  const logs = await restoreWriters(opts, records, idOf)
  const left = records.filter((r, i) => logs[i].state === 'no-peer').map(r => r.key)
  writePendingRepair(home, left.length > 0 ? { ...pending, pending: left } : null)
  return { status: left.length > 0 ? 'incomplete' : 'repaired', damaged: pending.damaged, damage, logs }
}

/** Null if every record of the store reads back intact; else RocksDB's report of the damage. Other errors (locked, permissions) are thrown. */
async function probeStore (home: string): Promise<string | null> {
  if (!fs.existsSync(storeDir(home))) return 'the store folder is missing'
  const store = openDiskStore(home)
  try {
    await scanStore(store)
    return null
  } catch (err) {
    if (isCorruption(err)) return (err as Error).message
    throw err
  } finally {
    // The probe's answer stands whatever closing a damaged store says.
    await closeDiskStore(store).catch(() => { /* see above */ })
  }
}

/**
 * Moves the damaged store (and the pad snapshot cache derived from it) to `store.damaged-<time>`;
 * returns that name, relative to the home.
 */
function moveAside (home: string): string | null {
  if (!fs.existsSync(storeDir(home))) return null
  const name = `store.damaged-${new Date().toISOString().replace(/[:.]/g, '-')}`
  const target = path.join(home, name)
  fs.renameSync(storeDir(home), target)
  const pads = path.join(home, 'pads')
  if (fs.existsSync(pads)) fs.renameSync(pads, path.join(target, 'pads-snapshots'))
  return name
}

/** Fetches this device's writer core of each log from peers into the (new) store. */
async function restoreWriters (opts: RepairOptions, records: LogRecord[], idOf: (r: LogRecord) => string): Promise<LogRepair[]> {
  if (records.length === 0) return []
  const store = openDiskStore(opts.home)
  await store.ready()
  const { transport } = await openTransport(opts)
  try {
    if (transport === null) throw new Error('no transport') // checked in repairStore
    transport.on('connection', (conn) => {
      conn.stream.on('error', () => {}) // a peer vanishing mid-repair is retried by the transport
      store.replicate(conn.stream)
    })
    return await Promise.all(records.map(async (record): Promise<LogRepair> => {
      const id = idOf(record)
      // Autobase's local writer of this log: `name: 'local'` in the log's namespace (autobase 7).
      const core = store.namespace(record.namespace).get({ name: 'local' })
      await core.ready()
      const report = (phase: RepairProgress['phase']) => opts.onProgress?.({ id, kind: record.kind, phase, have: core.contiguousLength, length: core.length })
      try {
        report('waiting')
        await transport.join(crypto.discoveryKey(Buffer.from(record.key, 'hex')), { server: true, client: true })
        const deadline = Date.now() + opts.timeoutMs
        while (core.peers.length === 0 && Date.now() < deadline) await sleep(100)
        if (core.peers.length === 0) {
          report('no-peer')
          return { id, kind: record.kind, state: 'no-peer', entries: core.length }
        }
        await sleep(MORE_PEERS_MS)
        // A core this device can write is not updated from peers unless forced (hypercore 11).
        await core.update({ force: true, wait: true })
        report('fetching')
        const timer = setInterval(() => report('fetching'), 1000)
        try {
          await core.download({ start: 0, end: core.length }).done()
        } finally {
          clearInterval(timer)
        }
        report('done')
        return { id, kind: record.kind, state: 'restored', entries: core.length }
      } finally {
        await core.close().catch(() => { /* closing: the other resources must still close, and a failed close has no caller left to tell */ })
      }
    }))
  } finally {
    await transport?.close().catch(() => { /* closing: the other resources must still close, and a failed close has no caller left to tell */ })
    await store.close().catch(() => { /* closing: the other resources must still close, and a failed close has no caller left to tell */ })
  }
}

const sleep = (ms: number) => new Promise(resolve => setTimeout(resolve, ms))

export type { PendingRepair }
