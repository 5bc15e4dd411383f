/**
 * The deterministic state machine (apply.ts), exercised two ways:
 * - through real Groups (Autobase + Hyperbee view) over real Corestores in temp dirs,
 *   replicated in-process, to show every peer computes the same state and refuses the same entries;
 * - by calling `applyNodes` directly on a Hyperbee, for the branches Autobase itself never lets
 *   a peer reach (a writer that is not in the member table, group/create by a non-bootstrap key).
 */
import test from 'node:test'
import assert from 'node:assert/strict'
import b4a from 'b4a'
import { applyNodes, type LogNode } from '../src/apply.ts'
import { signBinding } from '../src/binding.ts'
import { encode } from '../src/codec.ts'
import { commandValue, type Command } from '../src/commands.ts'
import { createIdentity, type Identity } from '../src/identity.ts'
import type { MessageRecord } from '../src/view.ts'
import { seededRandom } from './helpers.ts'
import { Lab, Texts, RecordingHost, bees, converged, dump, hex, node, randomKey, withoutAudit, type Peer , applyCast } from './lab.ts'

/** Bodies for the applyNodes tests, which have no real log: any log key and discovery key will do. */
const offline = new Texts(randomKey(), randomKey())
const post = offline.post.bind(offline)

// ------------------------------------------------------------------ through real groups

