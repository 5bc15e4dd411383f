/**
 * Meeting signalling across in-memory nodes: a meeting started by one member is seen by the
 * others, joins, media changes and leaves propagate, a signal reaches only its addressee
 * with the sender's member identity, bad requests get coded errors; a node holding only the
 * topic and a removed member cannot inject anything, and a removed member cannot join.
 * Two members the network never connects meet through a common member, which relays only
 * members' messages, each once, within the hop limit and the replay window.
 */
import test from 'node:test'
import assert from 'node:assert/strict'
import Protomux from 'protomux'
import c from 'compact-encoding'
import b4a from 'b4a'
import { makeNodes, waitFor } from './helpers.ts'
import { Keyring } from '../src/content.ts'
import { decode, encode } from '../src/codec.ts'
import { createIdentity } from '../src/identity.ts'
import { sealMessage, PROTOCOL } from '../src/meetings/wire.ts'
import { MAX_HOPS, REPLAY_WINDOW_MS } from '../src/meetings/constants.ts'
import type { MemoryTransport } from '../src/memory-transport.ts'
import type { SolidarEvent } from '../src/types.ts'

const AV = { audio: true, video: true, screen: false }
const SDP = 'v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=fingerprint:sha-256 AB:CD\r\n'

function events (node: { subscribe: (fn: (e: SolidarEvent) => void) => () => void }) {
  const seen: SolidarEvent[] = []
  node.subscribe(e => { if (e.type.startsWith('meeting')) seen.push(e) })
  return seen
}

/** Opens the raw meeting channel of `topic` on every connection `node` gets; returns a send-to-all function. */
function rawChannel (node: any, topic: Buffer) {
  const channels: any[] = []
  node.transport!.on('connection', ({ stream }: any) => {
    const ch = Protomux.from(stream).createChannel({ protocol: PROTOCOL, id: topic, messages: [{ encoding: c.buffer, onmessage: () => {} }] })
    if (ch) { ch.open(); channels.push(ch) }
  })
  return {
    opened: () => channels.some(ch => ch.opened),
    send: (buf: Buffer) => { for (const ch of channels) if (ch.opened) ch.messages[0].send(buf) }
  }
}

