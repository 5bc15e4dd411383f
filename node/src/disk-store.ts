/**
 * The node's Corestore on disk (RocksDB via hypercore-storage), opened so that damage is
 * never silently accepted.
 *
 * RocksDB keeps recent writes in its write-ahead log (WAL) before they reach table files.
 * rocksdb-native opens with `walRecoveryMode: POINT_IN_TIME`: a damaged record in the middle
 * of the WAL makes it replay only what came before and drop everything after, silently —
 * acknowledged messages vanished from the node's own writer core and the group wedged (its
 * next append hung), found by test/corrupt-storage.test.ts. `TOLERATE_CORRUPTED_TAIL_RECORDS`
 * drops only an incomplete last record (a crash in the middle of a write, which was never
 * acknowledged) and refuses to open on damage anywhere else. Damaged table files (SST) are
 * caught by RocksDB's block checksums (`paranoid_checks`) either way.
 */
import path from 'node:path'
import Corestore from 'corestore'
import Hypercore from 'hypercore'
import Rache from 'rache'

/**
 * Entries of the one cache all cores and views of a node share. Without a shared cache every
 * Hyperbee view keeps its own of 65,536 decoded tree nodes and keys: a node's heap grew by
 * ~27 KB per message (test/soak.test.ts; 149 → 592 MB in 10 minutes) until each group's
 * view filled its cache. With one shared cache of this size the heap levels off (~15 MB for
 * 4,000 messages in one group); older tree nodes are read from RocksDB again when needed.
 */
export const GLOBAL_CACHE_ENTRIES = 16_384

/** rocksdb-native's `constants.walRecoveryMode.TOLERATE_CORRUPTED_TAIL_RECORDS`. */
export const WAL_TOLERATE_CORRUPTED_TAIL_RECORDS = 0

export function openDiskStore (home: string): any {
  return new Corestore(Hypercore.defaultStorage(storeDir(home), { walRecoveryMode: WAL_TOLERATE_CORRUPTED_TAIL_RECORDS }), {
    globalCache: new Rache({ maxSize: GLOBAL_CACHE_ENTRIES })
  })
}

export function storeDir (home: string): string {
  return path.join(home, 'store')
}

/** True for RocksDB's reports of damaged files (checksum mismatches, corrupt WAL records). */
export function isCorruption (err: unknown): boolean {
  const msg = err instanceof Error ? err.message : String(err)
  return /corruption|checksum mismatch|bad magic number|truncated block/i.test(msg)
}

/** The error `serve` reports for a damaged store: what happened, that nothing was changed, what to do. */
export function corruptStoreError (home: string, err: unknown): Error {
  const msg = err instanceof Error ? err.message : String(err)
  const out = new Error(`The data store in ${storeDir(home)} is damaged (${msg}). Solidar did not open it and changed nothing. ` +
    'Check the disk (and restore the folder from a backup, if you have one); the messages you wrote are also on the devices of the groups\' other members.')
  ;(out as any).code = 'STORAGE_CORRUPT'
  return out
}
