/**
 * A passive network observer (SECURITY.md): someone who records every packet between members.
 * Two members' nodes and a DHT run in a namespace that has only its loopback, and tcpdump
 * records everything on that loopback (but the two nodes' local API ports, which carry the
 * CLI's own plain HTTP to its node) while the members chat, DM and edit a pad over hyperswarm,
 * then, with UDP cut, over libp2p (TCP). The recording holds none of the texts, names, group
 * key or member ids. A second recording of one API port proves tcpdump saw loopback payloads.
 * Needs root (ip netns, nft) and tcpdump; skipped loudly otherwise.
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import path from 'node:path'
import b4a from 'b4a'
import { decodeKey } from '@solidar/core/ids'
import { makeTempDir, removeTempDir, type LogEntry } from './helpers/cluster.ts'
import { findInBuffer } from './helpers/disk.ts'
import { Lan, netnsUnavailable, nft, startInNs } from './helpers/netns.ts'
import { NsNode } from './helpers/ns-node.ts'
import { startProcess, type ManagedProcess } from './helpers/processes.ts'
import { waitFor } from './helpers/wait.ts'

function tcpdumpUnavailable (): string | null {
  try {
    execFileSync('tcpdump', ['--version'], { stdio: 'pipe' })
    return null
  } catch {
    return 'tcpdump is not installed (apt-get install tcpdump)'
  }
}

const skip = netnsUnavailable() ?? tcpdumpUnavailable()
if (skip !== null) console.error(`\n!!! SKIPPING the passive observer test: ${skip} !!!\n`)

/** tcpdump on the namespace's loopback, whole packets, written as they come (-U). */
function record (ns: string, file: string, filter: string): ManagedProcess {
  return startProcess('ip', ['netns', 'exec', ns, 'tcpdump', '-i', 'lo', '-s', '0', '-U', '-n', '-w', file, filter], { name: `tcpdump ${filter}` })
}

async function stopRecording (proc: ManagedProcess): Promise<void> {
  // SIGTERM: tcpdump flushes and closes the file before it exits.
  await proc.stop(10_000)
}

