/**
 * Fixture of the catch-up tests (here and node/test/catch-up-api.test.ts): alice (admin) and
 * carol (a member, or an admin with `carolRole`) share a history; carol can no longer reach alice; alice admits bob and drops
 * off the network before bob has any of the log. bob is left connected to carol only: not
 * admitted, and (carol a member) no admin online.
 */
import assert from 'node:assert/strict'
import { makeNodes, waitFor } from './helpers.ts'

export async function strandedNewcomer (t: { after: (fn: () => Promise<void>) => void }, opts: { carolRole?: 'member' | 'admin' } = {}) {
  const { nodes: [alice, carol, bob], network, locals } = await makeNodes(['alice', 'carol', 'bob'], t)
  const { id } = await alice.createGroup('Council')
  await carol.join((await alice.createInvite(id, { role: opts.carolRole ?? 'member' })).code, { timeoutMs: 30_000 })
  for (let i = 0; i < 20; i++) await alice.send(id, `history ${i}`)
  await carol.send(id, 'carol was here')
  // Both hold all 21 messages (alice fetches carol's, carol alice's): a group that reached a
  // device has no catch-up state. (Asserting on alice before she held carol's message raced it.)
  for (const n of [alice, carol]) {
    await waitFor(async () => (await n.messages(id)).length === 21, `${n.label} holds the history`)
    await waitFor(async () => (await n.status()).groups[0].catchUp === undefined, `${n.label} is caught up`)
    assert.equal((await n.listGroups())[0].catchUp, undefined, 'the group list agrees with status')
  }

  // carol no longer reaches alice: she will not hold bob's admission.
  network.block(alice.transport as any, carol.transport as any)
  const { code } = await alice.createInvite(id)
  const { base } = await alice.logBase(id)
  // alice admits bob, then drops off the network before bob has any of the log (solidar.test.ts does the same).
  const put = locals[2].put.bind(locals[2])
  let cut = false
  locals[2].put = async (name: string, bytes: Uint8Array) => {
    const text = Buffer.from(bytes).toString('utf8')
    if (!cut && text.includes(base.key.toString('hex'))) {
      cut = true
      await alice.transport!.leave(base.discoveryKey)
      ;(alice.transport as any).disconnectAll()
    }
    return put(name, bytes)
  }
  const joined = await bob.join(code, { timeoutMs: 3000 })
  assert.ok(cut)
  assert.equal(joined.writable, false)

  return { alice, carol, bob, id, base }
}
