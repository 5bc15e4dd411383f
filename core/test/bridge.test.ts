/**
 * The XMPP bridge's part of group state: the registered bridge member (bridge/register; admins
 * only), the allowlist (bridge/allow, bridge/revoke; admins only) and bridged messages
 * (bridge/post: only from the registered bridge, and the sender must be allowed when the entry
 * is applied), on every peer alike; the facade methods the bridge and the CLI use.
 */
import test from 'node:test'
import assert from 'node:assert/strict'
import { encode } from '../src/codec.ts'
import { commandValue, parseCommand } from '../src/commands.ts'
import { bridgeAllows, bridgedMessageId, normalizeBareJid, normalizeBridgeEntry } from '../src/bridge.ts'
import type { MessageRecord } from '../src/view.ts'
import { makeNodes, waitFor } from './helpers.ts'
import { Lab, converged, hex, randomKey } from './lab.ts'
import { Keyring } from '../src/content.ts'
import { readAllowlist, revokeRef, sealedAllow, sealSender } from '../src/bridge-admin.ts'
import { revealBridged } from '../src/sealed-meta.ts'

test('allowlist entries: bare JIDs and domains, normalized; resources, spaces and junk refused', () => {
  assert.equal(normalizeBridgeEntry('Anna@Jabber.Example.ORG'), 'anna@jabber.example.org')
  assert.equal(normalizeBridgeEntry(' jabber.example.org '), 'jabber.example.org')
  assert.equal(normalizeBridgeEntry('müller@gewerkschaft.de'), 'müller@gewerkschaft.de')
  for (const bad of ['', 'anna@jabber.example.org/phone', 'an na@example.org', '@example.org', 'anna@', 'a@b@c', 'exa mple.org', '-bad.example', 'x'.repeat(300), 42, null]) {
    assert.equal(normalizeBridgeEntry(bad), null, `refuses ${String(bad)}`)
  }
  assert.equal(normalizeBareJid('example.org'), null, 'a domain is no bare JID')
  assert.equal(bridgeAllows(['example.org'], 'anna@example.org'), true)
  assert.equal(bridgeAllows(['example.org'], 'anna@sub.example.org'), false, 'a domain entry does not cover subdomains')
  assert.equal(bridgeAllows(['bob@example.org'], 'anna@example.org'), false)
  const id = bridgedMessageId('general', 'anna@example.org', 'abc')
  assert.match(id, /^[A-Za-z0-9_-]{22}$/)
  assert.equal(id, bridgedMessageId('general', 'anna@example.org', 'abc'))
  assert.notEqual(id, bridgedMessageId('general', 'anna@example.org', 'abd'))
})

test('parseCommand checks bridge entries', () => {
  const parse = (cmd: Record<string, unknown>) => parseCommand(encode({ v: 1, ts: 1, ...cmd }))
  const body = { e: 0, n: Buffer.alloc(24), c: Buffer.alloc(20) }
  assert.equal(parse({ t: 'bridge/allow', entry: 'example.org' }).ok, true)
  assert.deepEqual(parse({ t: 'bridge/allow', entry: 'Example.org' }), { ok: false, type: 'bridge/allow', reason: 'invalid JID or domain' })
  assert.deepEqual(parse({ t: 'bridge/revoke', entry: 'a@example.org/res' }), { ok: false, type: 'bridge/revoke', reason: 'invalid JID or domain' })
  const post = { t: 'bridge/post', id: 'abcdefgh', room: 'general', body, jid: 'anna@example.org', nick: 'Anna' }
  assert.equal(parse(post).ok, true)
  assert.deepEqual(parse({ ...post, jid: 'example.org' }), { ok: false, type: 'bridge/post', reason: 'invalid bridged JID' })
  assert.deepEqual(parse({ ...post, nick: 'a\nb' }), { ok: false, type: 'bridge/post', reason: 'invalid nickname' })
  assert.deepEqual(parse({ ...post, nick: 'x'.repeat(65) }), { ok: false, type: 'bridge/post', reason: 'invalid nickname' })
  assert.deepEqual(parse({ ...post, id: 'short' }), { ok: false, type: 'bridge/post', reason: 'invalid message id' })
  // sealed forms (sealed-meta.ts): an entry with its 32-byte tag, revoked by tag; a sender sealed, naming the allowing entry
  const tag = Buffer.alloc(32, 7)
  assert.equal(parse({ t: 'bridge/allow', sealed: body, tag }).ok, true)
  assert.deepEqual(parse({ t: 'bridge/allow', sealed: body, tag: Buffer.alloc(31) }), { ok: false, type: 'bridge/allow', reason: 'invalid allowlist tag' })
  assert.deepEqual(parse({ t: 'bridge/allow', tag }), { ok: false, type: 'bridge/allow', reason: 'invalid sealed allowlist entry' })
  assert.deepEqual(parse({ t: 'bridge/allow', entry: 'example.org', tag }), { ok: false, type: 'bridge/allow', reason: 'an entry is either in clear or sealed' })
  assert.equal(parse({ t: 'bridge/revoke', tag }).ok, true)
  const sealedPost = { t: 'bridge/post', id: 'abcdefgh', room: 'general', body, from: body, allow: tag }
  assert.equal(parse(sealedPost).ok, true)
  assert.equal(parse({ ...sealedPost, allow: 'example.org' }).ok, true)
  assert.deepEqual(parse({ ...sealedPost, allow: 'Example.org' }), { ok: false, type: 'bridge/post', reason: 'invalid allowlist reference' })
  assert.deepEqual(parse({ ...sealedPost, jid: 'anna@example.org' }), { ok: false, type: 'bridge/post', reason: 'a sender is either in clear or sealed' })
  assert.equal(parse({ t: 'bridge/register', member: Buffer.alloc(32) }).ok, true)
  assert.deepEqual(parse({ t: 'bridge/unregister', member: Buffer.alloc(31) }), { ok: false, type: 'bridge/unregister', reason: 'invalid member' })
  assert.deepEqual(parse({ t: 'group/rename', name: 'x', sealedName: body }), { ok: false, type: 'group/rename', reason: 'a name is either in clear or sealed' })
  assert.equal(parse({ t: 'group/rename', sealedName: body }).ok, true)
})