test('invalid and unauthorized entries are audited by every peer and change nothing else', async (t) => {
  const lab = await Lab.create(t)
  const alice = await lab.creator('alice')
  const bob = await lab.member(alice, 'bob')
  const all = [alice.group, bob.group]
  const mallory = createIdentity('mallory')
  const texts = lab.texts(alice.group)
  const post = texts.post.bind(texts)
  const edit = texts.edit.bind(texts)

  // valid groundwork the bad entries refer to
  await alice.group.append(post('alice-msg-1', 'hello from alice'))
  await bob.group.append(post('bob-msg-01', 'to be deleted'))
  await bob.group.append({ t: 'message/delete', id: 'bob-msg-01', ts: Date.now() })
  const expiring = { id: randomKey(), publicKey: randomKey() }
  await alice.group.append({ t: 'invite/create', ...expiring, role: 'member', expires: 5000, uses: 1, ts: 1000 })
  await converged(all, 'groundwork', 0)

  const dave = createIdentity('dave')
  const daveWriter = randomKey()
  const memberAdd = (who: Identity, writer: Buffer, sig: Buffer, extra: object = {}): Command =>
    ({ t: 'member/add', member: who.publicKey, writer, name: who.name, role: 'member', sig, ts: Date.now(), ...extra })
  const daveSig = signBinding(alice.group.key, daveWriter, dave.secretKey)

  const cases: Array<{ name: string, by: Peer, cmd: Command | Buffer, type: string, reason: string }> = [
    { name: 'member/add by a non-admin', by: bob, cmd: memberAdd(dave, daveWriter, daveSig), type: 'member/add', reason: 'only admins add members' },
    { name: 'invite/create by a non-admin', by: bob, cmd: { t: 'invite/create', id: randomKey(), publicKey: randomKey(), role: 'admin', expires: Date.now() + 1e6, uses: 5, ts: Date.now() }, type: 'invite/create', reason: 'only admins create invites' },
    { name: 'edit of someone else\'s message', by: bob, cmd: edit('alice-msg-1', 'forged'), type: 'message/edit', reason: 'only the author edits or deletes a message' },
    { name: 'delete of someone else\'s message', by: bob, cmd: { t: 'message/delete', id: 'alice-msg-1', ts: Date.now() }, type: 'message/delete', reason: 'only the author edits or deletes a message' },
    { name: 'admin deleting a member\'s message', by: alice, cmd: { t: 'message/delete', id: 'bob-msg-01', ts: Date.now() }, type: 'message/delete', reason: 'only the author edits or deletes a message' },
    { name: 'edit of a deleted message', by: bob, cmd: edit('bob-msg-01', 'back again'), type: 'message/edit', reason: 'message is deleted' },
    { name: 'edit of an unknown message', by: bob, cmd: edit('nobody-wrote-this', 'x'), type: 'message/edit', reason: 'no such message' },
    { name: 'duplicate message id', by: bob, cmd: post('alice-msg-1', 'same id, other author'), type: 'message/post', reason: 'duplicate message id' },
    { name: 'reply to an unknown id', by: bob, cmd: post('bob-msg-02', 'replying into the void', { replyTo: 'no-such-message' }), type: 'message/post', reason: 'reply to an unknown message' },
    { name: 'message to a room that does not exist', by: bob, cmd: post('bob-msg-03', 'anyone here?', { room: 'nowhere' }), type: 'message/post', reason: 'no such room' },
    { name: 'room that exists', by: bob, cmd: { t: 'room/create', name: 'general', ts: Date.now() }, type: 'room/create', reason: 'room exists' },
    { name: 'second group/create', by: alice, cmd: { t: 'group/create', kind: 'group', name: 'Takeover', member: alice.id.publicKey, memberName: 'alice', sig: signBinding(alice.group.key, alice.group.localWriterKey, alice.id.secretKey), ts: Date.now() }, type: 'group/create', reason: 'group already created' },
    { name: 'group/create by another writer', by: bob, cmd: { t: 'group/create', kind: 'group', name: 'Takeover', member: bob.id.publicKey, memberName: 'bob', sig: signBinding(alice.group.key, bob.group.localWriterKey, bob.id.secretKey), ts: Date.now() }, type: 'group/create', reason: 'group already created' },
    { name: 'member/add signed over another writer', by: alice, cmd: memberAdd(dave, daveWriter, signBinding(alice.group.key, randomKey(), dave.secretKey)), type: 'member/add', reason: 'bad device binding signature' },
    { name: 'member/add signed for another group', by: alice, cmd: memberAdd(dave, daveWriter, signBinding(randomKey(), daveWriter, dave.secretKey)), type: 'member/add', reason: 'bad device binding signature' },
    { name: 'member/add signed by someone else', by: alice, cmd: memberAdd(dave, daveWriter, signBinding(alice.group.key, daveWriter, mallory.secretKey)), type: 'member/add', reason: 'bad device binding signature' },
    { name: 'member/add of an existing member', by: alice, cmd: memberAdd(bob.id, daveWriter, signBinding(alice.group.key, daveWriter, bob.id.secretKey)), type: 'member/add', reason: 'already a member' },
    { name: 'member/add of a writer that is taken', by: alice, cmd: memberAdd(dave, bob.group.localWriterKey, signBinding(alice.group.key, bob.group.localWriterKey, dave.secretKey)), type: 'member/add', reason: 'writer already belongs to a member' },
    { name: 'member/add with an unknown invite', by: alice, cmd: memberAdd(dave, daveWriter, daveSig, { invite: randomKey() }), type: 'member/add', reason: 'unknown invite' },
    { name: 'member/add with an expired invite', by: alice, cmd: memberAdd(dave, daveWriter, daveSig, { invite: expiring.id, ts: 5001 }), type: 'member/add', reason: 'invite expired' },
    { name: 'duplicate invite id', by: alice, cmd: { t: 'invite/create', id: expiring.id, publicKey: randomKey(), role: 'admin', expires: Date.now() + 1e6, uses: 1000, ts: Date.now() }, type: 'invite/create', reason: 'invite id already exists' },
    { name: 'bytes that are not a command', by: bob, cmd: b4a.from('definitely not CBOR'), type: '?', reason: 'not a CBOR map' },
    { name: 'a command of a future version', by: bob, cmd: encode({ ...commandValue(post('bob-msg-04', 'from the future')), v: 2 }), type: 'message/post', reason: 'unsupported version 2' },
    // key epochs: nothing may be sealed under an epoch that no admin has started
    { name: 'post sealed under a future epoch', by: bob, cmd: { ...post('bob-msg-05', 'from epoch 1'), body: { ...texts.seal('x'), e: 1 } } as Command, type: 'message/post', reason: 'sealed under an epoch that does not exist' },
    { name: 'edit sealed under a future epoch', by: alice, cmd: { ...edit('alice-msg-1', 'x'), body: { ...texts.seal('x'), e: 7 } } as Command, type: 'message/edit', reason: 'sealed under an epoch that does not exist' },
    // membership commands by a member who is not an admin
    { name: 'member/remove by a non-admin', by: bob, cmd: { t: 'member/remove', member: alice.id.publicKey, ts: Date.now() }, type: 'member/remove', reason: 'only admins remove members' },
    { name: 'member/role by a non-admin (promoting himself)', by: bob, cmd: { t: 'member/role', member: bob.id.publicKey, role: 'admin', ts: Date.now() }, type: 'member/role', reason: 'only admins change roles' },
    { name: 'member/role by a non-admin (demoting the admin)', by: bob, cmd: { t: 'member/role', member: alice.id.publicKey, role: 'member', ts: Date.now() }, type: 'member/role', reason: 'only admins change roles' },
    { name: 'group/rename by a non-admin', by: bob, cmd: { t: 'group/rename', name: 'Bob\'s group', ts: Date.now() }, type: 'group/rename', reason: 'only admins rename the group' },
    { name: 'epoch/rotate by a non-admin', by: bob, cmd: { t: 'epoch/rotate', epoch: 1, keys: [{ member: bob.id.publicKey, box: randomKey() }], ts: Date.now() }, type: 'epoch/rotate', reason: 'only admins start a new key epoch' },
    // ...and by the admin, where the target or the epoch is wrong
    { name: 'member/remove of someone who is not a member', by: alice, cmd: { t: 'member/remove', member: dave.publicKey, ts: Date.now() }, type: 'member/remove', reason: 'not a member' },
    { name: 'member/role of someone who is not a member', by: alice, cmd: { t: 'member/role', member: dave.publicKey, role: 'admin', ts: Date.now() }, type: 'member/role', reason: 'not a member' },
    { name: 'member/role to the role the member has', by: alice, cmd: { t: 'member/role', member: bob.id.publicKey, role: 'member', ts: Date.now() }, type: 'member/role', reason: 'already member' },
    { name: 'epoch/rotate skipping an epoch', by: alice, cmd: { t: 'epoch/rotate', epoch: 2, keys: [{ member: bob.id.publicKey, box: randomKey() }], ts: Date.now() }, type: 'epoch/rotate', reason: 'epoch 2 does not follow the current epoch 0' }
  ]

  let audits = 0
  for (const c of cases) {
    const before = withoutAudit(await dump(alice.group.view))
    if (Buffer.isBuffer(c.cmd)) {
      await c.by.group.base.append(c.cmd)
      await c.by.group.update()
    } else {
      await c.by.group.append(c.cmd)
    }
    audits++
    const after = await converged(all, `both peers audit "${c.name}"`, audits)
    assert.deepEqual(withoutAudit(after), before, `${c.name}: only the audit range changed`)
    for (const g of all) {
      const last = (await g.audit()).at(-1)!
      assert.deepEqual(last, { n: audits, writer: hex(c.by.group.localWriterKey), type: c.type, reason: c.reason }, c.name)
    }
  }

  // The expired attempt did not use up the invite: at its expiry instant it still admits dave,
  // and the invite (not the admin's entry) decides the role.
  await alice.group.append(memberAdd(dave, daveWriter, daveSig, { invite: expiring.id, ts: 5000, role: 'admin' }))
  await converged(all, 'dave admitted', audits)
  for (const g of all) {
    const rec = await g.member(hex(dave.publicKey))
    assert.equal(rec?.role, 'member')
    assert.deepEqual(rec?.writers, [hex(daveWriter)])
    assert.equal((await g.invite(hex(expiring.id)))?.used, 1)
  }
  // ...and now it is used up
  const erin = createIdentity('erin')
  const erinWriter = randomKey()
  const beforeUsedUp = withoutAudit(await dump(alice.group.view))
  await alice.group.append(memberAdd(erin, erinWriter, signBinding(alice.group.key, erinWriter, erin.secretKey), { invite: expiring.id, ts: 4000 }))
  assert.deepEqual(withoutAudit(await converged(all, 'used-up invite audited', audits + 1)), beforeUsedUp)
  for (const g of all) {
    assert.deepEqual((await g.audit()).at(-1), { n: audits + 1, writer: hex(alice.group.localWriterKey), type: 'member/add', reason: 'invite used up' })
    assert.equal(await g.member(hex(erin.publicKey)), null)
    assert.equal((await g.invite(hex(expiring.id)))?.used, 1)
  }
  // the messages are what the valid entries made, nothing more
  const msgs = await bob.group.messages()
  assert.deepEqual(msgs.map(m => [m.seq, m.id, texts.open(m), m.deleted ?? false]), [[1, 'alice-msg-1', 'hello from alice', false], [2, 'bob-msg-01', null, true]])
  assert.equal(msgs[1].body, undefined, 'a deleted message keeps no body')
  assert.equal(await bob.group.messageCount(), 2)
})

