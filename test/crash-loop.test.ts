/**
 * Reliability 1 — crash loop. Three daemons write chat messages and pad edits all the time
 * while, at seeded random points, one of them (chosen at random each round) is killed with
 * SIGKILL and restarted. Pad edits come both as `pad append` and as a browser's editor sends
 * them (a Yjs update POSTed to …/updates, whose answer the web app shows as "saved").
 * At the end every message and pad edit whose API request returned
 * success to its writer is on all three nodes, every store reopened after every kill, and
 * all three show the same log (ids and order) and the same pad Markdown.
 *
 * Rounds: 6 by default (about a minute), 20 with SOLIDAR_LONG=1. Seed: SOLIDAR_SEED.
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import * as Y from 'yjs'
import { Cluster, type GroupRef, type LogEntry, type SolidarNode } from './helpers/cluster.ts'
import { LONG, Rng, testSeed } from './helpers/seeded.ts'
import { sleep, waitFor } from './helpers/wait.ts'


/** An editor's edit as the web app sends it: a new paragraph, as a Yjs update against the node's state. */
async function editorUpdate (node: SolidarNode, group: string, pad: string, text: string): Promise<number> {
  const state = await node.api({ path: `/api/groups/${group}/pads/${pad}/state`, timeout: 15_000 })
  if (state.status !== 200) return state.status
  const doc = new Y.Doc()
  Y.applyUpdate(doc, Buffer.from(state.json.update, 'base64'))
  const before = Y.encodeStateVector(doc)
  const paragraph = new Y.XmlElement('paragraph')
  paragraph.insert(0, [new Y.XmlText(text)])
  const fragment = doc.getXmlFragment('default')
  fragment.insert(fragment.length, [paragraph])
  const update = Buffer.from(Y.encodeStateAsUpdate(doc, before)).toString('base64')
  const r = await node.api({ method: 'POST', path: `/api/groups/${group}/pads/${pad}/updates`, body: { update }, timeout: 15_000 })
  return r.status
}

const ROUNDS = Number(process.env.SOLIDAR_CRASH_ROUNDS ?? (LONG ? 20 : 6))
const tag = randomBytes(3).toString('hex')

interface Acked { chat: string[], pad: string[] }

/** One writer per node: chat or pad edits through the API, as fast as the node answers. */
async function writer (node: SolidarNode, group: string, pad: string, rng: Rng, acked: Acked, stop: { done: boolean }): Promise<{ attempts: number, failures: number }> {
  let n = 0
  let failures = 0
  while (!stop.done) {
    n++
    const roll = rng.next()
    const isPad = roll < 0.35
    const isEditor = roll < 0.15
    const text = `${node.name}-${isEditor ? 'editor' : isPad ? 'pad' : 'chat'}-${n}-${tag}`
    try {
      if (isEditor) {
        if (await editorUpdate(node, group, pad, text) === 202) acked.pad.push(text)
        else failures++
      } else if (isPad) {
        const r = await node.api({ method: 'POST', path: `/api/groups/${group}/pads/${pad}/append`, body: { text }, timeout: 15_000 })
        if (r.status === 200) acked.pad.push(text)
        else failures++
      } else {
        const r = await node.api({ method: 'POST', path: `/api/groups/${group}/messages`, body: { text }, timeout: 15_000 })
        if (r.status === 200 || r.status === 201) {
          assert.equal(r.json.text, text, 'the API returns the message it stored')
          acked.chat.push(r.json.id)
        } else failures++
      }
    } catch {
      failures++ // connection refused or reset: the node is down or was killed mid-request
      await sleep(150)
    }
    await sleep(rng.int(20, 150))
  }
  return { attempts: n, failures }
}

