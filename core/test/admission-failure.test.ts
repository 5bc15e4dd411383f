/**
 * An admin's node that receives a join request but cannot write the admission (its log or
 * storage fails) tells the candidate so at once — ADMISSION_FAILED, the invite not used up —
 * and reports the failure on its own error feed, instead of leaving the candidate to wait out
 * its timeout and see a misleading JOIN_TIMEOUT ("is a member online?").
 */
import test from 'node:test'
import assert from 'node:assert/strict'
import { makeNodes } from './helpers.ts'

test('admission: an admin whose append fails answers ADMISSION_FAILED at once and reports it; the same invite admits once the log works', async (t) => {
  const { nodes: [alice, bob] } = await makeNodes(['alice', 'bob'], t)
  const { id } = await alice.createGroup('Works council')
  const { code } = await alice.createInvite(id, { uses: 1 })
  const reported: Array<{ code?: string, message: string }> = []
  t.after(alice.onError(err => reported.push(err as { code?: string, message: string })))

  const { base } = await alice.logBase(id)
  const append = base.append.bind(base)
  base.append = async () => { throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', errno: -28 }) }
  await assert.rejects(bob.join(code, { timeoutMs: 60_000 }), (err: any) => {
    assert.equal(err.code, 'ADMISSION_FAILED', err.message)
    assert.match(err.message, /not used up/)
    return true
  })
  assert.ok(reported.some(e => /no space left/i.test(e.message)), `alice's node reported its failure: ${JSON.stringify(reported)}`)
  assert.deepEqual((await bob.listGroups()).map(g => g.id), [], 'bob holds no group')

  base.append = append
  const joined = await bob.join(code, { timeoutMs: 30_000 })
  assert.equal(joined.id, id, 'the one-use invite was not used up by the failed admission')
})
