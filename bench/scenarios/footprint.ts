/**
 * Scenario 6, footprint: the real daemon, `solidar serve`, on a home that belongs to 1, 10 or
 * 100 groups. A worker's Solidar node creates the groups (each announced on the loopback DHT)
 * and closes; then `solidar --home H serve --port 0 --bootstrap …` is started cold, timed until
 * it prints its URL line (ready), left idle, and its RSS (VmRSS) and open file descriptors read
 * from /proc. Median over repeated starts of the same home.
 */
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { place, type Ctx } from '../lib/chat.ts'
import { now, sleep } from '../lib/clock.ts'
import { spawnManaged } from '../lib/procs.ts'
import { median } from '../lib/stats.ts'

export interface FootprintOptions { groups: number[], runs: number, idleMs: number }
export interface FootprintRow { groups: number, runs: Array<{ startMs: number, rssMB: number, fds: number }>, startMs: number, rssMB: number, fds: number }
export interface FootprintResult { options: FootprintOptions, rows: FootprintRow[] }

const SOLIDAR_BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'cli', 'bin', 'solidar.js')
const URL_LINE = /^http:\/\/127\.0\.0\.1:\d+\/#token=\S+$/m

function procStats (pid: number): { rssMB: number, fds: number } {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8')
  const rss = Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? NaN)
  return { rssMB: rss / 1024, fds: fs.readdirSync(`/proc/${pid}/fd`).length }
}

export async function footprintScenario (ctx: Ctx, opts: FootprintOptions): Promise<FootprintResult> {
  const rows: FootprintRow[] = []
  const worker = place(ctx, 0)
  for (const k of opts.groups) {
    const id = `fp${k}`
    ctx.log(`footprint: a home with ${k} group${k > 1 ? 's' : ''}`)
    await worker.call('solidar.open', { id, dir: ctx.dir, bootstrap: ctx.bootstrap })
    try {
      for (let i = 0; i < k; i++) await worker.call('solidar.createGroup', { id, name: `group ${i + 1}` })
    } finally {
      await worker.call('solidar.close', { id })
    }
    const home = path.join(ctx.dir, id)
    const runs: FootprintRow['runs'] = []
    for (let r = 0; r < opts.runs; r++) {
      const t0 = now()
      const proc = spawnManaged(`serve ${id}`, process.execPath, [SOLIDAR_BIN, '--home', home, 'serve', '--host', '127.0.0.1', '--port', '0', '--bootstrap', ctx.bootstrap])
      try {
        const deadline = t0 + 60_000
        while (!URL_LINE.test(proc.output)) {
          if (!proc.running || now() > deadline) throw new Error(`solidar serve did not print its URL\n${proc.describe()}`)
          await sleep(5)
        }
        const startMs = now() - t0
        await sleep(opts.idleMs)
        const stats = procStats(proc.pid)
        runs.push({ startMs, ...stats })
        ctx.log(`footprint: ${k} group${k > 1 ? 's' : ''}, start ${r + 1}/${opts.runs}: ready after ${startMs.toFixed(0)} ms, idle RSS ${stats.rssMB.toFixed(0)} MB, ${stats.fds} fds`)
      } finally {
        await proc.stop(15_000)
      }
    }
    rows.push({ groups: k, runs, startMs: median(runs.map(x => x.startMs)), rssMB: median(runs.map(x => x.rssMB)), fds: median(runs.map(x => x.fds)) })
  }
  return { options: opts, rows }
}
