/**
 * A full or read-only disk under a running node: sends fail with STORAGE_FAILED and a message
 * that names the problem, the node keeps serving what it has, nothing acknowledged is lost,
 * and a full disk recovers without a restart once enough space is free.
 * Mounts a small tmpfs and a loop-mounted ext4 image, so it needs root (CI runs as root).
 */
import test from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync, spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { createIdentity, encodeIdentity } from '@solidar/core'
import { startNode } from '../src/runtime.ts'
import { IDENTITY_FILE, ensureHome, writeIdentity } from '../src/home.ts'

const isRoot = process.getuid?.() === 0
const MB = 1 << 20

/** Writes `mb` MiB of ones to `file`, stopping at ENOSPC; returns how many MiB fit. */
function fill (file: string, mb: number): number {
  const fd = fs.openSync(file, 'w')
  const chunk = Buffer.alloc(MB, 1)
  let written = 0
  try {
    for (; written < mb; written++) fs.writeSync(fd, chunk)
  } catch (err: any) {
    assert.equal(err.code, 'ENOSPC')
  } finally {
    fs.closeSync(fd)
  }
  return written
}

const freeBytes = (dir: string) => { const s = fs.statfsSync(dir); return s.bavail * s.bsize }

// RocksDB (under Hypercore) sizes two things by its 64 MB write buffer, and both shape this test:
// - at open it preallocates its write-ahead log (~70 MB, fallocate KEEP_SIZE). With that much
//   free, writes go into the reserved blocks and a full disk shows only after ~64 MB of writes;
//   with less, the reservation fails quietly and writes hit ENOSPC at once. A 48 MB ballast on
//   a 112 MB tmpfs leaves ~60 MB free, so the disk fills at once.
// - after a write error it stops writing (a "hard" background error) and polls every ~5 s;
//   its SstFileManager clears the error only once at least 64 MB are free ("free space … is
//   less than required disk buffer [67108864 bytes] / Cannot clear hard error" in its LOG).
test('a full disk refuses writes clearly, loses nothing acknowledged, and writes again once 64 MB are free, without a restart', { skip: isRoot ? false : 'needs root to mount a small tmpfs' }, async (t) => {
  const mnt = fs.mkdtempSync(path.join(os.tmpdir(), 'solidar-fulldisk-'))
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=112m', 'tmpfs', mnt])
  let node: Awaited<ReturnType<typeof startNode>> | null = null
  t.after(async () => { // one hook, in order: the node must let go of the files before umount
    await node?.close().catch(() => {})
    try { execFileSync('umount', [mnt]) } catch {}
    fs.rmSync(mnt, { recursive: true, force: true })
  })
  const ballast = path.join(mnt, 'ballast')
  assert.equal(fill(ballast, 48), 48)
  const home = path.join(mnt, 'home')
  fs.mkdirSync(home, { mode: 0o700 })
  fs.writeFileSync(path.join(home, IDENTITY_FILE), encodeIdentity(createIdentity('Disk')), { mode: 0o600 })
  const errors: Error[] = []
  node = await startNode({ home, network: { mode: 'none', bootstrap: [] }, onError: (e) => errors.push(e) })
  const group = await node.api.createGroup('Full disk')
  const acked = [await node.api.send(group.id, 'saved before the disk filled up')]

  // Fill the file system (bounded by its size).
  const filler = path.join(mnt, 'filler')
  fill(filler, 128)

  // Writes of this size need new storage; some may still fit in blocks RocksDB holds already.
  let refused: any = null
  for (let i = 0; i < 20 && !refused; i++) {
    try { acked.push(await node.api.send(group.id, `attempt ${i} ${'x'.repeat(4000)}`)) } catch (err) { refused = err }
  }
  assert.ok(refused, 'a write is refused once the disk is full')
  assert.equal(refused.code, 'STORAGE_FAILED')
  assert.match(refused.message, /the disk is full \(.*No space left on device\)/, refused.message)
  assert.match(refused.message, /nothing was acknowledged/)
  t.diagnostic(`refused while full: ${refused.message}`)
  assert.ok(errors.length > 0, 'the storage failure is reported as an error event')
  // The node still answers: the identity and the group list come from memory and disk reads.
  assert.equal(node.api.whoami().name, 'Disk')
  // Reads keep working while the disk is full: every acknowledged message is readable.
  const whileFull = (await node.api.messages(group.id)).map(m => m.text)
  for (const m of acked) assert.ok(whileFull.includes(m.text), `readable while the disk is full: ${m.text.slice(0, 40)}`)
  assert.ok((await node.api.listGroups()).some(g => g.id === group.id), 'the group list is served while full')

  // Less than 64 MB freed: RocksDB keeps its error, past one of its ~5 s recovery polls.
  fs.unlinkSync(filler)
  assert.ok(freeBytes(mnt) < 64 * MB, `less than 64 MB free (${(freeBytes(mnt) / MB).toFixed(1)} MB)`)
  await new Promise(resolve => setTimeout(resolve, 6000))
  await assert.rejects(node.api.send(group.id, 'too early'), (err: any) => err.code === 'STORAGE_FAILED', 'still refused with less than 64 MB free')

  // Enough space: the running node writes again (RocksDB resumes, the failed log is reopened).
  fs.unlinkSync(ballast)
  const freed = Date.now()
  let resumed: Awaited<ReturnType<typeof node.api.send>> | null = null
  let last: any = null
  while (!resumed && Date.now() - freed < 30_000) {
    try { resumed = await node.api.send(group.id, 'written after space was freed, same process') } catch (err) {
      last = err
      await new Promise(resolve => setTimeout(resolve, 250))
    }
  }
  assert.ok(resumed, `a send succeeds on the running node within 30 s of freeing space (last error: ${last?.message})`)
  t.diagnostic(`the running node wrote again ${Date.now() - freed} ms after space was freed`)
  acked.push(resumed)
  acked.push(await node.api.send(group.id, 'and the next one too'))
  const afterFree = (await node.api.messages(group.id)).map(m => m.text)
  for (const m of acked) assert.ok(afterFree.includes(m.text), `there after recovery: ${m.text.slice(0, 40)}`)

  // And all of it is on disk: a restart finds every acknowledged message.
  await node.close()
  node = await startNode({ home, network: { mode: 'none', bootstrap: [] } })
  const texts = (await node.api.messages(group.id)).map(m => m.text)
  for (const m of acked) assert.ok(texts.includes(m.text), `acknowledged message survives: ${m.text.slice(0, 40)}`)
  await node.api.send(group.id, 'written after the restart')
  assert.ok((await node.api.messages(group.id)).some(m => m.text === 'written after the restart'))
})

