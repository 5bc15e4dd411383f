/**
 * Epoch keys named by id and granted to devices that lack them (rules 3, apply-epochs.ts,
 * epoch-grants.ts): a device admitted by one admin while another admin rotated the same epoch
 * gets the other rotation's key too.
 */
import test from 'node:test'
import assert from 'node:assert/strict'
import b4a from 'b4a'
import { applyNodes } from '../src/apply.ts'
import { signBinding } from '../src/binding.ts'
import type { Command, EpochBox, MemberBox } from '../src/commands.ts'
import { createIdentity, type Identity } from '../src/identity.ts'
import { epochKeyId, openEpochKey, sealEpochKey } from '../src/keys.ts'
import type { MemoryTransport } from '../src/memory-transport.ts'
import { getRecord, type Bee } from '../src/view.ts'
import path from 'node:path'
import Corestore from 'corestore'
import { Solidar } from '../src/solidar.ts'
import { makeNodes, waitFor } from './helpers.ts'
import { RecordingHost, auditOf, bees, dump, hex, node, randomKey, withoutAudit } from './lab.ts'

const pad = (n: number) => String(n).padStart(12, '0')

/** The key in `who`'s box of `epoch` (slot 0: the epoch's key; n: alternate n), or null. */
async function keyIn (view: Bee, dk: Buffer, who: Identity, epoch: number, slot = 0): Promise<string | null> {
  const box = await getRecord<Uint8Array>(view, `k!${hex(who.publicKey)}!${pad(epoch)}${slot ? `!${pad(slot)}` : ''}`)
  const key = box ? openEpochKey(box, dk, epoch, who) : null
  return key ? hex(key) : null
}

function setup (rules?: number) {
  const boot = randomKey()
  const dk = randomKey()
  const [alice, bob, carol, dave, nora] = ['alice', 'bob', 'carol', 'dave', 'nora'].map(n => createIdentity(n))
  const writers = { bob: randomKey(), carol: randomKey(), dave: randomKey(), nora: randomKey() }
  const [ka, kb] = [randomKey(), randomKey()]
  const box = (key: Buffer, to: Identity, epoch = 1): MemberBox => ({ member: to.publicKey, box: sealEpochKey(dk, epoch, key, to.publicKey) })
  const add = (who: Identity, writer: Buffer, role: 'admin' | 'member', ts: number, keys?: EpochBox[]): Command =>
    ({ t: 'member/add', member: who.publicKey, writer, name: who.name, role, sig: signBinding(boot, writer, who.secretKey), ts, ...(keys ? { keys } : {}) })
  const idOf = (key: Buffer) => epochKeyId(dk, 1, key)
  const start = [
    node(boot, { t: 'group/create', kind: 'group', name: 'G', member: alice.publicKey, memberName: 'alice', sig: signBinding(boot, boot, alice.secretKey), ts: 1, ...(rules ? { rules } : {}) }),
    node(boot, add(bob, writers.bob, 'admin', 2)),
    node(boot, add(carol, writers.carol, 'member', 3)),
    node(boot, add(dave, writers.dave, 'member', 4)),
    // Bob, on his side, removes dave and rotates to epoch 1 (kb): this one comes first in the order.
    node(writers.bob, { t: 'member/remove', member: dave.publicKey, ts: 5 }),
    node(writers.bob, { t: 'epoch/rotate', epoch: 1, keys: [alice, bob, carol, dave].map(p => box(kb, p)), id: idOf(kb), ts: 6 }),
    // Alice, on hers, removes carol and rotates to epoch 1 too (ka): kept as the epoch's alternate.
    node(boot, { t: 'member/remove', member: carol.publicKey, ts: 7 }),
    node(boot, { t: 'epoch/rotate', epoch: 1, keys: [alice, bob, carol, dave].map(p => box(ka, p)), id: idOf(ka), ts: 8 }),
    // She then admits nora with the one key of epoch 1 she knows: ka.
    node(boot, add(nora, writers.nora, 'member', 9, [{ e: 1, box: box(ka, nora).box, id: idOf(ka) }]))
  ]
  return { boot, dk, alice, bob, carol, dave, nora, writers, ka, kb, box, idOf, start }
}

