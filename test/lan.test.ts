/**
 * LAN mode on real network namespaces (issue 7): three members' nodes and a stranger, each
 * `solidar serve --lan --no-dht` in its own namespace on one bridge with no route anywhere
 * else. They find each other by mDNS; the members sync chat and a pad, survive a partition
 * of one host, and the stranger learns nothing of their group (nor they of its). Then two
 * nodes that share both a loopback DHT and libp2p replicate over one connection and keep
 * syncing when that transport is cut. Skipped (loudly) only when not root / no `ip netns`.
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { readdir, readFile } from 'node:fs/promises'
import path from 'node:path'
import crypto from 'hypercore-crypto'
import b4a from 'b4a'
import { decodeKey, encodeKey } from '@solidar/core/ids'
import { makeTempDir, removeTempDir, type LogEntry } from './helpers/cluster.ts'
import { Lan, netnsUnavailable, nft, startInNs } from './helpers/netns.ts'
import { NsNode } from './helpers/ns-node.ts'
import type { ManagedProcess } from './helpers/processes.ts'
import { waitFor } from './helpers/wait.ts'

const skip = netnsUnavailable()
if (skip !== null) console.error(`\n!!! SKIPPING the LAN namespace tests: ${skip} !!!\n`)

/** Every byte string and text form by which a group could be recognised. */
function fingerprintsOf (groupId: string): { texts: string[], bytes: Buffer[] } {
  const key = decodeKey(groupId, 'group id')
  const discoveryKey = crypto.discoveryKey(key)
  return {
    texts: [groupId, b4a.toString(key, 'hex'), b4a.toString(discoveryKey, 'hex'), encodeKey(discoveryKey), b4a.toString(discoveryKey, 'base64')],
    bytes: [key, discoveryKey]
  }
}

/** Where in a node's output and home folder (every file, binary included) a group shows up. */
async function tracesOf (node: NsNode, groupId: string): Promise<string[]> {
  const { texts, bytes } = fingerprintsOf(groupId)
  const found: string[] = []
  for (const t of texts) if (node.output.includes(t)) found.push(`output contains ${t}`)
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const file = path.join(dir, entry.name)
      if (entry.isDirectory()) { await walk(file); continue }
      const data = await readFile(file)
      for (const b of bytes) if (data.includes(b)) found.push(`${file} contains ${b4a.toString(b, 'hex')}`)
      const text = data.toString('latin1')
      for (const t of texts) if (text.includes(t)) found.push(`${file} contains ${t}`)
    }
  }
  await walk(node.home)
  return found
}

describe('LAN mode on network namespaces', { skip: skip ?? false, timeout: 300_000 }, () => {
  const tag = `sl${process.pid % 100000}`
  let lan: Lan
  let dir: string
  const nodes: NsNode[] = []
  let alice: NsNode, bob: NsNode, carol: NsNode, dave: NsNode
  let council = ''
  let other = ''
  let pad = ''

  before(async () => {
    dir = await makeTempDir('solidar-lan-')
    lan = new Lan(tag).create(4)
    const names = ['alice', 'bob', 'carol', 'dave']
    for (const [i, name] of names.entries()) nodes.push(new NsNode(name, lan.hosts[i].ns, path.join(dir, name)))
    ;[alice, bob, carol, dave] = nodes
    await Promise.all(nodes.map(n => n.serve(['--lan', '--no-dht'])))
  })

  after(async () => {
    await Promise.all(nodes.map(n => n.stop().catch(() => n.proc?.kill9())))
    const problems = lan?.destroy() ?? []
    if (dir) await removeTempDir(dir)
    assert.deepEqual(problems, [], 'every namespace removed')
  })

  it('members find each other by mDNS, join by invite and sync chat and a pad', async () => {
    const group = await alice.json<{ id: string }>(['group', 'create', 'Council'])
    council = group.id
    other = (await dave.json<{ id: string }>(['group', 'create', 'Dave\'s own'])).id
    const codes = [await alice.ok(['invite', council, '--uses', '1']), await alice.ok(['invite', council, '--uses', '1'])]
    await Promise.all([bob, carol].map((n, i) => n.json(['join', codes[i], '--timeout', '60s'], 90_000)))
    const hello = await alice.json<LogEntry>(['send', council, 'Meeting starts'])
    const reply = await bob.json<LogEntry>(['send', council, 'Bob is here'])
    await Promise.all([alice, bob, carol].map(n => n.waitForLog(council, [hello.id, reply.id])))

    pad = (await alice.json<{ id: string }>(['pad', 'new', council, 'Minutes'])).id
    await alice.ok(['pad', 'append', council, pad, 'Motion carried'])
    await waitFor(async () => (await carol.ok(['pad', 'cat', council, pad])).includes('Motion carried'),
      { timeout: 60_000, interval: 500, what: 'carol to see the pad text' })

    const s = await alice.status()
    const mine = s.groups.find((g: any) => g.id === council)
    assert.equal(s.network.mode, 'none', 'no DHT')
    assert.deepEqual(s.network.transports.map((t: any) => t.name), ['libp2p'])
    assert.ok(s.network.transports[0].discovery.includes('mdns'))
    assert.equal(mine.peersByTransport.libp2p, 2, `alice replicates with bob and carol over libp2p: ${JSON.stringify(mine)}`)
  })

  it('partition: a host cut off writes, the others write, all converge after healing', async () => {
    const carolHost = lan.hosts[2]
    lan.cut(carolHost)
    await waitFor(async () => (await carol.status()).groups.find((g: any) => g.id === council).peers === 0,
      { timeout: 45_000, interval: 1000, what: 'carol to notice she is cut off' })
    const during = [
      await alice.json<LogEntry>(['send', council, 'Written by alice during the cut']),
      await carol.json<LogEntry>(['send', council, 'Written by carol during the cut']),
      await bob.json<LogEntry>(['send', council, 'Written by bob during the cut'])
    ]
    await carol.ok(['pad', 'append', council, pad, 'Carol offline note'])
    await bob.ok(['pad', 'append', council, pad, 'Bob note'])
    lan.heal(carolHost)
    const all = await Promise.all([alice, bob, carol].map(n => n.waitForLog(council, during.map(m => m.id), 90_000)))
    assert.deepEqual(all[0].map(m => m.id), all[2].map(m => m.id), 'alice and carol agree on the order')
    assert.deepEqual(all[1].map(m => m.id), all[2].map(m => m.id), 'bob and carol agree on the order')
    let texts: string[] = []
    await waitFor(async () => {
      texts = await Promise.all([alice, bob, carol].map(n => n.ok(['pad', 'cat', council, pad])))
      return texts.every(t => t === texts[0] && t.includes('Carol offline note') && t.includes('Bob note') && t.includes('Motion carried'))
    }, { timeout: 60_000, interval: 1000, what: `the pad to converge: ${JSON.stringify(texts)}` })
  })

  it('private matching: the stranger learns no group of the members, they learn none of his', async () => {
    const s = await dave.status()
    const lanInfo = s.network.transports.find((t: any) => t.name === 'libp2p')
    assert.ok(lanInfo.lanPeers >= 1 && lanInfo.matchings >= 1, `dave met Solidar peers and ran matching: ${JSON.stringify(lanInfo)}`)
    assert.equal(lanInfo.connections, 0, 'but no session: no group in common')
    assert.equal(s.groups.find((g: any) => g.id === other).peers, 0)
    assert.deepEqual(await tracesOf(dave, council), [], 'nothing of Council in dave\'s output or home')
    for (const n of [alice, bob, carol]) assert.deepEqual(await tracesOf(n, other), [], `nothing of dave's group at ${n.name}`)
    // The check itself finds a group where it is known.
    assert.ok((await tracesOf(dave, other)).length > 0)
  })
})

