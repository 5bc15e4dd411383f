/**
 * Scenario 2, throughput: the highest message rate a group of 3 carries while p99 delivery
 * latency stays under 1 s. Stepwise search: every member sends rate/3 messages per second on
 * a fixed schedule (open loop) for one step; a step passes when every message reached both
 * other members (Solidar: on screen, that is emitted live or from the log, whichever first),
 * p99 < 1 s, nothing had to be skipped, and (Solidar) every message was also in both other
 * members' logs within `logWithinMs` after the step's last send. The rate doubles until a step fails,
 * then a few bisection steps narrow the ceiling. Bounded: a ladder cap, a fixed number of
 * bisection steps, and a drain wait of at most `drainMs` after each step. Prosody is searched
 * the same way in the same run for the ratio.
 */
import { now, sleep } from '../lib/clock.ts'
import { prosodyChat, solidarChat, type Chat, type Ctx } from '../lib/chat.ts'
import { Receipts } from '../lib/receipts.ts'
import { settle } from '../lib/settle.ts'
import { median, ratio, summarize } from '../lib/stats.ts'

export interface ThroughputOptions {
  members: number
  runs: number
  stepMs: number
  startRate: number
  /** The search goes no lower (a ceiling of 0 then means: not even this rate). */
  minRate: number
  maxRate: number
  bisections: number
  textBytes: number
  limitMs: number
  drainMs: number
  /** Solidar: every message must be in every other member's log this long after the step's last send. */
  logWithinMs: number
}

export interface Step {
  rate: number, sent: number, delivered: number,
  /** Solidar: messages in both other members' logs (`message` event) within logWithinMs after the last send. */
  logged?: number,
  skipped: number, failed: number, achieved: number, p50: number, p99: number, pass: boolean
}
export interface Search { ceiling: number, steps: Step[] }
export interface ThroughputResult { options: ThroughputOptions, solidar: { runs: Search[], ceiling: number }, prosody: { runs: Search[], ceiling: number } | null, ratio: number }

async function step (chat: Chat, receipts: Receipts, logs: Receipts | null, prefix: string, rate: number, opts: ThroughputOptions): Promise<Step> {
  const n = chat.members.length
  const ids = chat.members.map(m => m.id)
  await settle([...new Set(chat.members.map(m => m.worker))])
  const results = await Promise.all(chat.members.map((_, i) => chat.sendPaced(i, {
    rate: rate / n, durationMs: opts.stepMs, prefix: `${prefix}.${i}`, size: opts.textBytes, maxInflight: Math.max(50, Math.ceil(rate / n * 2))
  })))
  const tags: Array<{ tag: string, others: string[] }> = []
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < results[i].scheduled; k++) tags.push({ tag: `${prefix}.${i}-${k}`, others: ids.filter((_, j) => j !== i) })
  }
  const lastSend = Math.max(...results.map(r => r.tEnd))
  // Wait until everything arrived, or until the last message is older than the limit plus the drain allowance.
  const deadline = now() + opts.limitMs + opts.drainMs
  while (now() < deadline && tags.some(({ tag, others }) => receipts.count(tag, others) < others.length)) await sleep(50)
  const samples: number[] = []
  let delivered = 0
  for (const { tag, others } of tags) {
    const t0 = receipts.sent.get(tag)
    const lat = t0 === undefined ? Infinity : receipts.latency(tag, t0, others)
    if (Number.isFinite(lat)) delivered++
    samples.push(lat)
  }
  const s = summarize(samples)
  const missing = samples.length - delivered
  const p99 = missing > samples.length * 0.01 ? Infinity : s.p99
  const skipped = results.reduce((a, r) => a + r.skipped, 0)
  const failed = results.reduce((a, r) => a + r.failed, 0)
  const span = Math.max(...results.map(r => r.tEnd)) - Math.min(...results.map(r => r.tStart))
  const sent = results.reduce((a, r) => a + r.started, 0)
  const achieved = sent / Math.max(span, opts.stepMs) * 1000
  // In the logs in time: each message's `message` event at both others by lastSend + logWithinMs.
  let logged: number | undefined
  if (logs) {
    const until = lastSend + opts.logWithinMs
    while (now() < until && tags.some(({ tag, others }) => logs.count(tag, others) < others.length)) await sleep(50)
    logged = tags.filter(({ tag, others }) => others.every(o => (logs.got.get(tag)?.get(o) ?? Infinity) <= until)).length
  }
  const pass = skipped === 0 && failed === 0 && missing === 0 && p99 < opts.limitMs && achieved >= rate * 0.9 && (logged === undefined || logged === tags.length)
  // Let the system settle before the next step: the backlog of a failed step drains (bounded).
  const drained = now() + opts.drainMs
  while (now() < drained && tags.some(({ tag, others }) => receipts.count(tag, others) < others.length)) await sleep(100)
  if (logs) while (now() < drained && tags.some(({ tag, others }) => logs.count(tag, others) < others.length)) await sleep(100)
  await sleep(300)
  return { rate, sent, delivered, ...(logged !== undefined ? { logged } : {}), skipped, failed, achieved, p50: s.p50, p99, pass }
}

