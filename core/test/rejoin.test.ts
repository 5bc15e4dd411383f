/**
 * Leaving a group and joining it again (reliability issue, item 1). Each membership gets a
 * fresh writer; Autobase used to reopen the writer of the first membership (remembered on the
 * group's bootstrap core, which all namespaces of a corestore share), which the group had
 * removed: the second join waited out its timeout with `writable: false`, and every send, and a
 * second leave, failed with "This device cannot write to this group".
 */
import test from 'node:test'
import assert from 'node:assert/strict'
import { makeNodes, waitFor } from './helpers.ts'

test('a member who left joins again, writes, leaves again and comes back a third time', { timeout: 120_000 }, async (t) => {
  const { nodes: [alice, bob] } = await makeNodes(['alice', 'bob'], t)
  const { id } = await alice.createGroup('Council')
  const bobId = bob.whoami().id
  const listed = async (): Promise<number> => (await alice.members(id)).filter(m => m.id === bobId).length

  for (let round = 1; round <= 3; round++) {
    const joined = await bob.join((await alice.createInvite(id)).code, { timeoutMs: 30_000 })
    assert.deepEqual(joined, { id, name: 'Council', writable: true }, `round ${round}: admitted and able to write`)
    const sent = await bob.send(id, `bob, round ${round}`)
    assert.equal(sent.text, `bob, round ${round}`)
    await waitFor(async () => (await alice.messages(id)).some(m => m.id === sent.id), `round ${round}: alice reads bob`, 20_000)
    assert.equal(await listed(), 1, `round ${round}: alice lists bob once`)

    await bob.leaveGroup(id)
    await waitFor(async () => await listed() === 0, `round ${round}: alice sees bob leave`, 20_000)
    await assert.rejects(bob.messages(id), /No group matches/, `round ${round}: bob's node forgot the group`)
  }
  // Everything bob wrote in his three memberships stays in the history, attributed to him.
  const texts = (await alice.messages(id)).filter(m => m.author === bobId).map(m => m.text)
  assert.deepEqual(texts, ['bob, round 1', 'bob, round 2', 'bob, round 3'])
})