test('entries before group/create and a bad creator binding are audited; the first valid group/create wins', async (t) => {
  const lab = await Lab.create(t)
  const alice = createIdentity('alice')
  const store = lab.store('alice')
  const group = lab.group(store, null)
  await group.ready()
  const creator: Peer = { name: 'alice', id: alice, store, group }
  const watcher: Peer = { name: 'watcher', id: createIdentity('watcher'), store: lab.store('watcher'), group: null as any }
  watcher.group = lab.group(watcher.store, group.key)
  await watcher.group.ready()
  lab.connect(creator, watcher)

  const create = (extra: object = {}): Command => ({ t: 'group/create', kind: 'group', name: 'Works council', member: alice.publicKey, memberName: 'alice', sig: signBinding(group.key, group.localWriterKey, alice.secretKey), ts: 1, ...extra })
  await group.append(lab.texts(group).post('too-early-1', 'before the group exists'))
  await group.append({ t: 'room/create', name: 'early', ts: 1 })
  await group.append(create({ sig: signBinding(group.key, randomKey(), alice.secretKey) }))
  await group.append(create({ kind: 'dm' })) // a DM must name its peer
  assert.equal(await group.meta(), null)
  await group.append(create())
  await group.append(create({ name: 'Second' }))

  const view = await converged([group, watcher.group], 'watcher sees the same view', 5)
  const w = hex(group.localWriterKey)
  assert.deepEqual((await watcher.group.audit()).map(a => [a.writer === w, a.type, a.reason]), [
    [true, 'message/post', 'group not created yet'],
    [true, 'room/create', 'group not created yet'],
    [true, 'group/create', 'bad device binding signature'],
    [true, 'group/create', 'a direct conversation names its peer'],
    [true, 'group/create', 'group already created']
  ])
  const meta = await watcher.group.meta()
  assert.equal(meta?.name, 'Works council')
  assert.equal(meta?.creator, hex(alice.publicKey))
  assert.deepEqual((await watcher.group.rooms()).map(r => r.name), ['general'])
  assert.equal(await watcher.group.messageCount(), 0)
  assert.deepEqual(view.map(([k]) => k.replace(/![0-9a-f]{64}$/, '!<hex>')), [
    'a!000000000001', 'a!000000000002', 'a!000000000003', 'a!000000000004', 'a!000000000005',
    'dv!<hex>', 'e', 'g', 'm!<hex>', 'n!audit', 'r!general', 'w!<hex>'
  ])
})

