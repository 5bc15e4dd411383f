/**
 * Regression: a message written while no peer was online, by a node that then restarted,
 * must reach the others when they reconnect (autobase's wakeup hints travel on every
 * connection; without them peers did not learn of the writer's new head).
 */
import test from 'node:test'
import assert from 'node:assert/strict'
import path from 'node:path'
import Corestore from 'corestore'
import { Solidar } from '../src/index.ts'
import { makeNodes, waitFor } from './helpers.ts'

test('an entry appended offline before a restart is delivered after reconnecting', async (t) => {
  const { nodes, network, dir, locals } = await makeNodes(['alice', 'bob', 'carol'], t)
  const [alice, bob, carol] = nodes
  const { id } = await alice.createGroup('Council')
  for (const n of [bob, carol]) await n.join((await alice.createInvite(id)).code, { timeoutMs: 30_000 })
  const first = await alice.send(id, 'everyone online')
  await waitFor(async () => (await carol.messages(id)).some(m => m.id === first.id), 'carol has the first message')

  // alice and bob go away; carol writes alone, then restarts.
  await (alice.transport as any).close(); await (bob.transport as any).close()
  const alone = await carol.send(id, 'written while alone')
  await carol.close(); await carol.transport?.close(); await carol.store.close()
  const store = new Corestore(path.join(dir, 'carol'))
  const carol2 = await Solidar.open({ identity: carol.identity, store, local: locals[2], transport: network.transport() })
  t.after(async () => { await carol2.close(); await carol2.transport?.close(); await store.close() })
  assert.ok((await carol2.messages(id)).some(m => m.id === alone.id), 'carol kept her acknowledged message')

  // alice and bob come back (fresh transports on the same stores).
  const back = []
  for (const [i, n] of [[0, alice], [1, bob]] as const) {
    await n.close(); await n.store.close()
    const s = new Corestore(path.join(dir, n.label))
    const reopened = await Solidar.open({ identity: n.identity, store: s, local: locals[i], transport: network.transport() })
    t.after(async () => { await reopened.close(); await reopened.transport?.close(); await s.close() })
    back.push(reopened)
  }
  for (const n of back) await waitFor(async () => (await n.messages(id)).some(m => m.id === alone.id && m.text === alone.text), 'the message written alone arrives', 20_000)
})
