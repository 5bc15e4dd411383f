import test from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import b4a from 'b4a'
import Corestore from 'corestore'
import { createIdentity, fingerprint, MemoryLocalStore, memberId, Solidar } from '../src/index.ts'
import { keyChangedWarning, safetyNumber, safetyNumberHalf, VerificationStore } from '../src/verification.ts'
import { makeNodes, waitFor } from './helpers.ts'
import { getText, putText } from '../src/registry.ts'

const A = b4a.alloc(32, 1)
const B = b4a.alloc(32, 2)
const hex = (b: Uint8Array) => b4a.toString(b, 'hex') as string

test('safety number: the reference vector (checked against an independent implementation)', () => {
  assert.equal(safetyNumberHalf(A), '049937187124931332281743753060')
  assert.equal(safetyNumberHalf(B), '461860875974724543563184140671')
  assert.equal(safetyNumber(A, B), '04993 71871 24931 33228 17437 53060 46186 08759 74724 54356 31841 40671')
})

test('safety number: the same for both ends, 12 groups of 5 digits', () => {
  const alice = createIdentity('alice').publicKey
  const bob = createIdentity('bob').publicKey
  const n = safetyNumber(alice, bob)
  assert.equal(n, safetyNumber(bob, alice))
  assert.match(n, /^\d{5}( \d{5}){11}$/)
})

test('safety number: a changed key changes its half and leaves the other half', () => {
  const alice = createIdentity('alice').publicKey
  const bob = createIdentity('bob').publicKey
  const mallory = createIdentity('bob').publicKey
  const withBob = safetyNumber(alice, bob)
  const withMallory = safetyNumber(alice, mallory)
  assert.notEqual(withBob, withMallory)
  const digits = (n: string) => n.replace(/ /g, '')
  assert.ok(digits(withBob).includes(safetyNumberHalf(alice)) && digits(withMallory).includes(safetyNumberHalf(alice)))
  assert.ok(!digits(withMallory).includes(safetyNumberHalf(bob)))
  // one flipped bit is enough
  const flipped = b4a.from(bob)
  flipped[31] ^= 1
  assert.notEqual(safetyNumber(alice, flipped), withBob)
  assert.throws(() => safetyNumber(alice, bob.subarray(0, 31)), { code: 'BAD_REQUEST' })
})

test('VerificationStore: mark, status, unmark and reload from the local store', async () => {
  const local = new MemoryLocalStore()
  const store = new VerificationStore(local, { now: () => 1_700_000_000_000 })
  await store.load()
  const bob = hex(B)
  assert.equal(store.status(bob, 'bob'), 'unverified')
  await store.mark(bob, 'bob')
  assert.equal(store.status(bob, 'bob'), 'verified')
  const saved = JSON.parse((await getText(local, 'verified.json'))!)
  assert.deepEqual(saved, { version: 1, verified: { [bob]: { name: 'bob', fingerprint: fingerprint(B), ts: 1_700_000_000_000 } } })

  const again = new VerificationStore(local)
  await again.load()
  assert.equal(again.status(bob, 'bob'), 'verified')
  assert.deepEqual(again.get(bob), { name: 'bob', fingerprint: fingerprint(B), ts: 1_700_000_000_000 })

  assert.equal(await again.unmark(bob), true)
  assert.equal(await again.unmark(bob), false)
  const third = new VerificationStore(local)
  await third.load()
  assert.equal(third.status(bob, 'bob'), 'unverified')
})

test('VerificationStore: another key under a verified name is key-changed', async () => {
  const store = new VerificationStore(new MemoryLocalStore())
  await store.load()
  const bob = hex(B)
  const impostor = hex(b4a.alloc(32, 3))
  assert.equal(store.status(impostor, 'bob'), 'unverified')
  await store.mark(bob, 'bob')
  assert.equal(store.status(impostor, 'bob'), 'key-changed')
  assert.equal(store.status(impostor, ' BOB '), 'key-changed', 'names compare like member references: trimmed, case-insensitive')
  assert.equal(store.status(impostor, 'carol'), 'unverified')
  assert.equal(store.status(bob, 'bob'), 'verified')
  // accepting the new key makes it verified too
  await store.mark(impostor, 'bob')
  assert.equal(store.status(impostor, 'bob'), 'verified')
})

test('VerificationStore: a look-alike of a verified name is key-changed (Cyrillic, Greek, fullwidth, zero-width, bidi, case)', async () => {
  const store = new VerificationStore(new MemoryLocalStore())
  await store.load()
  const nodeA = hex(B)
  const impostor = hex(b4a.alloc(32, 3))
  await store.mark(nodeA, 'nodeA')
  for (const name of ['node\u0410', 'nod\u0435A', 'n\u03BFdeA', '\uFF4E\uFF4F\uFF44\uFF45\uFF21', 'node\u200BA', 'nodeA\u200D', '\u202EnodeA', 'NODEA']) {
    assert.equal(store.status(impostor, name), 'key-changed', JSON.stringify(name))
  }
  assert.equal(store.status(impostor, 'nodeB'), 'unverified')
  assert.equal(store.status(impostor, 'node\u00C1'), 'unverified', 'a visible accent is another name')
  const warning = keyChangedWarning('node\u0410', store.verifiedNamesakes(impostor, 'node\u0410'))
  assert.match(warning, /KEY CHANGED/)
  assert.ok(warning.includes('The name "node<U+0410>" looks like "nodeA" but is written with other characters.'), warning)
  assert.doesNotMatch(keyChangedWarning('nodeA', store.verifiedNamesakes(impostor, 'nodeA')), /looks like/)
})

