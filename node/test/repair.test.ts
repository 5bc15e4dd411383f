/**
 * `solidar repair` (node/src/repair.ts) and the files it relies on: `store-key` (the store's
 * primary key, 0600) and `repair.json` (a repair not finished blocks `serve`). The flipped-bit
 * case with separate daemons is in test/corrupt-storage.test.ts; here the store folder is lost
 * outright, in process, over a loopback DHT.
 */
import test from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { createIdentity, encodeIdentity } from '@solidar/core'
import { startNode, runDhtBootstrap, type NetworkChoice } from '../src/runtime.ts'
import { waitFor } from '@solidar/core/testing/wait'
import { IDENTITY_FILE } from '../src/home.ts'
import { REPAIR_FILE, STORE_KEY_FILE, storeDir } from '../src/disk-store.ts'
import { repairStore } from '../src/repair.ts'

const OFFLINE: NetworkChoice = { mode: 'none', bootstrap: [] }

function makeHome (dir: string, name: string): string {
  const home = path.join(dir, name)
  fs.mkdirSync(home, { recursive: true, mode: 0o700 })
  fs.writeFileSync(path.join(home, IDENTITY_FILE), encodeIdentity(createIdentity(name)), { mode: 0o600 })
  return home
}


test('store-key: written 0600 at the first start; a store from elsewhere is refused, nothing opened', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'solidar-storekey-'))
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }))
  const home = makeHome(dir, 'alice')
  const other = makeHome(dir, 'other')
  let node = await startNode({ home, network: OFFLINE })
  const group = await node.api.createGroup('Kept')
  await node.close()
  const keyFile = path.join(home, STORE_KEY_FILE)
  assert.match(fs.readFileSync(keyFile, 'utf8'), /^[0-9a-f]{64}\n$/)
  assert.equal(fs.statSync(keyFile).mode & 0o777, 0o600)

  // The same home starts again with its key; another home's store-key is refused.
  node = await startNode({ home, network: OFFLINE })
  assert.ok((await node.api.listGroups()).some(g => g.id === group.id))
  await node.close()
  const otherNode = await startNode({ home: other, network: OFFLINE })
  await otherNode.close()
  const mine = fs.readFileSync(keyFile)
  fs.writeFileSync(keyFile, 'not a key\n', { mode: 0o600 })
  await assert.rejects(startNode({ home, network: OFFLINE }), /store-key is damaged/)
  fs.writeFileSync(keyFile, mine, { mode: 0o600 })
  node = await startNode({ home, network: OFFLINE })
  assert.ok((await node.api.listGroups()).some(g => g.id === group.id), 'the matching pair opens with everything')
  await node.close()
  fs.copyFileSync(path.join(other, STORE_KEY_FILE), keyFile)
  await assert.rejects(startNode({ home, network: OFFLINE }), /belong to different stores/)
  // A refused open releases RocksDB's lock: the same process opens the store again (serve
  // offers a repair in the process that found the damage).
  fs.writeFileSync(keyFile, mine, { mode: 0o600 })
  node = await startNode({ home, network: OFFLINE })
  assert.ok((await node.api.listGroups()).some(g => g.id === group.id))
  await node.close()
})

test('repair: a healthy store is left alone; wrong use is refused before anything is moved', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'solidar-repair-'))
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }))
  const home = makeHome(dir, 'alice')
  const node = await startNode({ home, network: OFFLINE })
  await node.api.createGroup('Healthy')
  await node.close()
  const network: NetworkChoice = { mode: 'bootstrap', bootstrap: ['127.0.0.1:9'] } // never contacted: nothing to do
  assert.deepEqual(await repairStore({ home, network, timeoutMs: 1000 }), { status: 'healthy', damaged: null, damage: null, logs: [] })
  await assert.rejects(repairStore({ home, network: OFFLINE, timeoutMs: 1000 }), /No network to repair from/)
  await assert.rejects(repairStore({ home, network, timeoutMs: 1000, finish: true }), /No repair is pending/)
  // A home from before store-key existed cannot be repaired (its writer keys are in the lost store).
  fs.rmSync(path.join(home, STORE_KEY_FILE))
  fs.rmSync(storeDir(home), { recursive: true })
  await assert.rejects(repairStore({ home, network, timeoutMs: 1000 }), /no store-key/)
  assert.equal(fs.existsSync(path.join(home, REPAIR_FILE)), false, 'no repair was started')
})

