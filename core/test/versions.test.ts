/**
 * Versioned formats (upgrade.ts, docs/PROTOCOL.md "Versions"): each command carries the version
 * of its format; a newer format under rules this code knows is skipped and audited like a
 * malformed entry, and an entry that moves a log to newer apply rules stops the log on every
 * node of this version at that entry, with UPGRADE_REQUIRED, until the node is upgraded.
 */
import test from 'node:test'
import assert from 'node:assert/strict'
import { isDeepStrictEqual } from 'node:util'
import { applyNodes } from '../src/apply.ts'
import { signBinding } from '../src/binding.ts'
import { encode } from '../src/codec.ts'
import { COMMAND_VERSIONS, commandValue, parseCommand } from '../src/commands.ts'
import { createIdentity } from '../src/identity.ts'
import { isSolidarError } from '../src/errors.ts'
import { Group } from '../src/group.ts'
import { CURRENT_RULES } from '../src/rules.ts'
import { asUpgradeNeed } from '../src/upgrade.ts'
import { makeNodes, waitFor } from './helpers.ts'
import { Lab, RecordingHost, Texts, auditOf, bees, dump, hex, node, randomKey, type Peer , applyCast } from './lab.ts'
import { getText } from '../src/registry.ts'

const NEWER = CURRENT_RULES + 1
const raw = (value: Record<string, unknown>) => encode(value)

test('parseCommand: a newer format or a new command type is told apart from a malformed entry, with the same reason as before', () => {
  const texts = new Texts(randomKey(), randomKey())
  const post = commandValue(texts.post('AbCdEfGh12', 'hi'))
  const newer = (value: Record<string, unknown>, version: number, type: string) => {
    const parsed = parseCommand(raw(value))
    assert.equal(parsed.ok, false)
    assert.deepEqual(parsed.ok ? null : [parsed.newer, parsed.type, parsed.reason], [version, type, `unsupported version ${version}`])
  }
  const malformed = (value: Record<string, unknown>, reason: string) => {
    const parsed = parseCommand(raw(value))
    assert.equal(parsed.ok, false)
    assert.deepEqual(parsed.ok ? null : [parsed.newer, parsed.reason], [undefined, reason])
  }
  newer({ ...post, v: 2 }, 2, 'message/post')
  newer({ ...post, v: 64 }, 64, 'message/post')
  newer({ v: 2, t: 'reaction/add', ts: 1, emoji: '+1' }, 2, 'reaction/add')
  // Every type that existed at version 1 is known: an unknown one at version 1 is malformed.
  malformed({ v: 1, t: 'reaction/add', ts: 1 }, 'unknown command')
  malformed({ ...post, v: 65 }, 'unsupported version 65')
  malformed({ ...post, v: 1.5 }, 'unsupported version 1.5')
  malformed({ ...post, v: 0 }, 'unsupported version 0')
  malformed({ ...post, v: undefined }, 'unsupported version undefined')
  assert.equal(parseCommand(raw(post)).ok, true)
  assert.deepEqual(Object.entries(COMMAND_VERSIONS).filter(([, v]) => v !== 1), [['epoch/grant', 2], ['message/react', 2]], 'this code reads version 1 of every command but epoch/grant (new with rules 3) and message/react (rules 4), each format 2')
  assert.equal(parseCommand(raw({ t: 'epoch/grant', v: 3, ts: 1 })).ok, false)
})

