import test from 'node:test'
import assert from 'node:assert/strict'
import crypto from 'hypercore-crypto'
import { makeNodes, waitFor } from './helpers.ts'

test('a linked device joins the same identity: same groups, same history, both write; a revoked one reads nothing new', async (t) => {
  const { nodes: [alice, phone, bob] } = await makeNodes(['alice', 'alice-phone', 'bob'], t)
  const { id } = await alice.createGroup('Works council')
  await bob.join((await alice.createInvite(id)).code, { timeoutMs: 30_000 })
  const before = await bob.send(id, 'history from before the link')

  const { code } = await alice.deviceLink()
  const linked = await phone.deviceAdd(code, { timeoutMs: 30_000 })
  assert.equal(linked.member, alice.whoami().id, 'the member id stays the same')
  assert.equal(linked.name, 'alice', 'and the member is named')
  assert.equal(phone.whoami().id, alice.whoami().id)

  await waitFor(async () => (await phone.listGroups()).some(g => g.id === id), 'the phone opens the group from the vault')
  await waitFor(async () => (await phone.messages(id)).some(m => m.id === before.id && m.text === before.text), 'the phone reads the history')
  const fromPhone = await waitFor(async () => { try { return await phone.send(id, 'sent from the phone') } catch { return null } }, 'the phone can write')
  await waitFor(async () => (await bob.messages(id)).some(m => m.id === fromPhone.id && m.author === alice.whoami().id), 'bob sees the phone message as alice\'s')
  assert.equal((await bob.members(id)).length, 2, 'still two members: one person, two devices')

  const later = await alice.createGroup('Later group')
  await waitFor(async () => (await phone.listGroups()).some(g => g.id === later.id), 'a group created after linking reaches the phone')
  assert.equal((await phone.devices()).length, 2)

  const phoneDevice = (await alice.devices()).find(d => !d.current)!
  await alice.revokeDevice(phoneDevice.id)
  const secret = await alice.send(id, 'after the phone was revoked')
  await waitFor(async () => (await bob.messages(id)).some(m => m.id === secret.id && m.text === secret.text), 'bob reads the new message')
  // The entry reaches the phone (replication is by the log's key, not by device): it must arrive
  // and be unreadable there, not pass because it never arrived.
  const onPhone = await waitFor(async () => (await phone.messages(id)).find(m => m.id === secret.id), 'the new message reaches the revoked phone')
  assert.ok(onPhone.unreadable && onPhone.text === '', `the revoked phone cannot read it: ${JSON.stringify(onPhone)}`)
  await assert.rejects(phone.send(id, 'from a revoked phone'), { code: 'NOT_PERMITTED' })
})

test('device add: admitted but the vault not here in time is a link that says so (linked: false), and it completes by itself', async (t) => {
  const { nodes: [alice, phone], locals } = await makeNodes(['alice', 'alice-phone'], t)
  const { id } = await alice.createGroup('Works council')
  await alice.send(id, 'history')
  const { code } = await alice.deviceLink()
  // The first device answers, then drops off the network before the phone has any of the
  // vault: cut when the phone records the vault's key.
  const put = locals[1].put.bind(locals[1])
  let vaultTopic: Buffer | null = null
  locals[1].put = async (name: string, bytes: Uint8Array) => {
    const text = Buffer.from(bytes).toString('utf8')
    const vault = vaultTopic === null ? (JSON.parse(text).logs as Array<{ key: string, kind: string }>).find(l => l.kind === 'vault') : undefined
    if (vault) {
      const topic: Buffer = crypto.discoveryKey(Buffer.from(vault.key, 'hex'))
      vaultTopic = topic
      await alice.transport!.leave(topic)
      ;(alice.transport as any).disconnectAll()
    }
    return put(name, bytes)
  }
  const added = await phone.deviceAdd(code, { timeoutMs: 6000 })
  assert.ok(vaultTopic, 'the first device left right after admitting the phone')
  assert.deepEqual({ member: added.member, linked: added.linked }, { member: null, linked: false })
  assert.notEqual(phone.whoami().id, alice.whoami().id, 'not linked yet')
  await assert.rejects(phone.deviceAdd(code), { code: 'NOT_PERMITTED' }, 'a second add is refused: this device is being linked')
  // The first device is back: the link completes, the phone gets the group and writes as alice.
  await alice.transport!.join(vaultTopic!)
  const events: string[] = []
  t.after(phone.subscribe((e) => { if (e.type === 'identity') events.push(e.member) }))
  await waitFor(() => phone.whoami().id === alice.whoami().id, 'the link completes in the background')
  await waitFor(() => events.length > 0, 'an identity event tells the web app')
  assert.deepEqual(events, [alice.whoami().id])
  await waitFor(async () => (await phone.listGroups()).some(g => g.id === id), 'the phone opens the group from the vault')
  const sent = await waitFor(async () => phone.send(id, 'from the phone').catch(() => null), 'the phone can write')
  await waitFor(async () => (await alice.messages(id)).some(m => m.id === sent.id && m.author === alice.whoami().id), 'alice sees it as her own')
})
