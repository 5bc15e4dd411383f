/**
 * Reliability 2 — partition schedule. Three daemons and their private DHT run in one network
 * namespace that has nothing but its own loopback (no route anywhere; hyperswarm on a
 * 127.0.0.1 DHT as everywhere in the tests). nftables rules in that namespace drop the UDP
 * traffic between chosen nodes, matched by each daemon's UDP ports: a seeded random schedule
 * of phases — all healed, one node isolated, one pair split (the third still talks to both),
 * one direction only (A's packets never reach B, B's reach A), a node that sends but hears
 * nothing — while each node writes chat messages and pad edits without pause (a writer
 * process inside the namespace, talking to the daemon's local API). After a final heal all
 * three converge: every acknowledged message and pad edit on all three, same log order, same
 * pad Markdown. The seed is printed (replay with SOLIDAR_SEED).
 *
 * Phases: 6 by default, 24 with SOLIDAR_LONG=1. Skipped (loudly) only when not root or
 * without `ip netns`/`nft`.
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import path from 'node:path'
import { makeTempDir, removeTempDir } from './helpers/cluster.ts'
import { formatResult } from './helpers/cli.ts'
import { Lan, cliInNs, nft, nftCounted, nftUnavailable, startInNs } from './helpers/netns.ts'
import type { ManagedProcess } from './helpers/processes.ts'
import { runPartitionSchedule, type Cut, type ScheduleNode } from './helpers/partition-schedule.ts'
import { LONG, testSeed } from './helpers/seeded.ts'
import { waitFor } from './helpers/wait.ts'

const PHASES = Number(process.env.SOLIDAR_PARTITION_PHASES ?? (LONG ? 24 : 6))
const TABLE = 'solidar_partition'

const skip = nftUnavailable()
if (skip !== null) console.error(`\n!!! SKIPPING the partition schedule test: ${skip} !!!\n`)

class Node implements ScheduleNode {
  proc: ManagedProcess | null = null
  apiPort = 0
  token = ''
  udpPorts: number[] = []
  constructor (readonly name: string, readonly ns: string, readonly home: string) {}

  async ok (args: string[], timeout = 60_000): Promise<string> {
    const r = await cliInNs(this.ns, this.home, args, timeout)
    if (r.code !== 0) throw new Error(`${this.name}: \`solidar ${args.join(' ')}\` failed\n${formatResult(r)}`)
    return r.stdout.trim()
  }

  async json<T = any> (args: string[], timeout?: number): Promise<T> { return JSON.parse(await this.ok([...args, '--json'], timeout)) as T }

  async serve (bootstrap: string): Promise<void> {
    await this.ok(['init', '--name', this.name])
    this.proc = startInNs(this.ns, this.home, ['serve', '--host', '127.0.0.1', '--port', '0', '--bootstrap', bootstrap], `${this.name} serve`)
    const line = (await this.proc.firstLine(60_000)).trim()
    const m = /^http:\/\/127\.0\.0\.1:(\d+)\/#token=(\S+)$/.exec(line)
    if (m === null) throw new Error(`${this.name}: serve printed "${line}"\n${this.proc.describe()}`)
    this.apiPort = Number(m[1])
    this.token = decodeURIComponent(m[2])
  }

  describe (): string { return this.proc?.describe() ?? `${this.name}: not started` }
}

/** The UDP ports each PID has bound in `ns` (hyperdht binds a server and a client socket). */
function udpPortsByPid (ns: string): Map<number, number[]> {
  const out = execFileSync('ip', ['netns', 'exec', ns, 'ss', '-H', '-uanp'], { encoding: 'utf8' })
  const map = new Map<number, number[]>()
  for (const line of out.split('\n')) {
    const port = /127\.0\.0\.1:(\d+)\s/.exec(line) ?? /\*:(\d+)\s/.exec(line) ?? /0\.0\.0\.0:(\d+)\s/.exec(line)
    const pid = /pid=(\d+)/.exec(line)
    if (port === null || pid === null) continue
    const list = map.get(Number(pid[1])) ?? []
    list.push(Number(port[1]))
    map.set(Number(pid[1]), list)
  }
  return map
}

/** Replaces the namespace's drop rules by `cuts` (packets from `from`'s ports to `to`'s ports). */
function applyCuts (ns: string, cuts: Array<Cut<Node>>): void {
  const set = (ports: number[]): string => `{ ${ports.join(', ')} }`
  const rules = cuts.map(([a, b]) => `    udp sport ${set(a.udpPorts)} udp dport ${set(b.udpPorts)} counter drop`).join('\n')
  nft(ns, `table inet ${TABLE}\ndelete table inet ${TABLE}\ntable inet ${TABLE} {\n  chain out {\n    type filter hook output priority 0; policy accept;\n${rules}\n  }\n}\n`)
}

describe('partition schedule on a network namespace', { skip: skip ?? false, timeout: LONG ? 1_200_000 : 300_000 }, () => {
  const tag = `sp${process.pid % 100000}`
  let lan: Lan
  let ns = ''
  let dir = ''
  let dht: ManagedProcess | null = null
  let nodes: Node[] = []
  let group = ''
  let pad = ''

  before(async () => {
    dir = await makeTempDir('solidar-partition-')
    lan = new Lan(tag)
    ns = lan.isolated('lo')
    dht = startInNs(ns, path.join(dir, 'dht'), ['dht', '--host', '127.0.0.1', '--port', '0'], 'dht')
    const bootstrap = (await dht.firstLine(30_000)).trim()
    assert.match(bootstrap, /^127\.0\.0\.1:\d+$/)
    nodes = ['alice', 'bob', 'carol'].map((name) => new Node(name, ns, path.join(dir, name)))
    await Promise.all(nodes.map((n) => n.serve(bootstrap)))
    const byPid = udpPortsByPid(ns)
    for (const n of nodes) {
      n.udpPorts = byPid.get(n.proc!.pid) ?? []
      assert.ok(n.udpPorts.length > 0, `${n.name}'s UDP ports (pid ${n.proc!.pid}) in ${JSON.stringify([...byPid])}`)
    }
    const [alice, bob, carol] = nodes
    group = (await alice.json<{ id: string }>(['group', 'create', 'Partitioned'])).id
    const codes = [await alice.ok(['invite', group, '--uses', '1']), await alice.ok(['invite', group, '--uses', '1'])]
    await Promise.all([bob, carol].map((n, i) => n.json(['join', codes[i], '--timeout', '60s'], 90_000)))
    pad = (await alice.json<{ id: string }>(['pad', 'new', group, 'Partition minutes'])).id
    await Promise.all([bob, carol].map((n) => waitFor(async () => (await cliInNs(ns, n.home, ['pad', 'cat', group, pad])).code === 0,
      { timeout: 60_000, interval: 500, what: `${n.name} to see the pad` })))
  }, { timeout: 240_000 })

  after(async () => {
    await Promise.all(nodes.map((n) => n.proc?.stop(10_000).catch(() => {})))
    await dht?.stop(5_000).catch(() => {})
    const problems = lan?.destroy() ?? []
    if (dir !== '') await removeTempDir(dir)
    assert.deepEqual(problems, [], 'every namespace removed')
  })

  it(`${PHASES} seeded partitions and heals during writes; all converge, nothing acknowledged lost`, async () => {
    await runPartitionSchedule({
      label: 'partition schedule',
      phases: PHASES,
      rng: testSeed('partition schedule'),
      nodes: nodes as [Node, Node, Node],
      group,
      pad,
      control: { apply: (cuts) => applyCuts(ns, cuts), dropped: () => nftCounted(ns, 'inet', TABLE) }
    })
  })
})
