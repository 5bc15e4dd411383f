/**
 * Security properties of the Solidar facade, on real corestores over the in-memory network:
 * invites (single use, expiry, tampering, nobody online), permissions, and DM confidentiality
 * against a third member of the same group, down to the bytes on disk.
 */
import test from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs/promises'
import path from 'node:path'
import b4a from 'b4a'
import hcrypto from 'hypercore-crypto'
import { createInvite } from 'blind-pairing-core'
import { failure, makeNodes, waitFor } from './helpers.ts'
import { Group } from '../src/group.ts'
import { decodeInviteCode, encodeInviteCode } from '../src/invite-code.ts'
import { openDmPayload } from '../src/dm.ts'
import { openSealed } from '../src/seal.ts'
import { decode } from '../src/codec.ts'
import { epochZeroKey, openContent } from '../src/content.ts'
import type { LogRecord } from '../src/registry.ts'


const elapsed = async (p: Promise<unknown>, code: string) => {
  const start = Date.now()
  const err = await failure(p, code)
  return { err, ms: Date.now() - start }
}

async function filesUnder (dir: string): Promise<string[]> {
  const out: string[] = []
  for (const entry of await fs.readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name)
    if (entry.isDirectory()) out.push(...await filesUnder(p))
    else if (entry.isFile()) out.push(p)
  }
  return out
}

/** Files under `dir` whose raw bytes contain `needle`. */
async function filesContaining (dir: string, needle: Uint8Array): Promise<string[]> {
  const hits: string[] = []
  for (const file of await filesUnder(dir)) {
    if ((await fs.readFile(file)).indexOf(needle) !== -1) hits.push(path.relative(dir, file))
  }
  return hits
}

const records = (local: { files: Map<string, Uint8Array> }): LogRecord[] => JSON.parse(Buffer.from(local.files.get('logs.json') ?? '{"logs":[]}').toString('utf8')).logs

test('an invite admits one person: the second join is refused with INVITE_USED', async (t) => {
  const { nodes: [alice, bob, carol] } = await makeNodes(['alice', 'bob', 'carol'], t)
  const { id } = await alice.createGroup('Shop stewards')
  const invite = await alice.createInvite(id)
  assert.equal(invite.uses, 1)
  await bob.join(invite.code, { timeoutMs: 30_000 })
  await failure(carol.join(invite.code, { timeoutMs: 30_000 }), 'INVITE_USED')
  assert.deepEqual(await carol.listGroups(), [], 'carol keeps no half-joined group')
  await waitFor(async () => (await bob.members(id)).length === 2, 'bob synced')
  assert.deepEqual((await alice.members(id)).map(m => m.name).sort(), ['alice', 'bob'])
  assert.deepEqual(await alice.audit(id), [], 'the admin refused before writing anything')

  // a multi-use invite admits exactly as many people as it says
  const { nodes: [dave, erin, frank, gina] } = await makeNodes(['dave', 'erin', 'frank', 'gina'], t)
  const g2 = await dave.createGroup('Two seats')
  const two = await dave.createInvite(g2.id, { uses: 2 })
  await erin.join(two.code, { timeoutMs: 30_000 })
  await frank.join(two.code, { timeoutMs: 30_000 })
  await failure(gina.join(two.code, { timeoutMs: 30_000 }), 'INVITE_USED')
  assert.deepEqual((await dave.members(g2.id)).map(m => m.name).sort(), ['dave', 'erin', 'frank'])
})

