/**
 * What a removed member still learns (docs/SECURITY.md, "A removed member"): after its
 * removal a rename, a new allowlist entry, a bridged post, a newly admitted member and a new
 * pad reach its node (it keeps the log key and keeps syncing), but none of their sealed parts:
 * the group name stays the old one, the new entry is not on its allowlist, the bridged sender
 * is hidden, the newcomer's name is hidden, the pad's title is unreadable; and neither its
 * view nor its files hold any of those strings. What stays visible is exactly the list in
 * SECURITY.md, checked here item by item. Also: entries in the old (clear) form still read.
 */
import test from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs/promises'
import path from 'node:path'
import b4a from 'b4a'
import { bridgedMessageId } from '../src/bridge.ts'
import { encode } from '../src/codec.ts'
import { commandValue } from '../src/commands.ts'
import { HIDDEN_NAME } from '../src/sealed-meta.ts'
import { getRecord, type Bee, type GroupMeta, type MemberRecord, type MessageRecord } from '../src/view.ts'
import { makeNodes, waitFor } from './helpers.ts'
import { randomKey } from './lab.ts'

const secret = (label: string) => `${label}-${b4a.toString(randomKey().subarray(0, 8), 'hex')}`

async function viewOf (n: { logBase (ref: string): Promise<{ base: any }> }, id: string): Promise<Bee> {
  return (await n.logBase(id)).base.view
}

/** Keys of a view whose key or value (raw CBOR bytes) contains `needle`. */
async function viewKeysContaining (bee: Bee, needle: Uint8Array): Promise<string[]> {
  const hits: string[] = []
  for await (const { key, value } of bee.createReadStream({})) {
    if (b4a.from(value).indexOf(needle) !== -1 || b4a.from(key).indexOf(needle) !== -1) hits.push(key)
  }
  return hits
}

async function filesContaining (dir: string, needle: Uint8Array): Promise<string[]> {
  const hits: string[] = []
  for (const entry of await fs.readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue
    const file = path.join(entry.parentPath ?? (entry as any).path, entry.name)
    if ((await fs.readFile(file)).indexOf(needle) !== -1) hits.push(path.relative(dir, file))
  }
  return hits
}

