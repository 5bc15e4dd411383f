/**
 * Scenario 5, pad live latency: a keystroke (one character at the end of the text) in an
 * editor on member A until member B's open document holds it. Solidar: A's editor sends the
 * update to A's node (`pads.applyUpdate`), which sends it at once to B's node over the live
 * channel (core/src/pads/live.ts) and appends it with the next group commit (up to 80 ms later:
 * core/src/pads/constants.ts BATCH_MS); B reads its live document after each `pad` event. Baseline: two y-websocket clients through an @y/websocket-server on
 * loopback. A and B are in separate processes (workers 0 and 1), the y-websocket server in a
 * third. Keystrokes one at a time, each waited for; runs alternate between the two systems.
 */
import { place, solidarChat, type Ctx } from '../lib/chat.ts'
import type { Worker } from '../lib/procs.ts'
import { sleep } from '../lib/clock.ts'
import { Receipts } from '../lib/receipts.ts'
import { settle } from '../lib/settle.ts'
import { median, ratio, summarize, type LatencySummary } from '../lib/stats.ts'

export interface PadLatencyOptions { runs: number, perRun: number, gapMs: number, timeoutMs: number }
export interface PadLatencyResult {
  options: PadLatencyOptions
  solidar: { runs: Array<LatencySummary & { lost: number }>, p50: number, p99: number }
  ywebsocket: { runs: Array<LatencySummary & { lost: number }>, p50: number, p99: number }
  ratioP50: number
  ratioP99: number
}

type Key = () => Promise<{ t0: number, length: number }>

async function batch (workers: Worker[], receipts: Receipts, key: Key, prefix: string, receiver: string, count: number, opts: PadLatencyOptions) {
  await settle(workers)
  const samples: number[] = []
  let lost = 0
  for (let k = 0; k < count; k++) {
    const { t0, length } = await key()
    const tag = `${prefix}${length}`
    if (!(await receipts.waitAll(tag, [receiver], opts.timeoutMs))) lost++
    samples.push(receipts.latency(tag, t0, [receiver]))
    await sleep(opts.gapMs)
  }
  const s = summarize(samples)
  return { ...s, p99: lost > samples.length * 0.01 ? Infinity : s.p99, lost }
}

export async function padLatencyScenario (ctx: Ctx, opts: PadLatencyOptions): Promise<PadLatencyResult> {
  ctx.log('pad latency: setting up a Solidar pad shared by 2 members and a y-websocket room')
  const receipts = new Receipts(ctx.workers)
  const chat = await solidarChat(ctx, 2, 'plm')
  const [a, b] = chat.members
  const yServer = place(ctx, 2)
  const yA = place(ctx, 0)
  const yB = place(ctx, 1)
  let serverStarted = false
  try {
    const pad: string = await a.worker.call('solidar.padCreate', { id: a.id, group: chat.group, title: 'latency' })
    await a.worker.call('solidar.padEditor', { id: a.id, group: chat.group, pad })
    await b.worker.call('solidar.padWatch', { id: b.id, group: chat.group, pad, prefix: 'S' })
    const { url } = await yServer.call('yjs.server')
    serverStarted = true
    await yA.call('yjs.client', { id: 'ya', url, room: 'latency', prefix: 'Y' })
    await yB.call('yjs.client', { id: 'yb', url, room: 'latency', prefix: 'Y' })
    const used = [...new Set([a.worker, b.worker, yServer, yA, yB])]
    const solidarKey: Key = () => a.worker.call('solidar.padKey', { id: a.id, pad })
    const yKey: Key = () => yA.call('yjs.key', { id: 'ya' })
    // Warm-up, not recorded.
    await batch(used, receipts, solidarKey, 'S', b.id, 5, opts)
    await batch(used, receipts, yKey, 'Y', 'yb', 5, opts)
    const sRuns: Array<LatencySummary & { lost: number }> = []
    const yRuns: Array<LatencySummary & { lost: number }> = []
    const r50: number[] = []
    const r99: number[] = []
    for (let r = 0; r < opts.runs; r++) {
      const s = await batch(used, receipts, solidarKey, 'S', b.id, opts.perRun, opts)
      const y = await batch(used, receipts, yKey, 'Y', 'yb', opts.perRun, opts)
      sRuns.push(s)
      yRuns.push(y)
      r50.push(ratio(s.p50, y.p50))
      r99.push(ratio(s.p99, y.p99))
      ctx.log(`pad latency run ${r + 1}/${opts.runs}: Solidar p50 ${s.p50.toFixed(1)} ms p99 ${s.p99.toFixed(1)} ms | y-websocket p50 ${y.p50.toFixed(2)} ms p99 ${y.p99.toFixed(2)} ms`)
    }
    return {
      options: opts,
      solidar: { runs: sRuns, p50: median(sRuns.map(x => x.p50)), p99: median(sRuns.map(x => x.p99)) },
      ywebsocket: { runs: yRuns, p50: median(yRuns.map(x => x.p50)), p99: median(yRuns.map(x => x.p99)) },
      ratioP50: median(r50),
      ratioP99: median(r99)
    }
  } finally {
    receipts.close()
    await yA.call('yjs.close', { id: 'ya' }).catch(() => {})
    await yB.call('yjs.close', { id: 'yb' }).catch(() => {})
    if (serverStarted) await yServer.call('yjs.shutdownServer').catch(() => {})
    await chat.close()
  }
}