test('VerificationStore: a damaged file is an error, not a silent reset', async () => {
  const local = new MemoryLocalStore()
  await putText(local, 'verified.json', '{nope')
  await assert.rejects(new VerificationStore(local).load(), { code: 'BAD_REQUEST' })
  await putText(local, 'verified.json', JSON.stringify({ version: 1, verified: { xyz: { name: 'a', fingerprint: 'f', ts: 1 } } }))
  await assert.rejects(new VerificationStore(local).load(), { code: 'BAD_REQUEST' })
})

test('verify: alice marks bob verified; a second "bob" with another key shows as key changed', async (t) => {
  const { nodes: [alice, bob], locals, network } = await makeNodes(['alice', 'bob'], t)
  // A second node named "bob" with its own key (makeNodes keys directories by name).
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'solidar-core-'))
  const newBob = await Solidar.open({ identity: createIdentity('bob'), store: new Corestore(dir), local: new MemoryLocalStore(), transport: network.transport() })
  t.after(async () => {
    await newBob.close(); await newBob.transport?.close(); await newBob.store.close()
    await fs.rm(dir, { recursive: true, force: true })
  })
  const { id } = await alice.createGroup('Council')
  await bob.join((await alice.createInvite(id)).code, { timeoutMs: 30_000 })
  await waitFor(async () => (await alice.members(id)).length === 2, 'alice sees bob')

  const before = await alice.verify('bob')
  assert.equal(before.member, bob.whoami().id)
  assert.equal(before.name, 'bob')
  assert.equal(before.fingerprint, bob.whoami().fingerprint)
  assert.equal(before.ownFingerprint, alice.whoami().fingerprint)
  assert.equal(before.verified, false)
  assert.equal(before.warning, undefined)
  // bob computes the same safety number on his side
  await waitFor(async () => (await bob.members(id)).length === 2, 'bob sees alice')
  assert.equal((await bob.verify(alice.whoami().id)).safetyNumber, before.safetyNumber)

  const marked = await alice.verify(bob.whoami().id, { mark: true })
  assert.equal(marked.verified, true)
  assert.ok(locals[0].files.get('verified.json')!.includes(b4a.toString(bob.identity.publicKey, 'hex')))
  const byName = Object.fromEntries((await alice.members(id)).map(m => [m.name, { verified: m.verified, keyChanged: m.keyChanged }]))
  assert.deepEqual(byName, { alice: { verified: false, keyChanged: undefined }, bob: { verified: true, keyChanged: undefined } })
  // verification is this device's opinion: bob's view of alice is unchanged
  assert.ok((await bob.members(id)).every(m => m.verified === false))

  // someone else joins under the name "bob"
  await newBob.join((await alice.createInvite(id)).code, { timeoutMs: 30_000 })
  await waitFor(async () => (await alice.members(id)).length === 3, 'alice sees the second bob')
  const now = await alice.members(id)
  const old = now.find(m => m.id === bob.whoami().id)!
  const fresh = now.find(m => m.id === newBob.whoami().id)!
  assert.equal(old.verified, true)
  assert.equal(old.keyChanged, undefined)
  assert.equal(fresh.verified, false)
  assert.equal(fresh.keyChanged, true)

  await assert.rejects(alice.verify('bob'), { code: 'BAD_REQUEST', message: /several members/ })
  const report = await alice.verify(newBob.whoami().id)
  assert.equal(report.keyChanged, true)
  assert.match(report.warning!, /KEY CHANGED/)
  assert.ok(report.warning!.includes(bob.whoami().fingerprint), 'the warning names the key that was verified')
  assert.notEqual(report.safetyNumber, before.safetyNumber)

  // unmarking bob takes the warning away from the newcomer
  await alice.verify(bob.whoami().id, { unmark: true })
  assert.ok((await alice.members(id)).every(m => m.verified === false && m.keyChanged === undefined))
})

test('verify: refuses oneself, unknown members and mark+unmark together', async (t) => {
  const { nodes: [alice, bob] } = await makeNodes(['alice', 'bob'], t)
  const { id } = await alice.createGroup('Council')
  await bob.join((await alice.createInvite(id)).code, { timeoutMs: 30_000 })
  await waitFor(async () => (await alice.members(id)).length === 2, 'alice sees bob')
  await assert.rejects(alice.verify('alice'), { code: 'BAD_REQUEST', message: /cannot verify yourself/ })
  await assert.rejects(alice.verify(alice.whoami().id), { code: 'BAD_REQUEST', message: /cannot verify yourself/ })
  await assert.rejects(alice.verify('nobody'), { code: 'MEMBER_NOT_FOUND' })
  await assert.rejects(alice.verify(memberId(createIdentity('stranger'))), { code: 'MEMBER_NOT_FOUND' })
  await assert.rejects(alice.verify('bob', { mark: true, unmark: true }), { code: 'BAD_REQUEST' })
  assert.equal((await alice.verify('bob')).verified, false, 'nothing was marked')
})
