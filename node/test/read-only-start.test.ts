/**
 * A node on a disk too full to open its store for writing starts read-only: everything saved
 * is readable and exportable (API and HTTP), every write is refused with DISK_FULL (507), the
 * status says so; once space is freed it becomes writable without a restart, and what it
 * writes then is on disk after a restart. Loop-mounts a small ext4 image: needs root.
 */
import test from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync, spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import pino from 'pino'
import { chromium, type Browser } from 'playwright-core'
import { createIdentity, type SolidarEvent } from '@solidar/core'
import { startNode } from '../src/runtime.ts'
import { ensureHome, writeIdentity } from '../src/home.ts'
import { DEFAULT_STATIC_DIR, startApiServer } from '../src/api/server.ts'
import { WRITABLE_FREE_BYTES, freeBytes } from '../src/read-only.ts'
import { storeDir } from '../src/disk-store.ts'

const isRoot = process.getuid?.() === 0
const MB = 1 << 20

/** Fills the file system holding `file` to the last block (ENOSPC ends it). */
function fillUp (file: string): void {
  const fd = fs.openSync(file, 'w')
  try {
    for (const size of [MB, 4096]) {
      const chunk = Buffer.alloc(size, 1)
      try { for (;;) fs.writeSync(fd, chunk) } catch (err: any) { assert.equal(err.code, 'ENOSPC') }
    }
  } finally {
    fs.closeSync(fd)
  }
}

