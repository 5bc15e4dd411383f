/**
 * Reliability 2, LAN mode — the seeded partition schedule (test/helpers/partition-schedule.ts)
 * over libp2p with mDNS: three members' nodes, `serve --lan --no-dht`, each in its own network
 * namespace on one bridge with no route anywhere else. A cut is an nftables rule of the
 * `bridge` family in the bridge's namespace that drops every frame from one host's bridge port
 * to another's (TCP, mDNS and all), so cuts can be one-way, as on a flaky Wi-Fi; the schedule
 * isolates, splits, cuts one way and deafens while each node writes without pause, then heals,
 * and all three must converge with everything acknowledged. The seed is printed (replay with
 * SOLIDAR_SEED).
 *
 * Phases: 4 by default, 24 with SOLIDAR_LONG=1 (SOLIDAR_PARTITION_PHASES sets both).
 * Skipped (loudly) only when not root or without `ip netns`/`nft`.
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import path from 'node:path'
import { makeTempDir, removeTempDir } from './helpers/cluster.ts'
import { Lan, nft, nftCounted, nftUnavailable, type LanHost } from './helpers/netns.ts'
import { NsNode } from './helpers/ns-node.ts'
import { runPartitionSchedule, type Cut } from './helpers/partition-schedule.ts'
import { LONG, testSeed } from './helpers/seeded.ts'
import { waitFor } from './helpers/wait.ts'

const PHASES = Number(process.env.SOLIDAR_PARTITION_PHASES ?? (LONG ? 24 : 4))
const TABLE = 'solidar_lan_partition'

const skip = nftUnavailable()
if (skip !== null) console.error(`\n!!! SKIPPING the LAN partition schedule test: ${skip} !!!\n`)

class LanNode extends NsNode {
  constructor (name: string, readonly host: LanHost, home: string) { super(name, host.ns, home) }
}

/** Replaces the bridge's drop rules by `cuts` (frames entering at `from`'s port and leaving at `to`'s). */
function applyCuts (ns: string, cuts: Array<Cut<LanNode>>): void {
  const rules = cuts.map(([a, b]) => `    iifname "${a.host.bridgePort}" oifname "${b.host.bridgePort}" counter drop`).join('\n')
  nft(ns, `table bridge ${TABLE}\ndelete table bridge ${TABLE}\ntable bridge ${TABLE} {\n  chain forward {\n    type filter hook forward priority 0; policy accept;\n${rules}\n  }\n}\n`)
}

describe('partition schedule in LAN mode (libp2p, mDNS) on network namespaces', { skip: skip ?? false, timeout: LONG ? 1_200_000 : 300_000 }, () => {
  const tag = `sq${process.pid % 100000}`
  let lan: Lan
  let dir = ''
  let nodes: LanNode[] = []
  let group = ''
  let pad = ''

  before(async () => {
    dir = await makeTempDir('solidar-lan-partition-')
    lan = new Lan(tag).create(3)
    nodes = ['alice', 'bob', 'carol'].map((name, i) => new LanNode(name, lan.hosts[i], path.join(dir, name)))
    await Promise.all(nodes.map((n) => n.serve(['--lan', '--no-dht'])))
    const [alice, bob, carol] = nodes
    group = (await alice.json<{ id: string }>(['group', 'create', 'Partitioned LAN'])).id
    const codes = [await alice.ok(['invite', group, '--uses', '1']), await alice.ok(['invite', group, '--uses', '1'])]
    await Promise.all([bob, carol].map((n, i) => n.json(['join', codes[i], '--timeout', '60s'], 90_000)))
    pad = (await alice.json<{ id: string }>(['pad', 'new', group, 'LAN minutes'])).id
    await Promise.all([bob, carol].map((n) => waitFor(async () => (await n.run(['pad', 'cat', group, pad])).code === 0,
      { timeout: 60_000, interval: 500, what: `${n.name} to see the pad` })))
    // The schedule starts from a LAN where everyone replicates with everyone over libp2p.
    await waitFor(async () => (await Promise.all(nodes.map((n) => n.status()))).every((s) => s.groups.find((g: any) => g.id === group)?.peersByTransport?.libp2p === 2),
      { timeout: 60_000, interval: 1000, what: 'every node to replicate with both others over libp2p' })
  }, { timeout: 240_000 })

  after(async () => {
    await Promise.all(nodes.map((n) => n.stop().catch(() => n.proc?.kill9())))
    const problems = lan?.destroy() ?? []
    if (dir !== '') await removeTempDir(dir)
    assert.deepEqual(problems, [], 'every namespace removed')
  })

  it(`${PHASES} seeded partitions and heals during writes over libp2p; all converge, nothing acknowledged lost`, async () => {
    await runPartitionSchedule({
      label: 'LAN partition schedule',
      phases: PHASES,
      rng: testSeed('LAN partition schedule'),
      nodes: nodes as [LanNode, LanNode, LanNode],
      group,
      pad,
      control: { apply: (cuts) => applyCuts(lan.bridgeNs, cuts), dropped: () => nftCounted(lan.bridgeNs, 'bridge', TABLE) }
    })
  })
})