test('a removed member\'s node sees that a rename, an allowlist entry, a bridged post, a new member and a new pad happened, but none of their sealed contents', async (t) => {
  const newcomerName = secret('zed')
  const { nodes, dir } = await makeNodes(['alice', 'bridge', 'carol', newcomerName], t)
  const [alice, bridge, carol, zed] = nodes
  const { id } = await alice.createGroup('Works council')
  await bridge.join((await alice.createInvite(id)).code, { timeoutMs: 30_000 })
  await carol.join((await alice.createInvite(id)).code, { timeoutMs: 30_000 })
  await alice.bridgeRegister(id, bridge.whoami().id)
  await alice.bridgeAllow(id, 'before.example')
  await waitFor(async () => (await carol.bridgeAllowlist(id)).length === 1, 'carol sees the entry made before her removal')

  await alice.removeMember(id, carol.whoami().id)
  const bridgeView = await viewOf(bridge, id)
  await waitFor(async () => (await getRecord(bridgeView, 'e')) === 1, 'the bridge\'s node reached epoch 1')

  // After the removal: everything that can be sealed is.
  const newName = secret('renamed')
  const jid = `${secret('anna')}@hidden.example`
  const nick = secret('nick')
  const bridgedText = secret('bridged-text')
  const padTitle = secret('pad-title')
  await alice.renameGroup(id, newName)
  await alice.bridgeAllow(id, jid)
  await waitFor(async () => bridge.bridgeAllowed(id, jid), 'the bridge sees the new entry')
  const post = await bridge.sendBridged(id, { id: bridgedMessageId('general', jid, 's1'), room: 'general', text: bridgedText, jid, nick })
  await zed.join((await alice.createInvite(id)).code, { timeoutMs: 30_000 })
  const pad = await alice.pads.create(id, padTitle)
  const needles = [newName, jid, jid.split('@')[0], nick, bridgedText, newcomerName, padTitle]

  // Control: the members read all of it.
  await waitFor(async () => (await alice.messages(id)).length === 1, 'alice has the bridged post')
  assert.equal((await alice.listGroups())[0].name, newName)
  assert.deepEqual((await alice.bridgeAllowlist(id)).map(e => e.entry).sort(), [jid, 'before.example'].sort())
  assert.deepEqual((await alice.messages(id))[0].bridged, { jid, nick })
  assert.equal((await alice.members(id)).find(m => m.id === zed.whoami().id)?.name, newcomerName)
  assert.equal((await alice.pads.get(id, pad.id)).title, padTitle)
  const zedSees = await waitFor(async () => { const m = (await zed.members(id)).find(x => x.id === zed.whoami().id); return m?.name === newcomerName ? m : null }, 'the newcomer reads its own name')
  assert.equal(zedSees.name, newcomerName)
  await waitFor(async () => (await zed.listGroups())[0]?.name === newName, 'the newcomer reads the new name')

  // carol's node receives every one of those entries...
  const carolView = await viewOf(carol, id)
  const zedHex = b4a.toString(zed.identity.publicKey, 'hex')
  // (alice wrote the rename, the entry and the newcomer's member/add before the pad: her pad implies them)
  await waitFor(async () => (await getRecord(carolView, `m!${zedHex}`)) !== null && (await carol.messages(id)).length === 1 &&
    (await carol.pads.list(id)).length === 1, 'carol\'s node has the rename, the newcomer, the bridged post and the pad')

  // ...and learns exactly what SECURITY.md lists, nothing sealed:
  // the group keeps its old name;
  assert.equal((await carol.listGroups())[0].name, 'Works council')
  // the allowlist shows only the entry made before her removal;
  assert.deepEqual((await carol.bridgeAllowlist(id)).map(e => e.entry), ['before.example'])
  assert.equal(await carol.bridgeAllowed(id, jid), false)
  // the bridged post: its id, time, room and author (the bridge) show; sender and text do not;
  const [seen] = await carol.messages(id)
  assert.deepEqual(
    { id: seen.id, author: seen.author, authorName: seen.authorName, room: seen.room, ts: seen.ts, text: seen.text, unreadable: seen.unreadable, bridged: seen.bridged },
    { id: post.message.id, author: bridge.whoami().id, authorName: 'bridge', room: 'general', ts: post.message.ts, text: '', unreadable: true, bridged: { jid: '' } })
  // the newcomer: id, role and time of joining show; the name does not;
  const newcomer = (await carol.members(id)).find(m => m.id === zed.whoami().id)
  assert.deepEqual(newcomer && { name: newcomer.name, role: newcomer.role }, { name: HIDDEN_NAME, role: 'member' })
  // the pad: id, creator, times and number of edits show; the title does not.
  const [carolPad] = await carol.pads.list(id)
  assert.deepEqual({ id: carolPad.id, createdBy: carolPad.createdBy, title: carolPad.title, unreadable: carolPad.unreadable },
    { id: pad.id, createdBy: alice.whoami().id, title: '', unreadable: true })
  assert.equal(carolPad.updates, pad.updates)
  // The view (decrypted by the log key she keeps) holds none of the strings, nor do her files.
  for (const needle of needles) assert.deepEqual(await viewKeysContaining(carolView, b4a.from(needle)), [], `carol's view holds "${needle}"`)
  const meta = await getRecord<GroupMeta>(carolView, 'g')
  assert.equal(meta?.name, 'Works council', 'the name in clear is the old one')
  const newRecord = await getRecord<MemberRecord>(carolView, `m!${zedHex}`)
  assert.equal(newRecord?.name, '', 'the newcomer\'s record has no name in clear')
  assert.ok((await viewKeysContaining(carolView, b4a.from('Works council'))).length > 0, 'the scan finds the name in clear at creation')
  for (const n of nodes) { await n.close(); await n.store.close() }
  for (const needle of needles) assert.deepEqual(await filesContaining(path.join(dir, 'carol'), b4a.from(needle)), [], `carol's store holds "${needle}"`)
})

test('entries in the old, clear form still read: a rename and an allowlist entry in clear; a sealed post may name an entry in clear', async (t) => {
  const { nodes: [alice, bridge] } = await makeNodes(['alice', 'bridge'], t)
  const { id } = await alice.createGroup('Works council')
  await bridge.join((await alice.createInvite(id)).code, { timeoutMs: 30_000 })
  await alice.bridgeRegister(id, bridge.whoami().id)
  const aliceBase = (await alice.logBase(id)).base
  const append = async (cmd: Record<string, unknown>) => { await aliceBase.append(encode(commandValue({ ts: Date.now(), ...cmd } as any))); await aliceBase.update() }
  await append({ t: 'group/rename', name: 'Old style name' })
  await append({ t: 'bridge/allow', entry: 'clear.example' })
  assert.equal((await alice.listGroups())[0].name, 'Old style name')
  assert.deepEqual((await alice.bridgeAllowlist(id)).map(e => e.entry), ['clear.example'])
  await waitFor(async () => bridge.bridgeAllowed(id, 'ben@clear.example'), 'the bridge sees the entry in clear')
  // a sealed post that names the entry in clear is accepted (posts with the sender in clear: bridge.test.ts)
  const sealed = await bridge.sendBridged(id, { id: 'bridged-sealed-1', room: 'general', text: 'sealed sender', jid: 'ben@clear.example', nick: 'Ben' })
  assert.deepEqual(sealed.message.bridged, { jid: 'ben@clear.example', nick: 'Ben' })
  const msgs = await waitFor(async () => { const m = await alice.messages(id); return m.length === 1 ? m : null }, 'alice reads the bridged post')
  assert.deepEqual(msgs[0].bridged, { jid: 'ben@clear.example', nick: 'Ben' })
  // a sealed rename after an old one: the sealed one shows; a later rename in clear replaces both
  await alice.renameGroup(id, 'Sealed name')
  assert.equal((await alice.listGroups())[0].name, 'Sealed name')
  await append({ t: 'group/rename', name: 'Clear again' })
  assert.equal((await alice.listGroups())[0].name, 'Clear again')
})