test('authorship comes from the writer key, never from the entry', async (t) => {
  const lab = await Lab.create(t)
  const alice = await lab.creator('alice')
  const bob = await lab.member(alice, 'bob')
  const all = [alice.group, bob.group]
  const claims = { author: hex(alice.id.publicKey), member: alice.id.publicKey, from: alice.id.publicKey, writer: alice.group.localWriterKey, seq: 99 }
  const texts = lab.texts(alice.group)
  const post = texts.post.bind(texts)

  await bob.group.append({ ...post('bob-claims-1', 'I am alice, honest'), ...claims } as Command)
  await alice.group.append(post('alice-real-1', 'the real alice'))
  await converged(all, 'posts replicated')
  for (const g of all) {
    const forged = await g.messageById('bob-claims-1')
    assert.equal(forged?.author, hex(bob.id.publicKey), 'the entry\'s claims are ignored')
    assert.ok(forged?.seq === 1 || forged?.seq === 2, 'seq is the log position, not the claimed 99')
    assert.equal((await g.messageById('alice-real-1'))?.author, hex(alice.id.publicKey))
  }
  // claiming alice's identity does not let bob touch her message, nor alice bob's
  await bob.group.append({ ...texts.edit('alice-real-1', 'edited by "alice"'), ...claims } as Command)
  await alice.group.append({ t: 'message/delete', id: 'bob-claims-1', ts: Date.now(), author: hex(bob.id.publicKey) } as Command)
  await converged(all, 'both refusals audited', 2)
  for (const g of all) {
    // (appended concurrently: the log may order them either way)
    assert.deepEqual((await g.audit()).map(a => `${a.writer} ${a.type}: ${a.reason}`).sort(), [
      `${hex(bob.group.localWriterKey)} message/edit: only the author edits or deletes a message`,
      `${hex(alice.group.localWriterKey)} message/delete: only the author edits or deletes a message`
    ].sort())
    assert.equal(texts.open(await g.messageById('alice-real-1')), 'the real alice')
    assert.equal((await g.messageById('bob-claims-1'))?.deleted, undefined)
  }
  // rooms record their creator the same way
  await bob.group.append({ t: 'room/create', name: 'bobs-room', ts: 1, createdBy: hex(alice.id.publicKey) } as unknown as Command)
  await converged(all, 'room replicated')
  assert.equal((await alice.group.room('bobs-room'))?.createdBy, hex(bob.id.publicKey))
})

