/**
 * Delivery of one's own messages, "N of M" (issue 19): on how many of the group's other devices
 * a message is, seen over direct connections whose member the group's presence names.
 */
import test from 'node:test'
import assert from 'node:assert/strict'
import type { MemoryTransport } from '../src/memory-transport.ts'
import { makeNodes, waitFor } from './helpers.ts'

test('Solidar: a message is on 2 of 2 other devices once both have it; with one member cut off, on 1 of 2, and then 2 of 2 again', async (t) => {
  const { nodes: [alice, bob, carol], network } = await makeNodes(['alice', 'bob', 'carol'], t)
  const { id } = await alice.createGroup('Works council')
  for (const n of [bob, carol]) await n.join((await alice.createInvite(id)).code, { timeoutMs: 30_000 })
  const first = await alice.send(id, 'Friday at 10')
  const state = async (messageId: string) => (await alice.messageDelivery(id, [messageId]))[0]
  await waitFor(async () => { const s = await state(first.id); return s.devices === 2 && s.of === 2 && s.reached }, 'on both other devices', 30_000)

  network.block(alice.transport as unknown as MemoryTransport, carol.transport as unknown as MemoryTransport)
  network.block(bob.transport as unknown as MemoryTransport, carol.transport as unknown as MemoryTransport)
  const second = await alice.send(id, 'and the draft by Thursday')
  await waitFor(async () => (await state(second.id)).devices === 1, 'on bob\'s device', 30_000)
  const s = await state(second.id)
  assert.deepEqual([s.reached, s.devices, s.of], [true, 1, 2], 'carol is cut off: 1 of 2')
  assert.equal((await state(first.id)).devices, 2, 'the first one stays on 2 of 2: carol took it before she was cut off')

  network.unblock(alice.transport as unknown as MemoryTransport, carol.transport as unknown as MemoryTransport)
  network.unblock(bob.transport as unknown as MemoryTransport, carol.transport as unknown as MemoryTransport)
  await waitFor(async () => (await state(second.id)).devices === 2, 'on both again once carol is back', 30_000)
  assert.deepEqual(await alice.messageDelivery(id, ['msg-notmine1']), [], 'a message this node did not send has no state')
})
