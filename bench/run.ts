/**
 * `npm run bench` — Solidar side by side with the systems people would otherwise use,
 * on this machine, in one run, everything on 127.0.0.1.
 *
 *   npm run bench                 full run → bench/results/latest.{json,md}
 *   npm run bench -- --quick      small sizes, under 3 minutes (CI smoke) → bench/results/quick.{json,md}
 *   options: --only latency,throughput,catchup,pad-ingest,pad-latency,footprint   --workers N   --no-prosody
 *
 * Placement: one private DHT bootstrap (three HyperDHT nodes in this process, 127.0.0.1),
 * W worker processes (default: one per member of the largest group); member i of every chat,
 * Solidar or XMPP, lives in worker i mod W. Prosody is a child process with its own config.
 * Every loop is bounded in count and time; every process started here is stopped by PID.
 */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { runDhtBootstrap, type DhtBootstrap } from '@solidar/node/runtime'
import { setupNotes, type Ctx } from './lib/chat.ts'
import { prosodyInstalled, startProsody, type Prosody } from './lib/prosody.ts'
import { registerTempDir, removeTempDir, stopAll, Worker } from './lib/procs.ts'
import { machineInfo, markdown, writeReport, type Report } from './lib/report.ts'
import { catchupScenario, type CatchupOptions } from './scenarios/catchup.ts'
import { latencyScenario, type LatencyOptions } from './scenarios/latency.ts'
import { throughputScenario, type ThroughputOptions } from './scenarios/throughput.ts'
import { padIngestScenario, type PadIngestOptions } from './scenarios/pad-ingest.ts'
import { padLatencyScenario, type PadLatencyOptions } from './scenarios/pad-latency.ts'
import { footprintScenario, type FootprintOptions } from './scenarios/footprint.ts'

const HERE = path.dirname(fileURLToPath(import.meta.url))
const SCENARIOS = ['latency', 'throughput', 'catchup', 'pad-ingest', 'pad-latency', 'footprint'] as const
type Scenario = typeof SCENARIOS[number]

function parseArgs (argv: string[]) {
  const opts = { quick: false, only: [...SCENARIOS] as Scenario[], workers: 0, prosody: true, sizes: [] as number[], profile: '', runs: 0, name: '' }
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].split('=', 2)
    const value = () => inline ?? argv[++i]
    if (flag === '--quick') opts.quick = true
    else if (flag === '--no-prosody') opts.prosody = false
    else if (flag === '--name') {
      opts.name = value()
      if (!/^[a-z0-9][a-z0-9-]{0,40}$/.test(opts.name)) throw new Error('--name takes lower-case letters, digits and dashes, e.g. rerun-pads')
    }
    else if (flag === '--sizes') {
      opts.sizes = value().split(',').map(Number)
      if (opts.sizes.some(n => !Number.isInteger(n) || n < 2 || n > 64)) throw new Error('--sizes takes group sizes 2..64, e.g. 3,10')
    } else if (flag === '--cpu-prof') opts.profile = path.resolve(value())
    else if (flag === '--runs') {
      opts.runs = Number(value())
      if (!Number.isInteger(opts.runs) || opts.runs < 1 || opts.runs > 20) throw new Error('--runs takes 1..20')
    }
    else if (flag === '--only') {
      const list = value().split(',').map(s => s.trim()) as Scenario[]
      for (const s of list) if (!SCENARIOS.includes(s)) throw new Error(`unknown scenario ${s} (${SCENARIOS.join(', ')})`)
      opts.only = list
    } else if (flag === '--workers') {
      opts.workers = Number(value())
      if (!Number.isInteger(opts.workers) || opts.workers < 1 || opts.workers > 64) throw new Error('--workers takes 1..64')
    } else if (flag === '--help' || flag === '-h') {
      console.log('usage: npm run bench [-- --quick] [--only latency,throughput,catchup,pad-ingest,pad-latency,footprint] [--sizes 3,10,25] [--runs N] [--workers N] [--no-prosody] [--cpu-prof DIR] [--name NAME: write results/NAME.{json,md} instead of latest or quick]')
      process.exit(0)
    } else throw new Error(`unknown option ${argv[i]}`)
  }
  return opts
}

const TEXT_BYTES = 100

