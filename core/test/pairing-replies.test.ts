/**
 * Pairing replies from anyone but the invite's issuer. Every member reads `invite/create`
 * (the invite's public key) in the log, and the request's session travels in the request, so a
 * removed member or a plain member can build a reply blind-pairing opens. The newcomer must
 * ignore all of them — refusals, wrong keys, even the right keys — and wait for the issuer.
 *
 * The hostile peers are raw transports on the real in-memory network, speaking the real
 * pairing channel with what their real Solidar node holds (the invite's public key from
 * its copy of the log, the group key and the encryption key from its log record).
 */
import test from 'node:test'
import assert from 'node:assert/strict'
import Protomux from 'protomux'
import c from 'compact-encoding'
import b4a from 'b4a'
import hcrypto from 'hypercore-crypto'
import { CandidateRequest, MemberRequest, createInvite } from 'blind-pairing-core'
import { makeNodes, waitFor } from './helpers.ts'
import { decodeInviteCode, encodeInviteCode } from '../src/invite-code.ts'
import { judgeReply, signReply } from '../src/pairing-reply.ts'
import { K, getRecord, type InviteRecord } from '../src/view.ts'
import type { MemoryNetwork, MemoryTransport } from '../src/memory-transport.ts'
import type { LogRecord } from '../src/registry.ts'

const hex = (b: Uint8Array) => b4a.toString(b, 'hex') as string
const records = (local: { files: Map<string, Uint8Array> }): LogRecord[] => JSON.parse(Buffer.from(local.files.get('logs.json') ?? '{"logs":[]}').toString('utf8')).logs

interface Knowledge {
  /** The invite's public key for an invite id (hex), as the hostile node can read it. */
  publicKey: (inviteIdHex: string) => Promise<Buffer | null>
  key: Buffer
  encryptionKey: Buffer
  /** The hostile node's own device key pair (a valid signature, just not the issuer's). */
  keyPair: { publicKey: Buffer, secretKey: Buffer }
  /** The issuer's device key (public: it is in the code) to claim in a forged envelope. */
  issuer: Buffer
}

/**
 * A raw peer on the group's topic that answers every join request with every forgery:
 * unwrapped blind-pairing replies (what the old protocol accepted), envelopes signed with its
 * own device key, and envelopes that claim the issuer's key with a signature that is not its.
 */
async function hostile (network: MemoryNetwork, discoveryKey: Buffer, know: Knowledge, t: { after: (fn: () => Promise<void>) => void }) {
  const transport: MemoryTransport = network.transport()
  t.after(() => transport.close())
  let sent = 0
  let last: Buffer | null = null
  transport.on('connection', ({ stream }) => {
    stream.on('error', () => {})
    const mux = Protomux.from(stream)
    const ch: any = mux.createChannel({
      protocol: 'solidar/pairing/v2',
      id: discoveryKey,
      messages: [
        {
          encoding: c.buffer,
          onmessage: async (raw: Buffer) => {
            for (const reply of await forge(raw, discoveryKey, know)) { ch.messages[1].send(reply); sent++; last = reply }
          }
        },
        { encoding: c.buffer, onmessage () {} }
      ]
    })
    if (ch) ch.open()
  })
  await transport.join(discoveryKey)
  return { sent: () => sent, last: () => last }
}

/**
 * What a node's transport receives, frame by frame. Its own listeners (protomux) run first and
 * handle a pairing reply synchronously, so once a frame shows up here the node has judged it.
 */
function received (transport: MemoryTransport) {
  const frames: Buffer[] = []
  transport.on('connection', ({ stream }) => stream.on('data', (chunk: Buffer) => frames.push(chunk)))
  return (needle: Buffer | null) => needle !== null && frames.some(f => f.includes(needle))
}

async function forge (raw: Buffer, discoveryKey: Buffer, know: Knowledge): Promise<Buffer[]> {
  const out: Buffer[] = []
  const variants: Array<(r: any) => void> = [
    (r) => r.deny({ status: 1 }),
    (r) => r.deny({ status: 2 }),
    (r) => r.deny({ status: 3 }),
    (r) => r.confirm({ key: know.key, encryptionKey: hcrypto.randomBytes(32) }),
    (r) => r.confirm({ key: know.key, encryptionKey: know.encryptionKey })
  ]
  for (const make of variants) {
    const r: any = MemberRequest.from(raw)
    r.discoveryKey = discoveryKey
    const publicKey = await know.publicKey(hex(r.inviteId))
    if (!publicKey) return []
    r.open(publicKey)
    make(r)
    const reply: Buffer = r.response
    out.push(reply) // the bare reply, as the old protocol took it
    out.push(signReply(reply, r, know.keyPair)) // signed, by the wrong device
    out.push(signReply(reply, r, know.keyPair, 'revoked'))
    const claimed = signReply(reply, r, know.keyPair)
    out.push(b4a.concat([claimed.subarray(0, claimed.indexOf(know.keyPair.publicKey)), know.issuer, claimed.subarray(claimed.indexOf(know.keyPair.publicKey) + 32)])) // claims the issuer
  }
  return out
}

