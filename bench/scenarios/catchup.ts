/**
 * Scenario 3, catch-up: a newcomer joins a group that already holds `messages` messages and
 * we time it from `join` until every one of them is in its state (its node emitted the event
 * of each, i.e. read it from its own view). Baseline: raw hypercore replication of the same
 * number of blocks, of the same size as the group's writer-core blocks, between two
 * Corestores on the same transport (Hyperswarm over the loopback DHT), the writer in the
 * history holder's process and the reader in the newcomer's. Runs alternate between the two.
 *
 * The history is built once by the group's creator: the exact `message/post` entries that
 * Solidar.send appends, appended to its Autobase in batches of 1,000 (one awaited send per
 * message would take minutes for 100,000).
 */
import path from 'node:path'
import { place, solidarChat, type Ctx } from '../lib/chat.ts'
import { median, ratio } from '../lib/stats.ts'

export interface CatchupOptions { messages: number, runs: number, textBytes: number, /** Per newcomer (and per raw reader): a bound, not a target. */ timeoutMs: number }

export interface CatchupRun { ms: number, perSecond: number, joinMs: number, firstMs: number, counterMs: number, joinRetries: number }
export interface RawRun { ms: number, perSecond: number, firstMs: number }
export interface CatchupResult {
  options: CatchupOptions
  history: { fillMs: number, entryBytes: number, blockBytes: number, writerBlocks: number }
  solidar: { runs: CatchupRun[], ms: number, perSecond: number }
  raw: { runs: RawRun[], ms: number, perSecond: number }
  /** Raw hypercore blocks/s ÷ Solidar messages/s (how many times longer Solidar takes). */
  ratio: number
}

export async function catchupScenario (ctx: Ctx, opts: CatchupOptions): Promise<CatchupResult> {
  const N = opts.messages
  ctx.log(`catch-up: building a group with ${N.toLocaleString('en')} messages`)
  const chat = await solidarChat(ctx, 1, 'cuh')
  const holder = chat.members[0]
  const newcomerWorker = place(ctx, 1)
  const progress = (data: any) => {
    const pct = Math.floor(data.done / data.total * 100)
    ctx.log(`catch-up ${data.phase}: ${data.done.toLocaleString('en')}/${data.total.toLocaleString('en')} (${pct}%)${data.t ? ` after ${(data.t / 1000).toFixed(1)} s` : ''}`)
  }
  const offs = [holder.worker.on('progress', progress), newcomerWorker.on('progress', progress)]
  const rawDir = path.join(ctx.dir, 'raw')
  try {
    const fill = await holder.worker.call('solidar.fill', { id: holder.id, group: chat.group, count: N, size: opts.textBytes }, 1_800_000)
    // Blocks of the writer core: the entry plus Autobase's per-node overhead (heads, batch, checkpoints).
    const blockBytes = Math.round(fill.writerBytes / fill.writerBlocks)
    ctx.log(`catch-up: history built in ${(fill.ms / 1000).toFixed(1)} s (entry ${fill.entryBytes.toFixed(0)} B, writer block ${blockBytes} B); raw hypercore writer: ${N.toLocaleString('en')} blocks of ${blockBytes} B`)
    const writer = await holder.worker.call('hc.writer', { id: 'rawW', dir: rawDir, bootstrap: ctx.bootstrap, count: N, size: blockBytes }, 1_800_000)
    const code: string = await holder.worker.call('solidar.invite', { id: holder.id, group: chat.group, uses: opts.runs })
    const sRuns: CatchupRun[] = []
    const rRuns: RawRun[] = []
    const ratios: number[] = []
    for (let r = 0; r < opts.runs; r++) {
      const id = `cun${r}`
      await newcomerWorker.call('solidar.open', { id, dir: ctx.dir, bootstrap: ctx.bootstrap })
      let s: CatchupRun
      try {
        const c = await newcomerWorker.call('solidar.catchup', { id, code, expected: N, timeoutMs: opts.timeoutMs }, opts.timeoutMs + 120_000)
        const ms = c.tDone - c.t0
        s = { ms, perSecond: N / ms * 1000, joinMs: c.tJoined - c.t0, firstMs: c.tFirst - c.t0, counterMs: c.tCounter - c.t0, joinRetries: c.retries }
      } finally {
        await newcomerWorker.call('solidar.close', { id }).catch(() => {})
      }
      sRuns.push(s)
      const rc = await newcomerWorker.call('hc.reader', { id: `rawR${r}`, dir: rawDir, bootstrap: ctx.bootstrap, key: writer.key, count: N, timeoutMs: opts.timeoutMs }, opts.timeoutMs + 120_000)
      await newcomerWorker.call('hc.close', { id: `rawR${r}` }).catch(() => {})
      const rms = rc.tDone - rc.t0
      const raw: RawRun = { ms: rms, perSecond: N / rms * 1000, firstMs: rc.tFirst - rc.t0 }
      rRuns.push(raw)
      ratios.push(ratio(raw.perSecond, s.perSecond))
      ctx.log(`catch-up run ${r + 1}/${opts.runs}: Solidar ${(s.ms / 1000).toFixed(2)} s (${Math.round(s.perSecond)} msg/s, joined after ${(s.joinMs / 1000).toFixed(2)} s) | raw hypercore ${(raw.ms / 1000).toFixed(2)} s (${Math.round(raw.perSecond)} blocks/s)`)
    }
    return {
      options: opts,
      history: { fillMs: fill.ms, entryBytes: fill.entryBytes, blockBytes, writerBlocks: fill.writerBlocks },
      solidar: { runs: sRuns, ms: median(sRuns.map(s => s.ms)), perSecond: median(sRuns.map(s => s.perSecond)) },
      raw: { runs: rRuns, ms: median(rRuns.map(s => s.ms)), perSecond: median(rRuns.map(s => s.perSecond)) },
      ratio: median(ratios)
    }
  } finally {
    for (const off of offs) off()
    await holder.worker.call('hc.close', { id: 'rawW' }).catch(() => {})
    await chat.close()
  }
}
