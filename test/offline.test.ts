/**
 * Members come and go: a daemon that was stopped catches up when it returns, and a daemon
 * killed with SIGKILL right after acknowledging a `send` keeps that message and still
 * delivers it.
 */
import { describe, it, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { Cluster, type GroupRef, type LogEntry, type SolidarNode } from './helpers/cluster.ts'
import { EXIT_NO_DAEMON, formatResult } from './helpers/cli.ts'

const tag = randomBytes(4).toString('hex')
const ids = (log: LogEntry[]): string[] => log.map((m) => m.id)

describe('offline members and crashes', { timeout: 300_000 }, () => {
  let cluster: Cluster
  let alice: SolidarNode
  let bob: SolidarNode
  let carol: SolidarNode
  let group: GroupRef | undefined

  before(async () => {
    cluster = await Cluster.start({ names: ['alice', 'bob', 'carol'] })
    ;[alice, bob, carol] = cluster.nodes
    group = await cluster.withLogs(() => cluster.createGroup(alice, `offline-${tag}`, [bob, carol]))
  }, { timeout: 180_000 })

  after(async () => { await cluster?.close() })

  const needGroup = (): GroupRef => {
    assert.ok(group, 'the group was not set up')
    return group
  }

  /** Waits until every node in `nodes` holds `wanted` and all agree on the order of the whole log. */
  const converge = (nodes: SolidarNode[], wanted: string[], what: string): Promise<LogEntry[][]> =>
    cluster.converge(nodes, needGroup().id, wanted, { what })

  it('SIGTERM stops bob cleanly; CLI commands for his home then exit 2', async () => {
    const g = needGroup()
    await cluster.withLogs(async () => {
      const exit = await bob.stop(15_000)
      assert.equal(exit.forced, false, 'bob did not exit within 15 s of SIGTERM (needed SIGKILL)')
      assert.equal(exit.code, 0, `bob's daemon exit after SIGTERM: code ${exit.code} signal ${exit.signal}`)
      const r = await bob.run(['send', g.id, `bob is offline ${tag}`])
      assert.equal(r.code, EXIT_NO_DAEMON, `send without a running daemon\n${formatResult(r)}`)
      assert.match(r.stderr, /\S/, 'a message on stderr')
    })
  })

  it('alice and carol write while bob is offline; bob catches up after a restart', async () => {
    const g = needGroup()
    await cluster.withLogs(async () => {
      const sent: LogEntry[] = []
      for (const [node, text] of [
        [alice, `while bob sleeps 1 ${tag}`], [carol, `while bob sleeps 2 ${tag}`],
        [alice, `while bob sleeps 3 ${tag}`], [carol, `while bob sleeps 4 ${tag}`]
      ] as const) sent.push(await node.send(g.id, text))
      const wanted = sent.map((m) => m.id)
      const [aliceLog] = await converge([alice, carol], wanted, 'alice and carol to agree on 4 new messages')

      await bob.start()
      const [bobLog, aliceNow] = await converge([bob, alice], wanted, 'bob, restarted with the same home, to catch up with alice')
      for (const msg of sent) assert.equal(bobLog.find((m) => m.id === msg.id)?.text, msg.text)
      assert.deepEqual(ids(bobLog), ids(aliceNow))
      assert.ok(aliceNow.length >= aliceLog.length)
    })
  })

  it('a message acknowledged right before SIGKILL, while the sender was alone, survives the crash and is delivered later', async () => {
    const g = needGroup()
    await cluster.withLogs(async () => {
      for (const node of [alice, bob]) {
        const exit = await node.stop(15_000)
        assert.equal(exit.forced, false, `${node.name} needed SIGKILL to stop`)
      }
      const msg = await carol.send(g.id, `alone, then crashed ${tag}`)
      await carol.kill9()
      await carol.start()
      const own = await carol.waitForLog(g.id, [msg.id], { timeout: 20_000 })
      assert.equal(own.find((m) => m.id === msg.id)?.text, msg.text, "carol's own log after the crash")

      await Promise.all([alice.start(), bob.start()])
      const logs = await converge([alice, bob, carol], [msg.id], 'alice and bob, back online, to receive what only crashed-and-restarted carol had')
      for (const log of logs) assert.equal(log.find((m) => m.id === msg.id)?.text, msg.text)

      // The crashed node still writes normally.
      const after = await carol.send(g.id, `after the crash ${tag}`)
      await converge([alice, bob, carol], [after.id], 'a message carol sends after her restart to reach everyone')
    })
  })
})
