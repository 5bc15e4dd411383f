/**
 * Reactions (rules 4, issue 19): one emoji per member and message, the latest counts, sealed
 * under the epoch; refused under older rules with the reason an older node gives; shown grouped
 * by emoji in every message view and event, in groups and DMs.
 */
import test from 'node:test'
import assert from 'node:assert/strict'
import b4a from 'b4a'
import { applyNodes } from '../src/apply.ts'
import { signBinding } from '../src/binding.ts'
import { parseCommand, commandValue, type Command } from '../src/commands.ts'
import { encode } from '../src/codec.ts'
import { Keyring, epochZeroKey, sealContent } from '../src/content.ts'
import { createIdentity } from '../src/identity.ts'
import { checkReaction, isReaction } from '../src/reactions.ts'
import { getRecord } from '../src/view.ts'
import { makeNodes, waitFor } from './helpers.ts'
import { RecordingHost, auditOf, bees, dump, node, randomKey } from './lab.ts'

test('isReaction / checkReaction: exactly one emoji as a user sees it', () => {
  for (const ok of ['👍', '❤️', '🇩🇪', '👨‍👩‍👧‍👦', '1️⃣', '👍🏽', '🏳️‍🌈']) assert.ok(isReaction(ok), ok)
  for (const bad of ['', 'a', '👍👍', '👍 ', ':+1:', '\u200b', '👍a', 'ok']) assert.ok(!isReaction(bad), JSON.stringify(bad))
  assert.equal(checkReaction(' 👍 '), '👍')
  assert.throws(() => checkReaction('yes'), /one emoji/)
  assert.throws(() => checkReaction(undefined), /one emoji/)
})

function setup (rules?: number) {
  const boot = randomKey()
  const dk = randomKey()
  const [alice, bob] = ['alice', 'bob'].map(n => createIdentity(n))
  const bobWriter = randomKey()
  const key0 = epochZeroKey(boot)
  const seal = (kind: 'message' | 'reaction', text: string) => sealContent(key0, 0, dk, kind, b4a.from(text))
  const start = [
    node(boot, { t: 'group/create', kind: 'group', name: 'G', member: alice.publicKey, memberName: 'alice', sig: signBinding(boot, boot, alice.secretKey), ts: 1, ...(rules ? { rules } : {}) }),
    node(boot, { t: 'member/add', member: bob.publicKey, writer: bobWriter, name: 'bob', role: 'member', sig: signBinding(boot, bobWriter, bob.secretKey), ts: 2 }),
    node(boot, { t: 'message/post', id: 'msg-00000001', room: 'general', body: seal('message', 'Friday?'), ts: 3 })
  ]
  const react = (writer: Buffer, emoji: string, id = 'msg-00000001', ts = 10): Command => ({ t: 'message/react', id, body: seal('reaction', emoji), ts })
  return { boot, dk, alice, bob, bobWriter, seal, start, react }
}

test('applyNodes: a reaction under rules 4 is stored per member (the latest counts) and makes a new version of the message; under rules 3 it is refused as an older node refuses it', async (t) => {
  const [v4, v3] = await bees(t, 2)
  const s = setup(4)
  await applyNodes([
    ...s.start,
    node(s.bobWriter, s.react(s.bobWriter, '👍')),
    node(s.boot, s.react(s.boot, '👍')),
    node(s.bobWriter, s.react(s.bobWriter, '❤️', 'msg-00000001', 11)),
    node(s.bobWriter, s.react(s.bobWriter, '👍', 'msg-unknown1')),
    node(s.bobWriter, { t: 'message/react', id: 'msg-00000001', body: sealContent(randomKey(), 5, s.dk, 'reaction', b4a.from('👍')), ts: 12 })
  ], v4, new RecordingHost(s.boot), s.boot)
  assert.deepEqual((await auditOf(v4)).map(a => [a.type, a.reason]), [
    ['message/react', 'no such message'],
    ['message/react', 'sealed under an epoch that does not exist']
  ])
  const msg = await getRecord<{ rx?: number }>(v4, 's!000000000001')
  assert.equal(msg?.rx, 3, 'three reactions changed the message')
  const everything = JSON.stringify(await dump(v4))
  for (const emoji of ['👍', '❤️']) assert.equal(everything.includes(emoji), false, `no ${emoji} in clear in the view`)
  const keyring = new Keyring(s.boot, s.dk)
  const bobs = await getRecord<{ body: any }>(v4, `rc!000000000001!${b4a.toString(s.bob.publicKey, 'hex')}`)
  assert.equal(b4a.toString(keyring.open(bobs!.body, 'reaction')!), '❤️', 'bob\'s latest reaction counts')

  const s3 = setup(3)
  await applyNodes([...s3.start, node(s3.bobWriter, s3.react(s3.bobWriter, '👍'))], v3, new RecordingHost(s3.boot), s3.boot)
  // The same entry as a node that does not know the type parses it (commands.ts: new types are format 2).
  const older = parseCommand(encode({ ...commandValue(s3.react(s3.bobWriter, '👍')), t: 'message/react-from-the-future' }))
  assert.equal(older.ok, false)
  assert.deepEqual((await auditOf(v3)).map(a => [a.type, a.reason]), [['message/react', older.ok ? '' : older.reason]])
  assert.equal((await getRecord<{ rx?: number }>(v3, 's!000000000001'))?.rx, undefined)

  // A deleted message takes no reaction.
  const [vd] = await bees(t)
  await applyNodes([...s.start, node(s.boot, { t: 'message/delete', id: 'msg-00000001', ts: 4 }), node(s.bobWriter, s.react(s.bobWriter, '👍'))], vd, new RecordingHost(s.boot), s.boot)
  assert.deepEqual((await auditOf(vd)).map(a => a.reason), ['message is deleted'])
})

