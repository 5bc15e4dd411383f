/**
 * Live chat (services/live-messages.ts): a message reaches the other members' nodes at once over
 * the group's live channel, while its durable append is still under way, and the log's entry
 * takes its place (same id, announced once); a member not connected to the sender gets it
 * through one that is; a failed append withdraws it; and what is not a current member's signed,
 * fresh message in an existing room is refused by reason and never shown. A removed member's
 * device is sent nothing. In a full mesh nobody relays (the message names whom it reached).
 */
import test from 'node:test'
import assert from 'node:assert/strict'
import b4a from 'b4a'
import { encode } from '../src/codec.ts'
import { createIdentity } from '../src/identity.ts'
import { sealLive } from '../src/services/live-wire.ts'
import type { LiveChatOutcome } from '../src/services/live-messages.ts'
import type { MessageView, SolidarEvent } from '../src/types.ts'
import { makeNodes, removeOneDemoteOne, waitFor } from './helpers.ts'

type Node = Awaited<ReturnType<typeof makeNodes>>['nodes'][number]

const outcome = (n: Node, what: LiveChatOutcome) => n.liveChat.outcomes.get(what) ?? 0
const deviceOf = (n: Node) => b4a.toString(n.identity.publicKey, 'hex')

/** Every event a node emits, in order. */
function recorder (n: Node) {
  const events: SolidarEvent[] = []
  n.subscribe((e) => events.push(e))
  const about = (id: string) => events.filter((e): e is Extract<SolidarEvent, { message: MessageView }> => 'message' in e && e.message.id === id)
  return { events, about }
}

/**
 * Holds this node's appends to the group's log until `release` (or fails them): the durable
 * path of a send stays under way while the test looks at the live one. Fault injection on the
 * real Autobase: the appends themselves run unchanged once released.
 */
async function gateAppends (n: Node, group: string) {
  const { base } = await n.logBase(group)
  const original = base.append.bind(base)
  let open!: () => void
  let fail: Error | null = null
  const gate = new Promise<void>((resolve) => { open = resolve })
  base.append = async (...args: unknown[]) => {
    await gate
    if (fail) throw fail
    return original(...args)
  }
  return {
    release: () => { base.append = original; open() },
    failWith: (err: Error) => { fail = err; open() }
  }
}

/** `names[0]` creates a group; the others join it; every node has greeted every other on the live channel. */
async function groupOf (names: string[], t: Parameters<typeof makeNodes>[1]) {
  const made = await makeNodes(names, t)
  const [first, ...others] = made.nodes
  const { id: group } = await first.createGroup('Live chat')
  for (const n of others) await n.join((await first.createInvite(group)).code, { timeoutMs: 30_000 })
  // Each node proves its device to each other (a hello per connection).
  await waitFor(() => made.nodes.every(n => outcome(n, 'hello') >= names.length - 1), 'every connection greeted both ways')
  return { ...made, group }
}

