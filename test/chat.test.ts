/**
 * Group chat across three real daemons on a private loopback DHT, driven through the CLI:
 * joining by invite, one order of messages on every member, rooms, and direct messages
 * that only their two ends can read.
 */
import { describe, it, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { Cluster, type GroupRef, type LogEntry, type SolidarNode } from './helpers/cluster.ts'
import { formatResult, solidar } from './helpers/cli.ts'
import { waitFor } from './helpers/wait.ts'

const tag = randomBytes(4).toString('hex')
const ids = (log: LogEntry[]): string[] => log.map((m) => m.id)

describe('chat between three daemons', { timeout: 240_000 }, () => {
  let cluster: Cluster
  let alice: SolidarNode
  let bob: SolidarNode
  let carol: SolidarNode
  /** Joins last, into a group with history. */
  let dave: SolidarNode
  let group: GroupRef | undefined
  let everyone: SolidarNode[]
  /** The room that messages sent without --room land in (read from the first message). */
  let defaultRoom: string | undefined

  before(async () => {
    cluster = await Cluster.start({ names: ['alice', 'bob', 'carol', 'dave'] })
    ;[alice, bob, carol, dave] = cluster.nodes
    everyone = [alice, bob, carol]
  }, { timeout: 120_000 })

  after(async () => { await cluster?.close() })

  const needGroup = (): GroupRef => {
    assert.ok(group, 'the group was not set up (see the first test)')
    return group
  }

  it('alice creates a group; bob and carol join with their own single-use invites', async () => {
    await cluster.withLogs(async () => {
      group = await cluster.createGroup(alice, `council-${tag}`, [bob, carol])
      for (const node of everyone) {
        const groups = await node.json<Array<{ id: string, name: string, role: string | null, members: number }>>(['group', 'list'])
        const mine = groups.find((g) => g.id === group!.id)
        assert.ok(mine, `${node.name}'s group list lacks the group: ${JSON.stringify(groups)}`)
        assert.equal(mine.name, group.name)
        assert.equal(mine.role, node === alice ? 'admin' : 'member', `${node.name}'s role`)
        assert.equal(mine.members, 3, `${node.name} counts the members`)
      }
      const members = await carol.json<Array<{ id: string, name: string, role: string }>>(['members', group.id])
      const byId = new Map(members.map((m) => [m.id, m]))
      assert.equal(members.length, 3, JSON.stringify(members))
      assert.deepEqual(byId.get(alice.id) && { name: byId.get(alice.id)!.name, role: byId.get(alice.id)!.role }, { name: 'alice', role: 'admin' })
      assert.deepEqual(byId.get(bob.id) && { name: byId.get(bob.id)!.name, role: byId.get(bob.id)!.role }, { name: 'bob', role: 'member' })
      assert.deepEqual(byId.get(carol.id) && { name: byId.get(carol.id)!.name, role: byId.get(carol.id)!.role }, { name: 'carol', role: 'member' })
    })
  })

  it('key verification: both ends see one safety number; verify --mark shows in members --json', async () => {
    const g = needGroup()
    await cluster.withLogs(async () => {
      const [fromAlice, fromBob] = await Promise.all([
        alice.json<{ member: string, safetyNumber: string, fingerprint: string, verified: boolean }>(['verify', bob.id]),
        bob.json<{ member: string, safetyNumber: string, fingerprint: string }>(['verify', alice.id])
      ])
      assert.equal(fromAlice.member, bob.id)
      assert.equal(fromAlice.fingerprint, bob.fingerprint)
      assert.equal(fromBob.fingerprint, alice.fingerprint)
      assert.equal(fromAlice.safetyNumber, fromBob.safetyNumber, 'alice and bob compare the same digits')
      assert.equal(fromAlice.verified, false)
      assert.equal((await alice.json<{ verified: boolean }>(['verify', 'bob', '--mark'])).verified, true)
      const members = await alice.json<Array<{ id: string, verified: boolean }>>(['members', g.id])
      assert.deepEqual(Object.fromEntries(members.map((m) => [m.id, m.verified])), { [alice.id]: false, [bob.id]: true, [carol.id]: false })
      const onCarol = await carol.json<Array<{ id: string, verified: boolean }>>(['members', g.id])
      assert.ok(onCarol.every((m) => !m.verified), "alice's verification stays on alice's device")
    })
  })

  it('messages from all three reach everyone in one and the same order', async () => {
    const g = needGroup()
    await cluster.withLogs(async () => {
      const sent: LogEntry[] = []
      for (const [node, text] of [
        [alice, `alice first ${tag}`], [bob, `bob says hi ${tag}`], [carol, `carol here ${tag}`],
        [alice, `alice second ${tag}`], [bob, `bob again ${tag}`]
      ] as const) {
        const msg = await node.send(g.id, text)
        assert.equal(msg.text, text, `send --json echoes the text (${node.name})`)
        assert.equal(msg.author, node.id, `send --json names ${node.name} as author`)
        assert.equal(msg.authorName, node.name)
        assert.equal(typeof msg.id, 'string')
        sent.push(msg)
      }
      const wanted = sent.map((m) => m.id)
      // Wait until every member holds every message and all three agree on the order.
      const logs = await cluster.converge(everyone, g.id, wanted)
      const [aliceLog] = logs
      for (const [i, log] of logs.entries()) {
        assert.deepEqual(ids(log), ids(aliceLog), `${everyone[i].name}'s order equals alice's`)
        for (let k = 1; k < log.length; k++) assert.ok(log[k].seq > log[k - 1].seq, `seq increases in ${everyone[i].name}'s log`)
      }
      for (const msg of sent) {
        const seen = aliceLog.find((m) => m.id === msg.id)!
        assert.equal(seen.text, msg.text)
        assert.equal(seen.author, msg.author)
        assert.equal(seen.authorName, msg.authorName)
        assert.equal(typeof seen.ts, 'number')
      }
      // One author's messages keep the order in which they were sent.
      const pos = (id: string): number => ids(aliceLog).indexOf(id)
      assert.ok(pos(sent[0].id) < pos(sent[3].id), "alice's two messages in sending order")
      assert.ok(pos(sent[1].id) < pos(sent[4].id), "bob's two messages in sending order")
      defaultRoom = sent[0].room
      assert.ok(sent.every((m) => m.room === defaultRoom), 'messages without --room share one default room')
    })
  })

  it('a second room: messages sent with --room show up only there', async (t) => {
    const g = needGroup()
    const help = await solidar(alice.home, ['--help'])
    const helpText = help.stdout + help.stderr
    if (!/^\s*room\b/m.test(helpText)) {
      t.skip('the CLI has no `room` command (checked `solidar --help`); rooms are not tested here')
      return
    }
    await cluster.withLogs(async () => {
      const room = `strike-${tag}`
      await alice.ok(['room', 'create', g.id, room])
      const msg = await bob.send(g.id, `in the strike room ${tag}`, { room })
      assert.equal(msg.room, room)
      await Promise.all(everyone.map(async (node) => {
        const inRoom = await node.waitForLog(g.id, [msg.id], { room })
        assert.ok(inRoom.every((m) => m.room === room), `${node.name}: log --room ${room} shows only that room: ${JSON.stringify(inRoom)}`)
        const all = await node.log(g.id)
        assert.equal(all.find((m) => m.id === msg.id)?.room, room, `${node.name}: log without --room includes it, tagged with its room`)
        if (defaultRoom !== undefined) {
          const main = await node.log(g.id, { room: defaultRoom })
          assert.ok(!ids(main).includes(msg.id), `${node.name}: the default room ${defaultRoom} does not show it`)
          assert.ok(main.length > 0 && main.every((m) => m.room === defaultRoom), `${node.name}: log --room ${defaultRoom} shows that room's messages only`)
        }
      }))
    })
  })

  it('direct messages reach only their two ends', async () => {
    needGroup()
    await cluster.withLogs(async () => {
      const toBob = `psst bob, only for you ${tag}`
      const toAlice = `psst alice, got it ${tag}`
      const a = await alice.json<LogEntry>(['dm', bob.id, toBob])
      assert.equal(a.text, toBob)
      const b = await bob.json<LogEntry>(['dm', 'alice', toAlice]) // by (unambiguous) display name
      assert.equal(b.text, toAlice)

      const both = [a.id, b.id]
      await Promise.all([[alice, bob], [bob, alice]].map(([me, peer]) => waitFor(async () => {
        const log = await me.apiList<LogEntry>(`/api/dms/${peer.id}/messages`)
        return both.every((id) => ids(log).includes(id))
      }, { timeout: 45_000, interval: 200, what: `both DMs in ${me.name}'s conversation with ${peer.name}` })))
      const [onAlice, onBob] = await Promise.all([alice.dmLog(bob.id), bob.dmLog(alice.id)])
      for (const [name, log] of [['alice', onAlice], ['bob', onBob]] as const) {
        assert.ok(both.every((id) => ids(log).includes(id)), `${name}'s \`log --dm\` shows both DMs: ${JSON.stringify(log)}`)
      }
      assert.deepEqual(ids(onBob), ids(onAlice), 'both ends show the DMs in the same order')
      assert.equal(onBob.find((m) => m.id === a.id)?.text, toBob)
      assert.equal(onAlice.find((m) => m.id === b.id)?.text, toAlice)
      assert.equal(onBob.find((m) => m.id === a.id)?.author, alice.id)

      // Carol shares a group with both but must see none of it: not in a DM view, not in the group.
      for (const peer of [alice, bob]) {
        const r = await carol.run(['log', '--dm', peer.id, '--json'])
        const out = r.stdout + r.stderr
        assert.ok(!out.includes(toBob) && !out.includes(toAlice), `carol's \`log --dm ${peer.name}\` shows a DM between alice and bob:\n${out}`)
        if (r.code === 0) {
          const log = JSON.parse(r.stdout) as LogEntry[]
          assert.ok(!ids(log).includes(a.id) && !ids(log).includes(b.id), `carol's DM log with ${peer.name} holds their DM ids`)
        }
      }
      const carolGroup = await carol.log(group!.id)
      assert.ok(!carolGroup.some((m) => m.text === toBob || m.text === toAlice || m.id === a.id || m.id === b.id),
        "a DM showed up in carol's group log")
    })
  })

  it('a newcomer joining a group with history sees the sync progress and, when join returns, has every message', async () => {
    const g = needGroup()
    await cluster.withLogs(async () => {
      // Some history: 150 more messages from alice, 10 at a time through the API.
      for (let i = 0; i < 150; i += 10) {
        await Promise.all(Array.from({ length: 10 }, async (_, k) => {
          const r = await alice.api({ method: 'POST', path: `/api/groups/${g.id}/messages`, body: { text: `history ${i + k} ${tag}` } })
          assert.equal(r.status, 201, r.text)
        }))
      }
      const total = (await alice.history(`/api/groups/${g.id}/messages`)).length
      assert.ok(total >= 150, `alice has ${total} messages`)
      const code = await alice.ok(['invite', g.id])
      const r = await dave.run(['join', code, '--timeout', '60s'], { timeout: 180_000 })
      assert.equal(r.code, 0, formatResult(r))
      assert.match(r.stdout, new RegExp(`Joined group council-${tag}`))
      assert.match(r.stderr, /Syncing history: [\d,]+ messages here/, `progress on stderr:\n${r.stderr}`)
      const done = /History complete: ([\d,]+) messages/.exec(r.stderr)
      assert.ok(done, `join reports the history complete:\n${r.stderr}`)
      assert.equal(Number(done[1].replace(/,/g, '')), total, 'the count join reports')
      // Right away, without waiting: dave's node holds every message.
      assert.equal((await dave.history(`/api/groups/${g.id}/messages`)).length, total)
      const status = await dave.json<{ groups: Array<{ id: string, sync: { state: string, missing: number, unapplied: number } }> }>(['status'])
      const mine = status.groups.find((x) => x.id === g.id)
      assert.deepEqual(mine && { state: mine.sync.state, missing: mine.sync.missing, unapplied: mine.sync.unapplied }, { state: 'synced', missing: 0, unapplied: 0 })
    })
  })
})