test('repair: a lost store comes back from a peer; the node writes on and the peer gets it', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'solidar-repair-'))
  const dht = await runDhtBootstrap({ host: '127.0.0.1', port: 0 })
  const open: Array<{ close (): Promise<void> }> = []
  t.after(async () => {
    for (const n of open) await n.close().catch(() => {})
    await dht.close()
    fs.rmSync(dir, { recursive: true, force: true })
  })
  const network: NetworkChoice = { mode: 'bootstrap', bootstrap: [`127.0.0.1:${dht.port}`] }
  const aliceHome = makeHome(dir, 'alice')
  let alice = await startNode({ home: aliceHome, network })
  open.push(alice)
  const bob = await startNode({ home: makeHome(dir, 'bob'), network })
  open.push(bob)
  const group = await alice.api.createGroup('Repair')
  await bob.api.join((await alice.api.createInvite(group.id)).code, { timeoutMs: 30_000 })
  const sent = []
  for (let i = 0; i < 5; i++) sent.push((await alice.api.send(group.id, `before ${i}`)).id)
  sent.push((await bob.api.send(group.id, 'from bob')).id)
  await waitFor(async () => (await bob.api.messages(group.id)).length === 6 && (await alice.api.messages(group.id)).length === 6, 'both nodes to have all 6 messages')
  await alice.close()

  fs.rmSync(storeDir(aliceHome), { recursive: true }) // the store is gone (a dead disk sector would do the same)
  const progress: string[] = []
  let report = await repairStore({ home: aliceHome, network, timeoutMs: 5000, onProgress: (p) => progress.push(`${p.kind}:${p.phase}`) })
  assert.equal(report.damage, 'the store folder is missing')
  const groupLog = report.logs.find(l => l.id === group.id)
  assert.deepEqual(groupLog && { state: groupLog.state, kind: groupLog.kind }, { state: 'restored', kind: 'group' }, JSON.stringify(report))
  assert.ok(groupLog!.entries >= 5, `alice's own entries are back: ${groupLog!.entries}`)
  assert.ok(progress.includes('group:done'), progress.join(' '))
  if (report.status === 'incomplete') {
    // What no peer can hold: the vault of a member with one device.
    assert.deepEqual(report.logs.filter(l => l.state === 'no-peer').map(l => l.kind), ['vault'])
    await assert.rejects(startNode({ home: aliceHome, network }), (err: any) => err.code === 'REPAIR_PENDING' && /repair --finish/.test(err.message))
    report = await repairStore({ home: aliceHome, network, timeoutMs: 1000, finish: true })
    assert.equal(report.status, 'finished')
  } else {
    assert.equal(report.status, 'repaired')
  }
  assert.equal(fs.existsSync(path.join(aliceHome, REPAIR_FILE)), false)

  alice = await startNode({ home: aliceHome, network })
  open.push(alice)
  await waitFor(async () => (await alice.api.messages(group.id)).length === 6, 'alice to have the 6 messages again')
  const after = await alice.api.send(group.id, 'after the repair')
  await waitFor(async () => (await bob.api.messages(group.id)).some(m => m.id === after.id), 'bob to get alice\'s next message')
  const ids = async (n: typeof bob) => (await n.api.messages(group.id)).map(m => m.id)
  await waitFor(async () => JSON.stringify(await ids(alice)) === JSON.stringify(await ids(bob)), 'one order on both')
  assert.deepEqual((await ids(bob)).slice(0, 6).sort(), [...sent].sort())
})