test('live chat: a message reaches the others while its append is still under way; the log entry takes its place, announced once', async (t) => {
  const { nodes: [alice, bob, carol], group } = await groupOf(['alice', 'bob', 'carol'], t)
  const atBob = recorder(bob)
  const atCarol = recorder(carol)
  const gate = await gateAppends(alice, group)
  const relayedBefore = [bob.liveChat.sent.get(deviceOf(carol)) ?? 0, carol.liveChat.sent.get(deviceOf(bob)) ?? 0]
  let acknowledged = false
  const sending = alice.send(group, 'Sitzung um 10').then((m) => { acknowledged = true; return m })
  await waitFor(() => atBob.events.some(e => e.type === 'message-live'), 'bob shows the message live')
  await waitFor(() => atCarol.events.some(e => e.type === 'message-live'), 'carol shows the message live')
  const live = atBob.events.find((e): e is Extract<SolidarEvent, { type: 'message-live' }> => e.type === 'message-live')!
  assert.equal(live.group, group)
  assert.equal(live.message.text, 'Sitzung um 10')
  assert.equal(live.message.author, alice.whoami().id)
  assert.equal(live.message.authorName, 'alice')
  assert.equal(live.message.room, 'general')
  assert.equal(live.message.seq, 0, 'not in the log yet')
  assert.equal(acknowledged, false, 'send answers only once the entry is on disk')
  assert.ok(!(await bob.messages(group)).some(m => m.id === live.message.id), 'bob\'s log does not have it yet')
  // Everyone is connected to alice, and her message names whom she sent it to: nobody relays it.
  assert.deepEqual([bob.liveChat.sent.get(deviceOf(carol)) ?? 0, carol.liveChat.sent.get(deviceOf(bob)) ?? 0], relayedBefore, 'not relayed in a full mesh')

  gate.release()
  const sent = await sending
  assert.equal(sent.id, live.message.id, 'the live message and the entry share their id')
  await waitFor(() => atBob.about(sent.id).some(e => e.type === 'message'), 'bob\'s log brings the entry')
  const logged = atBob.about(sent.id).find(e => e.type === 'message')!
  assert.ok(logged.message.seq > 0)
  assert.equal(logged.message.text, 'Sitzung um 10')
  // A later message as a sync point: nothing more about the first one came in between.
  const next = await alice.send(group, 'danach')
  await waitFor(() => atBob.about(next.id).some(e => e.type === 'message') && atCarol.about(next.id).some(e => e.type === 'message'), 'the next message is logged at bob and carol')
  for (const at of [atBob, atCarol]) {
    assert.deepEqual(at.about(sent.id).map(e => e.type), ['message-live', 'message'], 'shown live once, then announced once from the log')
  }
})

test('live chat: a reply to a message shown live waits for its entry, so the log takes both in order', async (t) => {
  const { nodes: [alice, bob], group } = await groupOf(['alice', 'bob'], t)
  const atBob = recorder(bob)
  const gate = await gateAppends(alice, group)
  const sending = alice.send(group, 'Wer kommt?')
  await waitFor(() => atBob.events.some(e => e.type === 'message-live'), 'bob shows it live')
  const parent = atBob.events.flatMap(e => e.type === 'message-live' ? [e.message] : [])[0]
  let replied = false
  const reply = bob.send(group, 'ich', { replyTo: parent.id }).then((m) => { replied = true; return m })
  const react = bob.react(group, parent.id, '👍')
  await new Promise((resolve) => setTimeout(resolve, 200))
  assert.equal(replied, false, 'the reply waits while the parent is not in bob\'s log')
  gate.release()
  await sending
  const answer = await reply
  assert.equal(answer.replyTo, parent.id)
  assert.deepEqual((await react).reactions, [{ emoji: '👍', members: [bob.whoami().id] }])
  await waitFor(async () => (await alice.messages(group)).some(m => m.id === answer.id), 'alice\'s log has the reply')
  const inAlice = await alice.messages(group)
  const [p, r] = [inAlice.find(m => m.id === parent.id)!, inAlice.find(m => m.id === answer.id)!]
  assert.ok(p.seq < r.seq, 'the parent comes first')
  assert.equal(r.replyTo, parent.id)
  await waitFor(async () => (await alice.messages(group)).find(m => m.id === parent.id)?.reactions?.length === 1, 'alice sees the reaction')
})

test('live chat: a member not connected to the sender gets the message through one that is', async (t) => {
  const { nodes: [alice, bob, carol], network, group } = await groupOf(['alice', 'bob', 'carol'], t)
  network.block(alice.transport as any, carol.transport as any)
  const atCarol = recorder(carol)
  const gate = await gateAppends(alice, group)
  const before = bob.liveChat.sent.get(deviceOf(carol)) ?? 0
  const sending = alice.send(group, 'über bob')
  await waitFor(() => atCarol.events.some(e => e.type === 'message-live' && e.message.text === 'über bob'), 'carol shows it live')
  assert.equal(alice.liveChat.sent.get(deviceOf(carol)) ?? 0, 0, 'alice has no connection to carol')
  assert.ok((bob.liveChat.sent.get(deviceOf(carol)) ?? 0) > before, 'bob relayed it')
  gate.release()
  await sending
})