test('applyNodes (rules 3): a newcomer admitted under the alternate key of an epoch holds it as the alternate, and an admin\'s epoch/grant gives it the epoch\'s own key; grants are idempotent, admin-only, for named keys and current devices only', async (t) => {
  const [view] = await bees(t)
  const s = setup(3)
  const host = new RecordingHost(s.boot)
  await applyNodes(s.start, view, host, s.boot)
  assert.deepEqual(await auditOf(view), [])
  assert.equal(await getRecord(view, 'e'), 1)
  assert.equal(await getRecord(view, 'rk'), 1, 'carol\'s removal came after the rotation that started epoch 1: another epoch is due')
  // Before key ids, nora's only box would have been taken as the epoch's key (ka): what bob's
  // side sealed under kb, the key of epoch 1, stayed unreadable to her for good.
  assert.equal(await keyIn(view, s.dk, s.nora, 1), null, 'nora does not hold the key of epoch 1 yet')
  assert.equal(await keyIn(view, s.dk, s.nora, 1, 1), hex(s.ka), 'her box is in the alternate slot of ka')
  assert.equal(await keyIn(view, s.dk, s.alice, 1), hex(s.kb))
  assert.equal(await keyIn(view, s.dk, s.alice, 1, 1), hex(s.ka))

  // Alice's node sees nora lacking kb and grants it (with a duplicate for herself, and one for dave, removed).
  const grant = (writer: Buffer, key: Buffer, to: Identity[], ts: number, extra: Partial<Command> = {}) =>
    node(writer, { t: 'epoch/grant', epoch: 1, id: s.idOf(key), keys: to.map(p => s.box(key, p)), ts, ...extra } as Command)
  await applyNodes([grant(s.boot, s.kb, [s.nora, s.alice, s.dave], 10)], view, host, s.boot)
  assert.equal(await keyIn(view, s.dk, s.nora, 1), hex(s.kb), 'nora now holds the key of epoch 1')
  assert.equal(await keyIn(view, s.dk, s.dave, 1), null, 'dave, removed before, gets nothing')
  const settled = withoutAudit(await dump(view))

  // Bob's node granted the same at the same time: changes nothing. Nor does anything refused.
  const forged = randomKey()
  await applyNodes([
    grant(s.writers.bob, s.kb, [s.nora], 11),
    grant(s.writers.nora, s.ka, [s.nora], 12),
    grant(s.writers.carol, s.ka, [s.carol], 13),
    grant(s.boot, forged, [s.nora], 14),
    grant(s.boot, s.kb, [s.nora], 15, { epoch: 2 } as Partial<Command>)
  ], view, host, s.boot)
  assert.deepEqual(withoutAudit(await dump(view)), settled)
  assert.deepEqual((await auditOf(view)).map(a => [a.type, a.reason]), [
    ['epoch/grant', 'only admins hand out epoch keys'],
    ['epoch/grant', 'writer is not a member'],
    ['epoch/grant', 'no such key in this epoch'],
    ['epoch/grant', 'no such epoch yet']
  ])
})

test('applyNodes (rules 2): key ids are ignored and epoch/grant is refused, so a log written under older rules keeps its outcome', async (t) => {
  const [view] = await bees(t)
  const s = setup(2)
  const host = new RecordingHost(s.boot)
  await applyNodes([...s.start, node(s.boot, { t: 'epoch/grant', epoch: 1, id: s.idOf(s.kb), keys: [s.box(s.kb, s.nora)], ts: 10 })], view, host, s.boot)
  assert.equal(await keyIn(view, s.dk, s.nora, 1), hex(s.ka), 'the first box a newcomer brings is taken as the epoch\'s key, as before')
  assert.deepEqual((await auditOf(view)).map(a => [a.type, a.reason]), [['epoch/grant', 'epoch/grant needs rules 3']])
  assert.deepEqual((await dump(view)).filter(([k]) => k.startsWith('ek!') || k === 'n!keyset'), [])
})