test('meetings: start, see, join, mute, signal to one participant, leave', async (t) => {
  const { nodes: [alice, bob, carol] } = await makeNodes(['alice', 'bob', 'carol'], t)
  const { id: group } = await alice.createGroup('Works council')
  await bob.join((await alice.createInvite(group)).code, { timeoutMs: 30_000 })
  await carol.join((await alice.createInvite(group)).code, { timeoutMs: 30_000 })
  const bobEvents = events(bob)
  const carolEvents = events(carol)

  const started = await alice.meetings.start(group, { session: 'alice-tab-1', media: AV, room: 'general' })
  assert.equal(started.participants.length, 1)
  assert.equal(started.participants[0].self, true)
  assert.equal(started.room, 'general')
  const meeting = started.id
  const seenBy = async (node: typeof alice, n: number) => (await node.meetings.list(group)).find(m => m.id === meeting)?.participants.length === n
  await waitFor(() => seenBy(bob, 1), 'bob sees the running meeting')
  const atBob = (await bob.meetings.get(group, meeting)).participants[0]
  assert.equal(atBob.member, alice.whoami().id)
  assert.equal(atBob.name, 'alice')
  assert.equal(atBob.self, false)

  await bob.meetings.join(group, meeting, { session: 'bob-tab-1', media: AV })
  await waitFor(async () => (await seenBy(alice, 2)) && (await seenBy(carol, 2)), 'alice and carol see bob in the meeting')

  // Mute: the media state reaches the others.
  await bob.meetings.join(group, meeting, { session: 'bob-tab-1', media: { ...AV, audio: false } })
  await waitFor(async () => (await alice.meetings.get(group, meeting)).participants.find(p => p.session === 'bob-tab-1')?.media.audio === false, 'alice sees bob muted')

  // A signal is delivered to its addressee only, with the signing member's identity.
  const bobDevice = (await alice.meetings.get(group, meeting)).participants.find(p => p.session === 'bob-tab-1')!.device
  await alice.meetings.signal(group, meeting, { session: 'alice-tab-1', device: bobDevice, to: 'bob-tab-1', signal: { type: 'offer', sdp: SDP } })
  const signal = await waitFor(() => bobEvents.find(e => e.type === 'meeting-signal'), 'bob gets the offer')
  assert.ok(signal.type === 'meeting-signal')
  assert.equal(signal.from.member, alice.whoami().id)
  assert.equal(signal.from.session, 'alice-tab-1')
  assert.equal(signal.to, 'bob-tab-1')
  assert.deepEqual(signal.signal, { type: 'offer', sdp: SDP })
  assert.ok(bobEvents.some(e => e.type === 'meeting-update'))
  await new Promise(resolve => setTimeout(resolve, 200))
  assert.equal(carolEvents.filter(e => e.type === 'meeting-signal').length, 0, 'carol gets no signal addressed to bob')
  assert.ok((carol.meetings.stats().rejected['not-addressed'] ?? 0) >= 1, 'carol saw it and dropped it')

  // Bad requests get coded errors.
  await assert.rejects(alice.meetings.join(group, meeting, { session: 'x', media: AV }), { code: 'BAD_REQUEST' })
  await assert.rejects(alice.meetings.join(group, meeting, { session: 'alice-tab-2', media: { audio: 'yes' } as any }), { code: 'BAD_REQUEST' })
  await assert.rejects(alice.meetings.join(group, 'nonexistent-meeting', { session: 'alice-tab-2', media: AV }), { code: 'MEETING_NOT_FOUND' })
  await assert.rejects(alice.meetings.signal(group, meeting, { session: 'alice-tab-1', device: bobDevice, to: 'bob-tab-1', signal: { type: 'offer' } as any }), { code: 'BAD_REQUEST' })
  await assert.rejects(alice.meetings.signal(group, meeting, { session: 'alice-tab-1', device: bobDevice, to: 'bob-tab-1', signal: { type: 'evil', sdp: SDP } as any }), { code: 'BAD_REQUEST' })
  await assert.rejects(alice.meetings.signal(group, meeting, { session: 'alice-tab-1', device: 'not-a-device', to: 'bob-tab-1', signal: { type: 'renegotiate' } }), { code: 'BAD_REQUEST' })
  await assert.rejects(alice.meetings.signal(group, meeting, { session: 'carol-tab-9', device: bobDevice, to: 'bob-tab-1', signal: { type: 'renegotiate' } }), { code: 'MEETING_NOT_FOUND' })
  await assert.rejects(alice.meetings.get(group, 'nonexistent-meeting'), { code: 'MEETING_NOT_FOUND' })

  // Six at most.
  for (let i = 2; i <= 5; i++) await alice.meetings.join(group, meeting, { session: `alice-tab-${i}`, media: AV })
  // Carol's node learns of the six from their announcements (the test raced them before).
  await waitFor(() => seenBy(carol, 6), 'carol sees six participants')
  await assert.rejects(carol.meetings.join(group, meeting, { session: 'carol-tab-1', media: AV }), { code: 'MEETING_FULL' })
  for (let i = 2; i <= 5; i++) await alice.meetings.leave(group, meeting, `alice-tab-${i}`)

  // Leaving: the others see it at once; the last one out ends the meeting.
  await bob.meetings.leave(group, meeting, 'bob-tab-1')
  await waitFor(async () => (await seenBy(alice, 1)) && (await seenBy(carol, 1)), 'bob left for everyone')
  await alice.meetings.leave(group, meeting, 'alice-tab-1')
  await waitFor(async () => (await carol.meetings.list(group)).length === 0, 'the meeting ended for carol')
})