// A disk that is read-only when the node starts (a damaged SD card the kernel remounted ro
// before a reboot): the node must refuse clearly, and start normally once it is writable.
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

/** Resolves with the promise's outcome, or 'timeout' after `ms`. */
/** The options of the file system mounted at `mnt` ('' when none is). */
function mountOptions (mnt: string): string {
  return fs.readFileSync('/proc/mounts', 'utf8').split('\n').find(l => l.split(' ')[1] === mnt)?.split(' ')[3] ?? ''
}

/** Detaches every loop device backed by `image` and checks that none is left. */
function detachLoops (image: string): void {
  const attached = () => (spawnSync('losetup', ['-j', image], { encoding: 'utf8' }).stdout ?? '')
    .split('\n').map(line => line.split(':')[0]).filter(device => device.startsWith('/dev/loop'))
  for (const device of attached()) {
    try { execFileSync('losetup', ['-d', device], { stdio: 'pipe' }) } catch { /* autoclear detached it meanwhile: checked below */ }
  }
  assert.deepEqual(attached(), [], `no loop device left on ${image}`)
}

async function within<T> (ms: number, p: Promise<T>): Promise<T | 'timeout'> {
  let timer: NodeJS.Timeout | undefined
  try {
    return await Promise.race([p, new Promise<'timeout'>(resolve => { timer = setTimeout(() => resolve('timeout'), ms) })])
  } finally {
    clearTimeout(timer)
  }
}