test('live chat: when the sender\'s append fails, the others take the message away', async (t) => {
  const { nodes: [alice, bob], group } = await groupOf(['alice', 'bob'], t)
  const atBob = recorder(bob)
  const gate = await gateAppends(alice, group)
  const sending = alice.send(group, 'geht schief')
  await waitFor(() => atBob.events.some(e => e.type === 'message-live'), 'bob shows it live')
  gate.failWith(Object.assign(new Error('no space left on device'), { code: 'ENOSPC' }))
  await assert.rejects(sending, /no space left/)
  const { id } = atBob.about(atBob.events.flatMap(e => e.type === 'message-live' ? [e.message.id] : [])[0])[0].message
  await waitFor(() => atBob.events.some(e => e.type === 'message-withdrawn' && e.id === id && e.group === group), 'bob takes it away')
  assert.ok(!(await bob.messages(group)).some(m => m.id === id))
})

test('live chat: forged, unreadable, malformed, replayed, stale, removed member\'s, observer\'s and misaddressed messages are refused by reason and never shown; a removed member\'s device is sent nothing', async (t) => {
  const { nodes: [alice, bob, carol, dave], group } = await groupOf(['alice', 'bob', 'carol', 'dave'], t)
  const atBob = recorder(bob)
  const atCarol = recorder(carol)
  // Control before the removal: carol gets alice's messages live.
  const gate = await gateAppends(alice, group)
  const first = alice.send(group, 'noch dabei')
  await waitFor(() => atCarol.events.some(e => e.type === 'message-live' && e.message.text === 'noch dabei'), 'carol, still a member, gets it live')
  gate.release()
  await first

  await removeOneDemoteOne(group, alice, bob, carol, dave)
  await waitFor(async () => !(await alice.members(group)).some(m => m.id === carol.whoami().id), 'alice sees carol removed')

  const stranger = createIdentity('mallory')
  const post = (keyring: Parameters<Parameters<Node['liveChat']['sendRaw']>[1]>[0], epoch: number, text: string, over: Record<string, unknown> = {}) =>
    ({ k: 'post' as const, id: `live-${text}-${Math.random().toString(36).slice(2, 10)}`, r: 'general', b: keyring.seal(epoch, 'message', b4a.from(text)), ts: Date.now(), ...over })
  const refused = async (what: LiveChatOutcome, text: string, forge: Parameters<Node['liveChat']['sendRaw']>[1]) => {
    const before = outcome(bob, what)
    await alice.liveChat.sendRaw(group, forge)
    // At least once: a held message is checked again (and counted again) after each update of the log.
    await waitFor(() => outcome(bob, what) > before, `bob refuses it as ${what}`)
    assert.ok(!atBob.events.some(e => e.type === 'message-live' && e.message.text === text), `${what}: never shown`)
  }
  // Signed by another key than the device it names.
  await refused('bad-signature', 'forged', (k, e) => sealLive(k, e, { publicKey: alice.identity.publicKey, secretKey: stranger.secretKey }, post(k, e, 'forged')))
  // Signed by a device that is not in the group at all: kept for a retry, never shown.
  await refused('held', 'stranger', (k, e) => sealLive(k, e, stranger, post(k, e, 'stranger')))
  // A removed member's device, and an observer's (who may read, not write).
  await refused('not-member', 'removed', (k, e) => sealLive(k, e, carol.identity, post(k, e, 'removed')))
  await refused('observer', 'observer', (k, e) => sealLive(k, e, dave.identity, post(k, e, 'observer')))
  // Sent long ago (a replay from outside the window), and into a room that does not exist.
  await refused('stale', 'stale', (k, e) => sealLive(k, e, alice.identity, post(k, e, 'stale', { ts: Date.now() - 10 * 60_000 })))
  await refused('no-room', 'nowhere', (k, e) => sealLive(k, e, alice.identity, post(k, e, 'nowhere', { r: 'nowhere' })))
  // Not sealed with a key of the group; not a sealed box at all; a hello naming another connection.
  await refused('unreadable', 'x', (_k, e) => encode({ e, n: b4a.alloc(24, 1), c: b4a.alloc(64, 2), v: 1, h: 0 }))
  await refused('malformed', 'x', () => b4a.from('not cbor at all'))
  await refused('not-peer', 'x', (k, e) => sealLive(k, e, alice.identity, { k: 'hello', t: b4a.alloc(32, 7) }))
  // A valid message, then the same bytes again: shown once, the replay dropped.
  let bytes: Buffer | null = null
  const shownBefore = outcome(bob, 'shown')
  await alice.liveChat.sendRaw(group, (k, e) => (bytes = sealLive(k, e, alice.identity, post(k, e, 'echt'))))
  await waitFor(() => atBob.events.some(e => e.type === 'message-live' && e.message.text === 'echt'), 'a valid live message is shown')
  assert.equal(outcome(bob, 'shown'), shownBefore + 1)
  await refused('duplicate', 'x', () => bytes!)
  assert.equal(atBob.events.filter(e => e.type === 'message-live' && e.message.text === 'echt').length, 1, 'shown once')
  for (const text of ['forged', 'stranger', 'removed', 'observer', 'stale', 'nowhere']) assert.ok(!atBob.events.some(e => e.type === 'message-live' && e.message.text === text), `${text} never shown`)

  // carol, removed, is still connected; alice sends her nothing (bob, a member, gets it).
  const toCarol = alice.liveChat.sent.get(deviceOf(carol)) ?? 0
  const toBob = alice.liveChat.sent.get(deviceOf(bob)) ?? 0
  await alice.send(group, 'ohne carol')
  await waitFor(() => atBob.events.some(e => (e.type === 'message-live' || e.type === 'message') && e.message.text === 'ohne carol'), 'bob gets it')
  assert.ok((alice.liveChat.sent.get(deviceOf(bob)) ?? 0) > toBob, 'alice sent it live to bob')
  assert.equal(alice.liveChat.sent.get(deviceOf(carol)) ?? 0, toCarol, 'alice sent carol nothing')
  assert.ok(!atCarol.events.some(e => e.type === 'message-live' && e.message.text === 'ohne carol'), 'carol never shows it')
})