test('meetings: a node holding only the topic cannot inject signals or participants', async (t) => {
  const { nodes: [alice, bob, mallory] } = await makeNodes(['alice', 'bob', 'mallory'], t)
  const { id: group } = await alice.createGroup('Works council')
  await bob.join((await alice.createInvite(group)).code, { timeoutMs: 30_000 })
  const { base } = await alice.logBase(group)
  const aliceEvents = events(alice)
  const meeting = (await alice.meetings.start(group, { session: 'alice-tab-1', media: AV })).id

  const raw = rawChannel(mallory, base.discoveryKey)
  await mallory.transport!.join(base.discoveryKey)
  await waitFor(() => raw.opened(), 'mallory has a meeting channel open with a member')
  const before = alice.meetings.stats().rejected
  // Garbage, and well-formed messages sealed under a key mallory made up (she has no key of the group).
  raw.send(b4a.from('not cbor at all'))
  raw.send(encode({ e: 0, n: b4a.alloc(24), c: b4a.alloc(64) }))
  const fake = new Keyring(b4a.alloc(32, 7), base.discoveryKey)
  const me = createIdentity('mallory')
  raw.send(sealMessage(fake, 0, me, { k: 'announce', m: meeting, se: 'mallory-tab', ts: Date.now(), si: Date.now(), md: { a: true, v: true, s: false } } as any))
  raw.send(sealMessage(fake, 0, me, { k: 'signal', m: meeting, se: 'mallory-tab', ts: Date.now(), to: alice.identity.publicKey, tt: 'alice-tab-1', x: JSON.stringify({ type: 'offer', sdp: SDP }) }))
  await waitFor(() => {
    const r = alice.meetings.stats().rejected
    return (r.malformed ?? 0) - (before.malformed ?? 0) >= 1 && (r.unreadable ?? 0) - (before.unreadable ?? 0) >= 3
  }, 'alice dropped all four messages', 5_000)
  const view = await alice.meetings.get(group, meeting)
  assert.deepEqual(view.participants.map(p => p.session), ['alice-tab-1'])
  assert.equal(aliceEvents.filter(e => e.type === 'meeting-signal').length, 0, 'no injected signal reached alice\'s browser')
  await assert.rejects(mallory.meetings.list(group), { code: 'GROUP_NOT_FOUND' })
})

test('meetings: a removed member cannot join, and what it still signs is rejected', async (t) => {
  const { nodes: [alice, bob, carol], network } = await makeNodes(['alice', 'bob', 'carol'], t)
  const { id: group } = await alice.createGroup('Works council')
  await bob.join((await alice.createInvite(group)).code, { timeoutMs: 30_000 })
  await carol.join((await alice.createInvite(group)).code, { timeoutMs: 30_000 })
  const { base } = await alice.logBase(group)
  const meeting = (await alice.meetings.start(group, { session: 'alice-tab-1', media: AV })).id
  await waitFor(async () => (await bob.meetings.list(group)).length === 1, 'bob sees the meeting')
  await bob.meetings.join(group, meeting, { session: 'bob-tab-1', media: AV })
  await waitFor(async () => (await alice.meetings.get(group, meeting)).participants.length === 2, 'bob is in the meeting')

  await alice.removeMember(group, bob.whoami().id)
  await waitFor(async () => (await alice.meetings.get(group, meeting)).participants.length === 1, 'bob is dropped from the meeting once removed')
  await waitFor(async () => !(await bob.members(group)).some(m => m.id === bob.whoami().id), 'bob\'s node knows it was removed', 15_000)
  await assert.rejects(bob.meetings.join(group, meeting, { session: 'bob-tab-2', media: AV }), { code: 'NOT_PERMITTED' })
  await assert.rejects(bob.meetings.start(group, { session: 'bob-tab-3', media: AV }), { code: 'NOT_PERMITTED' })

  // A modified node of bob's: it still holds epoch 0's key (derived from the log key), so what it
  // seals and signs under it opens for alice, but is not a current member's.
  const old = new Keyring(base.encryptionKey as Buffer, base.discoveryKey)
  const transport = network.transport({ name: 'bob-modified' })
  t.after(() => transport.close())
  const raw = rawChannel({ transport }, base.discoveryKey)
  await transport.join(base.discoveryKey)
  await waitFor(() => raw.opened(), 'bob\'s modified node has a meeting channel open with a member')
  const before = alice.meetings.stats().rejected['not-member'] ?? 0
  raw.send(sealMessage(old, 0, bob.identity, { k: 'announce', m: meeting, se: 'bob-tab-4', ts: Date.now(), si: Date.now(), md: { a: true, v: true, s: false } } as any))
  raw.send(sealMessage(old, 0, bob.identity, { k: 'signal', m: meeting, se: 'bob-tab-4', ts: Date.now(), to: alice.identity.publicKey, tt: 'alice-tab-1', x: JSON.stringify({ type: 'offer', sdp: SDP }) }))
  await waitFor(() => (alice.meetings.stats().rejected['not-member'] ?? 0) - before >= 2, 'alice rejected both as not a member\'s')
  assert.deepEqual((await alice.meetings.get(group, meeting)).participants.map(p => p.member), [alice.whoami().id])
})

