/**
 * Multi-device across real daemons: alice links her phone (a separate node with its own home);
 * the phone gets the same member id, the group and its history, and can write; after alice
 * revokes it, the phone reads nothing new and its disk holds none of the later texts.
 */
import { describe, it, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { Cluster, type GroupRef, type LogEntry, type SolidarNode } from './helpers/cluster.ts'
import { findInFiles } from './helpers/disk.ts'
import { waitFor } from './helpers/wait.ts'

const tag = randomBytes(4).toString('hex')
const canary = (what: string): string => `canary-${what}-${randomBytes(8).toString('hex')}`

describe('multi-device', { timeout: 300_000 }, () => {
  let cluster: Cluster
  let alice: SolidarNode
  let bob: SolidarNode
  let phone: SolidarNode
  let group: GroupRef

  before(async () => {
    cluster = await Cluster.start({ names: ['alice', 'bob', 'phone'] })
    ;[alice, bob, phone] = cluster.nodes
    group = await cluster.withLogs(() => cluster.createGroup(alice, `devices-${tag}`, [bob]))
  }, { timeout: 180_000 })

  after(async () => { await cluster?.close() })

  it('a linked device is the same member, with the same groups and history, and writes', async () => {
    await cluster.withLogs(async () => {
      const history = await bob.send(group.id, `before the link ${tag}`)
      const code = (await alice.ok(['device', 'link'])).trim()
      const added = JSON.parse(await phone.ok(['device', 'add', code, '--timeout', '60s', '--json']))
      const aliceMe = JSON.parse(await alice.ok(['whoami', '--json']))
      const aliceId = aliceMe.id
      assert.equal(added.member, aliceId, 'the member id stays the same')
      assert.equal(added.linked, true, 'linked within the wait')
      assert.match(added.name, /^alice$/i, 'device add names the member, not only an id')
      const phoneMe = JSON.parse(await phone.ok(['whoami', '--json']))
      assert.equal(phoneMe.id, aliceId, 'whoami on the phone shows alice\'s id')
      // The fingerprint others compare is the member's: the same on both devices; the device key is the phone's own.
      assert.equal(phoneMe.fingerprint, aliceMe.fingerprint)
      assert.notEqual(phoneMe.device, phoneMe.fingerprint)
      assert.match(await phone.ok(['whoami']), /device: .*this device's own key/)
      await phone.waitForLog(group.id, [history.id], { timeout: 60_000 })
      const sent = await waitFor(async () => {
        const r = await phone.run(['send', group.id, `from the phone ${tag}`, '--json'])
        return r.code === 0 ? JSON.parse(r.stdout) as LogEntry : null
      }, { timeout: 60_000, interval: 500, what: 'the phone to be able to write' })
      const seen = await bob.waitForLog(group.id, [sent.id])
      assert.equal(seen.find(m => m.id === sent.id)?.author, aliceId, 'bob sees the phone\'s message as alice\'s')
      const devices = JSON.parse(await alice.ok(['device', 'list', '--json'])) as Array<{ id: string, current: boolean }>
      assert.equal(devices.length, 2)
    })
  })

  it('a revoked device reads nothing new', async () => {
    await cluster.withLogs(async () => {
      const devices = JSON.parse(await alice.ok(['device', 'list', '--json'])) as Array<{ id: string, current: boolean }>
      const other = devices.find(d => !d.current)
      assert.ok(other, 'the phone is listed')
      await alice.ok(['device', 'revoke', other.id])
      const secret = canary('after-revoke')
      const m = await alice.send(group.id, secret)
      await bob.waitForLog(group.id, [m.id])
      // The entry must reach the phone (replication is by the log's key) and be unreadable there.
      const onPhone = await waitFor(async () => (await phone.apiList<LogEntry & { unreadable?: boolean }>(`/api/groups/${group.id}/messages`)).find(e => e.id === m.id) ?? null,
        { timeout: 60_000, interval: 250, what: 'the new message to reach the revoked phone' })
      assert.ok(onPhone.unreadable === true && onPhone.text === '', `the phone sees it only as unreadable: ${JSON.stringify(onPhone)}`)
      const r = await phone.run(['send', group.id, 'from a revoked phone'])
      assert.notEqual(r.code, 0, 'the revoked phone cannot write')
      await phone.stop()
      const { hits } = await findInFiles(phone.home, [secret])
      assert.deepEqual(hits, [], 'the phone\'s disk does not hold the new text')
    })
  })
})
