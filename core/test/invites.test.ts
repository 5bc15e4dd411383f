/**
 * Invites end with their issuer's authority, and admins can list and revoke them.
 * - In `apply` (real Groups, replicated): an invite whose issuer was demoted or removed, or
 *   that an admin revoked, admits nobody, on every peer alike, whoever appends the member/add.
 * - Through Solidar: the joiner gets INVITE_ORPHANED / INVITE_REVOKED from the issuing device
 *   (a clear error, not a timeout), and `listInvites` shows each invite's status.
 */
import test from 'node:test'
import assert from 'node:assert/strict'
import b4a from 'b4a'
import { signBinding } from '../src/binding.ts'
import type { Command } from '../src/commands.ts'
import { createIdentity, type Identity } from '../src/identity.ts'
import { decodeInviteCode } from '../src/invite-code.ts'
import { encodeKey } from '../src/ids.ts'
import { Lab, converged, hex, randomKey, withoutAudit, dump, type Peer } from './lab.ts'
import { failure, makeNodes, waitFor } from './helpers.ts'


test('apply: a demoted or removed issuer\'s invites and revoked invites admit nobody, on every peer, even later re-promoted', async (t) => {
  const lab = await Lab.create(t)
  const alice = await lab.creator('alice')
  const bob = await lab.member(alice, 'bob', 'admin')
  const carol = await lab.member(alice, 'carol', 'admin')
  const all = [alice.group, bob.group, carol.group]
  const invite = () => ({ id: randomKey(), publicKey: randomKey() })
  const far = Date.now() + 3_600_000
  const byBob = invite()
  const byCarol = invite()
  const byAlice = invite()
  await bob.group.append({ t: 'invite/create', ...byBob, role: 'member', expires: far, uses: 5, ts: Date.now() })
  await carol.group.append({ t: 'invite/create', ...byCarol, role: 'member', expires: far, uses: 5, ts: Date.now() })
  await alice.group.append({ t: 'invite/create', ...byAlice, role: 'member', expires: far, uses: 5, ts: Date.now() })
  await converged(all, 'invites made', 0)
  for (const g of all) {
    const rec = await g.invite(hex(byBob.id))
    assert.equal(rec?.createdBy, hex(bob.id.publicKey))
    assert.equal(rec?.device, hex(bob.id.publicKey), 'the issuing device is recorded')
  }

  const admit = (by: Peer, inv: { id: Buffer }, who: Identity = createIdentity('newcomer')): Command => {
    const writer = randomKey()
    return { t: 'member/add', member: who.publicKey, writer, name: who.name, role: 'member', sig: signBinding(alice.group.key, writer, who.secretKey), invite: inv.id, ts: Date.now() }
  }
  let audits = 0
  const refused = async (by: Peer, cmd: Command, reason: string) => {
    const before = withoutAudit(await dump(alice.group.view))
    await by.group.append(cmd)
    audits++
    const after = await converged(all, `every peer refuses: ${reason}`, audits)
    assert.deepEqual(withoutAudit(after), before, 'nothing but the audit changed')
    for (const g of all) assert.deepEqual((await g.audit()).at(-1), { n: audits, writer: hex(by.group.localWriterKey), type: 'member/add', reason })
  }

  // demoted: bob's invite ends, even when another admin (alice) does the admitting
  await alice.group.append({ t: 'member/role', member: bob.id.publicKey, role: 'member', ts: Date.now() })
  await converged(all, 'bob demoted', audits)
  for (const g of all) assert.ok((await g.invite(hex(byBob.id)))?.orphaned, 'the invite is marked as ended')
  await refused(alice, admit(alice, byBob), 'the invite\'s issuer is no longer an admin')
  // ...and stays ended when bob is an admin again
  await alice.group.append({ t: 'member/role', member: bob.id.publicKey, role: 'admin', ts: Date.now() })
  await converged(all, 'bob promoted again', audits)
  await refused(alice, admit(alice, byBob), 'the invite\'s issuer is no longer an admin')

  // removed: carol's invite ends
  await alice.group.append({ t: 'member/remove', member: carol.id.publicKey, ts: Date.now() })
  await converged([alice.group, bob.group], 'carol removed')
  await converged(all, 'carol removed (everywhere)', audits)
  await refused(bob, admit(bob, byCarol), 'the invite\'s issuer is no longer an admin')

  // revoked by another admin (bob revokes alice's): it ends; alice's own invite is untouched before
  await bob.group.append({ t: 'invite/revoke', id: byAlice.id, ts: Date.now() })
  await converged(all, 'revoked', audits)
  for (const g of all) assert.equal((await g.invite(hex(byAlice.id)))?.revokedBy, hex(bob.id.publicKey))
  await refused(alice, admit(alice, byAlice), 'invite revoked')

  // a plain member cannot revoke; a second revoke is refused
  const dave = await lab.member(alice, 'dave')
  const fresh = invite()
  await alice.group.append({ t: 'invite/create', ...fresh, role: 'member', expires: far, uses: 1, ts: Date.now() })
  await converged([...all.slice(0, 2), dave.group], 'fresh invite')
  const before = withoutAudit(await dump(alice.group.view))
  await dave.group.append({ t: 'invite/revoke', id: fresh.id, ts: Date.now() })
  await bob.group.append({ t: 'invite/revoke', id: byAlice.id, ts: Date.now() })
  audits += 2
  const after = await converged([alice.group, bob.group, dave.group], 'bad revokes audited', audits)
  assert.deepEqual(withoutAudit(after), before)
  assert.deepEqual((await alice.group.audit()).slice(-2).map(a => a.reason).sort(), ['invite already revoked', 'only admins revoke invites'])

  // the open invite still admits
  const erin = createIdentity('erin')
  await alice.group.append(admit(alice, fresh, erin))
  await converged([alice.group, bob.group, dave.group], 'erin admitted', audits)
  assert.equal((await bob.group.member(hex(erin.publicKey)))?.name, 'erin')
})

