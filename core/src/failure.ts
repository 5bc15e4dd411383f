/**
 * The coded error for a log whose Autobase failed (and closed for good).
 *
 * STORAGE_FAILED only when the error says the storage failed: an errno from the file system or
 * RocksDB anywhere in its `cause` chain (ENOSPC, EROFS, EIO, EDQUOT…; rocksdb-native names them
 * with `uv_err_name`), or RocksDB's own words ("Batch was not applied" on a full disk comes
 * without a code, "IO error: …", "No space left on device", "Read-only file system").
 * Everything else — Hypercore/Autobase assertions (ERR_ASSERTION: "Invalid checkout N for
 * batch"), Autobase refusing an operation ("Not allowed to remove the last indexer"), a
 * TypeError in a library — is a bug, not the disk: LOG_FAILED, with the original message.
 * Telling a user to free disk space for a bug sends them the wrong way.
 */
import os from 'node:os'
import { errors, type SolidarError } from './errors.ts'

const ERRNO = new Set(Object.keys(os.constants.errno))
const STORAGE_WORDS = /\bBatch was not applied\b|\bIO error\b|no space left|read-only file system|input\/output error|disk quota/i

export function failureError (err: Error & { code?: string }): SolidarError {
  const chain: Array<{ code: string, message: string }> = []
  for (let e: any = err; e && chain.length < 5; e = e.cause) {
    chain.push({ code: typeof e.code === 'string' ? e.code : '', message: e.message ?? String(e) })
  }
  const detail = chain.map(e => e.message).join(': ')
  const assertion = chain.some(e => e.code === 'ERR_ASSERTION' || /^ERR_ASSERTION\b/.test(e.message))
  const storage = chain.some(e => ERRNO.has(e.code) || STORAGE_WORDS.test(e.message))
  if (assertion || !storage) return errors.logFailed(detail)
  let problem: 'full' | 'read-only' | null = null
  for (const e of chain) {
    const text = `${e.code} ${e.message}`
    problem ??= /\bEROFS\b|read-only file system/i.test(text) ? 'read-only' : /\bENOSPC\b|\bEDQUOT\b|no space left|disk quota/i.test(text) ? 'full' : null
  }
  return errors.storageFailed(detail, problem)
}
