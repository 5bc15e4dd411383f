import test from 'node:test'
import assert from 'node:assert/strict'
import { makeNodes, waitFor } from './helpers.ts'

test('a linked device joins the same identity: same groups, same history, both write; a revoked one reads nothing new', async (t) => {
  const { nodes: [alice, phone, bob] } = await makeNodes(['alice', 'alice-phone', 'bob'], t)
  const { id } = await alice.createGroup('Works council')
  await bob.join((await alice.createInvite(id)).code, { timeoutMs: 30_000 })
  const before = await bob.send(id, 'history from before the link')

  const { code } = await alice.deviceLink()
  const linked = await phone.deviceAdd(code, { timeoutMs: 30_000 })
  assert.equal(linked.member, alice.whoami().id, 'the member id stays the same')
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
  await new Promise(resolve => setTimeout(resolve, 500))
  const onPhone = (await phone.messages(id)).find(m => m.id === secret.id)
  if (onPhone) assert.ok(onPhone.unreadable && onPhone.text === '', 'the revoked phone cannot read it')
  await assert.rejects(phone.send(id, 'from a revoked phone'), { code: 'NOT_PERMITTED' })
})
