/**
 * Opening the store on a read-only file system: making the store folder 0700 (chmod) fails
 * there with EROFS, and must not stop the store from opening, so that what is saved stays
 * readable. Mounts a small tmpfs and remounts it read-only: needs root.
 */
import test from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { openDiskStore, storeDir } from '../src/disk-store.ts'

const isRoot = process.getuid?.() === 0

test('a store on a read-only file system opens (read-only) although its folder cannot be made 0700', { skip: isRoot ? false : 'needs root to mount a tmpfs' }, async (t) => {
  const mnt = fs.mkdtempSync(path.join(os.tmpdir(), 'solidar-rostore-'))
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=16m', 'tmpfs', mnt])
  let store: any = null
  t.after(async () => {
    await store?.close().catch(() => {})
    try { execFileSync('umount', [mnt]) } catch {}
    fs.rmSync(mnt, { recursive: true, force: true })
  })
  const home = path.join(mnt, 'home')
  fs.mkdirSync(home, { mode: 0o700 })
  store = openDiskStore(home)
  const core = store.get({ name: 'kept' })
  await core.ready()
  await core.append(Buffer.from('saved before the disk went read-only'))
  const key = core.key
  await store.close()
  store = null
  // A folder another tool left group-readable: the chmod has something to change.
  fs.chmodSync(storeDir(home), 0o755)

  execFileSync('mount', ['-o', 'remount,ro', mnt])
  assert.throws(() => fs.chmodSync(storeDir(home), 0o700), (err: any) => err.code === 'EROFS', 'chmod fails on this file system')

  store = openDiskStore(home, { readOnly: true })
  const again = store.get({ key })
  await again.ready()
  assert.equal(again.length, 1)
  assert.equal((await again.get(0)).toString(), 'saved before the disk went read-only')
})
