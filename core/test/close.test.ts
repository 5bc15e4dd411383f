/**
 * Closing a node lets its process end: nothing it started keeps the event loop alive.
 * protomux-wakeup's idle sweep (a 2 s interval for ~10 s after the last log closes) once
 * outlived `close()`, so every process that closed a node waited ~10 s to exit, each unit
 * test file among them.
 */
import test from 'node:test'
import assert from 'node:assert/strict'
import { makeNodes, waitFor } from './helpers.ts'

test('close: two synced nodes, closed, leave no timer that keeps the process alive', async (t) => {
  const inner: Array<() => Promise<void>> = []
  const { nodes: [alice, bob] } = await makeNodes(['alice', 'bob'], { after: (fn) => { inner.push(fn) } })
  const { id } = await alice.createGroup('Council')
  await bob.join((await alice.createInvite(id)).code, { timeoutMs: 30_000 })
  await alice.send(id, 'hello')
  await waitFor(async () => (await bob.messages(id)).some((m) => m.text === 'hello'), 'bob to read the message', 30_000)
  // While the nodes run, the wakeup sweep and the meetings' timers are there: the check below is not vacuous.
  assert.ok(process.getActiveResourcesInfo().includes('Timeout'), 'running nodes hold timers')
  for (const fn of inner) await fn()
  // Timers only: a file-system request may still be finishing (the temp dir's removal).
  const left = process.getActiveResourcesInfo().filter((r) => r === 'Timeout')
  assert.deepEqual(left, [], 'closed nodes keep no timer')
})
