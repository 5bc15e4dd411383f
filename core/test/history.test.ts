/**
 * Paged reads (history.ts) and read markers (read-markers.ts): a page is the newest `limit`
 * messages strictly before a message id, oldest first, in the order of a full read.
 */
import test from 'node:test'
import assert from 'node:assert/strict'
import { DEFAULT_PAGE, MAX_PAGE } from '../src/index.ts'
import type { MessageView } from '../src/types.ts'
import { failure, makeNodes, waitFor } from './helpers.ts'
import { getText } from '../src/registry.ts'

const ids = (list: MessageView[]) => list.map(m => m.id)

/** Every message, read page by page back to the start (fewer than `limit` ends it). */
async function walkBack (read: (before: string | undefined) => Promise<MessageView[]>, limit: number): Promise<MessageView[]> {
  const all: MessageView[] = []
  let before: string | undefined
  for (;;) {
    const page = await read(before)
    assert.ok(page.length <= limit, `a page holds at most ${limit}`)
    all.unshift(...page)
    if (page.length < limit) return all
    before = page[0].id
  }
}

test('group history pages: newest first page, before a message, the start, limits and rooms', async (t) => {
  const { nodes: [alice] } = await makeNodes(['alice'], t)
  const { id: g } = await alice.createGroup('Paging')
  await alice.createRoom(g, 'minutes')
  const sent: MessageView[] = []
  for (let i = 0; i < 10; i++) {
    sent.push(await alice.send(g, `m${i}`, i % 3 === 2 ? { room: 'minutes' } : {}))
  }
  const full = await alice.messages(g, { limit: MAX_PAGE })
  assert.deepEqual(ids(full), ids(sent), 'a page larger than the history is all of it, in log order')

  assert.deepEqual((await alice.messages(g, { limit: 3 })).map(m => m.text), ['m7', 'm8', 'm9'], 'the newest page, oldest first')
  assert.deepEqual(ids(await alice.messages(g, { before: sent[7].id, limit: 3 })), ids(sent.slice(4, 7)), 'strictly before the id')
  assert.deepEqual(ids(await alice.messages(g, { before: sent[2].id, limit: 3 })), ids(sent.slice(0, 2)), 'a short page at the start')
  assert.deepEqual(await alice.messages(g, { before: sent[0].id, limit: 3 }), [], 'nothing before the first message')
  assert.deepEqual(ids(await walkBack(before => alice.messages(g, { before, limit: 3 }), 3)), ids(full))
  assert.deepEqual(ids(await walkBack(before => alice.messages(g, { before, limit: 5 }), 5)), ids(full), 'a page boundary on the start itself')

  // A room reads its own index; `before` may be any message of the group.
  const minutes = sent.filter(m => m.room === 'minutes')
  assert.deepEqual(ids(await alice.messages(g, { room: 'minutes', limit: 2 })), ids(minutes.slice(-2)))
  assert.deepEqual(ids(await alice.messages(g, { room: 'minutes', before: sent[6].id, limit: 5 })), ids(minutes.filter(m => m.seq < sent[6].seq)))
  assert.deepEqual(ids(await walkBack(before => alice.messages(g, { room: 'minutes', before, limit: 1 }), 1)), ids(minutes))
  assert.deepEqual(ids(await alice.messages(g, { room: 'general', limit: MAX_PAGE })), ids(sent.filter(m => m.room === 'general')))

  await failure(alice.messages(g, { limit: 0 }), 'BAD_REQUEST')
  await failure(alice.messages(g, { limit: MAX_PAGE + 1 }), 'BAD_REQUEST')
  await failure(alice.messages(g, { limit: 1.5 }), 'BAD_REQUEST')
  await failure(alice.messages(g, { before: 'not an id!' }), 'BAD_REQUEST')
  await failure(alice.messages(g, { before: 'AAAAAAAAAAAAAAAA' }), 'MESSAGE_NOT_FOUND')
})

test('without a limit a page holds DEFAULT_PAGE messages', async (t) => {
  const { nodes: [alice] } = await makeNodes(['alice'], t)
  const { id: g } = await alice.createGroup('Long')
  const sent: MessageView[] = []
  for (let i = 0; i <= DEFAULT_PAGE; i++) sent.push(await alice.send(g, `m${i}`))
  assert.deepEqual(ids(await alice.messages(g)), ids(sent.slice(-DEFAULT_PAGE)))
  assert.deepEqual(ids(await alice.messages(g, { before: sent[DEFAULT_PAGE - 99].id })), ids(sent.slice(0, 1)))
})

