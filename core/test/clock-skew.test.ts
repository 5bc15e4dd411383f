/**
 * Reliability 3 — clock skew. Three nodes whose clocks are hours apart (alice right, bob
 * 5 h ahead, carol 7 h behind: `Solidar.open({ now })`) chat, edit a pad and write DMs in a
 * causal chain (each waits for the previous message before answering). Every node shows the
 * same order, and that order is the log's (causal), not the timestamps'; each message shows
 * its author's clock; nothing is refused for the skew. The one bound: an invite's expiry is
 * set by the inviting admin's clock and checked by the joiner's and the admitting admin's
 * clocks, so a clock that is off by more than the invite's validity cannot use it (see
 * docs/RELIABILITY.md).
 */
import test from 'node:test'
import assert from 'node:assert/strict'
import { makeNodes, waitFor } from './helpers.ts'
import { mergeLogs } from '../src/solidar.ts'
import type { MessageView } from '../src/types.ts'

const HOUR = 3_600_000
const SKEW = [0, 5 * HOUR, -7 * HOUR]
const clocks = SKEW.map((offset) => () => Date.now() + offset)

test('peers whose clocks differ by hours agree on order and show each author\'s time', async (t) => {
  const { nodes: [alice, bob, carol] } = await makeNodes(['alice', 'bob', 'carol'], t, { now: clocks })
  const { id } = await alice.createGroup('Skewed')
  // carol's clock is 7 h behind the expiry alice set (24 h ahead of alice): still valid.
  await bob.join((await alice.createInvite(id)).code, { timeoutMs: 15_000 })
  await carol.join((await alice.createInvite(id)).code, { timeoutMs: 15_000 })

  // A conversation in which every message answers the previous one: carol (−7 h) answers
  // bob (+5 h), so her timestamps are 12 h "before" the message she answers.
  const turns = [alice, bob, carol, alice, carol, bob, carol]
  const sent: Array<{ id: string, ts: number, by: number }> = []
  for (const [i, node] of turns.entries()) {
    if (i > 0) await waitFor(async () => (await node.messages(id)).some((m) => m.id === sent[i - 1].id), `${node.label} to see message ${i}`)
    const before = Date.now()
    const m = await node.send(id, `turn ${i} by ${node.label}`)
    const by = [alice, bob, carol].indexOf(node)
    assert.ok(Math.abs(m.ts - (before + SKEW[by])) < 60_000, `message ${i} carries ${node.label}'s clock`)
    sent.push({ id: m.id, ts: m.ts, by })
  }
  const want = sent.map((s) => s.id)
  let logs: string[][] = []
  await waitFor(async () => {
    logs = await Promise.all([alice, bob, carol].map(async (n) => (await n.messages(id)).map((m) => m.id)))
    return logs.every((l) => JSON.stringify(l) === JSON.stringify(want))
  }, 'all three to show the conversation in the order it was written', 20_000)
  const byTs = [...sent].sort((a, b) => a.ts - b.ts).map((s) => s.id)
  assert.notDeepEqual(byTs, want, 'the timestamps alone would give another order (the test really skews)')
  for (const n of [alice, bob, carol]) {
    const msgs = await n.messages(id)
    assert.deepEqual(msgs.map((m) => m.seq), msgs.map((_, i) => i + 1), `${n.label}: seq follows the order`)
    for (const [i, m] of msgs.entries()) assert.equal(m.ts, sent[i].ts, `${n.label} shows message ${i} with its author's time`)
  }

  // An edit by a node whose clock is behind the original's timestamp is applied all the same.
  const edited = await carol.edit(id, sent.find((s) => s.by === 2)!.id, 'carol corrects herself')
  assert.equal(edited.text, 'carol corrects herself')
  await waitFor(async () => (await bob.messages(id)).some((m) => m.text === 'carol corrects herself'), 'bob to see carol\'s edit')

  // Pads: edits from all three clocks merge into one document, same on every node.
  const pad = await bob.pads.create(id, 'Skewed minutes')
  await waitFor(async () => (await carol.pads.list(id)).some((p) => p.id === pad.id), 'carol to see the pad')
  await carol.pads.append(id, pad.id, 'line from the past')
  await waitFor(async () => (await alice.pads.export(id, pad.id)).content.includes('line from the past'), 'alice to see carol\'s line')
  await alice.pads.append(id, pad.id, 'line from the present')
  await waitFor(async () => (await bob.pads.export(id, pad.id)).content.includes('line from the present'), 'bob to see alice\'s line')
  await bob.pads.append(id, pad.id, 'line from the future')
  let md: string[] = []
  await waitFor(async () => {
    md = await Promise.all([alice, bob, carol].map(async (n) => (await n.pads.export(id, pad.id)).content))
    return md.every((x) => x === md[0]) && md[0].includes('line from the future')
  }, 'the same pad everywhere', 20_000)
  assert.ok(md[0].indexOf('line from the past') < md[0].indexOf('line from the present') &&
    md[0].indexOf('line from the present') < md[0].indexOf('line from the future'), `the lines in the order written:\n${md[0]}`)

  // Nothing was refused: no audit records on any node.
  for (const n of [alice, bob, carol]) assert.deepEqual(await n.audit(id), [], `${n.label} refused nothing`)
})

