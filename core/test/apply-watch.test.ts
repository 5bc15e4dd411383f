/**
 * ApplyWatch (core/src/apply-watch.ts): the membership stamp moves with every applied command
 * that may change members, devices, roles or keys (not with content, not with refused entries)
 * and with reorders, and reads null until Autobase's next 'update'; this device's own entries'
 * outcomes are kept by length, the latest word counting.
 */
import test from 'node:test'
import assert from 'node:assert/strict'
import { ApplyWatch } from '../src/apply-watch.ts'

const LOCAL = 'aa'.repeat(32)
const OTHER = 'bb'.repeat(32)

test('apply watch: the membership stamp moves with membership commands and reorders, and settles on update', () => {
  const w = new ApplyWatch(() => LOCAL)
  const start = w.membershipStamp
  assert.equal(typeof start, 'number')
  w.outcome({ writer: OTHER, length: 1, type: 'message/post', refused: null })
  w.outcome({ writer: OTHER, length: 2, type: 'pad/update', refused: null })
  w.outcome({ writer: OTHER, length: 3, type: 'member/remove', refused: 'only admins remove members' })
  assert.equal(w.membershipStamp, start, 'content and refused entries leave it')
  w.outcome({ writer: OTHER, length: 4, type: 'member/role', refused: null })
  assert.equal(w.membershipStamp, null, 'unsettled until the view holds it')
  w.settled()
  const after = w.membershipStamp
  assert.ok(after !== null && after !== start)
  w.truncated()
  assert.equal(w.membershipStamp, null)
  w.settled()
  assert.ok(w.membershipStamp !== after, 'a reorder moved it too')
})

test('apply watch: this device\'s entries are known by length, the latest word counts; others\' are not kept', () => {
  const w = new ApplyWatch(() => LOCAL)
  w.outcome({ writer: LOCAL, length: 1, type: 'message/post', refused: null })
  w.outcome({ writer: LOCAL, length: 2, type: 'message/post', refused: 'observers read but do not write' })
  w.outcome({ writer: OTHER, length: 3, type: 'message/post', refused: null })
  assert.equal(w.ownOutcome(1), null)
  assert.equal(w.ownOutcome(2), 'observers read but do not write')
  assert.equal(w.ownOutcome(3), undefined, 'another writer\'s entry')
  // A reorder applies entry 1 again, refused this time (an admin's removal now comes first).
  w.outcome({ writer: LOCAL, length: 1, type: 'message/post', refused: 'writer is not a member' })
  assert.equal(w.ownOutcome(1), 'writer is not a member')
})