test('DM history pages, and unread counts from a read marker', async (t) => {
  const { nodes: [alice, bob], locals: [aliceLocal] } = await makeNodes(['alice', 'bob'], t)
  const { id: g } = await alice.createGroup('Two')
  await bob.join((await alice.createInvite(g)).code, { timeoutMs: 30_000 })
  const aliceId = alice.whoami().id
  const bobId = bob.whoami().id

  const sent: MessageView[] = []
  sent.push(await alice.dm(bobId, 'd0'))
  await waitFor(async () => (await bob.dmMessages(aliceId)).length === 1, 'bob has the DM')
  for (let i = 1; i < 7; i++) sent.push(await (i % 2 === 0 ? alice.dm(bobId, `d${i}`) : bob.dm(aliceId, `d${i}`)))
  await waitFor(async () => (await alice.dmMessages(bobId, { limit: MAX_PAGE })).length === 7, 'alice has every DM')
  const full = await alice.dmMessages(bobId, { limit: MAX_PAGE })
  assert.deepEqual(full.map(m => m.text).sort(), ['d0', 'd1', 'd2', 'd3', 'd4', 'd5', 'd6'], 'the order is the log\'s (the two wrote concurrently)')
  assert.deepEqual(ids(await alice.dmMessages(bobId, { limit: 2 })), ids(full.slice(-2)))
  assert.deepEqual(ids(await alice.dmMessages(bobId, { before: full[4].id, limit: 3 })), ids(full.slice(1, 4)))
  assert.deepEqual(await alice.dmMessages(bobId, { before: full[0].id }), [])
  assert.deepEqual(ids(await walkBack(before => bob.dmMessages(aliceId, { before, limit: 2 }), 2)), ids(full))
  await failure(alice.dmMessages(bobId, { before: 'AAAAAAAAAAAAAAAA' }), 'MESSAGE_NOT_FOUND')
  await failure(alice.dmMessages(bobId, { limit: 0 }), 'BAD_REQUEST')

  // DM unread: the peer's messages after this device's marker for the conversation.
  const dmUnread = async () => (await alice.listDms()).find(d => d.member === bobId)
  assert.deepEqual(await dmUnread(), { member: bobId, name: 'bob', unread: 3 }, 'bob wrote d1, d3, d5')
  assert.deepEqual(await alice.markDmRead(bobId, full[full.length - 1].id), { unread: 0 })
  const later = await bob.dm(aliceId, 'd7')
  await waitFor(async () => (await dmUnread())?.unread === 1, 'bob\'s new DM counts')
  assert.deepEqual(await alice.markDmRead('bob', later.id), { unread: 0 }, 'the peer may be named')
  await failure(alice.markDmRead(bobId, 'AAAAAAAAAAAAAAAA'), 'MESSAGE_NOT_FOUND')

  // Unread: messages by others after the marker; own messages never count.
  const unread = async () => (await alice.listGroups()).find(x => x.id === g)!.unread
  const fromBob: MessageView[] = []
  for (let i = 0; i < 3; i++) fromBob.push(await bob.send(g, `b${i}`))
  await waitFor(async () => (await alice.messages(g)).length === 3, 'alice has bob\'s messages')
  assert.equal(await unread(), 3, 'no marker yet: all of them')
  await alice.send(g, 'mine')
  assert.equal(await unread(), 3, 'her own message is not unread')
  assert.deepEqual(await alice.markRead(g, fromBob[1].id), { unread: 1 })
  assert.deepEqual(await alice.markRead(g, fromBob[0].id), { unread: 1 }, 'the marker never moves back')
  assert.equal(await unread(), 1)
  assert.match(String(await getText(aliceLocal, 'read.json')), new RegExp(fromBob[1].id), 'kept in the local store')
  const last = await bob.send(g, 'b3')
  await waitFor(async () => (await unread()) === 2, 'a new message counts')
  assert.deepEqual(await alice.markRead(g, last.id), { unread: 0 })
  await failure(alice.markRead(g, 'AAAAAAAAAAAAAAAA'), 'MESSAGE_NOT_FOUND')
  await failure(alice.markRead(g, 'bad id!'), 'BAD_REQUEST')
})
