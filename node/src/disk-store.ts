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
import fs from 'node:fs'
import path from 'node:path'
import Corestore from 'corestore'
import Hypercore from 'hypercore'
import Rache from 'rache'
import { createFileAtomic, writeFileAtomic } from './home.ts'

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

/**
 * Opens the node's store. With a remembered store key (`store-key`), the store must have that
 * primary key (Corestore refuses another) and an empty store is created with it: that is how
 * `solidar repair` gets back this device's writer cores, whose key pairs derive from it.
 */
export function openDiskStore (home: string, opts: { readOnly?: boolean } = {}): any {
  const primaryKey = readStoreKey(home)
  privateStoreDir(home)
  // `readOnly`: RocksDB opens read-only (it replays the WAL into memory and writes no file,
  // takes no lock, reserves no WAL space); every write fails. Used on a disk too full to open
  // the store for writing (node/src/read-only.ts).
  const readOnly = opts.readOnly === true
  return new Corestore(Hypercore.defaultStorage(storeDir(home), { walRecoveryMode: WAL_TOLERATE_CORRUPTED_TAIL_RECORDS, readOnly }), {
    globalCache: new Rache({ maxSize: GLOBAL_CACHE_ENTRIES }),
    // Corestore calls passing the key "unsafe": whoever holds it can sign as this device's
    // writers. It sits next to identity.json, 0600, which holds keys of the same weight.
    ...(primaryKey !== null ? { primaryKey, unsafe: true } : {})
  })
}

/**
 * Closes a store whose open may have failed. A ReadyResource (Corestore) whose open threw never
 * runs its close, so its storage stayed open and RocksDB's lock held until the process ended:
 * `serve` could not offer a repair of a damaged store in the same process. Closing the storage
 * directly releases it.
 */
export async function closeDiskStore (store: any): Promise<void> {
  try {
    await store.close()
  } finally {
    if (store.opened !== true) await store.storage.close()
  }
}

/**
 * A copy of the store's primary key (hex, 0600) outside the store. The key pairs of every core
 * this device writes derive from it; if RocksDB's files are damaged, a new store made with it
 * has the same writer keys and can fetch their blocks back from peers (node/src/repair.ts).
 */
export const STORE_KEY_FILE = 'store-key'

export function readStoreKey (home: string): Buffer | null {
  let text: string
  try {
    text = fs.readFileSync(path.join(home, STORE_KEY_FILE), 'utf8').trim()
  } catch (err: any) {
    if (err.code === 'ENOENT') return null
    throw err
  }
  if (!/^[0-9a-f]{64}$/.test(text)) throw storeError(`${path.join(home, STORE_KEY_FILE)} is damaged (not a 32-byte hex key); restore it from a backup`)
  return Buffer.from(text, 'hex')
}

/** Writes `store-key` once (homes from before it existed get it on their next start). */
export function rememberStoreKey (home: string, primaryKey: Buffer): void {
  const known = readStoreKey(home)
  if (known !== null) {
    if (!known.equals(primaryKey)) throw foreignStoreError(home)
    return
  }
  createFileAtomic(path.join(home, STORE_KEY_FILE), primaryKey.toString('hex') + '\n')
}

/**
 * Marks a repair that is not finished: this device's writer cores of the listed logs have not
 * been fetched back from peers yet. A node must not write to such a log (its next entry would
 * fork its own core), so `serve` refuses to start until `solidar repair` finished or gave up.
 */
export const REPAIR_FILE = 'repair.json'

export interface PendingRepair {
  version: 1
  /** When the damaged store was moved aside (ISO time). */
  since: string
  /** Where it was moved (kept for a backup or a post-mortem), relative to the home. */
  damaged: string | null
  /** Base keys (hex) of the logs still waiting. */
  pending: string[]
}

export function readPendingRepair (home: string): PendingRepair | null {
  let text: string
  try {
    text = fs.readFileSync(path.join(home, REPAIR_FILE), 'utf8')
  } catch (err: any) {
    if (err.code === 'ENOENT') return null
    throw err
  }
  try {
    const raw = JSON.parse(text)
    if (raw?.version === 1 && Array.isArray(raw.pending) && raw.pending.every((k: unknown) => typeof k === 'string')) return raw
  } catch {
    // Not JSON: damaged, as is JSON of another shape — both end in the error below.
  }
  throw storeError(`${path.join(home, REPAIR_FILE)} is damaged; run \`solidar repair\` again`)
}

export function writePendingRepair (home: string, repair: PendingRepair | null): void {
  if (repair === null) fs.rmSync(path.join(home, REPAIR_FILE), { force: true })
  else writeFileAtomic(path.join(home, REPAIR_FILE), JSON.stringify(repair, null, 2) + '\n')
}

export function assertNoPendingRepair (home: string): void {
  const repair = readPendingRepair(home)
  if (repair === null) return
  const err = storeError(`A repair of the data store is not finished: ${repair.pending.length} of this device's logs still wait for their entries from peers. ` +
    'Run `solidar repair` again while other members are online, or `solidar repair --finish` to give up on what no peer has.')
  ;(err as any).code = 'REPAIR_PENDING'
  throw err
}

