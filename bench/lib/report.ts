/**
 * The run's report: the machine, every scenario's figures, the Markdown tables that are
 * printed and that BENCHMARKS.md quotes, and the JSON with every run's raw figures.
 */
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { median } from './stats.ts'
import type { CatchupResult } from '../scenarios/catchup.ts'
import type { LatencyResult } from '../scenarios/latency.ts'
import type { ThroughputResult } from '../scenarios/throughput.ts'
import type { PadIngestResult } from '../scenarios/pad-ingest.ts'
import type { PadLatencyResult } from '../scenarios/pad-latency.ts'
import type { FootprintResult } from '../scenarios/footprint.ts'

export interface Machine {
  cpu: string
  cores: number
  memoryGB: number
  node: string
  os: string
  date: string
  /** The commit measured (short hash, `+changes` if the working tree differed). */
  commit: string
  mode: 'quick' | 'full'
  loadStart: number[]
  loadEnd: number[]
  workers: number
  durationS: number
}

export interface Report {
  machine: Machine
  placement: string
  latency?: LatencyResult
  throughput?: ThroughputResult
  catchup?: CatchupResult
  padIngest?: PadIngestResult
  padLatency?: PadLatencyResult
  footprint?: FootprintResult
  notes: string[]
  notMeasured: Array<{ scenario: string, why: string }>
  errors: Array<{ scenario: string, error: string }>
}

function gitCommit (): string {
  try {
    const opts = { cwd: path.dirname(fileURLToPath(import.meta.url)), encoding: 'utf8' as const, stdio: ['ignore', 'pipe', 'ignore'] as any }
    const hash = execFileSync('git', ['rev-parse', '--short', 'HEAD'], opts).trim()
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], opts).trim() !== ''
    return dirty ? `${hash}+changes` : hash
  } catch {
    return 'unknown (not a git checkout)'
  }
}

export function machineInfo (mode: 'quick' | 'full'): Omit<Machine, 'loadEnd' | 'workers' | 'durationS'> {
  const cpus = os.cpus()
  return {
    cpu: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    memoryGB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    os: `${os.type()} ${os.release()}`,
    date: new Date().toISOString(),
    commit: gitCommit(),
    mode,
    loadStart: os.loadavg().map(x => Math.round(x * 100) / 100)
  }
}

const ms = (x: number, digits = 1) => Number.isFinite(x) ? `${x.toFixed(digits)} ms` : (Number.isNaN(x) ? '–' : '∞')
const times = (x: number) => Number.isFinite(x) ? `${x.toFixed(x >= 100 ? 0 : x >= 10 ? 1 : 2)}×` : '–'
const int = (x: number) => Number.isFinite(x) ? Math.round(x).toLocaleString('en') : '–'
const mb = (x: number) => Number.isFinite(x) ? `${(x / 1e6).toFixed(2)} MB` : '–'
const kb = (x: number) => Number.isFinite(x) ? `${(x / 1e3).toFixed(0)} kB` : '–'
const secs = (x: number) => Number.isFinite(x) ? `${(x / 1000).toFixed(2)} s` : '–'