test('every peer enforces the allowlist and the registered bridge: only admins change them, only the bridge posts bridged messages, for an allowed JID', async (t) => {
  const lab = await Lab.create(t)
  const alice = await lab.creator('alice')
  const bob = await lab.member(alice, 'bob')
  const relay = await lab.member(alice, 'relay')
  const all = [alice.group, bob.group, relay.group]
  const texts = lab.texts(alice.group)
  const bridged = (id: string, jid: string) => ({ t: 'bridge/post' as const, id, room: 'general', body: texts.seal(`from ${jid}`), jid, nick: jid.split('@')[0], ts: Date.now() })
  const register = (who: typeof alice, t: 'bridge/register' | 'bridge/unregister' = 'bridge/register') => ({ t, member: who.id.publicKey, ts: Date.now() })

  // Each step waits for the previous one on every peer, so the log order is the order written here.
  let audits = 0
  const step = async (by: typeof alice, cmd: Parameters<typeof alice.group.append>[0], refused: boolean) => {
    await by.group.append(cmd)
    if (refused) audits++
    return converged(all, `${cmd.t} by ${by.name}`, audits)
  }
  await step(bob, { t: 'bridge/allow', entry: 'evil.example', ts: Date.now() }, true)
  await step(bob, register(bob), true)
  await step(alice, register(relay), false)
  await step(alice, register(relay), true)
  await step(relay, bridged('bridged-0001', 'anna@jabber.example'), true)
  await step(alice, { t: 'bridge/allow', entry: 'jabber.example', ts: Date.now() }, false)
  await step(alice, { t: 'bridge/allow', entry: 'jabber.example', ts: Date.now() }, true)
  // a plain member hand-crafts a bridged post for an allowed JID: refused on every peer
  await step(bob, bridged('bridged-0002', 'anna@jabber.example'), true)
  await step(relay, bridged('bridged-0003', 'anna@jabber.example'), false)
  await step(relay, bridged('bridged-0004', 'mallory@evil.example'), true)
  await step(alice, { t: 'bridge/revoke', entry: 'jabber.example', ts: Date.now() }, false)
  await step(relay, bridged('bridged-0005', 'anna@jabber.example'), true)
  await step(alice, { t: 'bridge/revoke', entry: 'jabber.example', ts: Date.now() }, true)
  await step(alice, { t: 'bridge/allow', entry: 'jabber.example', ts: Date.now() }, false)
  await step(alice, register(relay, 'bridge/unregister'), false)
  const view = await step(relay, bridged('bridged-0006', 'anna@jabber.example'), true)

  for (const peer of [alice, bob, relay]) {
    const reasons = (await peer.group.audit()).map(a => `${a.type}: ${a.reason}`)
    assert.deepEqual(reasons, [
      'bridge/allow: only admins change the bridge allowlist',
      'bridge/register: only admins register the group\'s bridge',
      'bridge/register: already registered as the group\'s bridge',
      'bridge/post: JID not on the bridge allowlist',
      'bridge/allow: already on the bridge allowlist',
      'bridge/post: only the group\'s registered bridge posts bridged messages',
      'bridge/post: JID not on the bridge allowlist',
      'bridge/post: JID not on the bridge allowlist',
      'bridge/revoke: not on the bridge allowlist',
      'bridge/post: only the group\'s registered bridge posts bridged messages'
    ], `audit on ${peer.name}`)
  }
  const messages = view.filter(([k]) => k.startsWith('s!')).map(([, v]) => v as MessageRecord)
  assert.deepEqual(messages.map(m => [m.id, m.author, m.bridged]), [['bridged-0003', hex(relay.id.publicKey), { jid: 'anna@jabber.example', nick: 'anna' }]])
  assert.equal(texts.open(messages[0]), 'from anna@jabber.example')
  assert.deepEqual((await bob.group.bridgeAllowlist()).map(r => r.entry), ['jabber.example'])
  assert.deepEqual(await bob.group.bridgeMembers(), [])
  // the encoded form round-trips
  assert.deepEqual(parseCommand(encode(commandValue(bridged('bridged-0007', 'x@y.example')))).ok, true)
  assert.deepEqual(parseCommand(encode(commandValue(register(relay)))).ok, true)
})