test('a removed member and a plain member answer join requests: the newcomer ignores them and joins with the admin', async (t) => {
  const { nodes: [alice, bob, carol, dave], network, locals } = await makeNodes(['alice', 'bob', 'carol', 'dave'], t)
  const { id } = await alice.createGroup('Organizing committee')
  await bob.join((await alice.createInvite(id)).code, { timeoutMs: 30_000 })
  await carol.join((await alice.createInvite(id)).code, { timeoutMs: 30_000 })
  await alice.removeMember(id, carol.whoami().id)

  const invite = await alice.createInvite(id)
  const decoded = decodeInviteCode(invite.code)
  const groupKey = b4a.from(records(locals[0]).find(r => r.kind === 'group')!.key, 'hex')
  const realEncryptionKey = b4a.from(records(locals[0]).find(r => r.kind === 'group')!.encryptionKey, 'hex')

  // What bob (member) and carol (removed) hold: their own copy of the log and its keys.
  const knowledge = async (node: typeof bob, local: typeof locals[0]): Promise<Knowledge> => {
    const { base } = await node.logBase(id)
    const rec = records(local).find(r => r.key === hex(groupKey))!
    await waitFor(async () => getRecord<InviteRecord>(base.view, K.invite(hex(decoded.id))), `${node.whoami().name} reads the invite in its log`)
    return {
      publicKey: async (idHex) => {
        const inv = await getRecord<InviteRecord>(base.view, K.invite(idHex))
        return inv ? b4a.from(inv.publicKey, 'hex') : null
      },
      key: b4a.from(rec.key, 'hex'),
      encryptionKey: b4a.from(rec.encryptionKey, 'hex'),
      keyPair: { publicKey: node.identity.publicKey, secretKey: node.identity.secretKey },
      issuer: decoded.issuer
    }
  }
  const fromCarol = await knowledge(carol, locals[2])
  const fromBob = await knowledge(bob, locals[1])
  assert.ok(b4a.equals(fromCarol.encryptionKey, realEncryptionKey), 'the removed member still holds the log\'s encryption key')

  // The admin goes offline, so the hostile answers are the only ones dave gets at first.
  const adminTransport = alice.transport as MemoryTransport
  await adminTransport.leave(decoded.discoveryKey)
  adminTransport.disconnectAll()
  const carolsPeer = await hostile(network, decoded.discoveryKey, fromCarol, t)
  const bobsPeer = await hostile(network, decoded.discoveryKey, fromBob, t)

  const daveGot = received(dave.transport as MemoryTransport)
  let settled = false
  const joining = dave.join(invite.code, { timeoutMs: 60_000 }).finally(() => { settled = true })
  joining.catch(() => {}) // awaited below
  await waitFor(() => carolsPeer.sent() >= 20 && bobsPeer.sent() >= 20 && daveGot(carolsPeer.last()) && daveGot(bobsPeer.last()), 'dave to receive every forged answer')
  assert.equal(settled, false, 'no forged reply ended the join')

  await adminTransport.join(decoded.discoveryKey)
  const joined = await joining
  assert.deepEqual(joined, { id, name: 'Organizing committee', writable: true })
  const daveRecord = records(locals[3]).find(r => r.key === hex(groupKey))
  assert.ok(daveRecord, 'dave holds the group')
  assert.equal(daveRecord.encryptionKey, hex(realEncryptionKey), 'dave got the real encryption key')
  const hello = await dave.send(id, 'hello from dave')
  await waitFor(async () => (await alice.messages(id)).some(m => m.id === hello.id && m.text === 'hello from dave'), 'alice reads dave')
  assert.deepEqual((await alice.members(id)).map(m => m.name).sort(), ['alice', 'bob', 'dave'])
})

