/**
 * Scenario 4, pad ingest: the automerge-paper editing trace (bench/data) typed into a pad on
 * member A, as the web editor would (its own Y.Doc, one Yjs update per trace transaction into
 * `pads.applyUpdate`, which group-commits them into sealed log entries), until member B's open
 * pad holds exactly the same text. Baseline: the same transactions on a plain in-memory Y.Doc
 * of the same shape. Then B is stopped and its store measured on disk, started again and the
 * pad opened cold (Solidar's snapshot cache, then the rest of the log; and the whole log
 * replayed without the snapshot). B's final text must equal the trace's end text: asserted.
 */
import { place, solidarChat, type Ctx } from '../lib/chat.ts'
import { median, ratio } from '../lib/stats.ts'

export interface PadIngestOptions { edits: number, runs: number }

export interface PadIngestRun {
  /** From the first edit until B's document holds the final text. */
  ms: number
  /** Until every update was taken by A's node (applyUpdate returned), and after the last group commit. */
  editedMs: number
  flushedMs: number
  entries: number
  plainMs: number
  ratio: number
  storeBytes: number
  otherBytes: number
  stateBytes: number
  nodeStartMs: number
  coldOpenMs: number
  replayMs: number
}

export interface PadIngestResult {
  options: PadIngestOptions
  edits: number
  finalLength: number
  checkedAgainst: 'endContent' | 'plain Y.Doc replay of the same prefix'
  /** How A's editor sent its updates: as the web app does (absent in reports before 2026-11-27: each awaited on its own). */
  sender?: 'web'
  runs: PadIngestRun[]
  median: Omit<PadIngestRun, 'entries'> & { entries: number }
}

export async function padIngestScenario (ctx: Ctx, opts: PadIngestOptions): Promise<PadIngestResult> {
  const runs: PadIngestRun[] = []
  let edits = 0
  let finalLength = 0
  let checkedAgainst: PadIngestResult['checkedAgainst'] = 'endContent'
  const progress = (data: any) => ctx.log(`pad ingest: ${data.phase} ${data.done.toLocaleString('en')}/${data.total.toLocaleString('en')}${data.t ? ` after ${(data.t / 1000).toFixed(1)} s` : ''}`)
  const offs = [place(ctx, 0).on('progress', progress), place(ctx, 1).on('progress', progress)]
  try {
    for (let r = 0; r < opts.runs; r++) {
      // Baseline first, in A's process.
      const plain = await place(ctx, 0).call('yjs.replay', { limit: opts.edits }, 600_000)
      edits = plain.edits
      const expected: string = plain.endContent || plain.text
      if (plain.endContent) {
        if (plain.text !== plain.endContent) throw new Error('the plain Y.Doc replay does not give the trace\'s end text')
      } else checkedAgainst = 'plain Y.Doc replay of the same prefix'
      finalLength = expected.length

      const chat = await solidarChat(ctx, 2, `pi${r}m`)
      const [a, b] = chat.members
      try {
        const pad: string = await a.worker.call('solidar.padCreate', { id: a.id, group: chat.group, title: 'automerge-paper' })
        await a.worker.call('solidar.padEditor', { id: a.id, group: chat.group, pad })
        // B has the pad open, as a member looking at it would.
        await b.worker.call('solidar.padWatch', { id: b.id, group: chat.group, pad, prefix: `pi${r}.` })
        ctx.log(`pad ingest run ${r + 1}/${opts.runs}: typing ${edits.toLocaleString('en')} edits into A's pad (plain Y.Doc: ${(plain.ms / 1000).toFixed(2)} s)`)
        const waiting = b.worker.call('solidar.padWaitText', { id: b.id, group: chat.group, pad, expected }, 1_900_000)
        const ing = await a.worker.call('solidar.padIngest', { id: a.id, group: chat.group, pad, limit: opts.edits }, 1_800_000)
        const done = await waiting
        const cold = await b.worker.call('solidar.padCold', { id: b.id, group: chat.group, pad }, 600_000)
        if (cold.text !== expected) throw new Error(`B's pad after a cold start has ${cold.text.length} characters, not the expected ${expected.length}`)
        const ms = done.tDone - ing.t0
        const run: PadIngestRun = {
          ms,
          editedMs: ing.tEdited - ing.t0,
          flushedMs: ing.tFlushed - ing.t0,
          entries: ing.updates,
          plainMs: plain.ms,
          ratio: ratio(ms, plain.ms),
          storeBytes: cold.storeBytes,
          otherBytes: cold.otherBytes,
          stateBytes: cold.stateBytes,
          nodeStartMs: cold.startMs,
          coldOpenMs: cold.openMs,
          replayMs: cold.replayMs
        }
        runs.push(run)
        ctx.log(`pad ingest run ${r + 1}/${opts.runs}: at B after ${(ms / 1000).toFixed(2)} s (${run.entries} log entries; A took all edits in ${(run.editedMs / 1000).toFixed(2)} s) — ${run.ratio.toFixed(1)}× the plain Y.Doc; B's store ${(run.storeBytes / 1e6).toFixed(2)} MB vs state ${(run.stateBytes / 1e3).toFixed(0)} kB; cold open ${run.coldOpenMs.toFixed(0)} ms (whole log ${run.replayMs.toFixed(0)} ms)`)
      } finally {
        await chat.close()
      }
    }
    const med = (f: (r: PadIngestRun) => number) => median(runs.map(f))
    return {
      options: opts,
      sender: 'web',
      edits,
      finalLength,
      checkedAgainst,
      runs,
      median: {
        ms: med(r => r.ms),
        editedMs: med(r => r.editedMs),
        flushedMs: med(r => r.flushedMs),
        entries: med(r => r.entries),
        plainMs: med(r => r.plainMs),
        ratio: med(r => r.ratio),
        storeBytes: med(r => r.storeBytes),
        otherBytes: med(r => r.otherBytes),
        stateBytes: med(r => r.stateBytes),
        nodeStartMs: med(r => r.nodeStartMs),
        coldOpenMs: med(r => r.coldOpenMs),
        replayMs: med(r => r.replayMs)
      }
    }
  } finally {
    for (const off of offs) off()
  }
}