test('a DM conversation between skewed clocks reads in the order it was written', async (t) => {
  const { nodes: [alice, carol] } = await makeNodes(['alice', 'carol'], t, { now: [clocks[1], clocks[2]] })
  const { id } = await alice.createGroup('Skewed DMs')
  await carol.join((await alice.createInvite(id)).code, { timeoutMs: 15_000 })
  const aliceId = alice.whoami().id
  const carolId = carol.whoami().id
  const q = await alice.dm(carolId, 'are you coming?')
  await waitFor(async () => (await carol.dmMessages(aliceId)).length === 1, 'carol to get the question')
  const a = await carol.dm(aliceId, 'yes, in ten minutes') // 12 h "before" the question by the clocks
  await waitFor(async () => (await alice.dmMessages(carolId)).length === 2, 'alice to get the answer')
  assert.ok(a.ts < q.ts, 'the answer\'s timestamp is earlier than the question\'s')
  for (const [who, list] of [['alice', await alice.dmMessages(carolId)], ['carol', await carol.dmMessages(aliceId)]] as const) {
    assert.deepEqual(list.map((m) => m.text), ['are you coming?', 'yes, in ten minutes'], `${who} reads question, then answer`)
  }
})

test('invites: a joiner whose clock is past the expiry refuses the code; within it, skew does not matter', async (t) => {
  const { nodes: [alice, late] } = await makeNodes(['alice', 'late'], t, { now: [clocks[0], () => Date.now() + 3 * HOUR] })
  const { id } = await alice.createGroup('Short invite')
  const short = await alice.createInvite(id, { expiresMs: 2 * HOUR })
  await assert.rejects(late.join(short.code, { timeoutMs: 5_000 }), { code: 'INVITE_EXPIRED' }, 'a clock 3 h ahead sees a 2 h invite as expired')
  const day = await alice.createInvite(id)
  assert.equal((await late.join(day.code, { timeoutMs: 15_000 })).id, id, 'a 24 h invite works for a clock 3 h ahead')
})

test('two DM logs with one peer merge by time only between the logs, each keeping its own order', () => {
  const m = (id: string, ts: number) => ({ id, ts, text: id, author: 'a', authorName: 'a', room: 'dm', seq: 0 }) as unknown as MessageView
  // Log x: a question and a skewed answer (answer's clock 12 h behind); log y: two messages.
  const x = [m('x1', 100 * HOUR), m('x2', 88 * HOUR)]
  const y = [m('y1', 90 * HOUR), m('y2', 101 * HOUR)]
  assert.deepEqual(mergeLogs([x, y]).map((v) => v.id), ['y1', 'x1', 'x2', 'y2'])
  assert.deepEqual(mergeLogs([x]).map((v) => v.id), ['x1', 'x2'], 'one log: as it is')
  assert.deepEqual(mergeLogs([]), [])
})
