/**
 * The seeded partition schedule of the reliability tests, for any transport: while a writer
 * process per node posts chat messages and pad edits to its daemon's API without pause, a
 * seeded random schedule of phases of 2–7 s cuts the network between the nodes — all healed,
 * one node isolated, one pair split (the third still reaches both), one direction only (A's
 * packets never reach B, B's reach A), a node that sends but hears nothing — then heals it
 * and checks that all nodes converge: every acknowledged message and pad edit on every node,
 * one log order, one pad. How a cut is made is the caller's (`CutControl`): nftables on the
 * daemons' UDP ports for hyperswarm (test/partition.test.ts), bridge-port rules for LAN mode
 * (test/lan-partition.test.ts).
 */
import assert from 'node:assert/strict'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { REPO_ROOT } from './cli.ts'
import type { LogEntry } from './cluster.ts'
import { childEnv, startProcess, type ManagedProcess } from './processes.ts'
import type { Rng } from './seeded.ts'
import { sleep, waitFor } from './wait.ts'

const WRITER = path.join(path.dirname(fileURLToPath(import.meta.url)), 'api-writer.ts')

/** A daemon in a namespace, with its API address there and CLI access. */
export interface ScheduleNode {
  readonly name: string
  readonly ns: string
  readonly apiPort: number
  readonly token: string
  ok (args: string[], timeout?: number): Promise<string>
  json<T = any> (args: string[], timeout?: number): Promise<T>
  describe (): string
}

/** Packets from `from` never reach `to` while the cut stands. */
export type Cut<N> = [from: N, to: N]

export interface CutControl<N> {
  /** Replaces the current cuts by these (none: healed). */
  apply (cuts: Array<Cut<N>>): void
  /** Packets the cuts dropped since the last `apply`. */
  dropped (): number
}

export interface ScheduleOptions<N extends ScheduleNode> {
  label: string
  phases: number
  rng: Rng
  nodes: [N, N, N]
  group: string
  pad: string
  control: CutControl<N>
  /** The bound on convergence after the final heal. */
  convergeMs?: number
}

export async function runPartitionSchedule<N extends ScheduleNode> (opts: ScheduleOptions<N>): Promise<void> {
  const { label, rng, nodes, group, pad, control } = opts
  const started = Date.now()
  const acked = { chat: [] as string[], pad: [] as string[] }
  const writers: ManagedProcess[] = []
  try {
    for (const [i, n] of nodes.entries()) {
      const w = startProcess('ip', ['netns', 'exec', n.ns, process.execPath, '--import', 'tsx', WRITER, String(n.apiPort), n.token, group, pad, n.name, String(rng.seed + i + 1)],
        { name: `${n.name} writer`, cwd: REPO_ROOT, env: childEnv() })
      let pending = ''
      w.child.stdout?.on('data', (chunk: string) => {
        pending += chunk
        let nl: number
        while ((nl = pending.indexOf('\n')) !== -1) {
          const line = pending.slice(0, nl)
          pending = pending.slice(nl + 1)
          const m = /^ACK (chat|pad) (.+)$/.exec(line)
          if (m !== null) acked[m[1] as 'chat' | 'pad'].push(m[2])
        }
      })
      writers.push(w)
    }

    const schedule: string[] = []
    let drops = 0
    let cutPhases = 0
    for (let phase = 1; phase <= opts.phases; phase++) {
      const [a, b, c] = [...nodes].sort(() => rng.next() - 0.5)
      const kind = rng.pick(['heal', 'isolate', 'split', 'one-way', 'deaf'] as const)
      const cuts: Array<Cut<N>> = kind === 'heal'
        ? []
        : kind === 'isolate' ? [[a, b], [b, a], [a, c], [c, a]]
          : kind === 'split' ? [[a, b], [b, a]]
            : kind === 'one-way' ? [[a, b]]
              : [[b, a], [c, a]] // deaf: a sends, hears nothing
      const ms = rng.int(2000, 7000)
      drops += control.dropped()
      control.apply(cuts)
      if (cuts.length > 0) cutPhases++
      schedule.push(`${kind}${kind === 'heal' ? '' : ` ${a.name}${kind === 'isolate' || kind === 'deaf' ? '' : `/${b.name}`}`} ${ms}ms`)
      await sleep(ms)
    }
    drops += control.dropped()
    control.apply([])
    console.log(`# ${label}: ${schedule.join(', ')}; ${drops} packets dropped`)
    if (cutPhases > 0) assert.ok(drops > 0, 'the cuts dropped packets between the nodes')
    await sleep(1000) // a little traffic after the heal too
    await Promise.all(writers.map((w) => w.stop(30_000)))
    for (const w of writers) assert.match(w.stdout, /DONE \d+ \d+/, `${w.name} ended cleanly\n${w.describe()}`)
    console.log(`# ${label}: acknowledged ${acked.chat.length} messages, ${acked.pad.length} pad edits; writers: ${writers.map((w) => /DONE (\d+ \d+)/.exec(w.stdout)?.[1]).join(' / ')} (attempts failures)`)
    assert.ok(acked.chat.length >= opts.phases && acked.pad.length >= 1, 'writes were acknowledged during the schedule')
  } finally {
    control.apply([])
    await Promise.all(writers.map((w) => w.kill9().catch(() => {})))
  }

  const healed = Date.now()
  let logs: LogEntry[][] = []
  try {
    await waitFor(async () => {
      logs = await Promise.all(nodes.map((n) => n.json<LogEntry[]>(['log', group, '--all'])))
      const order = logs.map((log) => log.map((m) => m.id).join(','))
      return logs.every((log) => acked.chat.every((id) => log.some((m) => m.id === id))) && order.every((o) => o === order[0])
    }, { timeout: opts.convergeMs ?? 150_000, interval: 1000, what: 'all three to hold every acknowledged message in one order after the final heal' })
  } catch (err: any) {
    const missing = logs.map((log, i) => `${nodes[i].name} lacks ${acked.chat.filter((id) => !log.some((m) => m.id === id)).length} of ${acked.chat.length}`)
    const status = await Promise.all(nodes.map((n) => n.ok(['status', '--json']).catch(String)))
    throw new Error(`${err.message}\n${missing.join('; ')}\n${status.join('\n')}\n${nodes.map((n) => n.describe()).join('\n')}`)
  }
  let md: string[] = []
  await waitFor(async () => {
    md = await Promise.all(nodes.map((n) => n.ok(['pad', 'export', group, pad])))
    return md.every((m) => m === md[0]) && acked.pad.every((t) => md[0].includes(t))
  }, { timeout: 60_000, interval: 1000, what: 'the same pad Markdown on all three, with every acknowledged edit' })
  console.log(`# ${label}: converged ${((Date.now() - healed) / 1000).toFixed(1)} s after the final heal; ${((Date.now() - started) / 1000).toFixed(1)} s in all`)
}
