/**
 * A group that has not reached a device yet says how far it is and from whom (issue 16, item 6),
 * and a device that is not admitted yet while no admin is online says it waits for one. Real
 * nodes (corestores, Autobase, presence) on an in-memory network.
 */
import test from 'node:test'
import assert from 'node:assert/strict'
import { describeCatchUp } from '../src/index.ts'
import { waitFor } from './helpers.ts'
import { strandedNewcomer } from './catch-up-fixture.ts'

test('not admitted, no admin online: status names the peer it fetches from and says it waits for an admin', async (t) => {
  const { alice, carol, bob, id, base } = await strandedNewcomer(t)

  // bob fetches the history from carol, a member who cannot admit him, and says so.
  const state = await waitFor(async () => {
    const g = (await bob.status()).groups.find(g => g.id === id)
    const c = g?.catchUp
    return c && c.have > 0 && c.have === c.known && c.peers.some(p => p.name === 'carol') ? c : null
  }, 'bob holds what carol has and knows her name')
  assert.equal(state.stage, 'admission')
  assert.equal(state.adminOnline, false)
  assert.equal(state.waitingForAdmin, true)
  assert.deepEqual(state.peers.map(p => [p.name, p.admin]), [['carol', false]])
  assert.equal(state.peers[0].member, carol.whoami().id)
  assert.ok(state.writers.some(w => w.name === 'alice' && w.have > 20), 'alice\'s writer, by name, with her entries')
  assert.ok(state.applied > 0 && state.applied <= state.have)
  assert.match(describeCatchUp(state), /waiting for an admin to come online to admit this device/)
  const listed = (await bob.listGroups()).find(g => g.id === id)
  assert.equal(listed?.role, null)
  assert.equal(listed?.catchUp?.waitingForAdmin, true, 'the group list carries the same state')

  // alice is back: bob is admitted and the catch-up state goes away.
  await alice.transport!.join(base.discoveryKey)
  await waitFor(async () => {
    const g = (await bob.listGroups()).find(g => g.id === id)
    return g?.role === 'member' && g.catchUp === undefined
  }, 'bob admitted and caught up')
})

test('not admitted, an admin online who does not hold the admission yet: status says an admin is online, not that it waits for one', async (t) => {
  const { bob, id } = await strandedNewcomer(t, { carolRole: 'admin' })
  const state = await waitFor(async () => {
    const c = (await bob.status()).groups.find(g => g.id === id)?.catchUp
    return c && c.peers.some(p => p.name === 'carol') ? c : null
  }, 'bob knows carol')
  assert.equal(state.stage, 'admission')
  assert.deepEqual(state.peers.map(p => [p.name, p.admin]), [['carol', true]])
  assert.equal(state.adminOnline, true)
  assert.equal(state.waitingForAdmin, false)
  assert.doesNotMatch(describeCatchUp(state), /waiting for an admin to come online/)
  assert.match(describeCatchUp(state), /an admin is online/)
})
