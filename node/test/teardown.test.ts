/** Teardown (node/src/teardown.ts): newest first, every step runs although one fails, abort rethrows the cause. */
import test from 'node:test'
import assert from 'node:assert/strict'
import { Teardown } from '../src/teardown.ts'

test('teardown: steps run newest first, once; a failing step does not stop the others', async () => {
  const t = new Teardown()
  const ran: string[] = []
  t.add('store', () => { ran.push('store') })
  t.add('network', async () => { ran.push('network'); throw new Error('socket already closed') })
  t.add('node', async () => { ran.push('node') })
  const failures = await t.run()
  assert.deepEqual(ran, ['node', 'network', 'store'])
  assert.deepEqual(failures.map(f => [f.step, f.error.message]), [['network', 'socket already closed']])
  assert.deepEqual(await t.run(), [], 'a second run closes nothing twice')
  assert.deepEqual(ran, ['node', 'network', 'store'])
})

test('teardown: abort closes everything, reports close failures, and rethrows the cause', async () => {
  const t = new Teardown()
  const closed: string[] = []
  t.add('store', () => { closed.push('store') })
  t.add('mirrors', () => { throw new Error('mirror close failed') })
  const reported: string[] = []
  const cause = new Error('the store is damaged')
  await assert.rejects(t.abort(cause, (message, err) => reported.push(`${message}: ${err.message}`)), (err) => err === cause)
  assert.deepEqual(closed, ['store'])
  assert.deepEqual(reported, ['closing mirrors after a failed start failed: mirror close failed'])
})
