/**
 * A group that has not reached a device yet says how far it is and from whom (issue 16, item 6),
 * and a device that is not admitted yet while no admin is online says it waits for one. Real
 * nodes (corestores, Autobase, presence) on an in-memory network.
 */
import test from 'node:test'
import assert from 'node:assert/strict'
import { describeCatchUp } from '../src/index.ts'
import { makeNodes, waitFor } from './helpers.ts'

test('not admitted, no admin online: status names the peer it fetches from and says it waits for an admin', async (t) => {
  const { nodes: [alice, carol, bob], network, locals } = await makeNodes(['alice', 'carol', 'bob'], t)
  const { id } = await alice.createGroup('Council')
  await carol.join((await alice.createInvite(id)).code, { timeoutMs: 30_000 })
  for (let i = 0; i < 20; i++) await alice.send(id, `history ${i}`)
  await carol.send(id, 'carol was here')
  await waitFor(async () => (await carol.messages(id)).length === 21, 'carol holds the history')
  assert.equal((await alice.listGroups())[0].catchUp, undefined, 'a group that reached the device has no catch-up state')
  await waitFor(async () => (await carol.status()).groups[0].catchUp === undefined, 'carol is caught up')

  // carol no longer reaches alice: she will not hold bob's admission.
  network.block(alice.transport as any, carol.transport as any)
  const { code } = await alice.createInvite(id)
  const { base } = await alice.logBase(id)
  // alice admits bob, then drops off the network before bob has any of the log (solidar.test.ts does the same).
  const write = locals[2].write.bind(locals[2])
  let cut = false
  locals[2].write = async (name: string, text: string) => {
    if (!cut && text.includes(base.key.toString('hex'))) {
      cut = true
      await alice.transport!.leave(base.discoveryKey)
      ;(alice.transport as any).disconnectAll()
    }
    return write(name, text)
  }
  const joined = await bob.join(code, { timeoutMs: 3000 })
  assert.ok(cut)
  assert.equal(joined.writable, false)

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