test('every valid room name is listed, including names outside the Basic Multilingual Plane', async (t) => {
  const lab = await Lab.create(t)
  const alice = await lab.creator('alice')
  // isRoomName accepts any lowercase/other letter; U+20000 (a CJK Ext. B letter) is \p{Lo}, two UTF-16 units
  for (const name of ['𠀀', 'z', 'ärger', '会議']) await alice.group.append({ t: 'room/create', name, ts: 1 })
  assert.ok(await alice.group.room('𠀀'), 'the room exists')
  const names = (await alice.group.rooms()).map(r => r.name).sort()
  assert.deepEqual(names, ['general', 'z', 'ärger', '会議', '𠀀'].sort())
  const texts = lab.texts(alice.group)
  await alice.group.append(texts.post('astral-01', 'in the astral room', { room: '𠀀' }))
  assert.deepEqual((await alice.group.messages({ room: '𠀀' })).map(m => [m.id, texts.open(m)]), [['astral-01', 'in the astral room']])
})

test('convergence: three peers write concurrently while partitioned, then agree on everything', async (t) => {
  const lab = await Lab.create(t)
  const alice = await lab.creator('alice')
  const bob = await lab.member(alice, 'bob')
  const carol = await lab.member(alice, 'carol', 'admin')
  const peers = [alice, bob, carol]
  lab.connect(bob, carol)
  await converged(peers.map(p => p.group), 'initial sync')
  const texts = lab.texts(alice.group)

  const rooms = ['news', 'strike', 'minutes', 'solidarity']
  const counters = new Map<string, number>()
  const stats = { posts: 0 }

  async function act (p: Peer, ops: number, r: ReturnType<typeof seededRandom>) {
    for (let i = 0; i < ops; i++) {
      const roll = r.next()
      const local = await p.group.messages()
      const mine = local.filter(m => m.author === hex(p.id.publicKey) && !m.deleted)
      if (roll < 0.12) {
        const name = r.pick(rooms)
        if (!(await p.group.room(name))) await p.group.append({ t: 'room/create', name, ts: Date.now() })
        continue
      }
      if (roll < 0.3 && mine.length > 0) {
        await p.group.append(texts.edit(r.pick(mine).id, `edit ${r.int(1e6)} by ${p.name}`))
        continue
      }
      if (roll < 0.4 && mine.length > 0) {
        await p.group.append({ t: 'message/delete', id: r.pick(mine).id, ts: Date.now() })
        continue
      }
      const n = (counters.get(p.name) ?? 0) + 1
      counters.set(p.name, n)
      const known = (await p.group.rooms()).map(x => x.name)
      const replyTo = local.length > 0 && r.next() < 0.3 ? r.pick(local).id : undefined
      await p.group.append(texts.post(`${p.name}-${String(n).padStart(4, '0')}`, `${p.name} says ${r.int(1e9)}`, { room: r.pick(known), ...(replyTo ? { replyTo } : {}) }))
      stats.posts++
    }
  }

  // Phase 1: carol is cut off from both; alice and bob talk.
  lab.disconnectAll()
  const ab = lab.connect(alice, bob)
  const r1 = [seededRandom(1), seededRandom(2), seededRandom(3)]
  await Promise.all(peers.map((p, i) => act(p, 15, r1[i])))
  ab()

  // Phase 2: alice is alone, bob and carol talk.
  const bc = lab.connect(bob, carol)
  const r2 = [seededRandom(4), seededRandom(5), seededRandom(6)]
  await Promise.all(peers.map((p, i) => act(p, 15, r2[i])))
  bc()

  // Phase 3: everyone connected (a triangle).
  lab.connect(alice, bob)
  lab.connect(bob, carol)
  lab.connect(alice, carol)
  const view = await converged(peers.map(p => p.group), 'all three views identical', undefined, 15_000)
  assert.ok(view.length > 0)

  const [ma, mb, mc] = await Promise.all(peers.map(p => p.group.messages()))
  // the views hold sealed bodies only: compare what they decrypt to
  const shape = (ms: MessageRecord[]) => ms.map(m => [m.seq, m.id, m.author, m.room, texts.open(m), m.replyTo ?? null, m.deleted ?? false])
  assert.deepEqual(shape(mb), shape(ma))
  assert.deepEqual(shape(mc), shape(ma))
  for (const m of ma) {
    if (m.deleted) assert.equal(m.body, undefined)
    else assert.match(texts.open(m) ?? '(does not open)', /^(alice|bob|carol) says \d+$|^edit \d+ by (alice|bob|carol)$/, `${m.id} opens with the epoch-0 key`)
  }
  for (const p of peers) {
    assert.equal(await p.group.messageCount(), stats.posts, `${p.name}: every post is valid and counted once`)
    assert.deepEqual(await p.group.members(), await alice.group.members())
    assert.deepEqual(await p.group.rooms(), await alice.group.rooms())
  }
  assert.deepEqual(ma.map(m => m.seq), Array.from({ length: ma.length }, (_, i) => i + 1), 'seqs are 1..n without gaps')
  // the only refusals a well-behaved peer can cause here: the same room created in two partitions
  const audit = await alice.group.audit()
  for (const a of audit) assert.deepEqual([a.type, a.reason], ['room/create', 'room exists'])
  assert.equal(new Set(ma.map(m => m.author)).size, 3)
})