test('an expired invite is refused locally before contacting anyone, and by the admin if the code lies', async (t) => {
  let offset = 0
  const now = () => Date.now() + offset
  const { nodes: [alice, bob] } = await makeNodes(['alice', 'bob'], t, { now })
  const { id } = await alice.createGroup('Night shift')
  const invite = await alice.createInvite(id, { expiresMs: 1000 })
  assert.ok(Math.abs(invite.expires - (now() + 1000)) < 500)
  offset = 5000 // five seconds later, on both clocks

  // 1. the code's own expiry: refused at once, no network traffic at all
  const local = await elapsed(bob.join(invite.code, { timeoutMs: 30_000 }), 'INVITE_EXPIRED')
  assert.ok(local.ms < 500, `local check took ${local.ms} ms`)
  assert.match(local.err.message, /^This invite expired on \d{4}-\d\d-\d\dT/)
  assert.match(local.err.message, new RegExp(new Date(decodeInviteCode(invite.code).expires).toISOString().slice(0, 16)))
  assert.equal(bob.transport!.connectionCount, 0, 'bob never connected to anyone')

  // 2. a code re-made with the same invite seed but a later expiry (anyone holding the code can do
  //    this: the expiry is not signed). The local check passes; the admin checks the group's own
  //    record of the invite and denies it as expired.
  const decoded = decodeInviteCode(invite.code)
  const forged = encodeInviteCode(createInvite(null, { discoveryKey: decoded.discoveryKey, seed: decoded.seed, expires: now() + 3_600_000 }).invite, { issuer: decoded.issuer, encryptionKey: hcrypto.randomBytes(32) })
  assert.ok(b4a.equals(decodeInviteCode(forged).id, decoded.id), 'same invite id, so the admin finds the invite')
  const remote = await failure(bob.join(forged, { timeoutMs: 30_000 }), 'INVITE_EXPIRED')
  assert.equal(remote.message, 'This invite has expired', 'no made-up date (the candidate does not know the real one)')
  assert.deepEqual(await bob.listGroups(), [])
  assert.deepEqual((await alice.members(id)).map(m => m.name), ['alice'])
  assert.deepEqual(await alice.audit(id), [])
})

test('a tampered code is INVITE_MALFORMED at once', async (t) => {
  const { nodes: [alice, bob] } = await makeNodes(['alice', 'bob'], t)
  const { id } = await alice.createGroup('Typos')
  const { code } = await alice.createInvite(id)
  const i = 30
  const tampered = code.slice(0, i) + (code[i] === 'y' ? 'b' : 'y') + code.slice(i + 1)
  const { err, ms } = await elapsed(bob.join(tampered, { timeoutMs: 30_000 }), 'INVITE_MALFORMED')
  assert.match(err.message, /checksum does not match/)
  assert.ok(ms < 200, `took ${ms} ms`)
  await failure(bob.join(code.slice(0, code.length - 5), { timeoutMs: 30_000 }), 'INVITE_MALFORMED')
  await failure(bob.join('', { timeoutMs: 30_000 }), 'INVITE_MALFORMED')
  assert.equal(bob.transport!.connectionCount, 0)
  // the real code still works afterwards
  assert.equal((await bob.join(code, { timeoutMs: 30_000 })).id, id)
})

test('joining while no member is online ends with JOIN_TIMEOUT after the given time', async (t) => {
  const { nodes: [alice, bob] } = await makeNodes(['alice', 'bob'], t)
  const { id } = await alice.createGroup('Offline')
  const { code } = await alice.createInvite(id)
  await alice.transport!.close() // alice goes offline; she is the only member
  const { err, ms } = await elapsed(bob.join(code, { timeoutMs: 1500 }), 'JOIN_TIMEOUT')
  assert.ok(ms >= 1400 && ms < 4000, `gave up after ${ms} ms`)
  assert.match(err.message, /No member of the group answered within 2 s/) // 1.5 s, rounded
  assert.deepEqual(await bob.listGroups(), [], 'no group is recorded for a join that did not happen')
  // the invite was not consumed
  assert.equal((await alice.members(id)).length, 1)
})

