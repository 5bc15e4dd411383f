/**
 * How a conversation's list takes messages (web/src/message-list.ts): a live copy (seq 0) shows
 * at once after every logged message, the log's copy takes its place (same id) and its position,
 * a live copy never replaces what is there, and a withdrawn live copy goes while logged ones stay.
 */
import test from 'node:test'
import assert from 'node:assert/strict'
import { prepend, upsert, withdraw } from '../src/message-list.ts'
import type { MessageView } from '../src/types.ts'

const msg = (id: string, seq: number, ts: number, text = id): MessageView =>
  ({ id, author: 'a', authorName: 'A', room: 'general', text, ts, seq } as unknown as MessageView)

test('message list: a live copy shows after the logged ones; the log\'s copy takes its place and position', () => {
  let list = [msg('one', 1, 100), msg('two', 2, 200)]
  list = upsert(list, msg('live', 0, 50), true)
  assert.deepEqual(list.map((m) => m.id), ['one', 'two', 'live'], 'a live copy (older clock) still sorts after the logged ones')
  // The log orders it before 'two' (its writer's entry came first): it moves there.
  list = upsert(list, msg('live', 2, 50))
  list = upsert(list, msg('two', 3, 200))
  assert.deepEqual(list.map((m) => [m.id, m.seq]), [['one', 1], ['live', 2], ['two', 3]])
  assert.equal(list.length, 3, 'no duplicate')
})

test('message list: a live copy never replaces what is there (logged, or shown live before)', () => {
  let list = [msg('one', 1, 100, 'logged text')]
  list = upsert(list, msg('one', 0, 100, 'live text'), true)
  assert.deepEqual(list.map((m) => [m.seq, m.text]), [[1, 'logged text']])
  list = upsert(list, msg('two', 0, 200, 'first'), true)
  list = upsert(list, msg('two', 0, 200, 'again'), true)
  assert.deepEqual(list.map((m) => m.text), ['logged text', 'first'])
})

test('message list: a withdrawn live copy goes; a logged message with that id stays', () => {
  const list = [msg('one', 1, 100), msg('gone', 0, 200)]
  assert.deepEqual(withdraw(list, 'gone').map((m) => m.id), ['one'])
  assert.deepEqual(withdraw(list, 'one').map((m) => m.id), ['one', 'gone'])
})

test('message list: an earlier page goes in front, a live copy stays last, and the shown versions win', () => {
  const list = [msg('three', 3, 300, 'edited'), msg('live', 0, 50)]
  const merged = prepend([msg('one', 1, 100), msg('two', 2, 200), msg('three', 3, 300, 'old')], list)
  assert.deepEqual(merged.map((m) => [m.id, m.text]), [['one', 'one'], ['two', 'two'], ['three', 'edited'], ['live', 'live']])
})