// ------------------------------------------------------------------ applyNodes directly

test('applyNodes: a writer that is not in the member table is ignored; group/create only from the bootstrap key', async (t) => {
  const [view] = await bees(t)
  const boot = randomKey()
  const host = new RecordingHost(boot)
  const alice = createIdentity('alice')
  const stranger = randomKey()
  const create: Command = { t: 'group/create', kind: 'group', name: 'G', member: alice.publicKey, memberName: 'alice', sig: signBinding(boot, boot, alice.secretKey), ts: 1 }

  await applyNodes([
    node(stranger, { ...create, sig: signBinding(boot, stranger, alice.secretKey) }),
    node(boot, create),
    node(stranger, post('stranger-1', 'hi')),
    node(stranger, { t: 'room/create', name: 'mine', ts: 2 }),
    node(stranger, { t: 'dm/offer', box: randomKey(), ts: 3 }),
    node(boot, null) // an ack: no entry at all
  ], view, host, boot)

  const audit = (await dump(view)).filter(([k]) => k.startsWith('a!')).map(([, v]) => v as any)
  assert.deepEqual(audit.map(a => [a.writer, a.type, a.reason]), [
    [hex(stranger), 'group/create', 'only the bootstrap writer creates the group'],
    [hex(stranger), 'message/post', 'writer is not a member'],
    [hex(stranger), 'room/create', 'writer is not a member'],
    [hex(stranger), 'dm/offer', 'writer is not a member']
  ])
  const keys = (await dump(view)).map(([k]) => k).filter(k => !k.startsWith('a!'))
  assert.deepEqual(keys, [`dv!${hex(alice.publicKey)}`, 'e', 'g', `m!${hex(alice.publicKey)}`, 'n!audit', 'r!general', `w!${hex(boot)}`])
  assert.deepEqual(host.added, [], 'group/create adds no writer (the bootstrap writer is one already)')
  assert.deepEqual(host.removed, [])
})

