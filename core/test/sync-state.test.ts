/**
 * groupSync (core/src/sync-state.ts): what `status` says of a log. 'diverged' only when
 * Autobase warned and the view holds blocks the admins' signatures never came to cover (the
 * crash-loop finding: a view in another order than the group's, everything else 'synced').
 */
import test from 'node:test'
import assert from 'node:assert/strict'
import { groupSync } from '../src/sync-state.ts'

const peer = { remotePublicKey: new Uint8Array(32), remoteLength: 10 }
function base (view: { length: number, signedLength: number }) {
  return {
    core: { peers: [peer] },
    view: { core: view },
    local: { length: 10, peers: [peer] },
    activeWriters: [{ core: { length: 10, contiguousLength: 10, peers: [peer] }, length: 10 }]
  }
}
const carrier = () => 'memory'

test('sync state: synced when everything is here, signed or not yet (no warning)', () => {
  assert.equal(groupSync(base({ length: 2170, signedLength: 2170 }), carrier).sync.state, 'synced')
  const settling = groupSync(base({ length: 2170, signedLength: 2100 }), carrier).sync
  assert.equal(settling.state, 'synced', 'an unsigned tail alone is the normal wait for the admins')
  assert.equal(settling.unsigned, 70)
})

test('sync state: a warning with view blocks the signatures never covered is diverged, and says why', () => {
  const warning = new Error('Could not commit signatures to view')
  const s = groupSync(base({ length: 2170, signedLength: 20 }), carrier, warning).sync
  assert.equal(s.state, 'diverged')
  assert.equal(s.diverged, 'Could not commit signatures to view')
  assert.equal(s.unsigned, 2150)
  assert.equal(groupSync(base({ length: 2170, signedLength: 2170 }), carrier, warning).sync.state, 'synced', 'a warning with a fully signed view is not a divergence')
})