test('a disk too full to open the store: the node starts read-only, refuses writes with DISK_FULL, and becomes writable once space is freed', { timeout: 180_000, skip: isRoot ? false : 'needs root to loop-mount an ext4 image' }, async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'solidar-rostart-'))
  const image = path.join(dir, 'disk.img')
  const mnt = path.join(dir, 'mnt')
  fs.mkdirSync(mnt)
  fs.writeFileSync(image, '')
  fs.truncateSync(image, 128 * MB)
  // -m 0: no blocks reserved for root, so root (this test) sees the same full disk a user would.
  execFileSync('mkfs.ext4', ['-q', '-m', '0', image])
  execFileSync('mount', ['-o', 'loop', image, mnt])
  let node: Awaited<ReturnType<typeof startNode>> | null = null
  let server: Awaited<ReturnType<typeof startApiServer>> | null = null
  let browser: Browser | null = null
  t.after(async () => { // in order: the node lets go of its files before the umount
    await browser?.close().catch(() => {})
    await server?.close().catch(() => {})
    await node?.close().catch(() => {})
    try { execFileSync('umount', [mnt]) } catch { try { execFileSync('umount', ['-l', mnt]) } catch {} }
    const left = spawnSync('losetup', ['-j', image], { encoding: 'utf8' }).stdout ?? ''
    for (const line of left.split('\n')) {
      const device = line.split(':')[0]
      if (device.startsWith('/dev/loop')) try { execFileSync('losetup', ['-d', device]) } catch {}
    }
    fs.rmSync(dir, { recursive: true, force: true })
  })

  const home = path.join(mnt, 'home')
  ensureHome(home)
  writeIdentity(home, createIdentity('Full'))
  node = await startNode({ home, network: { mode: 'none', bootstrap: [] } })
  assert.equal(node.storage, undefined, 'a node with room starts writable, as before')
  const group = await node.api.createGroup('Full disk')
  const saved = [(await node.api.send(group.id, 'saved before the disk filled up')).text]
  const pad = await node.api.pads.create(group.id, 'Minutes', { content: '# Minutes\n\nRead me on a full disk.', format: 'md' })
  const padText = (await node.api.pads.export(group.id, pad.id, { format: 'md' })).content
  await node.close()
  node = null

  const filler = path.join(mnt, 'filler')
  fillUp(filler)
  t.diagnostic(`free before the start: ${freeBytes(mnt)} bytes`)

  const errors: Error[] = []
  node = await startNode({ home, network: { mode: 'none', bootstrap: [] }, writableCheckMs: 100, onError: (e) => errors.push(e) })
  assert.equal(node.storage?.writable, false, 'the node started read-only')
  assert.equal(node.storage?.reason, 'disk-full')

  // Everything saved is readable and exportable.
  assert.ok((await node.api.listGroups()).some(g => g.id === group.id), 'the group list is served')
  assert.deepEqual((await node.api.messages(group.id)).map(m => m.text), saved)
  assert.equal((await node.api.pads.export(group.id, pad.id, { format: 'md' })).content, padText, 'the pad exports')
  const status = await node.api.status()
  assert.equal(status.storage?.writable, false, 'the status says read-only')
  assert.equal(status.storage?.needed, WRITABLE_FREE_BYTES)
  assert.equal(status.storage?.path, storeDir(home))

  // Every write is refused with DISK_FULL, saying where and how much space is needed.
  const refused: any = await node.api.send(group.id, 'not saved').then(() => null, (err) => err)
  assert.ok(refused, 'a send is refused')
  assert.equal(refused.code, 'DISK_FULL')
  assert.ok(refused.message.includes(storeDir(home)), refused.message)
  assert.match(refused.message, /needs 72\.0 MB/)
  t.diagnostic(`refused: ${refused.message}`)
  for (const write of [
    () => node!.api.createGroup('another'),
    () => node!.api.pads.append(group.id, pad.id, 'an edit'),
    () => node!.api.pads.create(group.id, 'New pad'),
    () => node!.api.createInvite(group.id),
    () => node!.mirrors.add(group.id, 'x')
  ]) await assert.rejects(write(), (err: any) => err.code === 'DISK_FULL')

  // Through the HTTP API: reads 200, writes 507 with the code.
  const token = 'a'.repeat(64)
  server = await startApiServer({ api: node.api, mirrors: node.mirrors, port: 0, token, logger: pino({ level: 'silent' }) })
  const http = (method: string, p: string, body?: unknown) => fetch(`${server!.url}${p}`, {
    method, headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) }, body: body ? JSON.stringify(body) : undefined
  })
  const read = await http('GET', `/api/groups/${group.id}/messages`)
  assert.equal(read.status, 200)
  assert.deepEqual((await read.json()).map((m: any) => m.text), saved)
  const post = await http('POST', `/api/groups/${group.id}/messages`, { text: 'not saved either' })
  assert.equal(post.status, 507)
  assert.equal((await post.json()).error.code, 'DISK_FULL')
  assert.equal((await (await http('GET', '/api/status')).json()).storage.writable, false)

  // The web app says so, and shows what is saved.
  assert.ok(fs.existsSync(path.join(DEFAULT_STATIC_DIR, 'index.html')), 'web/dist is built (`npm run build`; npm test does)')
  const tmp = path.join(dir, 'chromium')
  fs.mkdirSync(tmp)
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium', env: { ...process.env, TMPDIR: tmp }, timeout: 30_000,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync']
  })
  const page = await (await browser.newContext({ locale: 'en-US' })).newPage()
  page.setDefaultTimeout(15_000)
  const problems: string[] = []
  page.on('console', (msg) => { if (msg.type() === 'error') problems.push(`console: ${msg.text()}`) })
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`))
  await page.goto(`${server.url}/#token=${token}`)
  await page.evaluate((id) => { location.hash = `#/g/${id}` }, group.id)
  const banner = page.getByTestId('read-only')
  await banner.waitFor()
  assert.match(await banner.innerText(), /Read-only: the disk is full/)
  assert.ok((await banner.innerText()).includes(storeDir(home)), 'the banner names the folder')
  await page.getByText(saved[0]).first().waitFor()
  await page.evaluate(([g, p]) => { location.hash = `#/g/${g}/pads/${p}` }, [group.id, pad.id])
  await page.getByText('Read me on a full disk.').first().waitFor() // the pad opens in the editor
  assert.deepEqual(problems, [], 'reading in the web app meets no error')

  // Some space, but less than the store needs to open for writing: still read-only, and the
  // refusal says how much is free now.
  fs.truncateSync(filler, fs.statSync(filler).size - 40 * MB)
  const some = await node.checkStorage!()
  assert.equal(some.writable, false, `still read-only with ${some.free} bytes free`)
  assert.ok(some.free >= 40 * MB && some.free < WRITABLE_FREE_BYTES, `${some.free} bytes free`)
  await assert.rejects(node.api.send(group.id, 'not yet'), (err: any) => err.code === 'DISK_FULL' && /\b(39|40|41)\.\d MB free/.test(err.message))

  // Space returns: the node becomes writable by itself (announced by an event) and writes.
  const writable = new Promise<SolidarEvent>(resolve => {
    const stop = node!.api.subscribe((e) => { if (e.type === 'storage' && e.writable) { stop(); resolve(e) } })
  })
  fs.unlinkSync(filler)
  assert.ok(freeBytes(mnt) >= WRITABLE_FREE_BYTES, 'enough space is free now')
  await writable
  assert.equal(node.storage?.writable, true)
  assert.equal((await node.api.status()).storage?.writable, true, 'the status says writable')
  await banner.waitFor({ state: 'detached' }) // the web app heard the event
  await browser.close()
  browser = null
  const after = await http('POST', `/api/groups/${group.id}/messages`, { text: 'written once space was freed' })
  assert.equal(after.status, 201, 'the same API server takes writes again')
  saved.push((await after.json()).text)
  saved.push((await node.api.send(group.id, 'and one more')).text)
  await node.api.pads.append(group.id, pad.id, 'An edit after the disk was freed.')
  assert.deepEqual(errors.map(e => e.message), [], 'no background errors')

  // On disk: a restart finds all of it.
  await server.close()
  server = null
  await node.close()
  node = await startNode({ home, network: { mode: 'none', bootstrap: [] } })
  assert.equal(node.storage, undefined, 'starts writable')
  assert.deepEqual((await node.api.messages(group.id)).map(m => m.text), saved)
  assert.match((await node.api.pads.export(group.id, pad.id, { format: 'md' })).content, /An edit after the disk was freed\./)
})