describe('crash loop', { timeout: LONG ? 1_200_000 : 240_000 }, () => {
  let cluster: Cluster
  let group: GroupRef
  let pad = ''

  before(async () => {
    cluster = await Cluster.start({ names: ['alice', 'bob', 'carol'] })
    const [alice, bob, carol] = cluster.nodes
    group = await cluster.withLogs(() => cluster.createGroup(alice, `crash-${tag}`, [bob, carol]))
    const r = await alice.api({ method: 'POST', path: `/api/groups/${group.id}/pads`, body: { title: 'Crash minutes' } })
    assert.equal(r.status, 201, r.text)
    pad = r.json.id
    await cluster.withLogs(() => Promise.all([bob, carol].map((n) => waitFor(async () => (await n.api({ path: `/api/groups/${group.id}/pads/${pad}` })).status === 200,
      { timeout: 30_000, interval: 200, what: `${n.name} to see the pad` }))))
  }, { timeout: 180_000 })

  after(async () => { await cluster?.close() })

  it(`${ROUNDS} SIGKILLs at random points lose nothing acknowledged; all converge`, async () => {
    const rng = testSeed('crash loop')
    const started = Date.now()
    const acked: Acked = { chat: [], pad: [] }
    const stop = { done: false }
    const writers = cluster.nodes.map((n, i) => writer(n, group.id, pad, new Rng(rng.seed + i + 1), acked, stop))
    const kills: string[] = []
    await cluster.withLogs(async () => {
      try {
        for (let round = 1; round <= ROUNDS; round++) {
          await sleep(rng.int(300, 2500))
          const victim = rng.pick(cluster.nodes)
          const down = rng.int(0, 1500)
          const exit = await victim.kill9()
          assert.equal(exit.signal, 'SIGKILL')
          kills.push(`${victim.name}@${Date.now() - started}ms`)
          await sleep(down)
          // Reopening the store after a SIGKILL is the first check: start() fails if the daemon cannot.
          await victim.start()
          const s = await victim.api({ path: '/api/status' })
          assert.equal(s.status, 200, `${victim.name} answers after restart ${round}: ${s.text}`)
        }
        await sleep(1000)
      } finally {
        stop.done = true
      }
      const stats = await Promise.all(writers)
      console.log(`# crash loop: ${kills.length} kills (${kills.join(', ')}); acknowledged ${acked.chat.length} messages, ${acked.pad.length} pad edits; ` +
        `writers' attempts ${stats.map((s) => s.attempts).join('/')}, not acknowledged ${stats.map((s) => s.failures).join('/')}`)
      assert.ok(acked.chat.length >= ROUNDS && acked.pad.length >= 1, 'the writers got work acknowledged during the loop')

      const logs = await cluster.converge(cluster.nodes, group.id, acked.chat, { timeout: 120_000, what: 'all three to hold every acknowledged message in one order' })
      const ids = (log: LogEntry[]): string[] => log.map((m) => `${m.seq}:${m.id}`)
      assert.deepEqual(ids(logs[1]), ids(logs[0]), 'bob and alice: same ids, same order')
      assert.deepEqual(ids(logs[2]), ids(logs[0]), 'carol and alice: same ids, same order')

      let md: string[] = []
      await waitFor(async () => {
        md = await Promise.all(cluster.nodes.map(async (n) => {
          const r = await n.api({ path: `/api/groups/${group.id}/pads/${pad}/export?format=md` })
          if (r.status !== 200) throw new Error(`${n.name}: export ${r.status} ${r.text}`)
          return String(r.json.content)
        }))
        return md.every((m) => m === md[0]) && acked.pad.every((t) => md[0].includes(t))
      }, { timeout: 60_000, interval: 500, what: 'the pad Markdown to be identical on all three and hold every acknowledged edit' })
      assert.deepEqual(acked.pad.filter((t) => !md[0].includes(t)), [], 'every acknowledged pad edit is in the pad')

      // Stores open cleanly once more after a clean stop, with the same state.
      for (const n of cluster.nodes) await n.restart()
      const again = await cluster.converge(cluster.nodes, group.id, acked.chat, { timeout: 60_000, what: 'the same log after a clean restart' })
      assert.deepEqual(ids(again[0]), ids(logs[0]), 'the log is unchanged by a clean restart')
      for (const n of cluster.nodes) {
        assert.doesNotMatch(n.proc!.stderr, /LOG_FAILED|STORAGE_FAILED|Uncaught|unhandled/i, `${n.name} reported no storage or log failure`)
      }
    })
    console.log(`# crash loop: ${((Date.now() - started) / 1000).toFixed(1)} s`)
  })
})