/** The same channel message as if it had passed `hops` relays (the sealed body unchanged). */
function withHops (buf: Buffer, hops: number): Buffer {
  return encode({ ...(decode(buf) as object), h: hops })
}

const offer = (n: number) => JSON.stringify({ type: 'offer', sdp: `${SDP}a=mid:${n}\r\n` })

test('meetings: two members the network never connects meet through a common member', async (t) => {
  const { nodes: [alice, bob, carol], network } = await makeNodes(['alice', 'bob', 'carol'], t)
  // A line bob – alice – carol: bob and carol never get a connection to each other.
  network.block(bob.transport as MemoryTransport, carol.transport as MemoryTransport)
  const { id: group } = await alice.createGroup('Works council')
  await bob.join((await alice.createInvite(group)).code, { timeoutMs: 30_000 })
  await carol.join((await alice.createInvite(group)).code, { timeoutMs: 30_000 })
  await waitFor(async () => (await carol.members(group)).length === 3 && (await bob.members(group)).length === 3, 'everyone knows everyone')
  assert.equal(bob.transport!.connectionCount, 1, 'bob is connected to alice only')
  assert.equal(carol.transport!.connectionCount, 1, 'carol is connected to alice only')
  const bobEvents = events(bob)
  const carolEvents = events(carol)
  const aliceEvents = events(alice)

  const meeting = (await bob.meetings.start(group, { session: 'bob-tab-1', media: AV })).id
  await waitFor(async () => (await carol.meetings.list(group))[0]?.participants.length === 1, 'carol sees bob\'s meeting through alice')
  await carol.meetings.join(group, meeting, { session: 'carol-tab-1', media: AV })
  await waitFor(async () => (await bob.meetings.get(group, meeting)).participants.length === 2, 'bob sees carol join through alice')
  const view = await bob.meetings.get(group, meeting)
  const carolAtBob = view.participants.find(p => p.session === 'carol-tab-1')!
  assert.equal(carolAtBob.member, carol.whoami().id)

  // Offer and answer travel bob → alice → carol and back, each with its signer's identity.
  await bob.meetings.signal(group, meeting, { session: 'bob-tab-1', device: carolAtBob.device, to: 'carol-tab-1', signal: { type: 'offer', sdp: SDP } })
  const got = await waitFor(() => carolEvents.find(e => e.type === 'meeting-signal'), 'carol gets bob\'s offer')
  assert.ok(got.type === 'meeting-signal')
  assert.equal(got.from.member, bob.whoami().id)
  assert.deepEqual(got.signal, { type: 'offer', sdp: SDP })
  await carol.meetings.signal(group, meeting, { session: 'carol-tab-1', device: got.from.device, to: 'bob-tab-1', signal: { type: 'answer', sdp: SDP } })
  const answer = await waitFor(() => bobEvents.find(e => e.type === 'meeting-signal'), 'bob gets carol\'s answer')
  assert.ok(answer.type === 'meeting-signal')
  assert.equal(answer.from.member, carol.whoami().id)
  assert.equal(aliceEvents.filter(e => e.type === 'meeting-signal').length, 0, 'the relay hands no signal for others to its browser')
  assert.ok(alice.meetings.stats().forwarded >= 4, 'alice forwarded announcements and both signals')

  // Leaving travels the same way.
  await carol.meetings.leave(group, meeting, 'carol-tab-1')
  await waitFor(async () => (await bob.meetings.get(group, meeting)).participants.length === 1, 'bob sees carol leave')
})

