/**
 * A full disk: sends fail with STORAGE_FAILED and a clear message, the node keeps serving
 * what it has, and after space is freed and the node restarts nothing acknowledged is lost.
 * Uses a small tmpfs, so it needs root (CI runs as root).
 */
import test from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { createIdentity, encodeIdentity } from '@solidar/core'
import { startNode } from '../src/runtime.ts'
import { IDENTITY_FILE } from '../src/home.ts'

const isRoot = process.getuid?.() === 0

test('a full disk refuses writes clearly and loses nothing acknowledged', { skip: isRoot ? false : 'needs root to mount a small tmpfs' }, async (t) => {
  const mnt = fs.mkdtempSync(path.join(os.tmpdir(), 'solidar-fulldisk-'))
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=48m', 'tmpfs', mnt])
  let node: Awaited<ReturnType<typeof startNode>> | null = null
  t.after(async () => { // one hook, in order: the node must let go of the files before umount
    await node?.close().catch(() => {})
    try { execFileSync('umount', [mnt]) } catch {}
    fs.rmSync(mnt, { recursive: true, force: true })
  })
  const home = path.join(mnt, 'home')
  fs.mkdirSync(home, { mode: 0o700 })
  fs.writeFileSync(path.join(home, IDENTITY_FILE), encodeIdentity(createIdentity('Disk')), { mode: 0o600 })
  const errors: Error[] = []
  node = await startNode({ home, network: { mode: 'none', bootstrap: [] }, onError: (e) => errors.push(e) })
  const group = await node.api.createGroup('Full disk')
  const acked = [await node.api.send(group.id, 'saved before the disk filled up')]

  // Fill the file system (bounded by its size).
  const filler = path.join(mnt, 'filler')
  const fd = fs.openSync(filler, 'w')
  const chunk = Buffer.alloc(1 << 20, 1)
  try { for (let i = 0; i < 64; i++) fs.writeSync(fd, chunk) } catch (err: any) { assert.equal(err.code, 'ENOSPC') } finally { fs.closeSync(fd) }

  // Writes of this size need new storage; some may still fit in blocks RocksDB holds already.
  let refused: any = null
  for (let i = 0; i < 20 && !refused; i++) {
    try { acked.push(await node.api.send(group.id, `attempt ${i} ${'x'.repeat(4000)}`)) } catch (err) { refused = err }
  }
  assert.ok(refused, 'a write is refused once the disk is full')
  assert.equal(refused.code, 'STORAGE_FAILED')
  assert.match(refused.message, /disk/i)
  assert.ok(errors.length > 0, 'the storage failure is reported as an error event')
  // The node still answers: the identity and the group list come from memory and disk reads.
  assert.equal(node.api.whoami().name, 'Disk')
  // Reads keep working while the disk is full: every acknowledged message is readable.
  const whileFull = (await node.api.messages(group.id)).map(m => m.text)
  for (const m of acked) assert.ok(whileFull.includes(m.text), `readable while the disk is full: ${m.text.slice(0, 40)}`)
  assert.ok((await node.api.listGroups()).some(g => g.id === group.id), 'the group list is served while full')

  fs.unlinkSync(filler)
  await node.close()
  node = await startNode({ home, network: { mode: 'none', bootstrap: [] } })
  const texts = (await node.api.messages(group.id)).map(m => m.text)
  for (const m of acked) assert.ok(texts.includes(m.text), `acknowledged message survives: ${m.text.slice(0, 40)}`)
  await node.api.send(group.id, 'written after space was freed')
  assert.ok((await node.api.messages(group.id)).some(m => m.text === 'written after space was freed'))
})

// A file system cannot be switched to read-only under a running daemon: the kernel refuses
// `remount,ro` (EBUSY) while files are open for writing. What can happen is a disk that is
// read-only when the node starts (a damaged SD card remounted ro by the kernel, a full-disk
// error remount): the node must refuse clearly, and start normally once it is writable.
test('a read-only disk: the node refuses to start with a clear error and starts once writable', { skip: isRoot ? false : 'needs root to mount and remount a tmpfs' }, async (t) => {
  const mnt = fs.mkdtempSync(path.join(os.tmpdir(), 'solidar-rodisk-'))
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=48m', 'tmpfs', mnt])
  let node: Awaited<ReturnType<typeof startNode>> | null = null
  t.after(async () => {
    try { execFileSync('mount', ['-o', 'remount,rw', mnt]) } catch {}
    await node?.close().catch(() => {})
    try { execFileSync('umount', [mnt]) } catch {}
    fs.rmSync(mnt, { recursive: true, force: true })
  })
  const home = path.join(mnt, 'home')
  fs.mkdirSync(home, { mode: 0o700 })
  fs.writeFileSync(path.join(home, IDENTITY_FILE), encodeIdentity(createIdentity('ReadOnly')), { mode: 0o600 })
  node = await startNode({ home, network: { mode: 'none', bootstrap: [] } })
  const group = await node.api.createGroup('Read-only disk')
  const acked = await node.api.send(group.id, 'saved before the disk went read-only')
  await node.close()
  node = null

  execFileSync('mount', ['-o', 'remount,ro', mnt])
  const refused: any = await startNode({ home, network: { mode: 'none', bootstrap: [] } }).then(
    (n) => { node = n; return null },
    (err) => err)
  assert.ok(refused, 'the node does not start on a read-only disk')
  assert.match(String(refused.message), /read-only|EROFS/i, `the error names the cause: ${refused.message}`)

  execFileSync('mount', ['-o', 'remount,rw', mnt])
  node = await startNode({ home, network: { mode: 'none', bootstrap: [] } })
  assert.ok((await node.api.messages(group.id)).some(m => m.id === acked.id), 'the acknowledged message is there')
  await node.api.send(group.id, 'written after the disk became writable')
})