// The disk goes read-only under the running node: what the kernel does to an ext4 file system
// on a failing SD card (errors=remount-ro). `remount,ro` is refused while files are open for
// writing (EBUSY), but `remount,abort` switches ext4 to emergency read-only at once, open files
// or not — and, like the real thing, drops the journal's uncommitted transaction.
// The image is 128 MB: on 64 MB the node cannot start (RocksDB's ~70 MB WAL reservation, above).
test('a disk that turns read-only under a running node: writes refused clearly, reads served, everything acknowledged is there after fsck', { skip: isRoot ? false : 'needs root to loop-mount an ext4 image' }, async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'solidar-abortdisk-'))
  const image = path.join(dir, 'disk.img')
  const mnt = path.join(dir, 'mnt')
  fs.mkdirSync(mnt)
  fs.writeFileSync(image, '')
  fs.truncateSync(image, 128 * MB)
  execFileSync('mkfs.ext4', ['-q', image])
  execFileSync('mount', ['-o', 'loop', image, mnt])
  let node: Awaited<ReturnType<typeof startNode>> | null = null
  t.after(async () => {
    if (node) await within(10_000, node.close().catch(() => {}))
    try { execFileSync('umount', [mnt]) } catch { try { execFileSync('umount', ['-l', mnt]) } catch {} }
    // `mount -o loop` sets autoclear, so umount detaches the device; detach any left over.
    try { detachLoops(image) } catch { /* cleanup after a failure: the temp dir goes anyway */ }
    fs.rmSync(dir, { recursive: true, force: true })
  })
  // Made as `solidar init` makes them (written and synced): nothing of ours syncs the disk below.
  const home = path.join(mnt, 'home')
  ensureHome(home)
  writeIdentity(home, createIdentity('Aborted'))
  const errors: Error[] = []
  node = await startNode({ home, network: { mode: 'none', bootstrap: [] }, onError: (e) => errors.push(e) })
  const group = await node.api.createGroup('Failing SD card')
  const acked: string[] = []
  for (let i = 0; i < 5; i++) acked.push((await node.api.send(group.id, `saved before the disk failed ${i}`)).text)
  const pad = await node.api.pads.create(group.id, 'Minutes', { content: '# Minutes\n\nThe disk held.', format: 'md' })
  const padBefore = (await node.api.pads.export(group.id, pad.id, { format: 'md' })).content
  // Acknowledged means on disk: every send waits for the WAL's fdatasync (walSyncBarrier), so
  // messages acknowledged right before the abort — with no `sync` of ours — must survive it.
  // (Before the barrier, 2 of 2 such messages were lost in every run.)
  const lastMoment: string[] = []
  for (let i = 0; i < 3; i++) lastMoment.push((await node.api.send(group.id, `acknowledged just before the disk failed ${i}`)).text)

  execFileSync('mount', ['-o', 'remount,abort', mnt])
  const options = mountOptions(mnt)
  t.diagnostic(`after remount,abort: ${options}`)
  assert.match(options, /emergency_ro|abort|(^|,)ro(,|$)/, 'the file system is read-only now')

  const refused: any = await node.api.send(group.id, 'written after the disk failed').then(() => null, (err) => err)
  assert.ok(refused, 'a write is refused on the read-only disk')
  assert.equal(refused.code, 'STORAGE_FAILED')
  assert.match(refused.message, /the disk has become read-only \(.*Read-only file system\)/, refused.message)
  assert.match(refused.message, /nothing was acknowledged/)
  t.diagnostic(`refused while read-only: ${refused.message}`)
  assert.ok(errors.length > 0, 'the storage failure is reported as an error event')
  // A second try fails the same way (the failed log is reopened from disk, then refused again).
  await assert.rejects(node.api.send(group.id, 'second try'), (err: any) => err.code === 'STORAGE_FAILED' && /read-only/.test(err.message))
  await assert.rejects(node.api.pads.append(group.id, pad.id, 'a pad edit'), (err: any) => err.code === 'STORAGE_FAILED')

  // Reads keep working: the node, the group list, the messages (all acknowledged), the pad.
  assert.equal(node.api.whoami().name, 'Aborted')
  assert.ok((await node.api.listGroups()).some(g => g.id === group.id), 'the group list is served')
  const whileRo = (await node.api.messages(group.id)).map(m => m.text)
  for (const text of [...acked, ...lastMoment]) assert.ok(whileRo.includes(text), `readable on the read-only disk: ${text}`)
  assert.equal((await node.api.pads.export(group.id, pad.id, { format: 'md' })).content, padBefore, 'the pad exports as before')

  // Closing cannot flush; it must still end (bounded), so the process can go on.
  const closeStarted = Date.now()
  const closed = await within(10_000, node.close().then(() => 'closed', (err) => `failed: ${err.message}`))
  t.diagnostic(`close on the read-only disk: ${closed} after ${Date.now() - closeStarted} ms`)
  assert.notEqual(closed, 'timeout', 'the node closes within 10 s on a read-only disk')
  node = null

  execFileSync('umount', [mnt])
  // The loop device of the aborted mount must be gone before fsck and the next mount: a
  // `mount -o loop` while it is still attached was once given that device, still read-only
  // (EROFS on the first file the node opened). `losetup -d` detaches it if autoclear has not yet.
  detachLoops(image)
  const fsck = spawnSync('e2fsck', ['-fy', image], { encoding: 'utf8' })
  t.diagnostic(`e2fsck -fy exit ${fsck.status}: ${`${fsck.stdout}${fsck.stderr}`.trim().split('\n').filter(Boolean).join(' | ')}`)
  assert.ok(fsck.status === 0 || fsck.status === 1, `e2fsck found nothing it could not fix (exit ${fsck.status})`)

  execFileSync('mount', ['-o', 'loop', image, mnt])
  assert.match(mountOptions(mnt), /^rw(,|$)/, `mounted writable again after fsck: ${mountOptions(mnt)}`)
  node = await startNode({ home, network: { mode: 'none', bootstrap: [] } })
  const after = (await node.api.messages(group.id)).map(m => m.text)
  for (const text of [...acked, ...lastMoment]) assert.ok(after.includes(text), `acknowledged before the failure, there after it: ${text}`)
  assert.equal((await node.api.pads.export(group.id, pad.id, { format: 'md' })).content, padBefore, 'the pad is as it was')
  const fresh = await node.api.send(group.id, 'written after fsck')
  assert.ok((await node.api.messages(group.id)).some(m => m.id === fresh.id))
  await node.api.pads.append(group.id, pad.id, 'a pad edit after fsck')
  assert.match((await node.api.pads.export(group.id, pad.id, { format: 'md' })).content, /a pad edit after fsck/)
})