/** The store folder and `store-key` belong to different stores (a folder copied in from elsewhere). */
export function foreignStoreError (home: string): Error {
  return storeError(`${path.join(home, STORE_KEY_FILE)} and the data store ${storeDir(home)} belong to different stores ` +
    '(was one of them copied from another home?). Solidar opened nothing; put back the matching pair.')
}

function storeError (message: string): Error {
  const err = new Error(message)
  ;(err as any).code = 'STORAGE_CORRUPT'
  return err
}

export function storeDir (home: string): string {
  return path.join(home, 'store')
}

/**
 * Creates the store folder 0700 (or makes an existing one 0700) before RocksDB opens it.
 * RocksDB creates its files with the process umask (0644 under the usual 022); inside a 0700
 * store in a 0700 home nobody else can reach them. The CLI also sets umask 077 (main.ts).
 */
function privateStoreDir (home: string): void {
  const dir = storeDir(home)
  try {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 })
    fs.chmodSync(dir, 0o700)
  } catch (err: any) {
    // A read-only disk (or a store this user may not chmod): opening it goes on, so what is
    // saved stays readable, and a write fails with the store's own clear error.
    if (err?.code !== 'EROFS' && err?.code !== 'EPERM' && err?.code !== 'EACCES') throw err
  }
}

/**
 * Reads every record of an opened store, so that RocksDB checks the checksum of every block of
 * every file: opening checks only what it reads at start (the WAL, file metadata), and a
 * damaged block of an old message shows only when that message is read. Returns the count.
 */
export async function scanStore (store: any): Promise<number> {
  await store.ready()
  let records = 0
  for await (const _ of store.storage.db.iterator({}, { capacity: 1024 })) records++ // eslint-disable-line @typescript-eslint/no-unused-vars
  return records
}

/**
 * The barrier that makes acknowledged writes survive a power cut. RocksDB writes each batch to
 * its write-ahead log with write(2) and never fsyncs it (rocksdb-native has no `sync` write
 * option), so until the kernel writes the page cache back (up to ~30 s), a power cut or a disk
 * that the kernel turns read-only loses entries that were already acknowledged (found by
 * node/test/full-disk.test.ts: 2 of 2 such messages gone). This fdatasyncs the WAL file(s)
 * from our own descriptor — the same guarantee as RocksDB's `sync` write option, ~1 ms here.
 * Calls that arrive while a sync runs share the next one (group commit). The WAL files written
 * since the last sync are all synced (RocksDB may have switched to a new one), and the folder
 * once for each new file, so that the file itself is found after a power cut.
 */
export function walSyncBarrier (store: any): () => Promise<void> {
  let running: Promise<void> | null = null
  let next: Promise<void> | null = null
  let lastSynced = -1
  const syncNow = async () => {
    const dir = path.join(store.storage.path, 'db') // hypercore-storage keeps RocksDB in <store>/db
    const current = await store.storage.db.currentWalFile()
    const numberOf = (name: string) => Number.parseInt(name, 10)
    // Usually the WAL is the one synced last time; only after RocksDB switched files (or the
    // first time) are the files since then looked up.
    const wals = current.number === lastSynced
      ? [path.basename(current.path)]
      : (await fs.promises.readdir(dir)).filter(n => n.endsWith('.log') && numberOf(n) >= Math.min(lastSynced, current.number))
    for (const name of wals) {
      const fh = await fs.promises.open(path.join(dir, name), 'r')
      try { await fh.datasync() } finally { await fh.close() }
    }
    if (lastSynced === -1) {
      // The first time: the store's own files beside db/ too (CORESTORE, whose extended
      // attribute hypercore-storage checks at open: without this, a disk that failed soon after
      // the first start kept the file but not the attribute, and the store refused to open).
      const storeFolder = path.dirname(dir)
      for (const name of fs.readdirSync(storeFolder)) {
        const file = path.join(storeFolder, name)
        if (!fs.statSync(file).isFile()) continue
        const fh = await fs.promises.open(file, 'r')
        try { await fh.sync() } finally { await fh.close() }
      }
    }
    if (current.number !== lastSynced) {
      // The new WAL's name in db/, and (the first time) db/ in store/ and store/ in the home.
      for (const d of lastSynced === -1 ? [dir, path.dirname(dir), path.dirname(path.dirname(dir))] : [dir]) {
        const dh = await fs.promises.open(d, 'r')
        try { await dh.sync() } finally { await dh.close() }
      }
      lastSynced = current.number
    }
  }
  const run = () => {
    running = syncNow().finally(() => { running = null })
    return running
  }
  return () => {
    if (running === null) return run()
    // A write acknowledged now may have missed the sync in progress: wait for the next one.
    next ??= running.catch(() => { /* the earlier call got its own error; this one runs regardless */ }).then(() => { next = null; return run() })
    return next
  }
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
    'Check the disk, then run `solidar repair` while other members are online: it keeps the damaged store aside and fetches everything back from them ' +
    '(or restore the folder from a backup, if you have one).')
  ;(out as any).code = 'STORAGE_CORRUPT'
  // What `serve` offers to repair in the web app (a foreign store-key is not repairable).
  ;(out as any).damage = msg
  return out
}