describe('a passive network observer', { skip: skip ?? false, timeout: 300_000 }, () => {
  const tag = `po${process.pid % 100000}`
  let lan: Lan
  let dir: string
  let dht: ManagedProcess | null = null
  const recorders: ManagedProcess[] = []
  const nodes: NsNode[] = []

  before(async () => { dir = await makeTempDir('solidar-observer-') })

  after(async () => {
    // Teardown goes on past any one failure: what still runs in the namespace dies with it below.
    for (const r of recorders) if (r.running) await r.kill9().catch(() => {})
    await Promise.all(nodes.map(n => n.stop().catch(() => n.proc?.kill9())))
    await dht?.stop().catch(() => {})
    const problems = lan?.destroy() ?? []
    if (dir) await removeTempDir(dir)
    assert.deepEqual(problems, [], 'every namespace removed')
  })

  it('records members chatting over hyperswarm and libp2p and learns no content, name, key or member id', async () => {
    lan = new Lan(tag)
    const ns = lan.isolated('lo')
    dht = startInNs(ns, path.join(dir, 'dht'), ['dht', '--host', '127.0.0.1', '--port', '0'], 'dht')
    const bootstrap = (await dht.firstLine(30_000)).trim()
    assert.match(bootstrap, /^127\.0\.0\.1:\d+$/)
    const erin = new NsNode('Erin Vertraulich', ns, path.join(dir, 'erin'))
    const finn = new NsNode('Finn Geheimnis', ns, path.join(dir, 'finn'))
    nodes.push(erin, finn)
    await erin.serve(['--bootstrap', bootstrap, '--listen', '127.0.0.1:0'])
    const erinLan = (await erin.status()).network.transports.find((t: any) => t.name === 'libp2p')
    const libp2pPort = /\/tcp\/(\d+)/.exec(erinLan.listening[0])![1]
    await finn.serve(['--bootstrap', bootstrap, '--listen', '127.0.0.1:0', '--peer', `127.0.0.1:${libp2pPort}`])

    // Everything between the nodes and the DHT; the CLI's own HTTP to each node is left out.
    const wire = path.join(dir, 'wire.pcap')
    const apiOnly = path.join(dir, 'api.pcap')
    recorders.push(record(ns, wire, `not tcp port ${erin.apiPort} and not tcp port ${finn.apiPort}`))
    recorders.push(record(ns, apiOnly, `tcp port ${erin.apiPort}`))
    await new Promise(resolve => setTimeout(resolve, 1000)) // tcpdump opens the device before the first packet we care about

    const secrets = {
      group: 'Tarifkommission Geheimsache',
      messages: ['Streikbeginn Montag 6 Uhr Tor 3', 'Unterschriftenliste liegt im Spind 17'],
      dm: 'Persoenlich: der Vorstand weiss noch nichts',
      pad: 'Protokollentwurf Lohnforderung acht Prozent',
      padTitle: 'Verhandlungsstrategie Herbst',
      room: 'vertraulichraum'
    }
    const group = (await erin.json<{ id: string }>(['group', 'create', secrets.group])).id
    await erin.ok(['room', 'create', group, secrets.room])
    await finn.json(['join', await erin.ok(['invite', group]), '--timeout', '60s'], 90_000)
    const erinId = (await erin.json<{ id: string }>(['whoami'])).id
    const finnId = (await finn.json<{ id: string }>(['whoami'])).id

    // Over hyperswarm (UDP).
    const first = await erin.json<LogEntry>(['send', group, secrets.messages[0], '--room', secrets.room])
    await finn.waitForLog(group, [first.id])
    await erin.ok(['pad', 'new', group, secrets.padTitle])
    await erin.ok(['pad', 'append', group, secrets.padTitle, secrets.pad])
    await waitFor(async () => (await finn.run(['pad', 'cat', group, secrets.padTitle])).stdout.includes(secrets.pad),
      { timeout: 60_000, interval: 500, what: 'finn to read the pad' })

    // Cut UDP: the nodes move to libp2p (TCP) and go on.
    nft(ns, 'table inet solidar_observer {\n  chain out {\n    type filter hook output priority 0; policy accept;\n    meta l4proto udp drop\n  }\n}\n')
    await waitFor(async () => {
      const s = await erin.status()
      return s.groups.find((g: any) => g.id === group)?.peersByTransport?.libp2p === 1
    }, { timeout: 60_000, interval: 1000, what: 'replication over libp2p' })
    const second = await finn.json<LogEntry>(['send', group, secrets.messages[1]])
    await erin.waitForLog(group, [second.id])
    await finn.ok(['dm', erinId, secrets.dm])
    await waitFor(async () => (await erin.run(['log', '--dm', finnId])).stdout.includes(secrets.dm),
      { timeout: 60_000, interval: 500, what: 'erin to read the DM' })

    // The control: the API port's plain HTTP is on the recording of it.
    await erin.ok(['group', 'list'])
    for (const r of recorders) await stopRecording(r)

    const captured = await readFile(wire)
    const control = await readFile(apiOnly)
    assert.ok(findInBuffer(control, [secrets.group]).length > 0, 'tcpdump records loopback payloads (the control sees the API answer in clear)')
    assert.ok(captured.length > 50_000, `the recording holds the members' traffic (${captured.length} bytes)`)

    const key = decodeKey(group, 'group id')
    const texts = [
      secrets.group, secrets.dm, secrets.pad, secrets.padTitle, secrets.room, ...secrets.messages,
      'Erin Vertraulich', 'Finn Geheimnis', group, erinId, finnId, b4a.toString(key, 'hex')
    ]
    const hits = findInBuffer(captured, texts, 'wire.pcap')
    const rawKey = captured.indexOf(key)
    assert.deepEqual(hits, [], 'nothing readable on the wire')
    assert.equal(rawKey, -1, 'the group key (raw bytes) is not on the wire')
    for (const id of [erinId, finnId]) {
      assert.equal(captured.indexOf(decodeKey(id, 'member id')), -1, `member key ${id} (raw bytes) is not on the wire`)
    }
  })
})
