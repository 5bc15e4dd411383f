/**
 * The relay's bookkeeping (core/src/live-relay.ts) on a clock the test moves: each id is
 * taken once; a message outside the replay window is stale; an id is remembered exactly as long
 * as a replay of it would still be in the window; a device over its rate is refused until its
 * bucket refills; a full seen-set refuses new ids instead of forgetting live ones.
 */
import test from 'node:test'
import assert from 'node:assert/strict'
import { Relay } from '../src/live-relay.ts'

const WINDOW = 1_000
function relay (limits: Partial<{ maxSeen: number, burst: number, perSecond: number }> = {}) {
  let now = 1_000_000
  const r = new Relay({ windowMs: WINDOW, maxSeen: 100, burst: 100, perSecond: 10, ...limits }, () => now)
  return { r, now: () => now, advance: (ms: number) => { now += ms } }
}

test('meeting relay: an id is taken once; stale timestamps both ways are refused', () => {
  const { r, now } = relay()
  assert.equal(r.take('a', 'dev1', now()), null)
  assert.equal(r.seen('a'), true)
  assert.equal(r.take('a', 'dev1', now()), 'duplicate')
  assert.equal(r.take('b', 'dev1', now() - WINDOW - 1), 'stale')
  assert.equal(r.take('c', 'dev1', now() + WINDOW + 1), 'stale')
  assert.equal(r.take('d', 'dev1', now() - WINDOW), null, 'the edge of the window is inside')
})

test('meeting relay: an id is forgotten only once a replay of it would be stale', () => {
  const { r, now, advance } = relay()
  const sent = now() + WINDOW // a sender whose clock is a window ahead: remembered longest
  assert.equal(r.take('x', 'dev1', sent), null)
  advance(2 * WINDOW)
  r.sweep()
  assert.equal(r.seen('x'), true, 'still replayable (ts within the window): still remembered')
  assert.equal(r.take('x', 'dev1', sent), 'duplicate')
  advance(1)
  r.sweep()
  assert.equal(r.seen('x'), false, 'forgotten once outside the window')
  assert.equal(r.take('x', 'dev1', sent), 'stale', 'and then a replay is stale')
})

test('meeting relay: a device over its burst is refused until its bucket refills; others are not', () => {
  const { r, now, advance } = relay({ burst: 3, perSecond: 2 })
  for (let i = 0; i < 3; i++) assert.equal(r.take(`m${i}`, 'dev1', now()), null)
  assert.equal(r.take('m3', 'dev1', now()), 'rate-limited')
  assert.equal(r.seen('m3'), false, 'a refused message is not remembered (it may come again)')
  assert.equal(r.take('n0', 'dev2', now()), null, 'another device has its own bucket')
  advance(500) // one token back at 2 per second
  assert.equal(r.take('m3', 'dev1', now()), null)
  assert.equal(r.take('m4', 'dev1', now()), 'rate-limited')
})

test('meeting relay: a seen-set full of live ids refuses new ones until they expire', () => {
  const { r, now, advance } = relay({ maxSeen: 3 })
  for (let i = 0; i < 3; i++) assert.equal(r.take(`m${i}`, 'dev1', now()), null)
  assert.equal(r.take('m3', 'dev1', now()), 'overloaded')
  assert.equal(r.size, 3)
  advance(WINDOW + 1)
  assert.equal(r.take('m3', 'dev1', now()), null, 'expired ids make room')
  assert.equal(r.size, 1)
})
