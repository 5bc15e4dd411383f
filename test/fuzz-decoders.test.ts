/**
 * Reliability 6a — hostile input to every protocol decoder, with fast-check: random bytes,
 * random CBOR values, values shaped like the real messages with random fields, and valid
 * encodings with bytes flipped, inserted, cut or appended. Each decoder has a contract for
 * bad input — return null / `{ok: false}`, or throw its own error type (INVITE_MALFORMED,
 * `MatchError`, `Rejected`) — and anything else (a TypeError, a RangeError, a hang, an
 * accepted forgery) fails the property. fast-check prints the seed and the shrunk input of a
 * failure; replay with SOLIDAR_SEED.
 *
 * Runs per decoder: 1,500 by default (a few seconds in all), 50,000 with SOLIDAR_LONG=1.
 * Decoders reached only through a live connection (pad presence, pairing requests, hypercore
 * replication) are fuzzed on a running node in hostile-peers.test.ts.
 */
import test from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import fc from 'fast-check'
import b4a from 'b4a'
import hcrypto from 'hypercore-crypto'
import { parseCommand, commandValue } from '@solidar/core/commands'
import { decode, encode } from '@solidar/core/codec'
import { decodeInviteCode, encodeInviteCode } from '@solidar/core/invite-code'
import { decodeJoinUserData, encodeJoinUserData } from '@solidar/core/admission'
import { decodeHello, decodeProofs, encodeHello, encodeProofs, FrameReader, MatchError } from '@solidar/core/lan-matching'
import { openMessage, parseSignal, Rejected, sealMessage } from '@solidar/core/meetings/wire'
import { openSealed, seal } from '@solidar/core/seal'
import { openDmPayload, sealDmPayload } from '@solidar/core/dm'
import { openEpochKey, sealEpochKey } from '@solidar/core/keys'
import { Keyring, isSealed, openContent, sealContent } from '@solidar/core/content'
import { createIdentity } from '@solidar/core/identity'
import { isSolidarError } from '@solidar/core/errors'
import { LONG } from './helpers/seeded.ts'

const RUNS = LONG ? 50_000 : 1_500
const seedEnv = process.env.SOLIDAR_SEED
const params = (runs = RUNS): fc.Parameters<unknown> => ({
  numRuns: runs,
  interruptAfterTimeLimit: LONG ? 120_000 : 15_000,
  ...(seedEnv ? { seed: Number(seedEnv) } : {})
})