test('a removed or demoted issuer\'s code is refused with INVITE_ORPHANED, a revoked one with INVITE_REVOKED; admins list and revoke', async (t) => {
  const { nodes: [alice, bob, carol, dave, erin] } = await makeNodes(['alice', 'bob', 'carol', 'dave', 'erin'], t)
  const { id } = await alice.createGroup('Strike committee')
  await bob.join((await alice.createInvite(id, { role: 'admin' })).code, { timeoutMs: 30_000 })
  await waitFor(async () => (await bob.members(id)).find(m => m.name === 'bob')?.role === 'admin', 'bob is admin')

  // bob makes an invite, then alice demotes him: bob's own node refuses the code, saying why
  const fromBob = await bob.createInvite(id)
  assert.equal(fromBob.id, encodeKey(decodeInviteCode(fromBob.code).id))
  // (demoting bob before alice has his invite would order the demotion first: the invite would never exist)
  await waitFor(async () => (await alice.listInvites(id)).some(i => i.id === fromBob.id), 'alice has bob\'s invite')
  await alice.setRole(id, bob.whoami().id, 'member')
  await waitFor(async () => (await bob.members(id)).find(m => m.name === 'bob')?.role === 'member', 'bob sees his demotion')
  const orphaned = await failure(carol.join(fromBob.code, { timeoutMs: 30_000 }), 'INVITE_ORPHANED')
  assert.match(orphaned.message, /no longer an admin/)
  assert.deepEqual(await carol.listGroups(), [])

  // listing: admins only; statuses
  await failure(bob.listInvites(id), 'NOT_PERMITTED')
  const wrongChat = await alice.createInvite(id, { uses: 3 })
  let list = await alice.listInvites(id)
  const status = (inviteId: string) => list.find(i => i.id === inviteId)?.status
  assert.equal(status(fromBob.id), 'orphaned')
  assert.equal(status(wrongChat.id), 'open')
  assert.equal(list.find(i => i.id === wrongChat.id)?.createdByName, 'alice')
  assert.equal(list.find(i => i.id === wrongChat.id)?.uses, 3)
  assert.ok(list.every(i => !('code' in i) && !('seed' in i) && !('publicKey' in i)), 'a listing never shows what admits people')

  // revoking by code: the joiner is refused with INVITE_REVOKED at once (the issuer answers)
  await failure(bob.revokeInvite(id, wrongChat.code), 'NOT_PERMITTED')
  const revoked = await alice.revokeInvite(id, wrongChat.code)
  assert.equal(revoked.status, 'revoked')
  assert.equal(revoked.revokedBy, alice.whoami().id)
  await failure(alice.revokeInvite(id, wrongChat.id), 'NOT_PERMITTED')
  await failure(dave.join(wrongChat.code, { timeoutMs: 30_000 }), 'INVITE_REVOKED')

  // revoking by id
  const another = await alice.createInvite(id)
  await alice.revokeInvite(id, another.id)
  await failure(dave.join(another.code, { timeoutMs: 30_000 }), 'INVITE_REVOKED')
  await failure(alice.revokeInvite(id, encodeKey(randomKey())), 'INVITE_NOT_FOUND')
  await failure(alice.revokeInvite(id, 'not an id'), 'INVITE_NOT_FOUND')
  list = await alice.listInvites(id)
  assert.deepEqual(list.filter(i => i.status === 'revoked').map(i => i.id).sort(), [wrongChat.id, another.id].sort())

  // removed: alice promotes bob again, bob invites, alice removes bob; bob's node still answers for its code, with a refusal
  await alice.setRole(id, bob.whoami().id, 'admin')
  await waitFor(async () => (await bob.members(id)).find(m => m.name === 'bob')?.role === 'admin', 'bob is admin again')
  const beforeRemoval = await bob.createInvite(id)
  await waitFor(async () => (await alice.listInvites(id)).some(i => i.id === beforeRemoval.id), 'alice has bob\'s invite')
  await alice.removeMember(id, bob.whoami().id)
  await waitFor(async () => !(await alice.members(id)).some(m => m.name === 'bob'), 'bob removed')
  await waitFor(async () => (await bob.members(id).catch(() => [])).every(m => m.name !== 'bob'), 'bob sees his removal')
  await failure(erin.join(beforeRemoval.code, { timeoutMs: 30_000 }), 'INVITE_ORPHANED')
  assert.deepEqual((await alice.members(id)).map(m => m.name), ['alice'], 'nobody was admitted by an ended invite')
  assert.ok(b4a.isBuffer(decodeInviteCode(beforeRemoval.code).issuer))
})
