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
import { settle } from '../lib/settle.ts'
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

/**
 * One run: delivery latency until on every other member's screen (Solidar: its node emitted the
 * message, live or from the log, whichever first; Prosody: the stanza arrived); `ackP50`: send
 * until the sender's own call returned. Solidar only: `log*` until every other member's node
 * emitted it from its log, `view*` until it was in every other member's view (before that event).
 */
export interface RunSummary extends LatencySummary { lost: number, ackP50: number, viewP50?: number, viewP99?: number, logP50?: number, logP99?: number }
export interface SystemRuns { runs: RunSummary[], p50: number, p99: number, ackP50: number, viewP50?: number, viewP99?: number, logP50?: number, logP99?: number, lost: number, setupMs: number }
export interface LatencyRow { members: number, solidar: SystemRuns, prosody: SystemRuns | null, ratioP50: number, ratioP99: number }
export interface LatencyResult { options: LatencyOptions, rows: LatencyRow[] }

/** Solidar's further receipts: in the views, and emitted from the logs. */
interface Stages { view: Receipts, log: Receipts }

async function batch (chat: Chat, receipts: Receipts, stages: Stages | null, prefix: string, count: number, opts: LatencyOptions): Promise<RunSummary> {
  await settle([...new Set(chat.members.map(m => m.worker))])
  const samples: number[] = []
  const acks: number[] = []
  const inView: number[] = []
  const inLog: number[] = []
  let lost = 0
  const n = chat.members.length
  for (let k = 0; k < count; k++) {
    const sender = k % n
    const tag = `${prefix}.${k}`
    const others = chat.members.filter((_, i) => i !== sender).map(m => m.id)
    const { t0, t1 } = await chat.send(sender, makeText(tag, opts.textBytes))
    acks.push(t1 - t0)
    if (!(await receipts.waitAll(tag, others, opts.timeoutMs))) lost++
    samples.push(receipts.latency(tag, t0, others))
    if (stages) {
      // The next message waits for this one's log entry everywhere: runs measure one message at a time.
      if (!(await stages.log.waitAll(tag, others, opts.timeoutMs))) lost++
      inLog.push(stages.log.latency(tag, t0, others))
      await stages.view.waitAll(tag, others, 1000)
      inView.push(stages.view.latency(tag, t0, others))
    }
    await sleep(opts.gapMs)
  }
  const s = summarize(samples)
  // A lost message counts as infinitely late: with more than 1% lost, p99 is Infinity.
  const p99 = lost > samples.length * 0.01 ? Infinity : s.p99
  const v = stages ? summarize(inView) : null
  const l = stages ? summarize(inLog) : null
  return {
    ...s, p99, n: samples.length, lost, ackP50: summarize(acks).p50,
    ...(v ? { viewP50: v.p50, viewP99: v.p99 } : {}),
    ...(l ? { logP50: l.p50, logP99: l.p99 } : {})
  }
}

function combine (runs: RunSummary[], setupMs: number): SystemRuns {
  const out: SystemRuns = {
    runs,
    p50: median(runs.map(r => r.p50)),
    p99: median(runs.map(r => r.p99)),
    ackP50: median(runs.map(r => r.ackP50)),
    lost: runs.reduce((a, r) => a + r.lost, 0),
    setupMs
  }
  if (runs.every(r => r.viewP50 !== undefined)) {
    out.viewP50 = median(runs.map(r => r.viewP50!))
    out.viewP99 = median(runs.map(r => r.viewP99!))
  }
  if (runs.every(r => r.logP50 !== undefined)) {
    out.logP50 = median(runs.map(r => r.logP50!))
    out.logP99 = median(runs.map(r => r.logP99!))
  }
  return out
}

export async function latencyScenario (ctx: Ctx, opts: LatencyOptions): Promise<LatencyResult> {
  const rows: LatencyRow[] = []
  for (const n of opts.sizes) {
    ctx.log(`latency: ${n} members — setting up Solidar group${ctx.prosody ? ' and Prosody room' : ''}`)
    const receipts = new Receipts(ctx.workers) // Prosody's stanzas
    const shown = new Receipts(ctx.workers, 'shown')
    const stages: Stages = { view: new Receipts(ctx.workers, 'state'), log: new Receipts(ctx.workers, 'recv') }
    let t = Date.now()
    const solidar = await solidarChat(ctx, n, `s${n}m`)
    // Diagnostic: when each message is in each member's view, before Solidar's event (see watchState).
    for (const m of solidar.members) await m.worker.call('solidar.watchState', { id: m.id, group: solidar.group })
    const solidarSetup = Date.now() - t
    t = Date.now()
    const prosody = ctx.prosody ? await prosodyChat(ctx, n, `p${n}m`) : null
    const prosodySetup = Date.now() - t
    ctx.log(`latency: ${n} members — set up (Solidar ${(solidarSetup / 1000).toFixed(1)} s${prosody ? `, Prosody ${(prosodySetup / 1000).toFixed(1)} s` : ''}); warming up`)
    try {
      // Warm-up: every member sends once (connections, caches, JIT), not recorded.
      await batch(solidar, shown, stages, `S${n}w`, n, opts)
      if (prosody) await batch(prosody, receipts, null, `P${n}w`, n, opts)
      const sRuns: RunSummary[] = []
      const pRuns: RunSummary[] = []
      const ratios50: number[] = []
      const ratios99: number[] = []
      for (let r = 0; r < opts.runs; r++) {
        const s = await batch(solidar, shown, stages, `S${n}r${r}`, opts.perRun, opts)
        sRuns.push(s)
        let line = `latency: ${n} members run ${r + 1}/${opts.runs}: Solidar p50 ${s.p50.toFixed(1)} ms p99 ${s.p99.toFixed(1)} ms (send returned ${s.ackP50.toFixed(1)} ms, in views ${s.viewP50?.toFixed(1)} ms, from the logs ${s.logP50?.toFixed(1)} ms)`
        if (prosody) {
          const p = await batch(prosody, receipts, null, `P${n}r${r}`, opts.perRun, opts)
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
      shown.close()
      stages.view.close()
      stages.log.close()
      await solidar.close()
      await prosody?.close()
    }
  }
  return { options: opts, rows }
}