test('only admins invite; only authors edit and delete', async (t) => {
  const { nodes: [alice, bob, carol] } = await makeNodes(['alice', 'bob', 'carol'], t)
  const { id } = await alice.createGroup('Permissions')
  await bob.join((await alice.createInvite(id)).code, { timeoutMs: 30_000 })
  await carol.join((await alice.createInvite(id)).code, { timeoutMs: 30_000 })

  const notAdmin = await failure(bob.createInvite(id), 'NOT_PERMITTED')
  assert.match(notAdmin.message, /Only admins/)
  await failure(bob.createInvite(id, { role: 'admin' }), 'NOT_PERMITTED')

  const msg = await bob.send(id, 'first draft')
  const edited = await bob.edit(id, msg.id, 'second draft')
  assert.equal(edited.text, 'second draft')
  assert.ok(edited.editedTs)
  await waitFor(async () => (await alice.messages(id)).find(m => m.id === msg.id)?.text === 'second draft', 'alice sees the edit')
  await waitFor(async () => (await carol.messages(id)).find(m => m.id === msg.id)?.text === 'second draft', 'carol sees the edit')

  // neither an admin nor another member may change bob's words
  const byAdmin = await failure(alice.edit(id, msg.id, 'alice rewrites it'), 'NOT_PERMITTED')
  assert.match(byAdmin.message, /Only the author/)
  await failure(alice.deleteMessage(id, msg.id), 'NOT_PERMITTED')
  await failure(carol.edit(id, msg.id, 'carol rewrites it'), 'NOT_PERMITTED')
  await failure(carol.deleteMessage(id, msg.id), 'NOT_PERMITTED')
  await failure(carol.edit(id, 'no-such-message-id', 'x'), 'MESSAGE_NOT_FOUND')

  const deleted = await bob.deleteMessage(id, msg.id)
  assert.equal(deleted.deleted, true)
  assert.equal(deleted.text, '')
  await failure(bob.edit(id, msg.id, 'resurrected'), 'NOT_PERMITTED')
  await waitFor(async () => (await carol.messages(id)).find(m => m.id === msg.id)?.deleted === true, 'carol sees the deletion')
  // nothing of the above reached the log as a refused entry: the checks happen before appending
  for (const n of [alice, bob, carol]) assert.deepEqual(await n.audit(id), [])
})

