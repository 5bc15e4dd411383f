/**
 * A leave is never lost (reliability issue, item 2). `leaveGroup` used to stop syncing after a
 * fixed 200 ms: if no peer had fetched the `member/leave` entry by then, the group never learnt
 * of it and no new key epoch began. Now it answers once a peer holds the entry, or reports the
 * leave as pending and completes it — also after a restart — when a member's device is next
 * reachable. Admin actions say whether a peer has them yet.
 */
import test from 'node:test'
import assert from 'node:assert/strict'
import path from 'node:path'
import Corestore from 'corestore'
import { Solidar } from '../src/index.ts'
import { makeNodes, waitFor } from './helpers.ts'
import { getText } from '../src/registry.ts'

test('a leave with a member online is delivered before leaveGroup answers', async (t) => {
  const { nodes: [alice, bob] } = await makeNodes(['alice', 'bob'], t)
  const { id } = await alice.createGroup('Council')
  await bob.join((await alice.createInvite(id)).code, { timeoutMs: 30_000 })
  const left = await bob.leaveGroup(id)
  assert.deepEqual(left, { id, name: 'Council', pending: false })
  // The leave is on alice's device already: she applies it without bob being there.
  await (bob.transport as any).close()
  await waitFor(async () => !(await alice.members(id)).some(m => m.name === 'bob'), 'alice applies the leave', 10_000)
  assert.deepEqual((await bob.status()).leaving, [])
  assert.deepEqual(await bob.listGroups(), [])
})

test('a leave written while nobody is online stays pending, survives a restart and goes out when a member is back', async (t) => {
  const { nodes: [alice, bob], network, dir, locals } = await makeNodes(['alice', 'bob'], t)
  const { id } = await alice.createGroup('Council')
  await bob.join((await alice.createInvite(id)).code, { timeoutMs: 30_000 })
  const bobId = bob.whoami().id
  const epochBefore = (await alice.logBase(id)).base

  // alice goes away; bob leaves.
  await (alice.transport as any).close()
  await alice.close(); await alice.store.close()
  const left = await bob.leaveGroup(id, { timeoutMs: 500 })
  assert.deepEqual(left, { id, name: 'Council', pending: true })
  assert.deepEqual(await bob.listGroups(), [], 'gone from the lists at once')
  await assert.rejects(bob.send(id, 'after leaving'), /No group matches/)
  assert.deepEqual((await bob.status()).leaving.map(l => [l.id, l.name]), [[id, 'Council']])

  // bob restarts with the leave still pending.
  await bob.close(); await bob.transport?.close(); await bob.store.close()
  const bobStore = new Corestore(path.join(dir, 'bob'))
  const bob2 = await Solidar.open({ identity: bob.identity, store: bobStore, local: locals[1], transport: network.transport() })
  t.after(async () => { await bob2.close(); await bob2.transport?.close(); await bobStore.close() })
  assert.deepEqual((await bob2.status()).leaving.map(l => l.id), [id], 'still pending after the restart')
  assert.deepEqual(await bob2.listGroups(), [])

  // alice comes back: she gets the leave, bob's node forgets the group, alice starts a new epoch.
  const aliceStore = new Corestore(path.join(dir, 'alice'))
  const alice2 = await Solidar.open({ identity: alice.identity, store: aliceStore, local: locals[0], transport: network.transport() })
  t.after(async () => { await alice2.close(); await alice2.transport?.close(); await aliceStore.close() })
  await waitFor(async () => !(await alice2.members(id)).some(m => m.id === bobId), 'alice applies bob\'s leave', 20_000)
  await waitFor(async () => (await bob2.status()).leaving.length === 0, 'bob\'s node completes the leave', 20_000)
  assert.equal(JSON.parse(await getText(locals[1], 'logs.json') ?? '{"logs":[]}').logs.some((r: any) => r.key === epochBefore.key.toString('hex')), false, 'bob\'s registry forgot the group')
  await waitFor(async () => (await alice2.logBase(id)).base.view !== null && (await alice2.send(id, 'after bob left')).text === 'after bob left', 'alice writes on')
})

test('admin actions say whether a peer has them yet', async (t) => {
  const { nodes: [alice, bob, carol] } = await makeNodes(['alice', 'bob', 'carol'], t)
  const { id } = await alice.createGroup('Council')
  for (const n of [bob, carol]) await n.join((await alice.createInvite(id)).code, { timeoutMs: 30_000 })
  const changed = await alice.setRole(id, 'bob', 'observer')
  assert.equal(changed.delivered, true, 'bob and carol are online')
  await (bob.transport as any).close(); await (carol.transport as any).close()
  await waitFor(async () => (await alice.status()).network.connections === 0, 'alice alone', 10_000)
  const removed = await alice.removeMember(id, 'carol')
  assert.equal(removed.delivered, false, 'nobody online: the removal waits in alice\'s log')
})

test('message delivery: a message sent while no peer is connected is only sent; once a member\'s device has fetched it, it has reached a peer', async (t) => {
  const { nodes: [alice, bob], network } = await makeNodes(['alice', 'bob'], t)
  const { id } = await alice.createGroup('Works council')
  const { code } = await alice.createInvite(id)
  await bob.join(code, { timeoutMs: 30_000 })
  network.block(alice.transport as any, bob.transport as any)
  await waitFor(() => alice.status().then(s => s.network.connections === 0), 'alice alone')
  const sent = await alice.send(id, 'while nobody listens')
  assert.deepEqual(await alice.messageDelivery(id, [sent.id, 'notMineAtAll0000']), [{ id: sent.id, reached: false, peers: 0, devices: 0, of: 1 }], 'sent, not reached; ids not sent here are left out')
  network.unblock(alice.transport as any, bob.transport as any)
  await waitFor(async () => (await bob.messages(id)).some(m => m.id === sent.id), 'bob has it')
  const [state] = await waitFor(async () => { const s = await alice.messageDelivery(id, [sent.id]); return s[0]?.reached === true ? s : null }, 'alice sees it reached bob')
  assert.equal(state.peers, 1)
  assert.deepEqual(await bob.messageDelivery(id, [sent.id]), [], 'bob did not send it')
})
