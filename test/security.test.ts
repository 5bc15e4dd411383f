/**
 * Security properties seen from outside the daemons: invites are single-use, expire and
 * resist tampering; no message text lies in clear on a member's disk; and a stranger who
 * joins the group's swarm topic (an eavesdropper process) receives no plaintext: no message,
 * no DM, no pad title, pad text or cursor.
 *
 * TODO (covered by core unit tests, not reachable through the CLI): entries appended by a
 * writer that is not a member are ignored by every member's view.
 */
import { describe, it, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import path from 'node:path'
import Corestore from 'corestore'
import Hyperswarm from 'hyperswarm'
import idEncoding from 'hypercore-id-encoding'
import { createDht, parseHostPort } from '@solidar/node/hyperswarm-transport'
import { Cluster, makeTempDir, removeTempDir, type GroupRef, type LogEntry, type SolidarNode } from './helpers/cluster.ts'
import { REPO_ROOT, formatResult, type CliResult } from './helpers/cli.ts'
import { startProcess } from './helpers/processes.ts'
import { findInBuffer, findInFiles } from './helpers/disk.ts'
import { sleep, waitFor, withTimeout } from './helpers/wait.ts'

const tag = randomBytes(4).toString('hex')
const canary = (what: string): string => `canary-${what}-${randomBytes(8).toString('hex')}`
const FIXTURE = path.join(REPO_ROOT, 'test', 'fixtures', 'eavesdropper.ts')

interface EavesdropperResult {
  summary: {
    topic: string
    announcers: string[]
    connections: number
    peers: string[]
    bytesReceived: number
    coreLength: number
    blocksDownloaded: number
    errors: string[]
  }
  captured: Buffer
  blocks: Buffer
  stdout: string
}

/** The JSON events the eavesdropper printed so far. */
function events (stdout: string): Array<Record<string, any>> {
  return stdout.split('\n').filter((line) => line.startsWith('{')).map((line) => {
    try { return JSON.parse(line) } catch { return {} }
  })
}

/**
 * Runs test/fixtures/eavesdropper.ts on `group`'s topic while `during` runs, waits until
 * `until` holds for its events (or `untilTimeout` passes) and a little longer, then ends
 * it with SIGTERM and reads what it got.
 */
async function eavesdrop (bootstrap: string, group: string, outDir: string, opts: {
  during: () => Promise<void>
  until?: (evs: Array<Record<string, any>>) => boolean
  untilTimeout?: number
  /** Fail (instead of going on) when `until` never holds. */
  requireUntil?: boolean
}): Promise<EavesdropperResult> {
  const proc = startProcess(process.execPath, [
    '--import', 'tsx', FIXTURE, '--bootstrap', bootstrap, '--group', group, '--out', outDir, '--max-ms', '150000'
  ], { name: 'eavesdropper', cwd: REPO_ROOT })
  const seen = (type: string): boolean => events(proc.stdout).some((e) => e.event === type)
  try {
    await waitFor(() => seen('ready') || !proc.running,
      { timeout: 30_000, interval: 100, what: 'the eavesdropper to join the topic' })
    if (!proc.running) throw new Error(`the eavesdropper exited early\n${proc.describe()}`)
    // Let bytes flow on a connection before the members write. Not fatal: members may
    // refuse strangers, and a first connection on the loopback DHT can stall for ~15 s.
    await waitFor(() => seen('data'), { timeout: 30_000, interval: 100, what: 'bytes from a member' }).catch(() => {})
    await opts.during()
    if (opts.until !== undefined) {
      const reached = await waitFor(() => opts.until!(events(proc.stdout)), {
        timeout: opts.untilTimeout ?? 30_000, interval: 100, what: 'the eavesdropper to receive what it can'
      }).then(() => true, (err) => {
        if (opts.requireUntil === true) throw new Error(`${err.message}\n${proc.describe()}`)
        return false
      })
      if (!reached) await sleep(1_000)
    }
    await sleep(2_000)
    proc.signal('SIGTERM')
    const exit = await withTimeout(proc.exited, 30_000, () => `the eavesdropper to finish\n${proc.describe()}`)
    if (exit.code !== 0) throw new Error(`the eavesdropper failed\n${proc.describe()}`)
    const summary = JSON.parse(await readFile(path.join(outDir, 'summary.json'), 'utf8'))
    return {
      summary,
      captured: await readFile(path.join(outDir, 'captured.bin')),
      blocks: await readFile(path.join(outDir, 'blocks.bin')),
      stdout: proc.stdout
    }
  } finally {
    await proc.stop(5_000)
  }
}

function expectJoinError (r: CliResult, pattern: RegExp, what: string): void {
  assert.notEqual(r.code, 0, `${what}: join must fail\n${formatResult(r)}`)
  assert.notEqual(r.code, null, `${what}: join was killed\n${formatResult(r)}`)
  assert.match(r.stderr, pattern, `${what}: stderr names the reason\n${formatResult(r)}`)
  assert.doesNotMatch(r.stderr, /JOIN_TIMEOUT|answered within/i, `${what}: refused, not timed out\n${formatResult(r)}`)
}

describe('security', { timeout: 300_000 }, () => {
  let cluster: Cluster
  let alice: SolidarNode
  let bob: SolidarNode
  let carol: SolidarNode
  let group: GroupRef | undefined
  /** Every text whose plaintext must not appear on disk or on the wire to a stranger. */
  const secrets: string[] = []

  before(async () => {
    cluster = await Cluster.start({ names: ['alice', 'bob', 'carol'] })
    ;[alice, bob, carol] = cluster.nodes
    group = await alice.json<GroupRef>(['group', 'create', `sec-${tag}`])
  }, { timeout: 120_000 })

  after(async () => { await cluster?.close() })

  const needGroup = (): GroupRef => {
    assert.ok(group, 'the group was not set up')
    return group
  }

  const notInGroup = async (node: SolidarNode): Promise<void> => {
    const groups = await node.json<Array<{ id: string }>>(['group', 'list'])
    assert.ok(!groups.some((g) => g.id === group!.id), `${node.name} must not be in the group: ${JSON.stringify(groups)}`)
  }

  it('an invite works once: a second join with the same code fails as used', async () => {
    const g = needGroup()
    await cluster.withLogs(async () => {
      const code = await alice.ok(['invite', g.id, '--uses', '1'])
      const joined = await bob.json<GroupRef>(['join', code, '--timeout', '60s'], { timeout: 90_000 })
      assert.equal(joined.id, g.id)
      const again = await carol.run(['join', code, '--timeout', '30s'], { timeout: 60_000 })
      expectJoinError(again, /INVITE_USED|already (been )?used/i, 'second use of a single-use invite')
      await notInGroup(carol)
    })
  })

  it('an invite with --expires 1s is refused as expired after 2 s', async () => {
    const g = needGroup()
    await cluster.withLogs(async () => {
      const code = await alice.ok(['invite', g.id, '--expires', '1s'])
      await sleep(2_000)
      const r = await carol.run(['join', code, '--timeout', '30s'], { timeout: 60_000 })
      expectJoinError(r, /INVITE_EXPIRED|expired/i, 'expired invite')
      await notInGroup(carol)
    })
  })

  it('a tampered or garbage code is refused as malformed, quickly', async () => {
    const g = needGroup()
    await cluster.withLogs(async () => {
      const code = await alice.ok(['invite', g.id])
      const tampered = flipMiddle(code)
      assert.notEqual(tampered, code)
      const bads = [tampered, 'not-an-invite', code.slice(0, Math.floor(code.length / 2))]
      const results = await Promise.all(bads.map((bad) => carol.run(['join', bad, '--timeout', '30s'], { timeout: 60_000 })))
      for (const [i, r] of results.entries()) {
        expectJoinError(r, /INVITE_MALFORMED|not valid|malformed|invalid/i, `code ${JSON.stringify(bads[i])}`)
        assert.ok(r.ms < 10_000, `a malformed code is refused without waiting for the network (took ${r.ms} ms)`)
      }
      await notInGroup(carol)
    })
  })

  it('after those refusals carol still joins with a fresh invite', async () => {
    const g = needGroup()
    await cluster.withLogs(async () => {
      const code = await alice.ok(['invite', g.id])
      const joined = await carol.json<GroupRef>(['join', code, '--timeout', '40s'], { timeout: 70_000 })
      assert.equal(joined.id, g.id)
      await Promise.all(cluster.nodes.map((n) => n.waitForMembers(g.id, cluster.nodes.map((m) => m.id))))
    })
  })

  it('control: the eavesdropper does capture plaintext from an unencrypted core on its topic', async () => {
    // Without this, a silent eavesdropper (wrong topic, broken capture) would pass the next test.
    const dir = await makeTempDir('solidar-control-')
    const store = new Corestore(path.join(dir, 'store'))
    const swarm = new Hyperswarm({ dht: createDht({ mode: 'bootstrap', bootstrap: [parseHostPort(cluster.bootstrap)] }) })
    try {
      const core = store.get({ name: 'control' })
      await core.ready()
      const before = canary('control-before')
      const during = canary('control-during')
      await core.append(Buffer.from(before))
      swarm.on('connection', (conn: any) => { conn.on('error', () => {}); store.replicate(conn) })
      await swarm.join(core.discoveryKey, { server: true, client: true }).flushed()
      const got = await eavesdrop(cluster.bootstrap, idEncoding.encode(core.key), path.join(dir, 'eaves'), {
        during: async () => { await core.append(Buffer.from(during)) },
        // Both blocks downloaded (index 0 and 1).
        until: (evs) => new Set(evs.filter((e) => e.event === 'download').map((e) => e.index)).size >= 2,
        untilTimeout: 45_000,
        requireUntil: true
      })
      assert.ok(got.summary.connections >= 1, `the eavesdropper connected to the control peer: ${JSON.stringify(got.summary)}`)
      for (const text of [before, during]) {
        assert.equal(findInBuffer(got.blocks, [text]).length, 1, `downloaded blocks hold "${text}": ${JSON.stringify(got.summary)}`)
        assert.equal(findInBuffer(got.captured, [text]).length, 1, `captured bytes hold "${text}"`)
      }
    } finally {
      await swarm.destroy().catch(() => {})
      await store.close().catch(() => {})
      await removeTempDir(dir)
    }
  })

  it("a stranger on the group's swarm topic gets no plaintext, neither on the wire nor in blocks", async (t) => {
    const g = needGroup()
    await cluster.withLogs(async () => {
      const outDir = path.join(cluster.dir, 'eavesdropper')
      const got = await eavesdrop(cluster.bootstrap, g.id, outDir, { during: async () => {
        const sent: LogEntry[] = []
        // alice and bob: carol's membership depends on the previous test.
        for (const node of [alice, bob]) {
          const text = canary(`group-${node.name}`)
          secrets.push(text)
          sent.push(await node.send(g.id, text))
        }
        const dmText = canary('dm-alice-bob')
        secrets.push(dmText)
        const dm = await alice.json<LogEntry>(['dm', bob.id, dmText])
        await Promise.all([alice, bob].map((n) => n.waitForLog(g.id, sent.map((m) => m.id))))
        await waitFor(async () => (await bob.apiList<LogEntry>(`/api/dms/${alice.id}/messages`)).some((m) => m.id === dm.id),
          { timeout: 45_000, interval: 200, what: 'bob to receive the DM' })
        // A pad: its title, its text, an edit and a cursor (presence) are all group content.
        const [padTitle, padText, padEdit, cursorNote] = ['pad-title', 'pad-text', 'pad-edit', 'pad-cursor'].map(canary)
        secrets.push(padTitle, padText, padEdit, cursorNote)
        const pad = await alice.json<{ id: string }>(['pad', 'new', g.id, padTitle])
        await alice.ok(['pad', 'append', g.id, pad.id, padText])
        const cursor = await alice.api({ method: 'PUT', path: `/api/groups/${g.id}/pads/${pad.id}/presence`, body: { state: { note: cursorNote } } })
        assert.equal(cursor.status, 200, cursor.text)
        await waitFor(async () => (await bob.apiList<{ id: string }>(`/api/groups/${g.id}/pads`)).some((p) => p.id === pad.id),
          { timeout: 45_000, interval: 200, what: 'bob to list the pad' })
        await bob.ok(['pad', 'append', g.id, pad.id, padEdit])
        await waitFor(async () => (await alice.ok(['pad', 'cat', g.id, pad.id])).includes(padEdit),
          { timeout: 45_000, interval: 200, what: 'alice to see bob\'s pad edit' })
      },
      // If members serve the group core to strangers at all, let it download all it can.
      until: (evs) => {
        const length = Math.max(0, ...evs.filter((e) => e.event === 'append').map((e) => e.length))
        return length > 0 && new Set(evs.filter((e) => e.event === 'download').map((e) => e.index)).size >= length
      },
      untilTimeout: 10_000 })
      const { summary } = got
      t.diagnostic(`eavesdropper: ${summary.connections} connections, ${summary.bytesReceived} bytes received, ` +
        `core length ${summary.coreLength}, ${summary.blocksDownloaded} blocks downloaded, ${summary.announcers.length} announcers`)
      // The eavesdropper must at least have found the members on that topic; otherwise the
      // test proves nothing (a node that derives its topic differently must update this test).
      const found = new Set([...summary.peers, ...summary.announcers])
      assert.ok(found.size >= 1,
        `nobody announced discoveryKey(group key) = ${summary.topic} on the DHT and nobody connected: ${JSON.stringify(summary)}`)
      const wire = findInBuffer(got.captured, secrets, 'captured.bin')
      const blocks = findInBuffer(got.blocks, secrets, 'blocks.bin')
      assert.deepEqual(wire, [], `plaintext reached the eavesdropper over the wire (${summary.bytesReceived} bytes captured)`)
      assert.deepEqual(blocks, [], `plaintext in blocks the eavesdropper downloaded (${summary.blocksDownloaded} blocks)`)
      // Names members chose are not secrets, but message texts are: check a long, unique
      // part of each too, in case a framing splits the text.
      const halves = secrets.map((s) => s.slice(-16))
      assert.deepEqual(findInBuffer(Buffer.concat([got.captured, got.blocks]), halves), [], 'parts of a message text reached the eavesdropper')
    })
  })

  it("no message text lies in clear on any member's disk, while running and after a clean stop", async () => {
    needGroup()
    assert.ok(secrets.length > 0, 'no messages were sent (see the previous test)')
    await cluster.withLogs(async () => {
      for (const node of cluster.nodes) {
        const { hits, files } = await findInFiles(node.home, secrets)
        assert.ok(files > 0, `${node.name}'s home has files`)
        assert.deepEqual(hits, [], `${node.name}'s files hold message plaintext while the daemon runs`)
      }
      for (const node of cluster.nodes) {
        const exit = await node.stop(15_000)
        assert.equal(exit.forced, false, `${node.name} needed SIGKILL to stop`)
      }
      for (const node of cluster.nodes) {
        const { hits, bytes } = await findInFiles(node.home, secrets)
        assert.ok(bytes > 0, `${node.name}'s home holds data`)
        assert.deepEqual(hits, [], `${node.name}'s files hold message plaintext after a clean stop`)
      }
    })
  })
})

/** Replaces the character in the middle of `code` (or the nearest letter or digit) with another one the code uses. */
function flipMiddle (code: string): string {
  const alphabet = [...new Set(code.replace(/[^a-z0-9]/gi, ''))]
  for (let d = 0; d < code.length; d++) {
    for (const i of [Math.floor(code.length / 2) + d, Math.floor(code.length / 2) - d]) {
      const c = code[i]
      if (c === undefined || !/[a-z0-9]/i.test(c)) continue
      const other = alphabet.find((x) => x.toLowerCase() !== c.toLowerCase())
      if (other === undefined) continue
      return code.slice(0, i) + other + code.slice(i + 1)
    }
  }
  throw new Error(`cannot tamper with ${code}`)
}