function settings (quick: boolean) {
  const latency: LatencyOptions = quick
    ? { sizes: [3, 10], runs: 3, perRun: 15, textBytes: TEXT_BYTES, gapMs: 20, timeoutMs: 10_000 }
    : { sizes: [3, 10, 25], runs: 5, perRun: 100, textBytes: TEXT_BYTES, gapMs: 20, timeoutMs: 10_000 }
  const throughput: ThroughputOptions = quick
    ? { members: 3, runs: 1, stepMs: 1500, startRate: 50, minRate: 3, maxRate: 6400, bisections: 1, textBytes: TEXT_BYTES, limitMs: 1000, drainMs: 2000, logWithinMs: 2000 }
    : { members: 3, runs: 3, stepMs: 5000, startRate: 50, minRate: 3, maxRate: 12_800, bisections: 3, textBytes: TEXT_BYTES, limitMs: 1000, drainMs: 5000, logWithinMs: 2000 }
  const catchup: CatchupOptions = quick
    ? { messages: 3000, runs: 2, textBytes: TEXT_BYTES, timeoutMs: 300_000 }
    : { messages: 100_000, runs: 3, textBytes: TEXT_BYTES, timeoutMs: 2_400_000 }
  const padIngest: PadIngestOptions = quick ? { edits: 3000, runs: 1 } : { edits: Infinity, runs: 3 }
  const padLatency: PadLatencyOptions = quick
    ? { runs: 3, perRun: 15, gapMs: 20, timeoutMs: 10_000 }
    : { runs: 5, perRun: 100, gapMs: 20, timeoutMs: 10_000 }
  const footprint: FootprintOptions = quick ? { groups: [1, 10], runs: 1, idleMs: 1000 } : { groups: [1, 10, 100], runs: 3, idleMs: 3000 }
  return { latency, throughput, catchup, padIngest, padLatency, footprint }
}