test('applyNodes: group/rules beyond the known rules interrupts apply at that entry (an admin only); newer formats under known rules are skipped and audited', async (t) => {
  const { view, boot, host, alice, bob, bobWriter } = await applyCast(t)
  const texts = new Texts(randomKey(), randomKey())
  await applyNodes([
    node(boot, { t: 'group/create', kind: 'group', name: 'G', member: alice.publicKey, memberName: 'alice', sig: signBinding(boot, boot, alice.secretKey), ts: 1, rules: CURRENT_RULES }),
    node(boot, { t: 'member/add', member: bob.publicKey, writer: bobWriter, name: 'bob', role: 'member', sig: signBinding(boot, bobWriter, bob.secretKey), ts: 2 }),
    // A member cannot stop the log: not an admin, audited as before.
    node(bobWriter, { t: 'group/rules', rules: NEWER, ts: 3 }),
    // A newer format under rules this code knows cannot be honest: skipped and audited.
    { value: raw({ ...commandValue(texts.post('bob-post-01', 'from the future')), v: 2 }), from: { key: bobWriter } },
    node(bobWriter, texts.post('bob-post-02', 'plain'))
  ], view, host, boot)
  assert.deepEqual(host.interrupted, [])
  assert.deepEqual((await auditOf(view)).map(a => [a.type, a.reason]), [
    ['group/rules', 'only admins change the rules version'],
    ['message/post', 'unsupported version 2']
  ])

  const before = await dump(view)
  await assert.rejects(applyNodes([
    node(bobWriter, texts.post('bob-post-03', 'same call, before the stop')),
    { ...node(boot, { t: 'group/rules', rules: NEWER, ts: 4 }), length: 7 },
    node(bobWriter, texts.post('bob-post-04', 'after the stop'))
  ], view, host, boot), /Apply interrupted/)
  assert.deepEqual(host.interrupted.map(asUpgradeNeed), [{ code: 'UPGRADE_REQUIRED', rules: NEWER, known: CURRENT_RULES, type: 'group/rules', writer: hex(boot), length: 7 }])
  assert.deepEqual(await dump(view), before, 'an interrupted call writes nothing: Autobase applies it again after an upgrade')

  // A log created under newer rules stops at its first entry.
  const [fresh] = await bees(t)
  const host2 = new RecordingHost(boot)
  await assert.rejects(applyNodes([
    node(boot, { t: 'group/create', kind: 'group', name: 'G', member: alice.publicKey, memberName: 'alice', sig: signBinding(boot, boot, alice.secretKey), ts: 1, rules: NEWER })
  ], fresh, host2, boot), /Apply interrupted/)
  assert.equal(asUpgradeNeed(host2.interrupted[0])?.type, 'group/create')
  assert.deepEqual(await dump(fresh), [])
})

/** A group whose creator's node plays a newer Solidar (it knows rules NEWER). */
async function newerCreator (lab: Lab, rules = CURRENT_RULES): Promise<Peer> {
  const id = createIdentity('alice')
  const store = lab.store('alice')
  const group = new Group({ store: store.namespace('group'), key: null, encryptionKey: lab.encryptionKey, knownRules: NEWER })
  group.on('error', () => {})
  lab.groups.push(group)
  await group.ready()
  await group.append({ t: 'group/create', kind: 'group', name: 'Works council', member: id.publicKey, memberName: 'alice', sig: signBinding(group.key, group.localWriterKey, id.secretKey), ts: Date.now(), rules })
  return { name: 'alice', id, store, group }
}

test('Autobase: an entry of a newer Solidar stops the log on two older peers at the same entry; earlier messages read, writes get UPGRADE_REQUIRED; an upgraded node applies the rest', async (t) => {
  const lab = await Lab.create(t, 'solidar-versions-')
  const alice = await newerCreator(lab)
  const bob = await lab.member(alice, 'bob')
  const carol = await lab.member(alice, 'carol')
  const texts = lab.texts(alice.group)
  await alice.group.append(texts.post('alice-msg-01', 'before the upgrade'))
  await bob.group.append(texts.post('bob-msg-0001', 'also before'))
  await waitFor(async () => { await carol.group.update(); return (await carol.group.messageCount()) === 2 }, 'carol has both messages')

  // alice's newer node raises the rules and writes under them.
  await alice.group.append({ t: 'group/rules', rules: NEWER, ts: Date.now() })
  await alice.group.append(texts.post('alice-msg-02', 'under the newer rules'))
  assert.equal(alice.group.upgradeRequired, null)
  assert.equal(await alice.group.messageCount(), 3)

  const stopped = async (p: Peer) => waitFor(async () => { await p.group.update(); return p.group.upgradeRequired }, `${p.name}'s log stops`, 15_000)
  const [needBob, needCarol] = [await stopped(bob), await stopped(carol)]
  const expected = { code: 'UPGRADE_REQUIRED', rules: NEWER, known: CURRENT_RULES, type: 'group/rules', writer: hex(alice.group.localWriterKey), length: needBob.length }
  assert.deepEqual(needBob, expected)
  assert.deepEqual(needCarol, expected, 'both peers stop at the same entry')
  assert.ok(isDeepStrictEqual(await dump(bob.group.view), await dump(carol.group.view)), 'both peers hold the same view')
  for (const p of [bob, carol]) {
    const messages = await p.group.messages()
    assert.deepEqual(messages.map(m => texts.open(m)), ['before the upgrade', 'also before'], `${p.name} reads what came before, nothing after`)
    assert.equal((await p.group.meta())?.rules, CURRENT_RULES)
    assert.deepEqual(await p.group.audit(), [], 'nothing was skipped')
    assert.equal(p.group.writable, false)
    await assert.rejects(p.group.append(texts.post(`${p.name}-msg-0002`, 'refused')), (err: unknown) => isSolidarError(err) && err.code === 'UPGRADE_REQUIRED' && /newer Solidar/.test(err.message))
  }

  // A restart of the older code stops at the same entry again; the upgraded node applies everything.
  const reopen = async (p: Peer, knownRules?: number) => {
    await p.group.close()
    const group = new Group({ store: p.store.namespace('group'), key: alice.group.key, encryptionKey: lab.encryptionKey, knownRules })
    group.on('error', () => {})
    lab.groups.push(group)
    await group.ready()
    return { ...p, group }
  }
  const carolAgain = await reopen(carol)
  assert.deepEqual(await stopped(carolAgain), expected)
  const bobUpgraded = await reopen(bob, NEWER)
  const upgraded = await waitFor(async () => { await bobUpgraded.group.update(); return (await bobUpgraded.group.messageCount()) === 3 ? bobUpgraded.group.messages() : null }, 'the upgraded node applies the rest', 15_000)
  assert.deepEqual(upgraded.map(m => texts.open(m)), ['before the upgrade', 'also before', 'under the newer rules'])
  assert.equal(bobUpgraded.group.upgradeRequired, null)
  assert.equal((await bobUpgraded.group.meta())?.rules, NEWER)
  await bobUpgraded.group.append(texts.post('bob-msg-0003', 'after upgrading'))
})

