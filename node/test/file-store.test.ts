/**
 * FileStore (the node's LocalStore on disk) runs the LocalStore acceptance suite, and keeps
 * its own promises: files 0600 in 0700 folders, no temp file left behind, names that could
 * leave the folder refused, and a failed write rejects without spoiling the next one.
 */
import test from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { localStoreSuite } from '@solidar/core/testing/local-store-suite'
import { FileStore } from '../src/file-store.ts'

function tempDir (t: test.TestContext): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'solidar-filestore-'))
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }))
  return dir
}

localStoreSuite('file', async (t) => new FileStore(tempDir(t)))

test('FileStore: 0600 files in 0700 folders, no temp files left, unsafe names refused', async (t) => {
  const dir = tempDir(t)
  const store = new FileStore(dir)
  await Promise.all(Array.from({ length: 10 }, (_, i) => store.put('pads/g/p.snap', Buffer.from(`v${i}`))))
  assert.equal(fs.statSync(path.join(dir, 'pads/g/p.snap')).mode & 0o777, 0o600)
  assert.equal(fs.statSync(path.join(dir, 'pads/g')).mode & 0o777, 0o700)
  assert.deepEqual(fs.readdirSync(path.join(dir, 'pads/g')), ['p.snap'], 'no .tmp file left behind')
  for (const bad of ['../escape', '/etc/passwd', 'a/../../b', '.hidden', 'a//b', '']) {
    await assert.rejects(store.put(bad, Buffer.from('x')), /not a local file name/, bad)
    await assert.rejects(store.get(bad), /not a local file name/, bad)
    await assert.rejects(store.delete(bad), /not a local file name/, bad)
  }
})

test('FileStore: a failed write rejects, and the next write of the name works', async (t) => {
  const dir = tempDir(t)
  const store = new FileStore(dir)
  // A folder where the file should be: the rename fails (EISDIR), for root too.
  fs.mkdirSync(path.join(dir, 'logs.json'))
  const first = store.put('logs.json', Buffer.from('refused'))
  const second = store.put('logs.json', Buffer.from('queued behind the failure'))
  await assert.rejects(first, (err: NodeJS.ErrnoException) => err.code === 'EISDIR' || err.code === 'ENOTEMPTY' || err.code === 'EEXIST')
  await assert.rejects(second)
  fs.rmdirSync(path.join(dir, 'logs.json'))
  await store.put('logs.json', Buffer.from('after'))
  assert.equal(Buffer.from((await store.get('logs.json'))!).toString(), 'after')
  assert.deepEqual(fs.readdirSync(dir), ['logs.json'], 'no .tmp file left behind by the failed writes')
})