test('applyNodes: member/add adds exactly one non-indexer writer, a refused one adds none', async (t) => {
  const { view, boot, host, alice, bob, bobWriter } = await applyCast(t)
  const add: Command = { t: 'member/add', member: bob.publicKey, writer: bobWriter, name: 'bob', role: 'member', sig: signBinding(boot, bobWriter, bob.secretKey), ts: 2 }
  await applyNodes([
    node(boot, { t: 'group/create', kind: 'group', name: 'G', member: alice.publicKey, memberName: 'alice', sig: signBinding(boot, boot, alice.secretKey), ts: 1 }),
    node(boot, { ...add, sig: signBinding(boot, randomKey(), bob.secretKey) }),
    node(boot, add),
    node(boot, add),
    node(bobWriter, { ...add, member: createIdentity('x').publicKey, writer: randomKey() })
  ], view, host, boot)
  assert.deepEqual(host.added, [{ key: hex(bobWriter), indexer: false }])
  const audit = (await dump(view)).filter(([k]) => k.startsWith('a!')).map(([, v]) => (v as any).reason)
  assert.deepEqual(audit, ['bad device binding signature', 'writer already belongs to a member', 'only admins add members'])
})

test('applyNodes: the state does not depend on how the log is cut into apply batches', async (t) => {
  const [one, each, pairs] = await bees(t, 3)
  const boot = randomKey()
  const alice = createIdentity('alice')
  const bob = createIdentity('bob')
  const bobWriter = randomKey()
  const r = seededRandom(99)
  const nodes: LogNode[] = [
    node(boot, { t: 'group/create', kind: 'group', name: 'G', member: alice.publicKey, memberName: 'alice', sig: signBinding(boot, boot, alice.secretKey), ts: 1 }),
    node(boot, { t: 'member/add', member: bob.publicKey, writer: bobWriter, name: 'bob', role: 'member', sig: signBinding(boot, bobWriter, bob.secretKey), ts: 2 })
  ]
  const ids: string[] = []
  for (let i = 0; i < 60; i++) {
    const w = r.next() < 0.5 ? boot : bobWriter
    const roll = r.next()
    if (roll < 0.1) nodes.push(node(w, { t: 'room/create', name: r.pick(['a', 'b', 'c']), ts: i }))
    else if (roll < 0.25 && ids.length) nodes.push(node(w, offline.edit(r.pick(ids), `e${i}`, { ts: i })))
    else if (roll < 0.3 && ids.length) nodes.push(node(w, { t: 'message/delete', id: r.pick(ids), ts: i }))
    else if (roll < 0.35) nodes.push({ value: r.bytes(r.int(40)), from: { key: w } })
    else {
      const id = `msg-${String(i).padStart(5, '0')}`
      ids.push(id)
      nodes.push(node(w, post(id, `t${i}`, { room: r.pick(['general', 'a', 'b']), ts: i, ...(r.next() < 0.3 ? { replyTo: r.pick(['msg-00000', ...ids]) } : {}) })))
    }
  }
  await applyNodes(nodes, one, new RecordingHost(boot), boot)
  for (const n of nodes) await applyNodes([n], each, new RecordingHost(boot), boot)
  for (let i = 0; i < nodes.length; i += 2) await applyNodes(nodes.slice(i, i + 2), pairs, new RecordingHost(boot), boot)
  const expected = await dump(one)
  assert.deepEqual(await dump(each), expected)
  assert.deepEqual(await dump(pairs), expected)
  // and the counters agree with the records they count
  const msgs = expected.filter(([k]) => k.startsWith('s!'))
  const counter = expected.find(([k]) => k === 'n!msg')?.[1] ?? 0
  assert.equal(counter, msgs.length, 'n!msg counts stored messages')
  assert.deepEqual(msgs.map(([, v]) => (v as MessageRecord).seq), msgs.map((_, i) => i + 1))
})