/** A valid encoding with random damage: flips, insertions, deletions, truncation, appended bytes. */
function mutated (valid: fc.Arbitrary<Uint8Array>): fc.Arbitrary<Uint8Array> {
  const edit = fc.oneof(
    fc.record({ op: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
    fc.record({ op: fc.constant('set' as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
    fc.record({ op: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }) }),
    fc.record({ op: fc.constant('delete' as const), at: fc.nat(), n: fc.integer({ min: 1, max: 16 }) }),
    fc.record({ op: fc.constant('cut' as const), at: fc.nat() }),
    fc.record({ op: fc.constant('append' as const), bytes: fc.uint8Array({ minLength: 1, maxLength: 64 }) })
  )
  return fc.tuple(valid, fc.array(edit, { minLength: 1, maxLength: 4 })).map(([bytes, edits]) => {
    let b = Buffer.from(bytes)
    for (const e of edits) {
      const at = b.length === 0 ? 0 : ('at' in e ? e.at % b.length : 0)
      if (e.op === 'flip' && b.length > 0) { b = Buffer.from(b); b[at] ^= 1 << e.bit }
      if (e.op === 'set' && b.length > 0) { b = Buffer.from(b); b[at] = e.byte }
      if (e.op === 'insert') b = Buffer.concat([b.subarray(0, at), e.bytes, b.subarray(at)])
      if (e.op === 'delete') b = Buffer.concat([b.subarray(0, at), b.subarray(at + e.n)])
      if (e.op === 'cut') b = b.subarray(0, at)
      if (e.op === 'append') b = Buffer.concat([b, e.bytes])
    }
    return b
  })
}

/** Random CBOR values, including binary and nested maps. */
const cborValue = fc.anything({ withTypedArray: false, maxDepth: 4, withBigInt: false, withNullPrototype: false })
  .chain((v) => fc.constant(v))
const bytesOf = (n: number) => fc.uint8Array({ minLength: n, maxLength: n }).map((u) => Buffer.from(u))
/** Maps whose `toString`/`valueOf` are not functions: `String(x)` throws a TypeError on them (a decoder once did). */
const HOSTILE_OBJECTS: unknown[] = [{ toString: '' }, { toString: 1, valueOf: 2 }, { valueOf: null, toString: {} }]
const fieldValue = fc.oneof(fc.string({ maxLength: 80 }), fc.integer(), fc.double(), fc.boolean(), fc.constant(null),
  bytesOf(32), bytesOf(64), bytesOf(24), fc.uint8Array({ maxLength: 300 }).map((u) => Buffer.from(u)), cborValue,
  fc.constantFrom(...HOSTILE_OBJECTS))

const COMMANDS = ['group/create', 'group/rename', 'member/add', 'member/remove', 'member/leave', 'member/role', 'epoch/rotate',
  'member/device', 'member/revoke-device', 'vault/log', 'vault/writer', 'invite/create', 'room/create', 'message/post',
  'message/edit', 'message/delete', 'dm/offer', 'dm/accept', 'pad/create', 'pad/update', 'pad/rename', 'pad/archive',
  'bridge/allow', 'bridge/revoke', 'bridge/post', 'bridge/register', 'bridge/unregister']
const FIELDS = ['v', 't', 'ts', 'id', 'room', 'body', 'name', 'kind', 'member', 'memberName', 'writer', 'sig', 'role', 'invite',
  'keys', 'epoch', 'device', 'cert', 'publicKey', 'expires', 'uses', 'box', 'pad', 'title', 'archived', 'entry', 'jid', 'nick',
  'replyTo', 'peer', 'e', 'n', 'c', 'box', 'h', 'sealedName', 'sealed', 'tag', 'from', 'allow']
/** Maps shaped like log entries (v: 1, a real command name, a ts) with random fields of random types. */
const commandLike = fc.record({
  t: fc.constantFrom(...COMMANDS),
  ts: fc.oneof(fc.nat(), fc.integer(), fc.double()),
  fields: fc.dictionary(fc.constantFrom(...FIELDS), fieldValue, { maxKeys: 8 })
}).map(({ t, ts, fields }) => encode({ v: 1, ...fields, t, ts }))

const validPost = fc.record({ text: fc.uint8Array({ maxLength: 200 }) }).map(({ text }) => encode(commandValue({
  t: 'message/post', id: 'abcdefgh12', room: 'general', body: { e: 0, n: randomBytes(24), c: Buffer.from(text) }, ts: 1
} as any)))

const unexpected = (what: string, err: unknown): never => {
  throw new Error(`${what} threw an unexpected ${(err as Error)?.constructor?.name}: ${(err as Error)?.stack ?? String(err)}`)
}

test('cbor decode never throws, also for nesting bombs and huge length claims', () => {
  fc.assert(fc.property(fc.oneof(fc.uint8Array({ maxLength: 512 }), mutated(cborValue.map((v) => encode(v)))), (buf) => {
    try { decode(buf) } catch (err) { unexpected('decode', err) }
  }), params())
  const before = process.memoryUsage().rss
  for (const bomb of [
    Buffer.alloc(200_000, 0x81), // [[[[…]]]] 200,000 deep
    Buffer.alloc(200_000, 0xa1), // {{{…}}} maps nested
    Buffer.from([0x5b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]), // a byte string of 2^64 − 1 bytes
    Buffer.from([0x9b, 0x00, 0x00, 0x00, 0x0f, 0xff, 0xff, 0xff, 0xff]), // an array of 64 G items
    Buffer.from([0xbb, 0x00, 0x00, 0x00, 0x0f, 0xff, 0xff, 0xff, 0xff, 0x01]) // a map of 64 G entries
  ]) {
    try { decode(bomb) } catch (err) { unexpected('decode(bomb)', err) }
  }
  assert.ok(process.memoryUsage().rss - before < 200 * 1024 * 1024, 'decoding bombs allocates no more than 200 MB')
})

test('parseCommand: bad entries are {ok: false}, never an exception', () => {
  const check = (buf: Uint8Array) => {
    let r
    try { r = parseCommand(buf) } catch (err) { unexpected('parseCommand', err) }
    assert.equal(typeof r!.ok, 'boolean')
    if (!r!.ok) assert.equal(typeof (r as any).reason, 'string')
  }
  fc.assert(fc.property(fc.oneof(fc.uint8Array({ maxLength: 600 }), commandLike, mutated(validPost), mutated(commandLike), cborValue.map((v) => encode(v))), check), params(RUNS * 3))
})

test('invite codes: anything but a valid code is INVITE_MALFORMED', () => {
  const valid = fc.uint8Array({ minLength: 40, maxLength: 120 }).map((u) => encodeInviteCode(u, { issuer: new Uint8Array(32), encryptionKey: new Uint8Array(32) }))
  const damaged = fc.tuple(valid, fc.nat(), fc.string({ minLength: 1, maxLength: 3 })).map(([code, at, s]) => {
    const i = at % code.length
    return code.slice(0, i) + s + code.slice(i + 1)
  })
  fc.assert(fc.property(fc.oneof(fc.string({ maxLength: 200 }), fc.constant('solidar1'), damaged, valid, fieldValue), (code) => {
    try {
      decodeInviteCode(code)
    } catch (err) {
      if (!isSolidarError(err) || err.code !== 'INVITE_MALFORMED') unexpected('decodeInviteCode', err)
    }
  }), params())
})

test('pairing user data: garbage is null', () => {
  const id = createIdentity('fuzz')
  const valid = fc.constant(encodeJoinUserData({ member: id.publicKey, writer: randomBytes(32), sig: randomBytes(64), name: 'Fuzz' } as any))
  fc.assert(fc.property(fc.oneof(fc.uint8Array({ maxLength: 400 }), mutated(valid), cborValue.map((v) => encode(v)),
    fc.dictionary(fc.constantFrom('member', 'writer', 'sig', 'name', 'device', 'cert'), fieldValue).map((o) => encode(o))), (buf) => {
    let r
    try { r = decodeJoinUserData(buf) } catch (err) { unexpected('decodeJoinUserData', err) }
    if (r !== null) {
      assert.equal(r!.member.byteLength, 32)
      assert.equal(r!.writer.byteLength, 32)
      assert.equal(r!.sig.byteLength, 64)
    }
  }), params())
})

test('decoders: a version or field whose toString is not a function is refused as malformed, never a TypeError', () => {
  // The counterexample fast-check found in a CI run (LAN matching frame {v: {toString: ''}, …}).
  const found = Buffer.from([185, 0, 4, 97, 118, 185, 0, 1, 104, 116, 111, 83, 116, 114, 105, 110, 103, 96, 97, 116, 101, 104, 101, 108, 108, 111, 101, 110, 111, 110, 99, 101, 96, 102, 112, 114, 111, 111, 102, 115, 88, 64, ...new Array(64).fill(0)])
  assert.throws(() => decodeHello(found), MatchError)
  assert.throws(() => decodeProofs(found), MatchError)
  const dk = randomBytes(32)
  const keyring = new Keyring(randomBytes(32), dk)
  for (const v of HOSTILE_OBJECTS) {
    assert.throws(() => decodeHello(encode({ v, t: 'hello', nonce: randomBytes(32) })), MatchError)
    // A log entry: {ok: false}, so apply audits it instead of failing the whole batch.
    const parsed = parseCommand(encode({ v, t: 'message/post', id: 'abcdefgh', room: 'general', ts: 1 }))
    assert.equal(parsed.ok, false)
    // The live channels' envelope (meetings here; live chat shares it).
    assert.throws(() => openMessage(keyring, encode({ e: 0, n: randomBytes(24), c: randomBytes(40), v, h: 0 })), (err: unknown) => err instanceof Rejected && err.reason === 'malformed')
  }
})

test('LAN matching frames: MatchError or a checked value', () => {
  const okOrMatchError = (what: string, fn: () => unknown) => {
    try { return fn() } catch (err) { if (!(err instanceof MatchError)) unexpected(what, err) }
  }
  const hello = fc.constant(null).map(() => encodeHello(randomBytes(32)))
  const proofs = fc.integer({ min: 0, max: 12 }).map((n) => encodeProofs(Array.from({ length: n }, () => randomBytes(32))))
  const inputs = fc.oneof(fc.uint8Array({ maxLength: 600 }), mutated(hello), mutated(proofs), cborValue.map((v) => encode(v)),
    fc.record({ v: fc.oneof(fc.constant(1), fieldValue), t: fc.constantFrom('hello', 'proofs'), nonce: fieldValue, proofs: fc.oneof(fieldValue, fc.array(fieldValue, { maxLength: 70 })) }).map((o) => encode(o)))
  fc.assert(fc.property(inputs, (buf) => {
    const h = okOrMatchError('decodeHello', () => decodeHello(buf)) as Buffer | undefined
    if (h !== undefined) assert.equal(h.byteLength, 32)
    const p = okOrMatchError('decodeProofs', () => decodeProofs(buf)) as Buffer[] | undefined
    if (p !== undefined) assert.ok(p.every((x) => x.byteLength === 32))
  }), params())
  fc.assert(fc.property(fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 20 }), (chunks) => {
    const reader = new FrameReader()
    for (const c of chunks) {
      reader.append(c)
      for (let i = 0; i < 100; i++) {
        const f = okOrMatchError('FrameReader.next', () => reader.next())
        if (f === null || f === undefined) break
      }
    }
  }), params())
})

test('meeting channel messages: Rejected, never anything else; a forged signature never opens', () => {
  const logKey = randomBytes(32)
  const dk = hcrypto.discoveryKey(logKey)
  const keyring = new Keyring(logKey, dk)
  const other = new Keyring(randomBytes(32), dk)
  const me = createIdentity('fuzz')
  const payloads = fc.oneof(cborValue, fc.record({
    k: fc.constantFrom('announce', 'leave', 'signal', 'x'), m: fc.oneof(fc.constant('meeting123'), fieldValue), se: fc.oneof(fc.constant('session123'), fieldValue),
    ts: fc.oneof(fc.nat(), fieldValue), si: fieldValue, md: fc.oneof(fc.record({ a: fc.boolean(), v: fc.boolean(), s: fc.boolean() }), fieldValue),
    to: fieldValue, tt: fieldValue, x: fieldValue, r: fieldValue
  }, { requiredKeys: ['k'] }))
  const sealed = payloads.map((p) => {
    try { return sealMessage(keyring, 0, me, p as any) } catch { return encode(p) }
  })
  const foreign = payloads.map((p) => { try { return sealMessage(other, 0, me, p as any) } catch { return Buffer.alloc(0) } })
  // The outer frame's wire version and hop counter (relaying), set to anything.
  const reframed = fc.tuple(sealed, fc.oneof(fc.constantFrom(1, 2, 3), fieldValue), fc.oneof(fc.nat(10), fieldValue)).map(([buf, v, h]) => {
    try { return encode({ ...(decode(buf) as object), v, h }) } catch { return buf }
  })
  fc.assert(fc.property(fc.oneof(fc.uint8Array({ maxLength: 600 }), sealed, mutated(sealed), foreign, reframed, cborValue.map((v) => encode(v))), (buf) => {
    try {
      const opened = openMessage(keyring, buf)
      assert.ok(b4a.equals(opened.device, me.publicKey), 'an accepted message is signed by the sealing device')
    } catch (err) {
      if (!(err instanceof Rejected)) unexpected('openMessage', err)
    }
  }), params())
  fc.assert(fc.property(fc.oneof(fc.string({ maxLength: 300 }), cborValue.map((v) => { try { return JSON.stringify(v) ?? 'null' } catch { return '{' } })), (json) => {
    try { parseSignal(json) } catch (err) { if (!(err instanceof Rejected)) unexpected('parseSignal', err) }
  }), params())
})

test('sealed boxes (DM signals, epoch keys, content): garbage and foreign boxes open to null', () => {
  const me = createIdentity('me')
  const dk = randomBytes(32)
  const validDm = fc.constant(null).map(() => sealDmPayload({ kind: 'offer', base: randomBytes(32), encryptionKey: randomBytes(32), from: randomBytes(32), to: me.publicKey } as any, me.publicKey))
  const sealedJunk = cborValue.map((v) => seal(encode(v), me.publicKey))
  const shaped = fc.record({ kind: fc.constantFrom('offer', 'accept', 'x'), base: fieldValue, encryptionKey: fieldValue, writer: fieldValue, sig: fieldValue, from: fieldValue, to: fc.oneof(fc.constant(me.publicKey), fieldValue) })
    .map((o) => seal(encode(o), me.publicKey))
  fc.assert(fc.property(fc.oneof(fc.uint8Array({ maxLength: 400 }), mutated(validDm), sealedJunk, shaped), (box) => {
    let r
    try { r = openDmPayload(box, me) } catch (err) { unexpected('openDmPayload', err) }
    if (r) assert.ok(b4a.equals(r.to, me.publicKey))
    try { openSealed(box, me.publicKey, me.secretKey) } catch (err) { unexpected('openSealed', err) }
  }), params())

  const validEpoch = fc.constant(null).map(() => sealEpochKey(dk, 3, randomBytes(32), me.publicKey))
  const epochShaped = fc.record({ g: fc.oneof(fc.constant(dk), fieldValue), e: fc.oneof(fc.constant(3), fieldValue), k: fieldValue }).map((o) => seal(encode(o), me.publicKey))
  fc.assert(fc.property(fc.oneof(fc.uint8Array({ maxLength: 300 }), mutated(validEpoch), epochShaped, sealedJunk), (box) => {
    let k
    try { k = openEpochKey(box, dk, 3, me) } catch (err) { unexpected('openEpochKey', err) }
    if (k) assert.equal(k.byteLength, 32)
  }), params())

  const key = randomBytes(32)
  const keyring = new Keyring(key, dk)
  fc.assert(fc.property(fc.oneof(fieldValue, fc.record({ e: fieldValue, n: fieldValue, c: fieldValue }),
    fc.uint8Array({ maxLength: 200 }).map((u) => sealContent(key, 0, dk, 'message', u)).chain((s) => fc.record({ e: fc.oneof(fc.constant(s.e), fieldValue), n: fc.constant(s.n), c: mutated(fc.constant(s.c)) }))), (x) => {
    try {
      if (!isSealed(x, 1 << 20)) return
      const plain = keyring.open(x, 'message')
      if (plain !== null) assert.ok(openContent(key, x, dk, 'message') !== null)
    } catch (err) { unexpected('Keyring.open', err) }
  }), params())
})

test('pad content: deep, wide, unknown and invalid Yjs is read and exported, and a client update is accepted or PAD_CONTENT_REJECTED', async () => {
  const Y = await import('yjs')
  const { readBlocks, fragmentOf } = await import('@solidar/core/pads/schema')
  const { blocksToHtml, blocksToMarkdown, blocksToText } = await import('@solidar/core/pads/markdown')
  const { checkClientUpdate } = await import('@solidar/core/pads/limits')
  const names = ['paragraph', 'heading', 'bulletList', 'orderedList', 'listItem', 'hardBreak', 'codeBlock', 'blockquote', 'x-unknown', '']
  // A random tree: each step adds an element under a random node (depth grows up to ~2,000) or a text with random marks.
  const step = fc.record({ name: fc.constantFrom(...names), down: fc.boolean(), text: fc.string({ maxLength: 8 }), href: fc.constantFrom(undefined, 'https://ok.example/', 'java\tscript:x', 5) })
  fc.assert(fc.property(fc.array(step, { maxLength: 2_000 }), fc.uint8Array({ maxLength: 64 }), (steps, garbage) => {
    const doc = new Y.Doc()
    doc.transact(() => {
      let at: any = fragmentOf(doc)
      for (const s of steps) {
        if (s.name === '') { at.insert(at.length, [new Y.XmlText()]); const t = at.get(at.length - 1); t.insert(0, s.text || 'x', s.href === undefined ? {} : { link: { href: s.href } }); continue }
        at.insert(at.length, [new Y.XmlElement(s.name)])
        if (s.down) at = at.get(at.length - 1)
      }
    })
    const copy = new Y.Doc()
    Y.applyUpdate(copy, Y.encodeStateAsUpdate(doc))
    const blocks = readBlocks(copy)
    blocksToMarkdown(blocks); blocksToText(blocks)
    assert.ok(!blocksToHtml(blocks, 't').includes('script:'))
    for (const update of [Y.encodeStateAsUpdate(doc), garbage]) {
      try { checkClientUpdate(new Y.Doc(), 'default', update) } catch (err: any) { assert.equal(err.code, 'PAD_CONTENT_REJECTED') }
    }
  }), params(60))
})