export function markdown (r: Report): string {
  const m = r.machine
  const out: string[] = []
  out.push(`Run of ${m.date.slice(0, 16).replace('T', ' ')} UTC, \`${m.mode === 'quick' ? 'npm run bench -- --quick' : 'npm run bench'}\` (${m.mode}), ${Math.round(m.durationS)} s, commit ${m.commit ?? 'not recorded'}.`)
  out.push(`Machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGB} GB, Node ${m.node}, ${m.os}. Load average (1/5/15 min) at start ${m.loadStart.join(' / ')}, at end ${m.loadEnd.join(' / ')}.`)
  out.push(`Placement: ${r.placement}`)
  out.push('')

  out.push('### 1. Message latency: send on one member → in every other member\'s state')
  if (r.latency) {
    const o = r.latency.options
    out.push(`Median over ${o.runs} runs of ${o.perRun} messages (${o.textBytes}-byte texts, senders in turn, one message at a time); p50/p99 within each run.`)
    out.push('')
    out.push('| members | Solidar p50 | Solidar p99 | Prosody MUC p50 | Prosody MUC p99 | Solidar/Prosody p50 | Solidar/Prosody p99 |')
    out.push('|---:|---:|---:|---:|---:|---:|---:|')
    for (const row of r.latency.rows) {
      out.push(`| ${row.members} | ${ms(row.solidar.p50)} | ${ms(row.solidar.p99)} | ${row.prosody ? ms(row.prosody.p50, 2) : '–'} | ${row.prosody ? ms(row.prosody.p99, 2) : '–'} | ${times(row.ratioP50)} | ${times(row.ratioP99)} |`)
    }
    out.push('')
    out.push('Solidar\'s p50/p99 above: until every other member\'s node emitted the message, live (`message-live`, over the group\'s channel) or from its log, whichever came first. Where the durable path\'s time goes (same runs): the sender\'s `send` returns once the entry is on disk in its own log; the message is then in every other member\'s view (Autobase applied it) and their nodes emit it from the log.')
    out.push('')
    out.push('| members | on every other screen p50 | send returned p50 | in every other view p50 | from every other log p50 | from every other log p99 |')
    out.push('|---:|---:|---:|---:|---:|---:|')
    for (const row of r.latency.rows) out.push(`| ${row.members} | ${ms(row.solidar.p50)} | ${ms(row.solidar.ackP50)} | ${ms(row.solidar.viewP50 ?? NaN)} | ${ms(row.solidar.logP50 ?? NaN)} | ${ms(row.solidar.logP99 ?? NaN)} |`)
    const lost = r.latency.rows.reduce((a, row) => a + row.solidar.lost + (row.prosody?.lost ?? 0), 0)
    if (lost) out.push(`\nLost (not delivered within ${o.timeoutMs / 1000} s): ${lost}.`)
  } else out.push(notRun(r, 'latency'))
  out.push('')

  out.push('### 2. Throughput: highest sustained rate of a group of 3 with p99 < 1 s (and every message in every log within 2 s)')
  if (r.throughput) {
    const t = r.throughput
    const o = t.options
    out.push(`All ${o.members} members send on a fixed schedule for ${o.stepMs / 1000} s per step (${o.textBytes}-byte texts); the rate doubles from ${o.startRate} msg/s until a step fails, then ${o.bisections} bisection steps. Median over ${o.runs} search${o.runs > 1 ? 'es' : ''}.`)
    out.push('')
    out.push('| system | sustained msg/s | p50 at that rate | p99 at that rate | searches (msg/s) |')
    out.push('|---|---:|---:|---:|---|')
    const line = (name: string, s: ThroughputResult['solidar']) => {
      const best = s.runs.map(run => run.steps.filter(st => st.pass && st.rate === run.ceiling)[0]).filter(Boolean)
      out.push(`| ${name} | ${int(s.ceiling)} | ${ms(median(best.map(b => b.p50)))} | ${ms(median(best.map(b => b.p99)))} | ${s.runs.map(run => int(run.ceiling)).join(', ')} |`)
    }
    line('Solidar', t.solidar)
    if (t.prosody) line('Prosody MUC', t.prosody)
    if (t.prosody) out.push(`\nSolidar/Prosody: ${times(t.ratio)}`)
    const steps = t.solidar.runs.flatMap(run => run.steps)
    const logged = steps.reduce((a, st) => a + (st.logged ?? 0), 0)
    const delivered = steps.reduce((a, st) => a + st.delivered, 0)
    out.push(`\nSolidar is measured on screen, as in section 1 (its node emitted the message, live or from its log, whichever first), and a step passes only if every message was also in both other members' logs within ${o.logWithinMs / 1000} s after the step's last send. Over all steps, ${int(delivered)} messages reached both other members; ${int(logged)} of them were in both other logs in time.`)
  } else out.push(notRun(r, 'throughput'))
  out.push('')

  out.push('### 3. Catch-up: a newcomer joins a group with history')
  if (r.catchup) {
    const c = r.catchup
    out.push(`${int(c.options.messages)} messages of ${c.options.textBytes}-byte texts (entries ${Math.round(c.history.entryBytes)} B, writer-core blocks ${c.history.blockBytes} B); median over ${c.options.runs} newcomers. Baseline: raw hypercore, the same number of ${c.history.blockBytes}-byte blocks between two Corestores over the same Hyperswarm loopback DHT.`)
    out.push('')
    // The rate once data flows (from the first message/block on): finding the peer on the DHT and,
    // for Solidar, being admitted are in "time to all" but say nothing about replication speed.
    const flowing = (runs: Array<{ ms: number, firstMs: number }>) => median(runs.map(x => c.options.messages / Math.max(1, x.ms - x.firstMs) * 1000))
    const sFlow = flowing(c.solidar.runs)
    const rFlow = flowing(c.raw.runs)
    out.push('| system | time to all | per second | first message after | join returned after | view counter complete after | per second from the first on |')
    out.push('|---|---:|---:|---:|---:|---:|---:|')
    out.push(`| Solidar newcomer | ${secs(c.solidar.ms)} | ${int(c.solidar.perSecond)} msg/s | ${secs(median(c.solidar.runs.map(x => x.firstMs)))} | ${secs(median(c.solidar.runs.map(x => x.joinMs)))} | ${secs(median(c.solidar.runs.map(x => x.counterMs)))} | ${int(sFlow)} msg/s |`)
    out.push(`| raw hypercore | ${secs(c.raw.ms)} | ${int(c.raw.perSecond)} blocks/s | ${secs(median(c.raw.runs.map(x => x.firstMs)))} | – | – | ${int(rFlow)} blocks/s |`)
    const retries = c.solidar.runs.reduce((a, x) => a + (x.joinRetries ?? 0), 0)
    if (retries) out.push(`\nJoin requests asked again after 60 s without an answer: ${retries} (the time counts).`)
    out.push(`\nraw hypercore/Solidar (rate, whole time): ${times(c.ratio)}; from the first message/block on: ${times(rFlow / sFlow)}`)
  } else out.push(notRun(r, 'catchup'))
  out.push('')

  out.push('### 4. Pad ingest: a real editing trace typed into a pad, until the second member has it')
  if (r.padIngest) {
    const p = r.padIngest
    const m = p.median
    out.push(`automerge-paper trace (bench/data, CC BY 4.0): ${int(p.edits)} edits, final text ${int(p.finalLength)} characters, checked against the ${p.checkedAgainst}; member A's editor ${p.sender === 'web' ? 'makes one Yjs update per edit and sends them into \`pads.applyUpdate\` as the web app does (one request at a time, answered once in the log; what is typed meanwhile merged into the next)' : 'sends one Yjs update per edit into \`pads.applyUpdate\`, each awaited on its own (answered before the group commit)'}, member B has the pad open. Baseline: the same edits on a plain in-memory Y.Doc of the same shape. Median over ${p.runs.length} run${p.runs.length > 1 ? 's' : ''}.`)
    out.push('')
    out.push('| | Solidar (A → B) | plain Y.Doc | Solidar/plain |')
    out.push('|---|---:|---:|---:|')
    out.push(`| time for all edits | ${secs(m.ms)} | ${secs(m.plainMs)} | ${times(m.ratio)} |`)
    out.push(`| edits per second | ${int(p.edits / m.ms * 1000)} | ${int(p.edits / m.plainMs * 1000)} | |`)
    out.push('')
    out.push(`A's node took every edit after ${secs(m.editedMs)} and appended them as ${int(m.entries)} log entries (group commit). B's store on disk: ${mb(m.storeBytes)} (the whole group log) plus ${kb(m.otherBytes)} of local files (identity, logs.json, pad snapshot); \`Y.encodeStateAsUpdate\` of the final document: ${kb(m.stateBytes)} (${times(m.storeBytes / m.stateBytes)}). Cold: node start ${ms(m.nodeStartMs, 0)}, pad open ${ms(m.coldOpenMs, 0)} (snapshot + log tail), whole log replayed without snapshot ${ms(m.replayMs, 0)}.`)
  } else out.push(notRun(r, 'pad-ingest'))
  out.push('')

  out.push('### 5. Pad live latency: keystroke on one member → in the other member\'s document')
  if (r.padLatency) {
    const p = r.padLatency
    out.push(`Median over ${p.options.runs} runs of ${p.options.perRun} keystrokes (one character each, one at a time). Solidar sends each edit at once over the live channel to the other open pad; its log entry follows with the group commit (up to 80 ms, BATCH_MS).`)
    out.push('')
    out.push('| | p50 | p99 |')
    out.push('|---|---:|---:|')
    out.push(`| Solidar pad | ${ms(p.solidar.p50)} | ${ms(p.solidar.p99)} |`)
    out.push(`| y-websocket (2 clients, 1 server) | ${ms(p.ywebsocket.p50, 2)} | ${ms(p.ywebsocket.p99, 2)} |`)
    out.push(`| Solidar/y-websocket | ${times(p.ratioP50)} | ${times(p.ratioP99)} |`)
  } else out.push(notRun(r, 'pad-latency'))
  out.push('')

  out.push('### 6. Footprint: `solidar serve` idle, by number of groups')
  if (r.footprint) {
    const f = r.footprint
    out.push(`The daemon started cold on a home that belongs to that many groups (all on the loopback DHT), ready = its URL line; RSS and open file descriptors after ${f.options.idleMs / 1000} s idle. Median over ${f.options.runs} starts.`)
    out.push('')
    out.push('| groups | cold start to ready | idle RSS | open fds |')
    out.push('|---:|---:|---:|---:|')
    for (const row of f.rows) out.push(`| ${row.groups} | ${ms(row.startMs, 0)} | ${Math.round(row.rssMB)} MB | ${int(row.fds)} |`)
  } else out.push(notRun(r, 'footprint'))
  out.push('')

  if (r.notes.length) {
    out.push('### Notes')
    for (const n of r.notes) out.push(`- ${n}`)
    out.push('')
  }
  if (r.notMeasured.length) {
    out.push('### Not measured in this run')
    for (const n of r.notMeasured) out.push(`- ${n.scenario}: ${n.why}`)
    out.push('')
  }
  if (r.errors.length) {
    out.push('### Errors')
    for (const e of r.errors) out.push(`- ${e.scenario}: ${e.error.split('\n')[0]}`)
    out.push('')
  }
  return out.join('\n')
}

function notRun (r: Report, scenario: string): string {
  const e = r.errors.find(x => x.scenario === scenario)
  if (e) return `Failed: ${e.error.split('\n')[0]}`
  return 'Not run.'
}

export function writeReport (r: Report, dir: string, base: string): { json: string, md: string } {
  fs.mkdirSync(dir, { recursive: true })
  const json = path.join(dir, `${base}.json`)
  const md = path.join(dir, `${base}.md`)
  fs.writeFileSync(json, JSON.stringify(r, (_, v) => typeof v === 'number' && !Number.isFinite(v) ? String(v) : v, 2) + '\n')
  fs.writeFileSync(md, markdown(r) + '\n')
  return { json, md }
}