test('Solidar: members react in a group and a DM; others see them grouped, in history and in events; changed and taken back; refused on a deleted message', async (t) => {
  const { nodes } = await makeNodes(['alice', 'bob', 'carol'], t)
  const [alice, bob, carol] = nodes
  const { id } = await alice.createGroup('Works council')
  for (const n of [bob, carol]) await n.join((await alice.createInvite(id)).code, { timeoutMs: 30_000 })
  const msg = await alice.send(id, 'Meeting on Friday at 10?')
  await waitFor(async () => (await carol.messages(id)).some(m => m.id === msg.id), 'carol has the message')
  const events: any[] = []
  t.after(alice.subscribe((e) => { if (e.type === 'message' && e.message.id === msg.id) events.push(e.message) }))

  const mine = await bob.react(id, msg.id, '👍')
  assert.deepEqual(mine.reactions, [{ emoji: '👍', members: [bob.whoami().id] }], 'the answer shows the reaction')
  await carol.react(id, msg.id, '👍')
  await waitFor(async () => (await alice.messages(id)).find(m => m.id === msg.id)?.reactions?.[0]?.members.length === 2, 'alice sees two thumbs up')
  await waitFor(async () => events.some(m => m.reactions?.[0]?.members.length === 2), 'an event carries the reactions')

  await carol.react(id, msg.id, '❤️')
  await waitFor(async () => {
    const r = (await alice.messages(id)).find(m => m.id === msg.id)?.reactions
    return JSON.stringify(r) === JSON.stringify([{ emoji: '👍', members: [bob.whoami().id] }, { emoji: '❤️', members: [carol.whoami().id] }])
  }, 'carol changed hers: one each')
  await bob.react(id, msg.id, null)
  await waitFor(async () => JSON.stringify((await carol.messages(id)).find(m => m.id === msg.id)?.reactions) === JSON.stringify([{ emoji: '❤️', members: [carol.whoami().id] }]), 'bob took his back')

  await assert.rejects(bob.react(id, msg.id, 'yes'), /one emoji/)
  await assert.rejects(bob.react(id, 'msg-nothere1', '👍'), (err: any) => err.code === 'MESSAGE_NOT_FOUND')
  await alice.deleteMessage(id, msg.id)
  await waitFor(async () => (await bob.messages(id)).find(m => m.id === msg.id)?.deleted === true, 'bob sees the delete')
  await assert.rejects(bob.react(id, msg.id, '👍'), /deleted/)
  assert.equal((await bob.messages(id)).find(m => m.id === msg.id)?.reactions, undefined, 'a deleted message shows no reactions')

  // A DM: either side reacts to either side's message.
  const dm = await alice.dm(bob.whoami().id, 'Can you bring the draft?')
  await waitFor(async () => (await bob.dmMessages(alice.whoami().id)).some(m => m.id === dm.id), 'bob has the DM')
  await bob.dmReact(alice.whoami().id, dm.id, '🙏')
  await waitFor(async () => (await alice.dmMessages(bob.whoami().id)).find(m => m.id === dm.id)?.reactions?.[0]?.emoji === '🙏', 'alice sees bob\'s reaction to her DM')
})
