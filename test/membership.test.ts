/**
 * Membership across real daemons: only admins manage members; a removed member's node,
 * still running and replicating, holds no plaintext of anything written after the removal
 * (its API shows those messages as unreadable, its disk does not contain them) and cannot
 * write; roles change; leaving makes a node forget the group.
 */
import { describe, it, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { Cluster, type GroupRef, type LogEntry, type SolidarNode } from './helpers/cluster.ts'
import { formatResult } from './helpers/cli.ts'
import { findInFiles } from './helpers/disk.ts'
import { waitFor } from './helpers/wait.ts'

const tag = randomBytes(4).toString('hex')
const canary = (what: string): string => `canary-${what}-${randomBytes(8).toString('hex')}`

interface Member { id: string, name: string, role: string }

describe('membership and removal', { timeout: 400_000 }, () => {
  let cluster: Cluster
  let alice: SolidarNode
  let bob: SolidarNode
  let carol: SolidarNode
  let group: GroupRef

  before(async () => {
    cluster = await Cluster.start({ names: ['alice', 'bob', 'carol'] })
    ;[alice, bob, carol] = cluster.nodes
    group = await cluster.withLogs(() => cluster.createGroup(alice, `members-${tag}`, [bob, carol]))
  }, { timeout: 180_000 })

  after(async () => { await cluster?.close() })

  const members = (node: SolidarNode): Promise<Member[]> => node.apiList<Member>(`/api/groups/${group.id}/members`)

  it('a member is refused admin actions locally', async () => {
    await cluster.withLogs(async () => {
      for (const args of [['remove', group.id, bob.id], ['role', group.id, bob.id, 'admin'], ['group', 'rename', group.id, 'Taken over']]) {
        const r = await carol.run(args)
        assert.equal(r.code, 1, `carol ${args[0]} must fail\n${formatResult(r)}`)
        assert.match(r.stderr, /only admins/i, `the reason is named\n${formatResult(r)}`)
      }
      assert.equal((await members(alice)).length, 3)
    })
  })

  it('a removed member reads nothing written afterwards and cannot write', async () => {
    await cluster.withLogs(async () => {
      const before = canary('before')
      const earlier = await alice.send(group.id, before)
      await cluster.converge([alice, bob, carol], group.id, [earlier.id], { what: 'the message before the removal' })

      const removed = JSON.parse(await alice.ok(['remove', group.id, carol.id, '--json']))
      assert.equal(removed.id, carol.id)
      await waitFor(async () => !(await members(bob)).some(m => m.id === carol.id), { timeout: 45_000, interval: 200, what: 'bob to see carol removed' })

      const secrets = [canary('after-alice'), canary('after-bob')]
      const sent: LogEntry[] = [await alice.send(group.id, secrets[0]), await bob.send(group.id, secrets[1])]
      await cluster.converge([alice, bob], group.id, sent.map(m => m.id), { what: 'alice and bob to agree after the removal' })
      const bobLog = await bob.log(group.id)
      assert.deepEqual(sent.map(m => bobLog.find(e => e.id === m.id)?.text), secrets, 'remaining members read the new messages')

      // carol's daemon keeps running and replicating (by the log's key): the new entries reach
      // her, and must be unreadable there — checked once they arrived, never passed by absence.
      const carolLog = await waitFor(async () => {
        const list = await carol.apiList<LogEntry & { unreadable?: boolean }>(`/api/groups/${group.id}/messages`)
        return sent.every(m => list.some(e => e.id === m.id)) ? list : null
      }, { timeout: 60_000, interval: 250, what: 'the messages written after the removal to reach carol' })
      assert.equal(carolLog.find(e => e.id === earlier.id)?.text, before, 'control: carol still reads what was written before')
      for (const m of sent) {
        const seen = carolLog.find(e => e.id === m.id)
        assert.ok(seen?.unreadable === true && seen.text === '', `carol sees ${m.id} only as unreadable: ${JSON.stringify(seen)}`)
      }
      assert.ok(!JSON.stringify(carolLog).includes('canary-after'), 'no later plaintext in carol\'s API')

      const r = await carol.run(['send', group.id, canary('from-removed')])
      assert.equal(r.code, 1, `carol can no longer write\n${formatResult(r)}`)
      assert.match(r.stderr, /current key|no longer a member|cannot write/i, formatResult(r))

      await carol.stop()
      const { hits, files } = await findInFiles(carol.home, secrets)
      assert.ok(files > 0, 'carol\'s home was scanned')
      assert.deepEqual(hits, [], 'carol\'s disk holds none of the later texts')
    })
  })

  it('an admin promotes a member, who can then invite; a member who leaves forgets the group', async () => {
    await cluster.withLogs(async () => {
      await alice.ok(['role', group.id, bob.id, 'admin'])
      await waitFor(async () => (await members(bob)).find(m => m.id === bob.id)?.role === 'admin', { timeout: 45_000, interval: 200, what: 'bob to see himself admin' })
      const code = (await bob.ok(['invite', group.id])).trim()
      assert.match(code, /^solidar1/, 'bob, now admin, creates an invite')

      const left = JSON.parse(await bob.ok(['leave', group.id, '--json']))
      assert.equal(left.id, group.id)
      const groups = JSON.parse(await bob.ok(['group', 'list', '--json'])) as Array<{ id: string }>
      assert.ok(!groups.some(g => g.id === group.id), 'bob no longer lists the group')
      await waitFor(async () => !(await members(alice)).some(m => m.id === bob.id), { timeout: 45_000, interval: 200, what: 'alice to see bob gone' })
      const after = await alice.send(group.id, `after bob left ${tag}`)
      assert.equal(after.text, `after bob left ${tag}`, 'alice, still holding the current key, keeps writing')
    })
  })
})
