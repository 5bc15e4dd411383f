/**
 * The live event feed (`subscribe`): every message is announced to every member exactly once,
 * also when concurrent writers and a partition make Autobase reorder the log's tail (it
 * truncates the view and applies again, rewriting the change counter the feed reads from).
 */
import test from 'node:test'
import assert from 'node:assert/strict'
import { makeNodes, waitFor } from './helpers.ts'

test('events: every message is announced once to every member, through concurrent bursts and a partition that reorder the log', async (t) => {
  const { nodes, network } = await makeNodes(['alice', 'bob', 'carol'], t)
  const [alice, bob, carol] = nodes
  const { id } = await alice.createGroup('Works council')
  await bob.join((await alice.createInvite(id)).code, { timeoutMs: 30_000 })
  await carol.join((await alice.createInvite(id)).code, { timeoutMs: 30_000 })
  const heard = nodes.map(() => new Map<string, number>())
  nodes.forEach((n, i) => t.after(n.subscribe(e => {
    if (e.type === 'message' && e.message.text !== undefined) heard[i].set(e.message.text, (heard[i].get(e.message.text) ?? 0) + 1)
  })))
  const { base } = await alice.logBase(id)
  const texts: string[] = []
  const burst = (from: number, to: number) => Promise.all(nodes.map(async (n, i) => {
    for (let k = from; k < to; k++) { const text = `${n.label}-${k}`; texts.push(text); await n.send(id, text) }
  }))
  await burst(0, 12) // all online, all at once
  for (const n of nodes) { network.leave(n.transport as any); (n.transport as any).disconnectAll() }
  await burst(12, 20) // each alone
  for (const n of nodes) await n.transport!.join(base.discoveryKey)
  await waitFor(async () => (await Promise.all(nodes.map(n => n.messages(id)))).every(m => m.length === texts.length), 'every member holds every message', 60_000)
  await waitFor(() => heard.every(h => h.size === texts.length), 'every message announced everywhere', 10_000).catch(() => {})
  for (const [i, n] of nodes.entries()) {
    assert.deepEqual(texts.filter(x => !heard[i].has(x)), [], `${n.label} was never told of these messages`)
    assert.deepEqual([...heard[i]].filter(([, c]) => c > 1), [], `${n.label} was told twice`)
  }
})

test('events: a listener that throws is reported as LISTENER_FAILED and every other listener still gets the whole batch', async (t) => {
  const { nodes: [alice] } = await makeNodes(['alice'], t)
  const { id } = await alice.createGroup('Works council')
  const errors: Array<{ code?: string, message: string }> = []
  t.after(alice.onError(err => errors.push(err as { code?: string, message: string })))
  t.after(alice.subscribe(e => { if (e.type === 'message') throw new Error('listener bug') }))
  const heard: string[] = []
  t.after(alice.subscribe(e => { if (e.type === 'message' && e.message.text !== undefined) heard.push(e.message.text) }))
  const texts = ['one', 'two', 'three', 'four']
  await Promise.all(texts.map(text => alice.send(id, text))) // likely one batch of changes
  await waitFor(() => heard.length === texts.length, 'the second listener heard every message')
  assert.deepEqual([...heard].sort(), [...texts].sort())
  assert.ok(errors.length >= texts.length, `each throw reported (${errors.length})`)
  assert.ok(errors.every(e => e.code === 'LISTENER_FAILED' && /listener bug/.test(e.message)), JSON.stringify(errors))
  // nothing announced twice although the first listener threw for every message
  await alice.send(id, 'five')
  await waitFor(() => heard.includes('five'), 'five heard')
  assert.equal(heard.length, 5)
})
