/**
 * Scenario 1, message latency: one member sends, the time until the message is in every
 * other member's state (Solidar: the `message` event of each member's node; Prosody: the
 * groupchat stanza at each @xmpp/client user). Senders take turns; one message at a time,
 * each waited for. For every group size both systems are set up side by side and measured
 * in alternating runs, so the ratio of each run compares the same minutes of the machine.
 */
import { sleep } from '../lib/clock.ts'
import { prosodyChat, solidarChat, type Chat, type Ctx } from '../lib/chat.ts'
import { makeText } from '../lib/pace.ts'
import { Receipts } from '../lib/receipts.ts'
import { median, ratio, summarize, type LatencySummary } from '../lib/stats.ts'

export interface LatencyOptions {
  sizes: number[]
  runs: number
  perRun: number
  textBytes: number
  /** Pause after each delivered message. */
  gapMs: number
  timeoutMs: number
}

export interface SystemRuns { runs: Array<LatencySummary & { lost: number }>, p50: number, p99: number, lost: number, setupMs: number }
export interface LatencyRow { members: number, solidar: SystemRuns, prosody: SystemRuns | null, ratioP50: number, ratioP99: number }
export interface LatencyResult { options: LatencyOptions, rows: LatencyRow[] }

async function batch (chat: Chat, receipts: Receipts, prefix: string, count: number, opts: LatencyOptions): Promise<LatencySummary & { lost: number }> {
  const samples: number[] = []
  let lost = 0
  const n = chat.members.length
  for (let k = 0; k < count; k++) {
    const sender = k % n
    const tag = `${prefix}.${k}`
    const others = chat.members.filter((_, i) => i !== sender).map(m => m.id)
    const { t0 } = await chat.send(sender, makeText(tag, opts.textBytes))
    if (!(await receipts.waitAll(tag, others, opts.timeoutMs))) lost++
    samples.push(receipts.latency(tag, t0, others))
    await sleep(opts.gapMs)
  }
  const s = summarize(samples)
  // A lost message counts as infinitely late: with more than 1% lost, p99 is Infinity.
  const p99 = lost > samples.length * 0.01 ? Infinity : s.p99
  return { ...s, p99, n: samples.length, lost }
}

function combine (runs: Array<LatencySummary & { lost: number }>, setupMs: number): SystemRuns {
  return { runs, p50: median(runs.map(r => r.p50)), p99: median(runs.map(r => r.p99)), lost: runs.reduce((a, r) => a + r.lost, 0), setupMs }
}

export async function latencyScenario (ctx: Ctx, opts: LatencyOptions): Promise<LatencyResult> {
  const rows: LatencyRow[] = []
  for (const n of opts.sizes) {
    ctx.log(`latency: ${n} members — setting up Solidar group${ctx.prosody ? ' and Prosody room' : ''}`)
    const receipts = new Receipts(ctx.workers)
    let t = Date.now()
    const solidar = await solidarChat(ctx, n, `s${n}m`)
    const solidarSetup = Date.now() - t
    t = Date.now()
    const prosody = ctx.prosody ? await prosodyChat(ctx, n, `p${n}m`) : null
    const prosodySetup = Date.now() - t
    ctx.log(`latency: ${n} members — set up (Solidar ${(solidarSetup / 1000).toFixed(1)} s${prosody ? `, Prosody ${(prosodySetup / 1000).toFixed(1)} s` : ''}); warming up`)
    try {
      // Warm-up: every member sends once (connections, caches, JIT), not recorded.
      await batch(solidar, receipts, `S${n}w`, n, opts)
      if (prosody) await batch(prosody, receipts, `P${n}w`, n, opts)
      const sRuns: Array<LatencySummary & { lost: number }> = []
      const pRuns: Array<LatencySummary & { lost: number }> = []
      const ratios50: number[] = []
      const ratios99: number[] = []
      for (let r = 0; r < opts.runs; r++) {
        const s = await batch(solidar, receipts, `S${n}r${r}`, opts.perRun, opts)
        sRuns.push(s)
        let line = `latency: ${n} members run ${r + 1}/${opts.runs}: Solidar p50 ${s.p50.toFixed(1)} ms p99 ${s.p99.toFixed(1)} ms`
        if (prosody) {
          const p = await batch(prosody, receipts, `P${n}r${r}`, opts.perRun, opts)
          pRuns.push(p)
          ratios50.push(ratio(s.p50, p.p50))
          ratios99.push(ratio(s.p99, p.p99))
          line += ` | Prosody p50 ${p.p50.toFixed(2)} ms p99 ${p.p99.toFixed(2)} ms`
        }
        ctx.log(line)
      }
      rows.push({
        members: n,
        solidar: combine(sRuns, solidarSetup),
        prosody: prosody ? combine(pRuns, prosodySetup) : null,
        ratioP50: median(ratios50),
        ratioP99: median(ratios99)
      })
    } finally {
      receipts.close()
      await solidar.close()
      await prosody?.close()
    }
  }
  return { options: opts, rows }
}