test('live chat: direct messages go live too, and the log entry takes their place', async (t) => {
  const { nodes: [alice, bob] } = await groupOf(['alice', 'bob'], t)
  // The first DM opens the DM log on both sides; its channel greets once the log is open.
  await alice.dm(bob.whoami().id, 'hallo')
  await waitFor(async () => (await bob.listDms()).length === 1, 'bob has the DM')
  await waitFor(() => outcome(bob, 'hello') >= 2 && outcome(alice, 'hello') >= 2, 'the DM channel greeted both ways')
  const atBob = recorder(bob)
  const arrived = () => outcome(bob, 'shown') + outcome(bob, 'logged')
  const before = arrived()
  const sent = await alice.dm(bob.whoami().id, 'direkt')
  await waitFor(() => atBob.about(sent.id).some(e => e.type === 'dm'), 'bob\'s DM log has it')
  // The live copy arrived: shown, or dropped as already logged when the log was faster.
  await waitFor(() => arrived() === before + 1, 'the live message reached bob')
  const kinds = atBob.about(sent.id).map(e => e.type).join()
  assert.equal(kinds, outcome(bob, 'shown') > 0 ? 'dm-live,dm' : 'dm', 'shown live at most once, before the log\'s copy')
  for (const e of atBob.about(sent.id)) {
    assert.equal(e.type === 'dm-live' || e.type === 'dm' ? e.peer : null, alice.whoami().id)
    assert.equal(e.message.text, 'direkt')
  }
})