test('facade: admins manage the allowlist; bridged posts and DMs carry the JID and are idempotent', async (t) => {
  const { nodes: [alice, bridge] } = await makeNodes(['alice', 'bridge'], t)
  const { id } = await alice.createGroup('Council')
  await bridge.join((await alice.createInvite(id)).code, { timeoutMs: 30_000 })
  await assert.rejects(bridge.bridgeRegister(id, bridge.whoami().id), { code: 'NOT_PERMITTED' })

  await assert.rejects(bridge.bridgeAllow(id, 'jabber.example'), { code: 'NOT_PERMITTED' })
  await assert.rejects(alice.bridgeAllow(id, 'anna@jabber.example/phone'), { code: 'BAD_REQUEST' })
  const list = await alice.bridgeAllow(id, 'Anna@Jabber.Example')
  assert.deepEqual(list.map(e => [e.entry, e.addedBy]), [['anna@jabber.example', alice.whoami().id]])
  await assert.rejects(alice.bridgeAllow(id, 'anna@jabber.example'), { code: 'BAD_REQUEST', message: /already/ })
  await waitFor(async () => (await bridge.bridgeAllowlist(id)).length === 1, 'allowlist replicated')
  assert.equal(await bridge.bridgeAllowed(id, 'anna@jabber.example/gajim'), true)
  assert.equal(await bridge.bridgeAllowed(id, 'eve@jabber.example'), false)

  const msgId = bridgedMessageId('general', 'anna@jabber.example', 'stanza-1')
  await assert.rejects(bridge.sendBridged(id, { id: msgId, room: 'general', text: 'hello from Jabber', jid: 'anna@jabber.example' }), { code: 'NOT_PERMITTED', message: /not registered as the group's bridge/ })
  assert.deepEqual((await alice.bridgeRegister(id, bridge.whoami().id)).map(r => r.member), [bridge.whoami().id])
  await assert.rejects(alice.bridgeRegister(id, bridge.whoami().id), { code: 'BAD_REQUEST', message: /already registered/ })
  await waitFor(async () => (await bridge.bridgeMembers(id)).length === 1, 'registration replicated')
  // Shown as what it is: the members list marks the registered bridge, and only it.
  const listed = await alice.members(id)
  assert.ok(listed.length >= 2)
  for (const m of listed) assert.equal(m.bridge === true, m.id === bridge.whoami().id, `${m.name}: marked as the bridge only if it is one`)
  const first = await bridge.sendBridged(id, { id: msgId, room: 'general', text: 'hello from Jabber', jid: 'anna@jabber.example', nick: 'Anna' })
  assert.equal(first.duplicate, false)
  assert.deepEqual(first.message.bridged, { jid: 'anna@jabber.example', nick: 'Anna' })
  const again = await bridge.sendBridged(id, { id: msgId, room: 'general', text: 'hello from Jabber', jid: 'anna@jabber.example', nick: 'Anna' })
  assert.equal(again.duplicate, true)
  await assert.rejects(bridge.sendBridged(id, { id: 'other-id-1', room: 'general', text: 'hi', jid: 'eve@jabber.example' }), { code: 'NOT_PERMITTED', message: /allowlist/ })
  await assert.rejects(bridge.sendBridged(id, { id: 'other-id-2', room: 'nowhere', text: 'hi', jid: 'anna@jabber.example' }), { code: 'ROOM_NOT_FOUND' })
  await assert.rejects(bridge.sendBridged(id, { id: 'other-id-3', room: 'general', text: 'hi', jid: 'anna@jabber.example', nick: 'a\u0007' }), { code: 'BAD_REQUEST' })
  const seen = await waitFor(async () => { const m = await alice.messages(id); return m.length === 1 ? m : null }, 'alice sees the bridged message')
  assert.deepEqual([seen[0].text, seen[0].author, seen[0].bridged], ['hello from Jabber', bridge.whoami().id, { jid: 'anna@jabber.example', nick: 'Anna' }])

  const dmId = bridgedMessageId('dm', 'anna@jabber.example', 'stanza-2')
  assert.equal((await bridge.dmBridged(alice.whoami().id, { id: dmId, text: 'just for you', jid: 'anna@jabber.example' })).duplicate, false)
  assert.equal((await bridge.dmBridged(alice.whoami().id, { id: dmId, text: 'just for you', jid: 'anna@jabber.example' })).duplicate, true)
  const dms = await waitFor(async () => { const m = await alice.dmMessages(bridge.whoami().id); return m.length === 1 ? m : null }, 'alice gets the bridged DM')
  assert.deepEqual(dms[0].bridged, { jid: 'anna@jabber.example' })

  assert.deepEqual(await alice.bridgeRevoke(id, 'anna@jabber.example'), [])
  await assert.rejects(alice.bridgeRevoke(id, 'anna@jabber.example'), { code: 'BAD_REQUEST', message: /not on/ })
})

test('sealed allowlist entries and senders: every peer checks the tag a bridged post names; readers without the key see neither entry nor sender', async (t) => {
  const lab = await Lab.create(t)
  const alice = await lab.creator('alice')
  const bob = await lab.member(alice, 'bob')
  const relay = await lab.member(alice, 'relay')
  const all = [alice.group, bob.group, relay.group]
  const keyring = new Keyring(lab.encryptionKey, alice.group.discoveryKey)
  const dk = alice.group.discoveryKey
  const texts = lab.texts(alice.group)
  const allow = sealedAllow(keyring, 0, dk, 'jabber.example', Date.now())
  const post = (id: string, extra: Record<string, unknown>) => ({ t: 'bridge/post' as const, id, room: 'general', body: texts.seal('hi'), from: sealSender(keyring, 0, 'anna@jabber.example', 'Anna'), ts: Date.now(), ...extra })

  let audits = 0
  const step = async (by: typeof alice, cmd: any, refused: boolean) => {
    await by.group.append(cmd)
    if (refused) audits++
    return converged(all, `${cmd.t} by ${by.name}`, audits)
  }
  await step(alice, { t: 'bridge/register', member: relay.id.publicKey, ts: Date.now() }, false)
  await step(alice, { ...allow, sealed: { ...allow.sealed!, e: 5 } }, true)
  await step(alice, allow, false)
  await step(relay, post('sealed-0001', { allow: allow.tag }), false)
  await step(bob, post('sealed-0002', { allow: allow.tag }), true)
  await step(relay, post('sealed-0003', { allow: Buffer.alloc(32, 1) }), true)
  await step(relay, post('sealed-0004', {}), true)
  await step(relay, post('sealed-0005', { allow: allow.tag, from: { ...sealSender(keyring, 0, 'x@jabber.example'), e: 3 } }), true)
  await step(alice, revokeRef(allow.tag!, Date.now()), false)
  const view = await step(relay, post('sealed-0006', { allow: allow.tag }), true)

  assert.deepEqual((await bob.group.audit()).map(a => `${a.type}: ${a.reason}`), [
    'bridge/allow: sealed under an epoch that does not exist',
    'bridge/post: only the group\'s registered bridge posts bridged messages',
    'bridge/post: JID not on the bridge allowlist',
    'bridge/post: JID not on the bridge allowlist',
    'bridge/post: sealed under an epoch that does not exist',
    'bridge/post: JID not on the bridge allowlist'
  ])
  const messages = view.filter(([k]) => k.startsWith('s!')).map(([, v]) => v as MessageRecord)
  assert.deepEqual(messages.map(m => m.id), ['sealed-0001'])
  assert.equal(messages[0].bridged, undefined, 'no sender in clear')
  assert.deepEqual(revealBridged(messages[0], keyring), { jid: 'anna@jabber.example', nick: 'Anna' })
  assert.deepEqual(revealBridged(messages[0], new Keyring(randomKey(), dk)), { jid: '' }, 'without the key: bridged, sender hidden')
  assert.equal(view.some(([, v]) => JSON.stringify(v).includes('jabber.example')), false, 'the view holds no entry or JID in clear')
  // while the entry was on the list, the keyring opened it; a reader with another key sees nothing
  await alice.group.append(sealedAllow(keyring, 0, dk, 'other.example', Date.now()))
  assert.deepEqual((await readAllowlist(alice.group, keyring)).map(r => r.entry), ['other.example'])
  assert.deepEqual(await readAllowlist(alice.group, new Keyring(randomKey(), dk)), [])
})