async function search (chat: Chat, receipts: Receipts, logs: Receipts | null, prefix: string, opts: ThroughputOptions, log: (s: string) => void): Promise<Search> {
  const steps: Step[] = []
  let good = 0
  let bad = Infinity
  const run = async (rate: number) => {
    const s = await step(chat, receipts, logs, `${prefix}r${String(rate).replace('.', '_')}`, rate, opts)
    steps.push(s)
    log(`throughput ${chat.system}: ${rate} msg/s → ${s.pass ? 'ok' : 'too much'} (p50 ${fmt(s.p50)} ms, p99 ${fmt(s.p99)} ms, delivered ${s.delivered}/${s.sent}${s.logged !== undefined ? `, in the logs in time ${s.logged}` : ''}${s.skipped ? `, skipped ${s.skipped}` : ''})`)
    if (s.pass) good = Math.max(good, rate)
    else bad = Math.min(bad, rate)
    return s.pass
  }
  // Up from the start rate while steps pass; down (halving) while they fail; then bisect.
  if (await run(opts.startRate)) {
    for (let rate = opts.startRate * 2; rate <= opts.maxRate; rate *= 2) if (!(await run(rate))) break
  } else {
    for (let rate = opts.startRate / 2; rate >= opts.minRate; rate /= 2) if (await run(rate)) break
  }
  for (let b = 0; b < opts.bisections && Number.isFinite(bad) && good > 0 && (bad - good) / good > 0.1; b++) {
    await run(Math.round((good + bad) / 2))
  }
  return { ceiling: good, steps }
}

const fmt = (x: number) => Number.isFinite(x) ? x.toFixed(1) : '∞'

export async function throughputScenario (ctx: Ctx, opts: ThroughputOptions): Promise<ThroughputResult> {
  ctx.log(`throughput: group of ${opts.members}, steps of ${opts.stepMs / 1000} s, p99 limit ${opts.limitMs} ms`)
  // Solidar: on screen (emitted live or from the log, whichever first), and in the logs (the
  // `message` events) within logWithinMs of the step's end. Prosody: the stanza arrived.
  const receipts = new Receipts(ctx.workers)
  const shown = new Receipts(ctx.workers, 'shown')
  const solidar = await solidarChat(ctx, opts.members, 'tsm')
  const prosody = ctx.prosody ? await prosodyChat(ctx, opts.members, 'tpm') : null
  try {
    const sRuns: Search[] = []
    const pRuns: Search[] = []
    const ratios: number[] = []
    for (let r = 0; r < opts.runs; r++) {
      const s = await search(solidar, shown, receipts, `TS${r}`, opts, ctx.log)
      sRuns.push(s)
      if (prosody) {
        const p = await search(prosody, receipts, null, `TP${r}`, opts, ctx.log)
        pRuns.push(p)
        ratios.push(ratio(s.ceiling, p.ceiling))
      }
    }
    return {
      options: opts,
      solidar: { runs: sRuns, ceiling: median(sRuns.map(s => s.ceiling)) },
      prosody: prosody ? { runs: pRuns, ceiling: median(pRuns.map(s => s.ceiling)) } : null,
      ratio: median(ratios)
    }
  } finally {
    receipts.close()
    shown.close()
    await solidar.close()
    await prosody?.close()
  }
}