test('Solidar: a newcomer admitted by one admin while another, cut off, rotates the same epoch reads what was sealed under either key', async (t) => {
  const { nodes, network } = await makeNodes(['alice', 'bob', 'carol', 'dave', 'nora'], t)
  const [alice, bob, carol, dave, nora] = nodes
  const { id } = await alice.createGroup('Works council')
  await bob.join((await alice.createInvite(id, { role: 'admin' })).code, { timeoutMs: 30_000 })
  for (const n of [carol, dave]) await n.join((await alice.createInvite(id)).code, { timeoutMs: 30_000 })
  for (const n of [alice, bob, carol, dave]) await waitFor(async () => (await n.members(id)).length === 4, `${n.label} sees four members`)
  const invite = await alice.createInvite(id)
  const [one, two] = [[alice, carol, nora], [bob, dave]]
  const cut = (on: boolean) => {
    for (const x of one) for (const y of two) {
      const [a, b] = [x.transport as unknown as MemoryTransport, y.transport as unknown as MemoryTransport]
      if (on) network.block(a, b)
      else network.unblock(a, b)
    }
  }
  cut(true)
  await bob.removeMember(id, dave.whoami().id)
  await alice.removeMember(id, carol.whoami().id)
  const epochOne = (n: typeof alice) => waitFor(async () => (await getRecord((await n.logBase(id)).base.view, 'e')) === 1, `${n.label} at epoch 1`)
  await Promise.all([epochOne(alice), epochOne(bob)])
  await nora.join(invite.code, { timeoutMs: 30_000 })
  const texts = [(await bob.send(id, 'bob under his key')).text, (await alice.send(id, 'alice under hers')).text]
  cut(false)
  for (const n of [alice, bob, nora]) {
    await waitFor(async () => {
      const seen = await n.messages(id)
      return texts.every(x => seen.some(m => m.text === x && !m.unreadable))
    }, `${n.label} reads both messages`, 45_000)
  }
  // Nothing refused on the way (a second grant of the same key by the other admin is not refused either).
  assert.deepEqual((await alice.audit(id)).filter(a => a.type.startsWith('epoch/')), [])
})

test('applyNodes: a rotation written before its author saw a removal that the order puts first starts the epoch, but (rules 3) the removal still wants another rotation: the removed device opens its box from the raw entry', async (t) => {
  for (const rules of [2, 3]) {
    const [view] = await bees(t)
    const s = setup(rules)
    const host = new RecordingHost(s.boot)
    const rotate = (writer: Buffer, epoch: number, key: Buffer, to: Identity[], ts: number) =>
      node(writer, { t: 'epoch/rotate', epoch, keys: to.map(p => s.box(key, p, epoch)), id: epochKeyId(s.dk, epoch, key), ts })
    await applyNodes([
      ...s.start.slice(0, 4),
      node(s.writers.bob, { t: 'member/remove', member: s.dave.publicKey, ts: 5 }),
      // alice removed carol and rotated without having seen dave's removal: her boxes include dave
      node(s.boot, { t: 'member/remove', member: s.carol.publicKey, ts: 6 }),
      rotate(s.boot, 1, s.ka, [s.alice, s.bob, s.dave], 7)
    ], view, host, s.boot)
    assert.equal(await getRecord(view, 'e'), 1)
    assert.equal(await keyIn(view, s.dk, s.dave, 1), null, 'the view holds no box for dave')
    assert.equal(await getRecord(view, 'rk'), rules >= 3 ? 1 : 0, `rules ${rules}`)
    if (rules < 3) continue
    await applyNodes([rotate(s.writers.bob, 2, s.kb, [s.alice, s.bob], 8)], view, host, s.boot)
    assert.deepEqual([await getRecord(view, 'e'), await getRecord(view, 'rk')], [2, 0], 'a rotation sealed to current devices only settles it')
  }
})

