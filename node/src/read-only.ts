/**
 * Read-only mode for a disk too full to open the store for writing.
 *
 * RocksDB needs room to open its store for writing: it turns the write-ahead log into a
 * table file, writes a new MANIFEST and reserves ~70 MB for the next WAL. On a full disk that
 * fails (`While appending to file: …/store/db/000008.sst: No space left on device`, code
 * ENOSPC), and the node used not to start at all. It now opens the store read-only instead
 * (RocksDB's read-only mode writes nothing): every group, message and pad can be read and
 * exported, every write is refused with DISK_FULL, and the node has no network (replication
 * would have to write). `node/src/read-only-node.ts` checks the free space every
 * `WRITABLE_CHECK_MS` and reopens the store for writing once `WRITABLE_FREE_BYTES` are free.
 */
import fs from 'node:fs'
import path from 'node:path'
import { errors, type SolidarApi, type NodeStorage } from '@solidar/core'

const MB = 1024 * 1024

/**
 * Free bytes the node waits for before it reopens the store for writing: RocksDB reserves
 * 1.1 × its 64 MB write buffer (70.4 MB) for the WAL at open, and clears a write error only
 * with 64 MB free; with less, the reservation takes the last free blocks and the next write
 * of another file (`store-key`, `logs.json`) fails. 72 MB leaves a little room for those.
 */
export const WRITABLE_FREE_BYTES = 72 * MB

/** How often a read-only node checks the free space (one statfs call). */
export const WRITABLE_CHECK_MS = 10_000

/** True if `err` (or one of its causes) says the disk is full. */
export function isDiskFull (err: unknown): boolean {
  for (let e: any = err, i = 0; e != null && i < 5; e = e.cause, i++) {
    if (e.code === 'ENOSPC' || /no space left on device/i.test(String(e.message ?? e))) return true
  }
  return false
}

/**
 * Free bytes on the file system holding `dir` for this user (statfs `bavail`); of its nearest
 * existing parent if it is not there (a full disk may not have had room for the folder).
 */
export function freeBytes (dir: string): number {
  let at = dir
  while (!fs.existsSync(at) && path.dirname(at) !== at) at = path.dirname(at)
  const s = fs.statfsSync(at)
  return s.bavail * s.bsize
}

const mb = (bytes: number) => `${(bytes / MB).toFixed(1)} MB`

/** The state of a store that is read-only for lack of space. */
export function diskFullStorage (storeDir: string, free: number): NodeStorage {
  return { writable: false, reason: 'disk-full', path: storeDir, free, needed: WRITABLE_FREE_BYTES }
}

/** The DISK_FULL error every write gets while the node is read-only: what, where, how much. */
export function diskFullError (storage: NodeStorage): Error {
  return errors.diskFull(`Solidar is read-only: the disk holding ${storage.path} was too full to open the data store for writing ` +
    `(${mb(storage.free)} free; it needs ${mb(storage.needed)}). Nothing was saved. Everything already saved can be read and exported. ` +
    `Free space on that disk: Solidar becomes writable by itself within ${WRITABLE_CHECK_MS / 1000} s once ${mb(storage.needed)} are free.`)
}

/** Methods of `SolidarApi` that only read (everything else is refused while read-only). */
const READS = new Set(['whoami', 'status', 'resolveGroupId', 'resolveMemberId', 'listGroups', 'members', 'rooms', 'listInvites', 'messages', 'audit', 'dmMessages',
  'devices', 'bridgeAllowlist', 'bridgeMembers', 'subscribe', 'onError', 'listDms', 'messageDelivery',
  // Read markers: the web app marks what it shows; they touch no log, only read.json, kept in memory when the disk refuses it.
  'markRead', 'markDmRead'])
// setPresence too: presence is never stored (an open pad in the web app sends it), and it
// goes nowhere here (a read-only node has no network).
const PAD_READS = new Set(['list', 'get', 'export', 'history', 'state', 'presence', 'present', 'setPresence'])
const MEETING_READS = new Set(['list', 'get'])

/**
 * `api` with every write refused: an allowlist of reads passes through, anything else (also
 * methods added later) throws `refuse()`. `verify` passes only without marking. Methods are
 * bound to the real object (Solidar keeps private fields).
 */
export function readOnlyApi (api: SolidarApi, refuse: () => Error): SolidarApi {
  const guard = <T extends object>(target: T, reads: Set<string>, extra?: (key: string) => unknown): T => new Proxy(target, {
    get (obj, key) {
      const value = Reflect.get(obj, key, obj)
      if (typeof key !== 'string') return value
      const special = extra?.(key)
      if (special !== undefined) return special
      if (typeof value !== 'function') return value
      if (reads.has(key)) return value.bind(obj)
      return async () => { throw refuse() }
    }
  })
  return guard(api, READS, (key) => {
    if (key === 'pads') return guard(api.pads, PAD_READS)
    if (key === 'meetings') return guard(api.meetings, MEETING_READS)
    if (key === 'verify') {
      return async (member: string, opts?: { mark?: boolean, unmark?: boolean }) => {
        if (opts?.mark === true || opts?.unmark === true) throw refuse()
        return api.verify(member)
      }
    }
    return undefined
  })
}