test('a revoked device answers a device-link request: the new device ignores it and links with the first device', async (t) => {
  const { nodes: [alice, oldPhone, newPhone], network, locals } = await makeNodes(['alice', 'alice-old-phone', 'alice-new-phone'], t)
  await alice.createGroup('Works council')
  await oldPhone.deviceAdd((await alice.deviceLink()).code, { timeoutMs: 30_000 })
  const oldId = (await alice.devices()).find(d => !d.current)!.id
  await alice.revokeDevice(oldId)

  const { code } = await alice.deviceLink()
  const decoded = decodeInviteCode(code)
  const vault = records(locals[1]).find(r => r.kind === 'vault')!
  // The revoked phone holds the vault and reads its invite/create entry: the invite's public key.
  const know: Knowledge = {
    publicKey: async (idHex) => idHex === hex(decoded.id) ? hcrypto.keyPair(decoded.seed).publicKey : null,
    key: b4a.from(vault.key, 'hex'),
    encryptionKey: b4a.from(vault.encryptionKey, 'hex'),
    keyPair: { publicKey: oldPhone.identity.publicKey, secretKey: oldPhone.identity.secretKey },
    issuer: decoded.issuer
  }
  const adminTransport = alice.transport as MemoryTransport
  await adminTransport.leave(decoded.discoveryKey)
  adminTransport.disconnectAll()
  const peer = await hostile(network, decoded.discoveryKey, know, t)

  const phoneGot = received(newPhone.transport as MemoryTransport)
  let settled = false
  const adding = newPhone.deviceAdd(code, { timeoutMs: 60_000 }).finally(() => { settled = true })
  adding.catch(() => {})
  await waitFor(() => peer.sent() >= 20 && phoneGot(peer.last()), 'the new phone to receive every forged answer')
  assert.equal(settled, false, 'no forged reply ended the link')
  await adminTransport.join(decoded.discoveryKey)
  const added = await adding
  assert.equal(added.member, alice.whoami().id)
  assert.equal(records(locals[2]).find(r => r.kind === 'vault')?.encryptionKey, vault.encryptionKey, 'the new phone got the vault\'s real key')
})

test('judging a reply: only the issuer\'s signature counts, and a confirm must hand out the key the code commits to', () => {
  const issuer = hcrypto.keyPair()
  const other = hcrypto.keyPair()
  const key = hcrypto.randomBytes(32)
  const encryptionKey = hcrypto.randomBytes(32)
  const made = createInvite(key)
  const invite = decodeInviteCode(encodeInviteCode(made.invite, { issuer: issuer.publicKey, encryptionKey }))
  const userData = b4a.from('who I am')
  const candidate: any = new CandidateRequest(invite.invite, userData)
  const answer = (make: (r: any) => void, signer: typeof issuer, reason?: 'revoked' | 'orphaned') => {
    const r: any = MemberRequest.from(candidate.encode())
    r.discoveryKey = invite.discoveryKey
    r.open(made.publicKey)
    make(r)
    return judgeReply(signReply(r.response, r, signer, reason), invite, userData, candidate.session)
  }
  const ok = answer(r => r.confirm({ key, encryptionKey }), issuer)
  assert.ok(ok?.ok && b4a.equals(ok.encryptionKey, encryptionKey) && b4a.equals(ok.key, key))
  assert.equal(answer(r => r.confirm({ key, encryptionKey: hcrypto.randomBytes(32) }), issuer), null, 'the issuer handing out another key is ignored')
  assert.equal(answer(r => r.confirm({ key, encryptionKey }), other), null, 'the right keys from another device are ignored')
  assert.equal(answer(r => r.deny({ status: 1 }), other), null)
  const codes = [
    answer(r => r.deny({ status: 1 }), issuer), answer(r => r.deny({ status: 2 }), issuer), answer(r => r.deny({ status: 3 }), issuer),
    answer(r => r.deny({ status: 1 }), issuer, 'revoked'), answer(r => r.deny({ status: 1 }), issuer, 'orphaned')
  ].map(v => v && !v.ok ? v.error.code : null)
  assert.deepEqual(codes, ['INVITE_REJECTED', 'INVITE_USED', 'INVITE_EXPIRED', 'INVITE_REVOKED', 'INVITE_ORPHANED'])
  // a signature for another session (another candidate's request) does not count here
  const r: any = MemberRequest.from(candidate.encode())
  r.discoveryKey = invite.discoveryKey
  r.open(made.publicKey)
  r.confirm({ key, encryptionKey })
  assert.equal(judgeReply(signReply(r.response, { discoveryKey: invite.discoveryKey, session: hcrypto.randomBytes(32) }, issuer), invite, userData, candidate.session), null)
  for (const junk of [b4a.alloc(0), b4a.from('junk'), hcrypto.randomBytes(200)]) assert.equal(judgeReply(junk, invite, userData, candidate.session), null)
})
