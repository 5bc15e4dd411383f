/**
 * `send` answers with the message it sent (issue 16, item 11). Under a burst of concurrent
 * sends from two members, responses carried another message's id and text: the answer was read
 * from the view as id → seq, then seq → message, and an Autobase reorder between the two reads
 * moved another message to that seq. Two members on real nodes (real corestores and Autobase,
 * an in-memory network between them), each behind the real local API, send concurrently; every
 * response must be the message of its own request, and its id must later resolve to that text.
 * In-process, this never failed on the old code (few reorders, none between the two reads); the
 * two-daemon burst (test/send-burst.test.ts) did, and core/test/consistent-read.test.ts does.
 */
import test from 'node:test'
import assert from 'node:assert/strict'
import pino from 'pino'
import { allMessages, makeNodes, waitFor } from '@solidar/core/testing/helpers'
import { startApiServer } from '../src/api/server.ts'
import { raw } from './helpers/http.ts'

// It proves the API path end to end, not the race (which it never hit): 2 × 100 in CI, 2 × 300 long.
const PER_MEMBER = Number(process.env.SOLIDAR_BURST ?? (process.env.SOLIDAR_LONG === '1' ? 300 : 100))

test(`a burst of concurrent sends (2 × ${PER_MEMBER}) answers each request with its own message`, { timeout: 300_000 }, async (t) => {
  const { nodes: [alice, bob] } = await makeNodes(['alice', 'bob'], t)
  const { id: group } = await alice.createGroup('Burst')
  await bob.join((await alice.createInvite(group)).code, { timeoutMs: 30_000 })
  const token = 'burst-test-token-0123456789abcdef'
  const servers = await Promise.all([alice, bob].map(api => startApiServer({ api, port: 0, token, logger: pino({ level: 'silent' }) })))
  t.after(async () => { for (const s of servers) await s.close() })

  // How often Autobase reordered the view during the burst (diagnostic: the race needs a reorder).
  let truncations = 0
  for (const node of [alice, bob]) (await node.logBase(group)).base.view.core.on('truncate', () => { truncations++ })

  const sends: Array<{ who: string, author: string, port: number, text: string }> = []
  for (let i = 0; i < PER_MEMBER; i++) {
    for (const [n, node] of [alice, bob].entries()) sends.push({ who: node.label, author: node.whoami().id, port: servers[n].port, text: `${node.label} #${i}` })
  }
  const responses = await Promise.all(sends.map(s => raw({
    port: s.port, method: 'POST', path: `/api/groups/${group}/messages`, token, body: { text: s.text }, timeout: 240_000
  })))

  t.diagnostic(`view truncated by reorders ${truncations} times during the burst`)
  const wrong: string[] = []
  for (const [i, res] of responses.entries()) {
    const s = sends[i]
    assert.equal(res.status, 201, `${s.text}: ${res.text}`)
    const m = res.json
    if (m.text !== s.text || m.author !== s.author) wrong.push(`${s.text} answered with ${JSON.stringify({ id: m.id, text: m.text, author: m.author })}`)
  }
  assert.deepEqual(wrong, [], `${wrong.length} of ${sends.length} responses carried another message`)
  const ids = responses.map(r => r.json.id as string)
  assert.equal(new Set(ids).size, ids.length, 'every response has its own id')

  // Once both hold every message, each id resolves to its request's text, on both nodes.
  for (const node of [alice, bob]) {
    await waitFor(async () => (await allMessages(node, group)).length === sends.length, `${node.label} holds all ${sends.length} messages`, 120_000)
    const byId = new Map((await allMessages(node, group)).map(m => [m.id as string, m]))
    for (const [i, s] of sends.entries()) {
      const m = byId.get(ids[i])
      assert.equal(m?.text, s.text, `${node.label}: id of "${s.text}"`)
      assert.equal(m?.author, s.author)
    }
  }
})