// When the rotating admin is demoted by another admin at the same time, apply refuses her
// rotation wherever the order puts the demotion first; what her side sealed under that
// rotation's key would be refused ("epoch does not exist") or unreadable for good. The author's
// node seals it again under the settled key once the indexers settled its entry (reseal.ts).
// Autobase orders entries that do not know of each other by their writers' keys, so the admin
// with the lower writer key demotes (her entry comes first) and the other one rotates.
async function demotedWhileRotating (t: Parameters<typeof makeNodes>[1], restartCarol: boolean) {
  const { nodes, network, dir, locals } = await makeNodes(['alice', 'bob', 'carol', 'dave'], t)
  const [alice, bob, , dave] = nodes
  let carol = nodes[2]
  const { id } = await alice.createGroup('Works council')
  await bob.join((await alice.createInvite(id, { role: 'admin' })).code, { timeoutMs: 30_000 })
  for (const n of [carol, dave]) await n.join((await alice.createInvite(id)).code, { timeoutMs: 30_000 })
  for (const n of nodes) await waitFor(async () => (await n.members(id)).length === 4, `${n.label} sees four members`)
  const pad = await alice.pads.create(id, 'Minutes')
  await waitFor(async () => (await carol.pads.list(id)).some(p => p.id === pad.id), 'carol sees the pad')
  const writerKey = async (n: typeof alice) => (await n.logBase(id)).base.local.key as Buffer
  const [demoter, rotator] = b4a.compare(await writerKey(alice), await writerKey(bob)) < 0 ? [alice, bob] : [bob, alice]
  const sides = (on: boolean) => {
    for (const x of [rotator, carol, dave]) {
      const [a, b] = [x.transport as unknown as MemoryTransport, demoter.transport as unknown as MemoryTransport]
      if (on) network.block(a, b)
      else network.unblock(a, b)
    }
  }
  sides(true)
  await demoter.setRole(id, rotator.whoami().id, 'member')
  await rotator.removeMember(id, dave.whoami().id)
  await waitFor(async () => (await getRecord((await carol.logBase(id)).base.view, 'e')) === 1, 'carol at epoch 1')
  const sent = await carol.send(id, 'carol under the rotator\'s key')
  const edited = await carol.send(id, 'carol, first words')
  await carol.edit(id, edited.id, 'carol, second words')
  await carol.pads.append(id, pad.id, 'a line carol wrote under the rotator\'s key')
  if (restartCarol) {
    // Carol's node stops and starts again before the sides meet: what it would re-seal was in memory.
    sides(false)
    await carol.close(); await carol.transport?.close(); await carol.store.close()
    const store = new Corestore(path.join(dir, 'carol'))
    carol = Object.assign(await Solidar.open({ identity: carol.identity, store, local: locals[2], transport: network.transport() }), { label: 'carol' })
    t.after(async () => { await carol.close(); await carol.transport?.close(); await store.close() })
    sides(true)
    await waitFor(async () => (await carol.messages(id)).some(m => m.id === sent.id), 'carol reopened her group')
  }
  sides(false)
  // The race went the losing way: the order put the demotion first and refused the rotation.
  await waitFor(async () => (await demoter.audit(id)).some(a => a.type === 'epoch/rotate'), 'the rotation refused in the settled order', 30_000)
  assert.equal(await getRecord((await demoter.logBase(id)).base.view, 'e'), 0, 'no epoch 1 in the merged log')
  for (const n of [alice, bob, carol, dave]) {
    await waitFor(async () => {
      const seen = await n.messages(id)
      return seen.some(m => m.id === sent.id && m.text === sent.text) && seen.some(m => m.id === edited.id && m.text === 'carol, second words')
    }, `${n.label} reads carol's messages, the edit's words`, 30_000)
    await waitFor(async () => (await n.pads.export(id, pad.id)).content.includes('a line carol wrote under the rotator\'s key'), `${n.label} reads carol's pad line`, 30_000)
  }
}

test('Solidar: an admin demoted by another while she removes someone and rotates, cut off: what her side sent meanwhile stays readable', async (t) => {
  await demotedWhileRotating(t, false)
})

test('Solidar: the same, with the author\'s node restarted before the sides meet: the saved keys let it re-seal after the restart', async (t) => {
  await demotedWhileRotating(t, true)
})
