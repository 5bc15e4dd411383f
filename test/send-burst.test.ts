/**
 * `send` answers with the message it sent, under a burst (issue 16, item 11), between two real
 * daemons on a private loopback DHT: each member's concurrent POSTs to its own API, every
 * answer checked against its request, and every answered id resolving to that text once both
 * hold all messages. Before the fix, 525 and 204 of 2,000 answers (in 2 of 4 runs) carried
 * another message of the same member (the one before it): the answer was read id → seq, then
 * seq → message, across a reorder of the view. 400 per member in CI (the suite's time), 1,000
 * with SOLIDAR_LONG=1; `SOLIDAR_BURST=N` sets the count per member.
 * The in-process variant (node/test/send-burst.test.ts) and the deterministic reorder
 * (core/test/consistent-read.test.ts) run with the unit tests.
 */
import { describe, it, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { Cluster, type GroupRef, type SolidarNode } from './helpers/cluster.ts'
import { waitFor } from './helpers/wait.ts'
import { LONG } from './helpers/seeded.ts'

const PER_MEMBER = Number(process.env.SOLIDAR_BURST ?? (LONG ? 1000 : 400))

describe('a burst of concurrent sends between two daemons', { timeout: 600_000 }, () => {
  let cluster: Cluster
  let alice: SolidarNode
  let bob: SolidarNode
  let group: GroupRef

  before(async () => {
    cluster = await Cluster.start({ names: ['alice', 'bob'] })
    ;[alice, bob] = cluster.nodes
    group = await cluster.createGroup(alice, 'Burst', [bob])
  })
  after(async () => { await cluster?.close() })

  it(`answers each of 2 × ${PER_MEMBER} sends with its own message`, async () => {
    const sends: Array<{ node: SolidarNode, text: string }> = []
    for (let i = 0; i < PER_MEMBER; i++) for (const node of [alice, bob]) sends.push({ node, text: `${node.name} #${i}` })
    const answers = await Promise.all(sends.map(s => s.node.api({
      method: 'POST', path: `/api/groups/${encodeURIComponent(group.id)}/messages`, body: { text: s.text }, timeout: 300_000
    })))
    const wrong: string[] = []
    for (const [i, a] of answers.entries()) {
      const s = sends[i]
      assert.equal(a.status, 201, `${s.text}: ${a.text.slice(0, 300)}`)
      if (a.json.text !== s.text || a.json.author !== s.node.id) wrong.push(`${s.text} → ${JSON.stringify({ id: a.json.id, text: a.json.text })}`)
    }
    assert.deepEqual(wrong.slice(0, 20), [], `${wrong.length} of ${sends.length} answers carried another message`)
    const ids = answers.map(a => a.json.id as string)
    assert.equal(new Set(ids).size, ids.length)

    for (const node of [alice, bob]) {
      const list = await waitFor(async () => {
        const l = await node.history<{ id: string, text: string, author: string }>(`/api/groups/${encodeURIComponent(group.id)}/messages`)
        return l.length >= sends.length ? l : null
      }, { timeout: 180_000, interval: 500, what: `${node.name} holds all ${sends.length} messages` })
      const byId = new Map(list.map(m => [m.id, m]))
      for (const [i, s] of sends.entries()) {
        assert.equal(byId.get(ids[i])?.text, s.text, `${node.name}: the id answered for "${s.text}"`)
        assert.equal(byId.get(ids[i])?.author, s.node.id)
      }
    }
  })
})
