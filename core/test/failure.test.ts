/**
 * What a log whose Autobase failed reports (core/src/failure.ts): the disk only when the
 * storage said so; an internal error (an assertion, Autobase refusing an operation, a bug)
 * is LOG_FAILED with its own message and never asks whether the disk is full.
 */
import test from 'node:test'
import assert from 'node:assert/strict'
import { failureError } from '../src/failure.ts'

const withCode = (message: string, code?: string, cause?: Error) => Object.assign(new Error(message, cause ? { cause } : {}), code ? { code } : {})
/** What rocksdb-native reports: "Batch was not applied", the file system's answer as `cause` (code from uv_err_name). */
const rocks = (cause: string, code = 'EIO') => withCode('Batch was not applied', undefined, withCode(`While appending to file: /home/store/db/000004.log: ${cause}`, code))

test('failureError: the disk in its many shapes is STORAGE_FAILED and names the problem when the system did', () => {
  assert.equal(failureError(withCode('ENOSPC: no space left on device, write', 'ENOSPC')).code, 'STORAGE_FAILED')
  assert.equal(failureError(withCode('Batch was not applied')).code, 'STORAGE_FAILED', 'RocksDB on a full disk, without a code')
  assert.equal(failureError(withCode('EROFS: read-only file system', 'EROFS')).code, 'STORAGE_FAILED')
  assert.equal(failureError(withCode('EIO: i/o error, read', 'EIO')).code, 'STORAGE_FAILED')
  assert.equal(failureError(withCode('IO error: While fsync: a file descriptor: Input/output error')).code, 'STORAGE_FAILED')
  const readOnly = failureError(rocks('Read-only file system', 'EROFS'))
  assert.equal(readOnly.code, 'STORAGE_FAILED')
  assert.match(readOnly.message, /the disk has become read-only \(Batch was not applied: While appending to file: .*Read-only file system\)/)
  assert.match(failureError(rocks('No space left on device')).message, /the disk is full \(.*No space left on device\)/)
  assert.match(failureError(withCode('EDQUOT: disk quota exceeded, write', 'EDQUOT')).message, /the disk is full/)
  assert.match(failureError(withCode('EROFS: read-only file system, open', 'EROFS')).message, /read-only/)
  assert.match(failureError(withCode('Batch was not applied')).message, /full or read-only\?/)
})

test('failureError: internal errors (Hypercore/Autobase assertions, Autobase refusing an operation, a bug) are LOG_FAILED with the original message, never a disk question', () => {
  const cases = [
    withCode('Invalid checkout 12 for batch, length is 0', 'ERR_ASSERTION'),
    withCode('ERR_ASSERTION: Invalid checkout 12 for batch, length is 0 (discovery key: x)'),
    withCode('Not allowed to remove the last indexer'),
    new TypeError("Cannot read properties of null (reading 'key')"),
    withCode('SESSION_CLOSED: Cannot make sessions on a closing core', 'SESSION_CLOSED'),
    // an assertion is a bug even when its cause mentions the disk
    withCode('Invalid checkout 3 for batch, length is 0', 'ERR_ASSERTION', withCode('EIO: i/o error', 'EIO'))
  ]
  for (const err of cases) {
    const coded = failureError(err)
    assert.equal(coded.code, 'LOG_FAILED', err.message)
    assert.match(coded.message, /internal error/)
    assert.ok(coded.message.includes(err.message), `keeps the original message: ${err.message}`)
    assert.doesNotMatch(coded.message, /disk|space/i, err.message)
  }
})
