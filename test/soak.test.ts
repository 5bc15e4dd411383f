/**
 * Reliability 7 — soak. Two daemons exchange steady chat and pad traffic (each posts a
 * message every ~250 ms and appends to a shared pad every ~1 s, through the local API) for
 * SOAK_MS: 30 s by default, 10 min with SOLIDAR_LONG=1. Each daemon's RSS is sampled every
 * second; after the warm-up the growth rate is the slope of a least-squares line, reported in
 * MB per hour. At the end every acknowledged message is on both nodes in one order, and the
 * pad is identical.
 *
 * Leak bounds (why these numbers: docs/RELIABILITY.md):
 * - long run (10 min, 2 min warm-up): the slope must stay under LEAK_MB_PER_HOUR (200 MB/h).
 *   RocksDB's memtable (written data held in memory until flushed) and V8's heap sizing
 *   make RSS climb by some tens of MB and then level off; a leak of even 1 KB per message
 *   at 8 messages/s would be ~29 MB/h per KB and shows up well above the bound after 8 min.
 * - CI run (30 s, 10 s warm-up): far too short for a rate (GC alone moves RSS by tens of MB
 *   in seconds, and a 20 s slope extrapolates that to hundreds of MB/h), so it reports the
 *   rate and fails only on gross growth: more than CI_GROWTH_MB after the warm-up.
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { Cluster, type GroupRef, type SolidarNode } from './helpers/cluster.ts'
import { LONG } from './helpers/seeded.ts'
import { sleep, waitFor } from './helpers/wait.ts'

const SOAK_MS = Number(process.env.SOLIDAR_SOAK_MS ?? (LONG ? 600_000 : 30_000))
const WARMUP_MS = LONG ? 120_000 : 10_000
const LEAK_MB_PER_HOUR = 200
const CI_GROWTH_MB = 80

function rssMb (pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  assert.ok(m, `VmRSS of ${pid}`)
  return Number(m[1]) / 1024
}

/** Least-squares slope of (t ms, mb) in MB per hour. */
function slopePerHour (samples: Array<[number, number]>): number {
  const n = samples.length
  const mt = samples.reduce((s, [t]) => s + t, 0) / n
  const mm = samples.reduce((s, [, m]) => s + m, 0) / n
  const num = samples.reduce((s, [t, m]) => s + (t - mt) * (m - mm), 0)
  const den = samples.reduce((s, [t]) => s + (t - mt) ** 2, 0)
  return den === 0 ? 0 : (num / den) * 3_600_000
}

describe('soak', { timeout: SOAK_MS + 240_000 }, () => {
  let cluster: Cluster
  let group: GroupRef
  let pad = ''

  before(async () => {
    cluster = await Cluster.start({ names: ['alice', 'bob'] })
    const [alice, bob] = cluster.nodes
    group = await cluster.withLogs(() => cluster.createGroup(alice, 'Soak', [bob]))
    const r = await alice.api({ method: 'POST', path: `/api/groups/${group.id}/pads`, body: { title: 'Soak pad' } })
    assert.equal(r.status, 201, r.text)
    pad = r.json.id
    await waitFor(async () => (await bob.api({ path: `/api/groups/${group.id}/pads/${pad}` })).status === 200, { timeout: 30_000, interval: 200, what: 'bob to see the pad' })
  }, { timeout: 180_000 })

  after(async () => { await cluster?.close() })

  it(`steady chat and pad traffic for ${SOAK_MS / 1000} s: no leak, nothing lost`, async () => {
    const started = Date.now()
    const end = started + SOAK_MS
    const acked: string[] = []
    const padLines: string[] = []
    let failures = 0
    const writer = async (node: SolidarNode): Promise<void> => {
      let n = 0
      let nextPad = Date.now() + 1000
      while (Date.now() < end) {
        n++
        const r = await node.api({ method: 'POST', path: `/api/groups/${group.id}/messages`, body: { text: `${node.name} soak ${n}` }, timeout: 20_000 })
        if (r.status === 201) acked.push(r.json.id)
        else failures++
        if (Date.now() >= nextPad) {
          nextPad = Date.now() + 1000
          const line = `${node.name} line ${n}`
          const p = await node.api({ method: 'POST', path: `/api/groups/${group.id}/pads/${pad}/append`, body: { text: line }, timeout: 20_000 })
          if (p.status === 200) padLines.push(line)
          else failures++
        }
        await sleep(250)
      }
    }
    const samples = new Map<string, Array<[number, number]>>(cluster.nodes.map((n) => [n.name, []]))
    const sampler = (async () => {
      while (Date.now() < end) {
        for (const n of cluster.nodes) samples.get(n.name)!.push([Date.now() - started, rssMb(n.proc!.pid)])
        await sleep(1000)
      }
    })()
    await cluster.withLogs(() => Promise.all([...cluster.nodes.map(writer), sampler]))
    assert.equal(failures, 0, 'every write was acknowledged')
    const rate = acked.length / (SOAK_MS / 1000)
    console.log(`# soak: ${acked.length} messages (${rate.toFixed(1)}/s), ${padLines.length} pad edits in ${SOAK_MS / 1000} s`)

    for (const [name, all] of samples) {
      const steady = all.filter(([t]) => t >= WARMUP_MS)
      assert.ok(steady.length >= 5, `${name}: enough samples after the warm-up`)
      const perHour = slopePerHour(steady)
      const growth = steady.at(-1)![1] - steady[0][1]
      console.log(`# soak: ${name} RSS ${all[0][1].toFixed(0)} → ${steady[0][1].toFixed(0)} (after warm-up) → ${steady.at(-1)![1].toFixed(0)} MB; ` +
        `growth after warm-up ${growth.toFixed(1)} MB, ${perHour.toFixed(0)} MB/h`)
      if (LONG) assert.ok(perHour < LEAK_MB_PER_HOUR, `${name}: ${perHour.toFixed(0)} MB/h after warm-up (bound ${LEAK_MB_PER_HOUR} MB/h)`)
      else assert.ok(growth < CI_GROWTH_MB, `${name}: RSS grew ${growth.toFixed(1)} MB after warm-up (bound ${CI_GROWTH_MB} MB in a ${SOAK_MS / 1000} s run)`)
    }

    await cluster.withLogs(() => cluster.converge(cluster.nodes, group.id, acked, { timeout: 120_000 }))
    let md: string[] = []
    await waitFor(async () => {
      md = await Promise.all(cluster.nodes.map(async (n) => String((await n.api({ path: `/api/groups/${group.id}/pads/${pad}/export?format=md` })).json?.content)))
      return md[0] === md[1] && padLines.every((l) => md[0].includes(l))
    }, { timeout: 60_000, interval: 500, what: 'the same pad on both, with every acknowledged line' })
  })
})