test('meetings: a relay forwards each member\'s message once, within the hop limit and replay window, and nothing else', async (t) => {
  const { nodes: [alice, bob, carol, dave], network } = await makeNodes(['alice', 'bob', 'carol', 'dave'], t)
  const [ta, tb, tc, td] = [alice, bob, carol, dave].map(n => n.transport as MemoryTransport)
  network.block(tb, tc)
  network.block(td, tc)
  const { id: group } = await alice.createGroup('Works council')
  for (const n of [bob, carol, dave]) await n.join((await alice.createInvite(group)).code, { timeoutMs: 30_000 })
  const { base } = await alice.logBase(group)
  const meeting = (await carol.meetings.start(group, { session: 'carol-tab-1', media: AV })).id
  await waitFor(async () => (await alice.meetings.list(group)).length === 1, 'alice sees carol\'s meeting')
  await alice.removeMember(group, dave.whoami().id)
  await waitFor(async () => !(await carol.members(group)).some(m => m.id === dave.whoami().id), 'carol knows dave was removed')
  await dave.close()
  await td.close()

  // An injector connected to alice only replays what members signed, as a node in the path could.
  const injector = network.transport({ name: 'injector' })
  t.after(() => injector.close())
  network.block(injector, tb)
  network.block(injector, tc)
  const raw = rawChannel({ transport: injector }, base.discoveryKey)
  await injector.join(base.discoveryKey)
  await waitFor(() => raw.opened(), 'the injector has a meeting channel open with alice')
  assert.ok(ta.connectionCount >= 3)

  const key = new Keyring(base.encryptionKey as Buffer, base.discoveryKey)
  const carolDevice = carol.identity.publicKey
  const signal = (from: typeof bob.identity, n: number, ts = Date.now()) =>
    sealMessage(key, 0, from, { k: 'signal', m: meeting, se: 'bob-tab-1', ts, to: carolDevice, tt: 'carol-tab-1', x: offer(n) })
  const aliceStats = () => alice.meetings.stats()
  const rejectedAt = (node: typeof alice, reason: string) => (node.meetings.stats().rejected as Record<string, number>)[reason] ?? 0
  const carolEvents = events(carol)
  const signalsAtCarol = () => carolEvents.filter(e => e.type === 'meeting-signal').map(e => e.type === 'meeting-signal' ? e.signal.sdp : '')

  // 1. A member's signal is forwarded to carol; the same message again, also with another hop count, is not.
  const first = signal(bob.identity, 1)
  raw.send(first)
  await waitFor(() => signalsAtCarol().length === 1, 'carol gets bob\'s signal through alice')
  const dupes = rejectedAt(alice, 'duplicate')
  raw.send(first)
  raw.send(withHops(first, 2))
  await waitFor(() => rejectedAt(alice, 'duplicate') - dupes === 2, 'alice drops both copies as duplicates')

  // 2. Hop limit: a message that passed MAX_HOPS relays is taken but not forwarded; one beyond is dropped.
  const forwarded = aliceStats().forwarded
  raw.send(withHops(signal(bob.identity, 2), MAX_HOPS))
  raw.send(withHops(signal(bob.identity, 3), MAX_HOPS + 1))
  await waitFor(() => rejectedAt(alice, 'hop-limit') === 1 && rejectedAt(alice, 'not-addressed') >= 2, 'alice took the one at the limit and dropped the one beyond')
  assert.equal(aliceStats().forwarded, forwarded, 'alice forwarded neither')

  // 3. Replay of a message signed long ago (outside the window, so no longer remembered): dropped.
  raw.send(signal(bob.identity, 4, Date.now() - REPLAY_WINDOW_MS - 60_000))
  raw.send(signal(bob.identity, 5, Date.now() + REPLAY_WINDOW_MS + 60_000))
  await waitFor(() => rejectedAt(alice, 'stale') === 2, 'alice drops a signal from the past and one from the future')

  // 4. Forged (the payload changed after signing) and a removed member's: dropped, not forwarded.
  const genuine = decode(key.open(decode(signal(bob.identity, 6)) as any, 'meeting')!) as { p: Buffer, d: Buffer, s: Buffer }
  const changed = encode({ k: 'signal', m: meeting, se: 'bob-tab-1', ts: Date.now(), to: carolDevice, tt: 'carol-tab-1', x: offer(7) })
  raw.send(encode(key.seal(0, 'meeting', encode({ p: changed, d: genuine.d, s: genuine.s }))))
  raw.send(signal(dave.identity, 8))
  await waitFor(() => rejectedAt(alice, 'bad-signature') === 1 && rejectedAt(alice, 'not-member') >= 1, 'alice drops the forged and the removed member\'s signal')
  assert.equal(aliceStats().forwarded, forwarded, 'alice forwarded none of them')

  // The path still works, and carol got exactly the one good signal.
  raw.send(signal(bob.identity, 9))
  await waitFor(() => signalsAtCarol().length === 2, 'carol gets the next good signal')
  assert.deepEqual(signalsAtCarol(), [`${SDP}a=mid:1\r\n`, `${SDP}a=mid:9\r\n`])
  assert.equal(rejectedAt(carol, 'bad-signature') + rejectedAt(carol, 'stale') + rejectedAt(carol, 'hop-limit'), 0, 'nothing bad reached carol')
})