describe('LAN and DHT at once', { skip: skip ?? false, timeout: 240_000 }, () => {
  const tag = `sd${process.pid % 100000}`
  let lan: Lan
  let dir: string
  let dht: ManagedProcess | null = null
  const nodes: NsNode[] = []

  before(async () => {
    dir = await makeTempDir('solidar-dual-')
    lan = new Lan(tag)
  })

  after(async () => {
    await Promise.all(nodes.map(n => n.stop().catch(() => n.proc?.kill9())))
    await dht?.stop().catch(() => {})
    const problems = lan?.destroy() ?? []
    if (dir) await removeTempDir(dir)
    assert.deepEqual(problems, [], 'every namespace removed')
  })

  it('replicates over one connection and keeps syncing when that transport is cut', async () => {
    // One namespace with only its loopback: a loopback DHT and libp2p on 127.0.0.1, no mDNS.
    const ns = lan.isolated('lo')
    dht = startInNs(ns, path.join(dir, 'dht'), ['dht', '--host', '127.0.0.1', '--port', '0'], 'dht')
    const bootstrap = (await dht.firstLine(30_000)).trim()
    assert.match(bootstrap, /^127\.0\.0\.1:\d+$/)
    const erin = new NsNode('erin', ns, path.join(dir, 'erin'))
    const finn = new NsNode('finn', ns, path.join(dir, 'finn'))
    nodes.push(erin, finn)
    await erin.serve(['--bootstrap', bootstrap, '--listen', '127.0.0.1:0'])
    const erinLan = (await erin.status()).network.transports.find((t: any) => t.name === 'libp2p')
    const port = /\/tcp\/(\d+)/.exec(erinLan.listening[0])![1]
    await finn.serve(['--bootstrap', bootstrap, '--listen', '127.0.0.1:0', '--peer', `127.0.0.1:${port}`])

    const group = (await erin.json<{ id: string }>(['group', 'create', 'Both ways'])).id
    await finn.json(['join', await erin.ok(['invite', group]), '--timeout', '60s'], 90_000)
    const first = await finn.json<LogEntry>(['send', group, 'over whichever'])
    await erin.waitForLog(group, [first.id])

    // Both transports up, one connection in use: hyperswarm (preferred), libp2p waiting.
    let s: any
    await waitFor(async () => {
      s = await erin.status()
      const g = s.groups.find((x: any) => x.id === group)
      const l = s.network.transports.find((t: any) => t.name === 'libp2p')
      return g.peers === 1 && g.peersByTransport.hyperswarm === 1 && g.peersByTransport.libp2p === undefined && l.standby === 1
    }, { timeout: 60_000, interval: 1000, what: `one connection in use (hyperswarm), libp2p as standby: ${JSON.stringify(s)}` })
    assert.equal(s.network.connections, 1, 'one peer, one connection')

    // Cut hyperswarm (all UDP in the namespace): replication moves to libp2p.
    nft(ns, 'table inet solidar_test {\n  chain out {\n    type filter hook output priority 0; policy accept;\n    meta l4proto udp drop\n  }\n}\n')
    await waitFor(async () => {
      s = await erin.status()
      return s.groups.find((x: any) => x.id === group).peersByTransport.libp2p === 1
    }, { timeout: 60_000, interval: 1000, what: `failover to libp2p: ${JSON.stringify(s)}` })
    const second = await finn.json<LogEntry>(['send', group, 'after the DHT link died'])
    const third = await erin.json<LogEntry>(['send', group, 'erin answers'])
    await erin.waitForLog(group, [second.id])
    await finn.waitForLog(group, [third.id])
  })
})
