/**
 * The blind mirror: alice writes while bob is offline, alice stops, and bob, back online
 * with nobody but the mirror (and the DHT bootstrap node) reachable, receives everything
 * from the mirror. The mirror's storage holds none of the texts.
 *
 * Real processes on a private loopback DHT: `solidar dht`, `solidar mirror serve`, and
 * alice's and bob's `solidar serve`.
 */
import { describe, it, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import path from 'node:path'
import { Cluster, type GroupRef, type LogEntry, type SolidarNode } from './helpers/cluster.ts'
import { startMirrorProcess, type MirrorProcess } from './helpers/mirror.ts'
import { findInFiles } from './helpers/disk.ts'
import { waitFor } from './helpers/wait.ts'

const tag = randomBytes(4).toString('hex')
const N = 25

interface MirrorStatus { key: string, connected: boolean, localLength: number, mirroredLength: number | null }
interface GroupMirrors { group: string, active: boolean, mirrors: MirrorStatus[] }

describe('blind mirror', { timeout: 300_000 }, () => {
  let cluster: Cluster
  let alice: SolidarNode
  let bob: SolidarNode
  let mirror: MirrorProcess | undefined
  let group: GroupRef | undefined
  const timings: Record<string, number> = {}
  const step = async <T>(name: string, fn: () => Promise<T>): Promise<T> => {
    const started = Date.now()
    try { return await fn() } finally { timings[name] = Date.now() - started }
  }

  /** Output of every process, the mirror's included, appended to a failure. */
  const withLogs = async <T>(fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn()
    } catch (err: any) {
      const extra = `\n\n=== process output ===\n${cluster.describe()}${mirror ? `\n\n${mirror.proc.describe()}` : ''}`
      if (err instanceof Error) { err.message += extra; throw err }
      throw new Error(String(err) + extra)
    }
  }

  before(async () => {
    cluster = await Cluster.start({ names: ['alice', 'bob'] })
    ;[alice, bob] = cluster.nodes
    await withLogs(async () => {
      mirror = await step('mirror start', () => startMirrorProcess({
        home: path.join(cluster.dir, 'mirror-home'),
        storage: path.join(cluster.dir, 'mirror-store'),
        bootstrap: cluster.bootstrap
      }))
      group = await step('group with bob', () => cluster.createGroup(alice, `mirror-${tag}`, [bob]))
    })
  }, { timeout: 180_000 })

  after(async () => {
    await mirror?.proc.stop(10_000).catch(() => {})
    await cluster?.close()
    if (Object.keys(timings).length > 0) console.log(`mirror test timings (ms): ${JSON.stringify(timings)}`)
  })

  const needGroup = (): GroupRef => {
    assert.ok(group, 'the group was not set up')
    return group
  }
  const needMirror = (): MirrorProcess => {
    assert.ok(mirror, 'the mirror was not started')
    return mirror
  }

  /** The node's view of the group's mirrors, through the API (fast to poll). */
  const mirrorsOf = async (node: SolidarNode): Promise<GroupMirrors> => {
    const r = await node.api({ path: `/api/groups/${encodeURIComponent(needGroup().id)}/mirrors` })
    if (r.status !== 200) throw new Error(`${node.name}: GET mirrors → ${r.status} ${r.text}`)
    return r.json as GroupMirrors
  }

  /** Waits until the mirror holds every block this node wrote to the group (at least `min`). */
  const waitMirrored = (node: SolidarNode, min: number, timeout = 60_000): Promise<MirrorStatus> =>
    waitFor(async () => {
      const m = (await mirrorsOf(node)).mirrors.find((x) => x.key === needMirror().key)
      return m !== undefined && m.connected && m.localLength >= min && m.mirroredLength === m.localLength ? m : null
    }, { timeout, interval: 200, what: `the mirror to hold all of ${node.name}'s blocks (at least ${min})` })

  it('mirror add on alice and bob: remembered, listed, and the mirror catches up with each', async () => {
    const g = needGroup()
    const key = needMirror().key
    await withLogs(async () => {
      for (const node of [alice, bob]) {
        const added = await node.json<{ group: string, key: string, added: boolean, active: boolean }>(['mirror', 'add', g.id, key])
        assert.equal(added.group, g.id)
        assert.equal(added.key, key)
        assert.equal(added.added, true, `${node.name}: the first add reports added: true`)
        assert.equal(added.active, true, `${node.name} runs with a DHT, so the mirror is used at once`)
        const again = await node.json<{ added: boolean }>(['mirror', 'add', g.id, key])
        assert.equal(again.added, false, `${node.name}: adding the same mirror twice changes nothing`)
        const listed = await node.json<GroupMirrors>(['mirror', 'list', g.id])
        assert.deepEqual(listed.mirrors.map((m) => m.key), [key])
      }
      // bob has written nothing himself (the admin appended his admission): 0 blocks is all.
      await step('initial sync to mirror', () => Promise.all([waitMirrored(alice, 1), waitMirrored(bob, 0)]))
    })
  })

  it('alice writes while bob is offline; with alice gone too, bob gets everything from the mirror alone', async () => {
    const g = needGroup()
    await withLogs(async () => {
      const exit = await bob.stop(15_000)
      assert.equal(exit.forced, false, 'bob needed SIGKILL to stop')

      const texts = Array.from({ length: N }, (_, i) => `mirror canary ${tag} ${i} ${randomBytes(8).toString('hex')}`)
      const sent: LogEntry[] = []
      await step(`alice sends ${N}`, async () => {
        for (const text of texts) {
          const r = await alice.api({ method: 'POST', path: `/api/groups/${encodeURIComponent(g.id)}/messages`, body: { text } })
          assert.equal(r.status, 201, `send: ${r.status} ${r.text}`)
          sent.push(r.json as LogEntry)
        }
      })
      const before = (await mirrorsOf(alice)).mirrors[0]
      const mirrored = await step('mirror holds alice\'s writes', () => waitMirrored(alice, before.localLength))
      assert.ok(mirrored.localLength >= N, `alice's writer holds the ${N} messages (length ${mirrored.localLength})`)

      const aliceExit = await alice.stop(15_000)
      assert.equal(aliceExit.forced, false, 'alice needed SIGKILL to stop')
      assert.ok(!alice.running && !bob.running, 'no member online: only the mirror and the DHT bootstrap node')

      await step('bob restart', () => bob.start())
      await step('bob reconnects to the mirror', () => waitFor(async () => (await mirrorsOf(bob)).mirrors.some((m) => m.connected),
        { timeout: 60_000, interval: 100, what: 'bob, restarted, to connect to the mirror he remembered' }))
      const log = await step('bob catches up from the mirror', () => bob.waitForLog(g.id, sent.map((m) => m.id), { timeout: 90_000 }))
      for (const msg of sent) {
        const got = log.find((m) => m.id === msg.id)
        assert.equal(got?.text, msg.text, `message ${msg.id}`)
        assert.equal(got?.author, alice.id)
      }
      assert.ok(!alice.running, 'alice stayed offline the whole time')

      // The mirror never held a readable byte of it.
      const m = needMirror()
      const exitMirror = await m.proc.stop(15_000)
      assert.equal(exitMirror.forced, false, 'the mirror needed SIGKILL to stop')
      assert.equal(exitMirror.code, 0, `mirror exit: code ${exitMirror.code} signal ${exitMirror.signal}`)
      const scan = await step('scan mirror storage', () => findInFiles(m.storage, texts))
      assert.ok(scan.files > 0 && scan.bytes > 0, `the mirror stored something (${scan.files} files, ${scan.bytes} bytes)`)
      assert.deepEqual(scan.hits, [], `plaintext found in the mirror's storage: ${JSON.stringify(scan.hits)}`)
      // Nor the group's name, which only exists inside the encrypted log.
      const nameScan = await findInFiles(m.storage, [`mirror-${tag}`])
      assert.deepEqual(nameScan.hits, [], 'the group name is in the mirror\'s storage')
      timings.mirrorStorageBytes = scan.bytes
    })
  })
})