test('a DM is unreadable to a third member of the shared group, and no plaintext is ever stored', async (t) => {
  const { nodes, dir, locals } = await makeNodes(['alice', 'bob', 'carol'], t)
  const [alice, bob, carol] = nodes
  const { id } = await alice.createGroup('Confidential')
  await bob.join((await alice.createInvite(id)).code, { timeoutMs: 30_000 })
  await carol.join((await alice.createInvite(id)).code, { timeoutMs: 30_000 })

  const groupText = `group-secret-${b4a.toString(hcrypto.randomBytes(8), 'hex')}`
  const dmText = `dm-secret-${b4a.toString(hcrypto.randomBytes(8), 'hex')}`
  const dmReply = `dm-reply-${b4a.toString(hcrypto.randomBytes(8), 'hex')}`
  await alice.send(id, groupText)
  await alice.dm(bob.whoami().id, dmText)
  await waitFor(async () => (await bob.dmMessages(alice.whoami().id)).some(m => m.text === dmText), 'bob reads the DM', 15_000)
  await bob.dm(alice.whoami().id, dmReply)
  await waitFor(async () => (await alice.dmMessages(bob.whoami().id)).some(m => m.text === dmReply), 'alice reads the reply', 15_000)
  await waitFor(async () => (await carol.messages(id)).some(m => m.text === groupText), 'carol has the group message')

  // carol's API knows nothing of the conversation
  assert.deepEqual(await carol.dmMessages(alice.whoami().id), [])
  assert.deepEqual(await carol.dmMessages(bob.whoami().id), [])
  const dmRecord = records(locals[0]).find(r => r.kind === 'dm')
  assert.ok(dmRecord, 'alice has a DM log')
  assert.deepEqual(records(locals[2]).map(r => r.kind), ['group'], 'carol has no DM log')
  const dmKey = b4a.from(dmRecord.encryptionKey, 'hex')
  const dmBase = b4a.from(dmRecord.key, 'hex')

  // Open carol's copy of the group log directly and look at what it carries.
  const groupRecord = records(locals[2])[0]
  // carol's node has processed both signals (offer from alice, accept from bob): neither was hers
  await waitFor(() => records(locals[2])[0].dmCursor === 2, 'carol went past both DM signals')
  assert.deepEqual(records(locals[2]).map(r => r.kind), ['group'], 'and still has no DM log')
  await carol.close()
  const group = new Group({ store: carol.store.namespace(groupRecord.namespace), key: b4a.from(groupRecord.key, 'hex'), encryptionKey: b4a.from(groupRecord.encryptionKey, 'hex') })
  group.on('error', () => {})
  try {
    await group.ready()
    await group.update()
    const signals = await group.dmSignals()
    assert.deepEqual(signals.map(s => s.t), ['dm/offer', 'dm/accept'])
    assert.deepEqual(signals.map(s => s.from), [b4a.toString(alice.identity.publicKey, 'hex'), b4a.toString(bob.identity.publicKey, 'hex')])
    for (const s of signals) {
      assert.equal(openDmPayload(s.box, carol.identity), null, 'carol cannot open a box sealed to someone else')
      assert.equal(openSealed(s.box, carol.identity.publicKey, carol.identity.secretKey), null)
      assert.equal(b4a.indexOf(s.box, dmKey), -1)
      assert.equal(b4a.indexOf(s.box, dmBase), -1)
    }
    // control: the addressees can open them, so the boxes really are the DM handshake
    const offer = openDmPayload(signals[0].box, bob.identity)
    assert.equal(offer?.kind, 'offer')
    assert.ok(offer?.kind === 'offer' && b4a.equals(offer.encryptionKey, dmKey))
    assert.equal(openDmPayload(signals[1].box, alice.identity)?.kind, 'accept')

    // nothing in carol's decrypted view of the group mentions the DM's text or keys, nor (since
    // the view holds message bodies sealed under the epoch key) the group message's own text
    for await (const { key, value } of group.view.createReadStream({})) {
      const raw = b4a.from(value)
      for (const needle of [dmText, dmReply, dmRecord.encryptionKey, dmRecord.key, groupText]) {
        assert.equal(raw.indexOf(b4a.from(needle)), -1, `view key ${key} contains ${needle}`)
        assert.ok(!JSON.stringify(decode(value)).includes(needle))
      }
      assert.equal(raw.indexOf(dmKey), -1, `view key ${key} holds the DM encryption key`)
    }
    // control: the view is readable, and its sealed body opens with the epoch-0 key of the group log
    const contentKey = epochZeroKey(b4a.from(groupRecord.encryptionKey, 'hex'))
    const opened = (await group.messages()).map(m => m.body && openContent(contentKey, m.body, group.discoveryKey, 'message'))
    assert.deepEqual(opened.map(p => p && b4a.toString(p)), [groupText])
  } finally {
    await group.close()
  }

  // At rest: no node stores any plaintext, of the group or of the DM, and carol's store does not
  // hold the DM key. (alice's and bob's do: Autobase keeps each log's encryption key in the local
  // writer core's user data, next to the same key in the registry file; the device is trusted.)
  // Control: a plain (unencrypted) core with a marker in each store proves the scan finds stored bytes.
  for (const n of nodes) {
    const control = n.store.get({ name: 'scan-control' })
    await control.ready()
    await control.append(b4a.from(`control-${n.label}-marker`))
  }
  for (const n of nodes) { await n.close(); await n.store.close() }
  for (const n of nodes) {
    const storeDir = path.join(dir, n.label)
    assert.ok((await filesUnder(storeDir)).length > 0)
    assert.ok((await filesContaining(storeDir, b4a.from(`control-${n.label}-marker`))).length > 0, `scan finds the control marker in ${n.label}'s store`)
    for (const needle of [groupText, dmText, dmReply]) {
      assert.deepEqual(await filesContaining(storeDir, b4a.from(needle)), [], `${n.label}'s store holds "${needle}" in plaintext`)
    }
  }
  const carolDir = path.join(dir, 'carol')
  for (const needle of [dmKey, b4a.from(dmRecord.encryptionKey), dmBase]) {
    assert.deepEqual(await filesContaining(carolDir, needle), [], 'carol\'s store holds the DM key or base key')
  }
})