async function main () {
  const args = parseArgs(process.argv.slice(2))
  const started = Date.now()
  const s = settings(args.quick)
  if (args.sizes.length) s.latency.sizes = args.sizes
  if (args.runs) for (const o of Object.values(s)) o.runs = args.runs // every scenario: repetitions (development)
  if (args.profile) {
    fs.mkdirSync(args.profile, { recursive: true })
    process.env.BENCH_CPU_PROF = args.profile // the workers write WORKER.cpuprofile there
  }
  const mode = args.quick ? 'quick' : 'full'
  const info = machineInfo(mode)
  const log = (line: string) => console.error(`[${((Date.now() - started) / 1000).toFixed(1).padStart(6)} s] ${line}`)
  const largest = Math.max(args.only.includes('latency') ? Math.max(...s.latency.sizes) : 0, args.only.includes('throughput') ? s.throughput.members : 0, args.only.includes('catchup') || args.only.includes('pad-ingest') ? 2 : 0, args.only.includes('pad-latency') ? 3 : 0, 1)
  const workerCount = args.workers || largest
  log(`Solidar benchmarks (${mode}): ${args.only.join(', ')}; ${info.cores} cores, load ${info.loadStart.join(' ')}; ${workerCount} worker processes`)

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'solidar-bench-'))
  registerTempDir(dir)
  let dht: DhtBootstrap | null = null
  let prosody: Prosody | null = null
  const workers: Worker[] = []
  const report: Report = {
    machine: { ...info, loadEnd: [], workers: workerCount, durationS: 0 },
    placement: '',
    notes: [],
    notMeasured: [],
    errors: []
  }
  try {
    dht = await runDhtBootstrap({ host: '127.0.0.1', port: 0 })
    const needProsody = args.prosody && (args.only.includes('latency') || args.only.includes('throughput'))
    if (needProsody && !prosodyInstalled()) {
      log('prosody is not installed (apt-get install prosody): the XMPP baseline is skipped')
      report.notMeasured.push({ scenario: 'Prosody baselines', why: 'prosody is not installed on this machine' })
    } else if (needProsody) {
      const users = Math.max(args.only.includes('latency') ? Math.max(...s.latency.sizes) : 0, s.throughput.members)
      prosody = await startProsody(path.join(dir, 'prosody'), users)
      log(`prosody listening on 127.0.0.1:${prosody.port} (pid ${prosody.proc.pid}), ${users} users`)
    }
    for (let i = 0; i < workerCount; i += 4) {
      workers.push(...await Promise.all(Array.from({ length: Math.min(4, workerCount - i) }, (_, k) => Worker.start(`worker${i + k}`))))
    }
    for (const w of workers) w.on('log', (d: any) => log(`${w.name} ${d.node}: ${d.line}`))
    log(`${workers.length} workers ready (pids ${workers.map(w => w.proc.pid).join(' ')})`)
    report.placement = `${workers.length} worker processes; member i of each chat in worker i mod ${workers.length}` +
      `${workers.length >= largest ? ' (every member in its own process)' : ''}. Each Solidar member is a full node (startNode: own home, Corestore on disk, Hyperswarm with its own HyperDHT node on 127.0.0.1); ` +
      'each XMPP member one @xmpp/client connection to a Prosody 0.12 on 127.0.0.1. One private DHT bootstrap (3 HyperDHT nodes) in the coordinator.'
    const ctx: Ctx = { quick: args.quick, dir, bootstrap: `127.0.0.1:${dht.port}`, workers, prosody, log }

    const attempt = async (name: Scenario, fn: () => Promise<void>) => {
      if (!args.only.includes(name)) return
      try {
        await fn()
      } catch (err: any) {
        log(`${name} failed: ${err?.stack ?? err}`)
        report.errors.push({ scenario: name, error: String(err?.message ?? err) })
      }
    }
    await attempt('latency', async () => { report.latency = await latencyScenario(ctx, s.latency) })
    await attempt('throughput', async () => { report.throughput = await throughputScenario(ctx, s.throughput) })
    await attempt('catchup', async () => { report.catchup = await catchupScenario(ctx, s.catchup) })
    await attempt('pad-ingest', async () => { report.padIngest = await padIngestScenario(ctx, s.padIngest) })
    await attempt('pad-latency', async () => { report.padLatency = await padLatencyScenario(ctx, s.padLatency) })
    await attempt('footprint', async () => { report.footprint = await footprintScenario(ctx, s.footprint) })
  } finally {
    for (const w of workers) await w.stop().catch(() => {})
    await prosody?.stop().catch(() => {})
    await dht?.close().catch(() => {})
    await stopAll()
    removeTempDir(dir)
  }
  if (setupNotes.joinRetries) report.notes.push(`Group set-up: ${setupNotes.joinRetries} join request(s) got no answer within 30 s and were sent again with a fresh invite (not part of any measured time).`)
  report.machine.loadEnd = os.loadavg().map(x => Math.round(x * 100) / 100)
  report.machine.durationS = (Date.now() - started) / 1000
  const files = writeReport(report, path.join(HERE, 'results'), args.name !== '' ? args.name : args.quick ? 'quick' : 'latest')
  console.log(markdown(report))
  if (!args.quick && args.name === '' && args.only.length === SCENARIOS.length) quoteInBenchmarksMd(markdown(report), log)
  log(`wrote ${path.relative(process.cwd(), files.json)} and ${path.relative(process.cwd(), files.md)}`)
  if (report.errors.length) process.exitCode = 1
}

/** A full run of every scenario replaces the quoted results in BENCHMARKS.md (between its markers). */
function quoteInBenchmarksMd (md: string, log: (line: string) => void) {
  const file = path.join(HERE, '..', 'BENCHMARKS.md')
  if (!fs.existsSync(file)) return
  const text = fs.readFileSync(file, 'utf8')
  const start = '<!-- bench:latest:start -->'
  const end = '<!-- bench:latest:end -->'
  const i = text.indexOf(start)
  const j = text.indexOf(end)
  if (i === -1 || j < i) return
  const quoted = md.split('\n').map(line => line.startsWith('###') ? '#' + line : line).join('\n')
  fs.writeFileSync(file, `${text.slice(0, i + start.length)}\n${quoted}\n${text.slice(j)}`)
  log('quoted these results in BENCHMARKS.md')
}

main().then(
  // Everything was closed above; exit even if a library left a timer behind.
  () => process.exit(process.exitCode ?? 0),
  (err) => { console.error(err?.stack ?? err); process.exit(1) }
)