test('Solidar: a group stopped by a newer member\'s entry lists upgradeRequired in the group list and status, refuses sends with UPGRADE_REQUIRED and still reads', async (t) => {
  const { nodes: [alice], locals } = await makeNodes(['alice'], t)
  const reported: Error[] = []
  alice.onError(err => reported.push(err))
  const { id } = await alice.createGroup('Works council')
  await alice.send(id, 'before the upgrade')
  const { base } = await alice.logBase(id)
  const record = JSON.parse((await getText(locals[0], 'logs.json'))!).logs.find((l: { key: string }) => l.key === hex(base.key))
  // bob's device runs a newer Solidar (it knows rules NEWER); alice's node admits it as an admin.
  const lab = await Lab.create(t, 'solidar-versions-node-')
  const bobStore = lab.store('bob')
  const bob = new Group({ store: bobStore.namespace('group'), key: base.key, encryptionKey: Buffer.from(record.encryptionKey, 'hex'), knownRules: NEWER })
  bob.on('error', () => {})
  lab.groups.push(bob)
  await bob.ready()
  const [x, y] = [alice.store.replicate(true), bobStore.replicate(false)]
  x.on('error', () => {}); y.on('error', () => {})
  x.pipe(y).pipe(x)
  t.after(() => { x.destroy(); y.destroy() })
  const bobId = createIdentity('bob')
  await base.append(encode(commandValue({ t: 'member/add', member: bobId.publicKey, writer: bob.localWriterKey, name: 'bob', role: 'admin', sig: signBinding(base.key, bob.localWriterKey, bobId.secretKey), ts: Date.now() })))
  await bob.waitForWritable(AbortSignal.timeout(10_000))
  await bob.append({ t: 'group/rules', rules: NEWER, ts: Date.now() })

  const listed = await waitFor(async () => (await alice.listGroups()).find(g => g.id === id)?.upgradeRequired, 'the group list says the group needs a newer Solidar', 15_000)
  assert.deepEqual(listed, { rules: NEWER, known: CURRENT_RULES })
  assert.deepEqual((await alice.status()).groups.find(g => g.id === id)?.upgradeRequired, { rules: NEWER, known: CURRENT_RULES })
  await assert.rejects(alice.send(id, 'refused'), (err: unknown) => isSolidarError(err) && err.code === 'UPGRADE_REQUIRED')
  assert.deepEqual((await alice.messages(id)).map(m => m.text), ['before the upgrade'])
  assert.deepEqual((await alice.members(id)).map(m => m.name).sort(), ['alice', 'bob'])
  assert.deepEqual(reported.map(e => e.message), [], 'the stop is a state, not an error the node reports')
})

test('Autobase: a device admitted to a log made under newer rules is told UPGRADE_REQUIRED while it waits to be writable, not left to time out', async (t) => {
  const lab = await Lab.create(t, 'solidar-versions-join-')
  const alice = await newerCreator(lab, NEWER)
  const id = createIdentity('bob')
  const store = lab.store('bob')
  const group = lab.group(store, alice.group.key)
  await group.ready()
  lab.connect(alice, { name: 'bob', id, store, group })
  await alice.group.append({ t: 'member/add', member: id.publicKey, writer: group.localWriterKey, name: 'bob', role: 'member', sig: signBinding(alice.group.key, group.localWriterKey, id.secretKey), ts: Date.now() })
  await assert.rejects(group.waitForWritable(AbortSignal.timeout(15_000)), (err: unknown) => isSolidarError(err) && err.code === 'UPGRADE_REQUIRED')
  assert.equal(group.upgradeRequired?.type, 'group/create')
  assert.equal(await group.meta(), null, 'nothing of the log was applied')
})
