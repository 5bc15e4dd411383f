import test from 'node:test'
import assert from 'node:assert/strict'
import { Encoder } from 'cbor-x'
import {
  parseCommand, commandValue, isMessageId, isRoomName, MAX_ROOM_NAME, MAX_NAME, MAX_SEALED, MAX_TEXT_BYTES,
  MAX_EPOCH_BOXES, PROTOCOL_VERSION, type Command, type MessagePost, type Parsed, checkText, MAX_TEXT_LENGTH
} from '../src/commands.ts'
import { encode } from '../src/codec.ts'
import { newRecordId } from '../src/ids.ts'
import { epochZeroKey, openContent, sealContent, type Sealed } from '../src/content.ts'
import { seededRandom } from './helpers.ts'

const rnd = seededRandom(20240601)
const k32 = () => rnd.bytes(32)
const sig64 = () => rnd.bytes(64)
const TS = 1_717_171_717_171
/** XChaCha20-Poly1305: 24-byte nonce, 16-byte tag. */
const NONCE = 24
const TAG = 16
/** commands.ts bounds each sealed epoch key box to 256 bytes (a 32-byte key in a sealed CBOR map needs ~130). */
const MAX_KEY_BOX = 256
/** A sealed body's shape (parseCommand cannot check the ciphertext: it holds no key). */
const body = (e: number, plaintextBytes: number): Sealed => ({ e, n: rnd.bytes(NONCE), c: rnd.bytes(plaintextBytes + TAG) })

const VALID: Record<string, Command> = {
  groupCreate: { t: 'group/create', kind: 'group', name: 'Works council', member: k32(), memberName: 'alice', sig: sig64(), ts: TS },
  dmCreate: { t: 'group/create', kind: 'dm', name: '', member: k32(), memberName: 'alice', sig: sig64(), ts: TS, peer: k32() },
  memberAdd: { t: 'member/add', member: k32(), writer: k32(), name: 'bob', role: 'member', sig: sig64(), ts: TS },
  memberAddInvite: { t: 'member/add', member: k32(), writer: k32(), name: 'carol', role: 'admin', sig: sig64(), invite: k32(), ts: TS },
  inviteCreate: { t: 'invite/create', id: k32(), publicKey: k32(), role: 'member', expires: TS + 86_400_000, uses: 1, ts: TS },
  inviteRevoke: { t: 'invite/revoke', id: k32(), ts: TS },
  roomCreate: { t: 'room/create', name: 'minutes', ts: TS },
  memberAddKeys: { t: 'member/add', member: k32(), writer: k32(), name: 'dave', role: 'observer', sig: sig64(), invite: k32(), keys: [{ e: 1, box: rnd.bytes(130) }, { e: 2, box: rnd.bytes(MAX_KEY_BOX) }], ts: TS },
  memberRemove: { t: 'member/remove', member: k32(), ts: TS },
  memberLeave: { t: 'member/leave', ts: TS },
  memberRole: { t: 'member/role', member: k32(), role: 'admin', ts: TS },
  memberRoleObserver: { t: 'member/role', member: k32(), role: 'observer', ts: TS },
  groupRename: { t: 'group/rename', name: 'Works council 2025', ts: TS },
  memberDevice: { t: 'member/device', device: k32(), writer: k32(), cert: sig64(), sig: sig64(), name: 'phone', ts: TS },
  epochRotate: { t: 'epoch/rotate', epoch: 1, keys: [{ member: k32(), box: rnd.bytes(130) }, { member: k32(), box: rnd.bytes(MAX_KEY_BOX) }], ts: TS },
  epochRotateNamed: { t: 'epoch/rotate', epoch: 2, keys: [{ member: k32(), box: rnd.bytes(130) }], id: rnd.bytes(16), ts: TS },
  epochGrant: { t: 'epoch/grant', epoch: 1, id: rnd.bytes(16), keys: [{ member: k32(), box: rnd.bytes(130) }], ts: TS },
  memberAddNamedKeys: { t: 'member/add', member: k32(), writer: k32(), name: 'erin', role: 'member', sig: sig64(), keys: [{ e: 1, box: rnd.bytes(130), id: rnd.bytes(16) }, { e: 1, box: rnd.bytes(130) }], ts: TS },
  post: { t: 'message/post', id: 'AbCdEfGh12_-', room: 'general', body: body(0, 11), ts: TS },
  reply: { t: 'message/post', id: 'reply-00001', room: 'general', body: body(3, 7), ts: 0, replyTo: 'AbCdEfGh12_-' },
  edit: { t: 'message/edit', id: 'AbCdEfGh12_-', body: body(1, 13), ts: TS + 1 },
  del: { t: 'message/delete', id: 'AbCdEfGh12_-', ts: TS + 2 },
  offer: { t: 'dm/offer', box: rnd.bytes(200), ts: TS },
  accept: { t: 'dm/accept', box: rnd.bytes(MAX_SEALED), ts: TS }
}

const enc = (value: unknown) => encode(value)
const encCmd = (cmd: Command) => enc(commandValue(cmd))
/** The command `name` from VALID with fields replaced (undefined = removed). */
function variant (name: keyof typeof VALID, patch: Record<string, unknown>): Buffer {
  const value: Record<string, unknown> = { ...commandValue(VALID[name]), ...patch }
  for (const k of Object.keys(value)) if (value[k] === undefined) delete value[k]
  return enc(value)
}

function rejects (buf: Uint8Array, reason: RegExp, type?: string, label = '') {
  const parsed = parseCommand(buf)
  assert.equal(parsed.ok, false, `${label}: expected a rejection (${reason}), got ${JSON.stringify(parsed).slice(0, 300)}`)
  if (parsed.ok) return
  assert.match(parsed.reason, reason, label)
  if (type !== undefined) assert.equal(parsed.type, type)
}

function accepts (buf: Uint8Array): Command {
  const parsed = parseCommand(buf)
  assert.ok(parsed.ok, `expected acceptance, got ${JSON.stringify(parsed)}`)
  return (parsed as Extract<Parsed, { ok: true }>).cmd
}

test('parseCommand accepts every valid command and returns exactly its fields', () => {
  for (const [name, cmd] of Object.entries(VALID)) {
    const parsed = accepts(encCmd(cmd))
    assert.deepEqual(parsed, cmd, name)
    for (const value of Object.values(parsed)) {
      if (value instanceof Uint8Array) assert.ok(Buffer.isBuffer(value), `${name}: binary fields come back as Buffers`)
    }
  }
  // unknown extra fields are dropped: nothing in the entry can add fields to the command
  const withExtras = accepts(variant('post', { author: 'f'.repeat(64), seq: 1, deleted: true, __proto__x: 1 }))
  assert.deepEqual(withExtras, VALID.post)
  // boundary values
  accepts(variant('post', { body: body(0, MAX_TEXT_BYTES) }))
  accepts(variant('edit', { body: body(9, MAX_TEXT_BYTES) }))
  accepts(variant('post', { body: body(0, 0) })) // an empty plaintext still has its tag
  accepts(variant('epochRotate', { epoch: Number.MAX_SAFE_INTEGER }))
  accepts(variant('roomCreate', { name: 'a'.repeat(MAX_ROOM_NAME) }))
  accepts(variant('groupCreate', { name: 'n'.repeat(MAX_NAME), memberName: 'm'.repeat(MAX_NAME) }))
  accepts(variant('inviteCreate', { uses: 1000, expires: 0 }))
  accepts(variant('post', { ts: Number.MAX_SAFE_INTEGER }))
  accepts(variant('offer', { box: new Uint8Array(0) }))
})

test('parseCommand rejects what is not a versioned CBOR map', () => {
  rejects(Buffer.from('hello, not cbor at all'), /not a CBOR map/, '?')
  rejects(Buffer.alloc(0), /not a CBOR map/, '?')
  rejects(Buffer.from([0xff]), /not a CBOR map/)
  rejects(Buffer.from([0x1f]), /not a CBOR map/) // reserved additional info
  for (const value of [[1, 2, 3], 'message/post', 42, null, true, [commandValue(VALID.post)]]) {
    rejects(enc(value), /not a CBOR map/, '?')
  }
  // a byte string decodes to a Buffer, which is an object but has no version
  rejects(enc(Buffer.from('x')), /not a CBOR map|unsupported version/, '?')
  // a truncated valid encoding
  const full = encCmd(VALID.post)
  rejects(full.subarray(0, full.byteLength - 3), /not a CBOR map/)
  // a CBOR Map (not an object map) encoded by an encoder without mapsAsObjects
  const mapEncoder = new Encoder({ useRecords: false, mapsAsObjects: false })
  const asMap = mapEncoder.encode(new Map(Object.entries(commandValue(VALID.roomCreate))))
  const parsed = parseCommand(asMap)
  // either decodes into the same object (cbor-x maps) or is rejected; it must never throw
  if (parsed.ok) assert.deepEqual(parsed.cmd, VALID.roomCreate)
})

test('parseCommand rejects a wrong or missing version and a missing or invalid ts', () => {
  rejects(variant('post', { v: 2 }), /unsupported version 2/, 'message/post')
  rejects(variant('post', { v: 0 }), /unsupported version 0/)
  rejects(variant('post', { v: '1' }), /unsupported version 1/)
  rejects(variant('post', { v: undefined }), /unsupported version undefined/)
  assert.equal(PROTOCOL_VERSION, 1)
  for (const ts of [undefined, -1, 1.5, '1717171717171', Number.MAX_SAFE_INTEGER + 1, NaN, Infinity, null, [TS]]) {
    rejects(variant('post', { ts }), /missing or invalid ts/, 'message/post')
  }
  // the type is echoed for the audit log, cut to 40 characters
  const long = 'x'.repeat(100)
  const p = parseCommand(variant('post', { t: long, v: 9 }))
  assert.ok(!p.ok && p.type === long.slice(0, 40))
})

test('parseCommand rejects wrong byte lengths and non-binary keys', () => {
  const short = rnd.bytes(31)
  const long = rnd.bytes(33)
  const asArray = Array.from(rnd.bytes(32))
  const asHex = rnd.bytes(32).toString('hex')
  for (const bad of [short, long, asArray, asHex, undefined]) {
    rejects(variant('groupCreate', { member: bad }), /invalid creator key or signature/, 'group/create')
    rejects(variant('memberAdd', { member: bad }), /invalid member, writer or signature/, 'member/add')
    rejects(variant('memberAdd', { writer: bad }), /invalid member, writer or signature/)
    rejects(variant('inviteCreate', { id: bad }), /invalid invite id or key/, 'invite/create')
    rejects(variant('inviteCreate', { publicKey: bad }), /invalid invite id or key/)
    rejects(variant('inviteRevoke', { id: bad }), /invalid invite id/, 'invite/revoke')
  }
  for (const bad of [short, long, asArray, asHex, null]) {
    rejects(variant('dmCreate', { peer: bad }), /invalid dm peer/)
    rejects(variant('memberAddInvite', { invite: bad }), /invalid invite id/)
  }
  for (const bad of [rnd.bytes(63), rnd.bytes(65), rnd.bytes(32), undefined]) {
    rejects(variant('groupCreate', { sig: bad }), /invalid creator key or signature/)
    rejects(variant('memberAdd', { sig: bad }), /invalid member, writer or signature/)
  }
  rejects(variant('offer', { box: rnd.bytes(MAX_SEALED + 1) }), /invalid sealed box/, 'dm/offer')
  rejects(variant('accept', { box: 'not bytes' }), /invalid sealed box/, 'dm/accept')
  rejects(variant('accept', { box: undefined }), /invalid sealed box/)
})

test('parseCommand rejects sealed bodies of the wrong shape, and plaintext', () => {
  const n = rnd.bytes(NONCE)
  const c = rnd.bytes(40)
  const bad: Array<[string, unknown]> = [
    ['no body', undefined],
    ['null', null],
    ['a string', 'hello'],
    ['bytes', rnd.bytes(64)],
    ['an array [e, n, c]', [0, n, c]],
    ['nonce of 23 bytes', { e: 0, n: rnd.bytes(NONCE - 1), c }],
    ['nonce of 25 bytes', { e: 0, n: rnd.bytes(NONCE + 1), c }],
    ['nonce of 12 bytes (IETF ChaCha20, not XChaCha20)', { e: 0, n: rnd.bytes(12), c }],
    ['empty nonce', { e: 0, n: Buffer.alloc(0), c }],
    ['nonce as text', { e: 0, n: n.toString('hex').slice(0, NONCE), c }],
    ['nonce as an array', { e: 0, n: Array.from(n), c }],
    ['no nonce', { e: 0, c }],
    ['ciphertext shorter than its tag', { e: 0, n, c: rnd.bytes(TAG - 1) }],
    ['empty ciphertext', { e: 0, n, c: Buffer.alloc(0) }],
    ['oversized ciphertext', { e: 0, n, c: rnd.bytes(MAX_TEXT_BYTES + TAG + 1) }],
    ['ciphertext as text', { e: 0, n, c: 'x'.repeat(40) }],
    ['no ciphertext', { e: 0, n }],
    ['negative epoch', { e: -1, n, c }],
    ['fractional epoch', { e: 0.5, n, c }],
    ['epoch as text', { e: '0', n, c }],
    ['epoch beyond safe integers', { e: Number.MAX_SAFE_INTEGER + 1, n, c }],
    ['no epoch', { n, c }]
  ]
  for (const [what, b] of bad) {
    rejects(variant('post', { body: b }), /invalid sealed body/, 'message/post', what)
    rejects(variant('reply', { body: b }), /invalid sealed body/, 'message/post', what)
    rejects(variant('edit', { body: b }), /invalid id or sealed body/, 'message/edit', what)
  }
  // the old plaintext format is refused: text cannot reach the log in the clear
  rejects(variant('post', { body: undefined, text: 'hello' }), /invalid sealed body/)
  rejects(variant('edit', { body: undefined, text: 'hello' }), /invalid id or sealed body/)
  // and a plaintext next to a valid body is dropped, never stored
  const withText = accepts(variant('post', { text: 'plaintext on the side' }))
  assert.deepEqual(withText, VALID.post)
  assert.ok(!('text' in withText))
  // unknown fields inside the body are dropped too
  const withExtra = accepts(variant('post', { body: { ...(VALID.post as MessagePost).body, text: 'hi', k: rnd.bytes(32) } }))
  assert.deepEqual(withExtra, VALID.post)
})

test('a body sealed by sealContent parses, round-trips and opens only with its key, log and kind', () => {
  const logKey = rnd.bytes(32)
  const dk = rnd.bytes(32)
  const key = epochZeroKey(logKey)
  const sealed = sealContent(key, 0, dk, 'message', Buffer.from('the strike starts monday'))
  const cmd = accepts(enc(commandValue({ t: 'message/post', id: 'sealed-0001', room: 'general', body: sealed, ts: TS })))
  assert.ok(cmd.t === 'message/post')
  assert.equal(openContent(key, cmd.body, dk, 'message')?.toString(), 'the strike starts monday')
  assert.ok(!encCmd(cmd).includes(Buffer.from('strike')), 'the entry does not carry the plaintext')
  assert.equal(openContent(rnd.bytes(32), cmd.body, dk, 'message'), null, 'another key')
  assert.equal(openContent(logKey, cmd.body, dk, 'message'), null, 'the log key itself is not the epoch-0 key')
  assert.equal(openContent(key, cmd.body, rnd.bytes(32), 'message'), null, 'another log')
  assert.equal(openContent(key, cmd.body, dk, 'pad'), null, 'another kind of content')
  assert.equal(openContent(key, { ...cmd.body, e: 1 }, dk, 'message'), null, 'relabelled as another epoch')
  const flipped = Buffer.from(cmd.body.c); flipped[0] ^= 1
  assert.equal(openContent(key, { ...cmd.body, c: flipped }, dk, 'message'), null, 'tampered ciphertext')
  assert.equal(openContent(key, { ...cmd.body, n: rnd.bytes(12) }, dk, 'message'), null, 'a malformed nonce does not throw')
})

test('parseCommand: membership commands (remove, leave, role, rename, rotate, add with epoch keys)', () => {
  const short = rnd.bytes(31)
  const long = rnd.bytes(33)
  for (const bad of [short, long, Array.from(rnd.bytes(32)), rnd.bytes(32).toString('hex'), undefined, null]) {
    rejects(variant('memberRemove', { member: bad }), /invalid member/, 'member/remove')
    rejects(variant('memberRole', { member: bad }), /invalid member or role/, 'member/role')
  }
  for (const role of ['owner', 'Admin', 'OBSERVER', '', ' member', undefined, 1, null]) {
    rejects(variant('memberRole', { role }), /invalid member or role/, 'member/role')
    rejects(variant('memberAddKeys', { role }), /invalid role/, 'member/add')
  }
  // a leave names nobody: whatever else the entry says, it can only mean its author
  assert.deepEqual(accepts(variant('memberLeave', { member: k32(), writer: k32() })), VALID.memberLeave)
  rejects(variant('memberLeave', { ts: undefined }), /missing or invalid ts/, 'member/leave')

  // group/rename: the same rule as a group's name at creation
  for (const name of ['', '   ', 'n'.repeat(MAX_NAME + 1), 'Works\ncouncil', 'a\u009bb', 42, undefined, Buffer.from('x')]) {
    rejects(variant('groupRename', { name }), /invalid group name/, 'group/rename')
  }
  accepts(variant('groupRename', { name: 'n'.repeat(MAX_NAME) }))

  // epoch/rotate: epochs start at 1 (0 comes with the log key); at least one box, at most MAX_EPOCH_BOXES
  for (const epoch of [0, -1, 1.5, '1', undefined, null, NaN, Number.MAX_SAFE_INTEGER + 1]) {
    rejects(variant('epochRotate', { epoch }), /invalid epoch/, 'epoch/rotate')
  }
  const mbox = () => ({ member: k32(), box: rnd.bytes(130) })
  const badKeys: Array<[string, unknown]> = [
    ['empty keys', []],
    ['no keys', undefined],
    ['keys as a map', { [k32().toString('hex')]: rnd.bytes(130) }],
    ['keys as bytes', rnd.bytes(162)],
    ['too many boxes', Array.from({ length: MAX_EPOCH_BOXES + 1 }, mbox)],
    ['oversized box', [mbox(), { member: k32(), box: rnd.bytes(MAX_KEY_BOX + 1) }]],
    ['box as text', [{ member: k32(), box: 'x'.repeat(130) }]],
    ['no box', [{ member: k32() }]],
    ['member of 31 bytes', [{ member: short, box: rnd.bytes(130) }]],
    ['member of 33 bytes', [{ member: long, box: rnd.bytes(130) }]],
    ['a null box entry', [mbox(), null]],
    ['an array box entry', [[k32(), rnd.bytes(130)]]]
  ]
  for (const [what, keys] of badKeys) rejects(variant('epochRotate', { keys }), /invalid epoch keys/, 'epoch/rotate', what)
  const many = accepts(variant('epochRotate', { keys: Array.from({ length: MAX_EPOCH_BOXES }, mbox) }))
  assert.ok(many.t === 'epoch/rotate' && many.keys.length === MAX_EPOCH_BOXES)
  // extra fields of a box are dropped
  const extra = accepts(variant('epochRotate', { keys: [{ ...mbox(), key: rnd.bytes(32), e: 5 }] }))
  assert.ok(extra.t === 'epoch/rotate')
  assert.deepEqual(Object.keys(extra.keys[0]).sort(), ['box', 'member'])

  // key ids (rules 3): 16 bytes, in a rotation, a grant and a newcomer's boxes
  for (const id of [rnd.bytes(15), rnd.bytes(17), rnd.bytes(16).toString('hex'), Array.from(rnd.bytes(16)), null]) {
    rejects(variant('epochRotateNamed', { id }), /invalid key id/, 'epoch/rotate')
    rejects(variant('epochGrant', { id }), /invalid key id/, 'epoch/grant')
    rejects(variant('memberAddNamedKeys', { keys: [{ e: 1, box: rnd.bytes(130), id }] }), /invalid epoch keys/, 'member/add')
  }
  rejects(variant('epochGrant', { id: undefined }), /invalid key id/, 'epoch/grant')
  for (const epoch of [0, -1, 1.5, '1', undefined]) rejects(variant('epochGrant', { epoch }), /invalid epoch/, 'epoch/grant')
  for (const [what, keys] of badKeys) rejects(variant('epochGrant', { keys }), /invalid epoch keys/, 'epoch/grant', what)

  // member/add's epoch keys: optional; an empty list is the same as none
  assert.ok(!('keys' in accepts(variant('memberAddKeys', { keys: [] }))))
  assert.ok(!('keys' in accepts(variant('memberAddKeys', { keys: undefined }))))
  const ebox = (e: number) => ({ e, box: rnd.bytes(130) })
  const badEpochKeys: Array<[string, unknown]> = [
    ['epoch 0 (comes with the log key, never boxed)', [ebox(0)]],
    ['negative epoch', [ebox(-1)]],
    ['fractional epoch', [ebox(1.5)]],
    ['epoch as text', [{ e: '1', box: rnd.bytes(130) }]],
    ['too many boxes', Array.from({ length: MAX_EPOCH_BOXES + 1 }, (_, i) => ebox(i + 1))],
    ['oversized box', [ebox(1), { e: 2, box: rnd.bytes(MAX_KEY_BOX + 1) }]],
    ['no box', [{ e: 1 }]],
    ['keys as a map', { 1: rnd.bytes(130) }],
    ['keys as text', 'keys'],
    ['a null entry', [null]]
  ]
  for (const [what, keys] of badEpochKeys) rejects(variant('memberAddKeys', { keys }), /invalid epoch keys/, 'member/add', what)
  assert.equal((accepts(variant('memberAddKeys', { keys: Array.from({ length: MAX_EPOCH_BOXES }, (_, i) => ebox(i + 1)) })) as any).keys.length, MAX_EPOCH_BOXES)
})

test('parseCommand rejects bad names, roles, kinds and invite limits', () => {
  // names
  rejects(variant('groupCreate', { name: '' }), /invalid group name/)
  rejects(variant('groupCreate', { name: 'n'.repeat(MAX_NAME + 1) }), /invalid group name/)
  rejects(variant('groupCreate', { memberName: 'm'.repeat(MAX_NAME + 1) }), /invalid creator name/)
  rejects(variant('groupCreate', { memberName: ' ' }), /invalid creator name/)
  rejects(variant('memberAdd', { name: '' }), /invalid member name/)
  rejects(variant('groupCreate', { kind: 'channel' }), /invalid kind/)
  rejects(variant('memberAdd', { role: 'owner' }), /invalid role/)
  rejects(variant('inviteCreate', { role: 'Admin' }), /invalid role/)
  for (const uses of [0, 1001, 1.5, -1, '1', undefined]) rejects(variant('inviteCreate', { uses }), /invalid expiry or uses/)
  for (const expires of [-1, 1.5, '1', undefined]) rejects(variant('inviteCreate', { expires }), /invalid expiry or uses/)
})

test('names (rules 4): limited by UTF-8 size, so 64 flags fit; under older rules by 64 UTF-16 units as before, in clear and sealed', () => {
  const emoji = '🇩🇪'.repeat(64) // 64 characters, 256 UTF-16 units, 512 bytes
  const parse4 = (buf: Uint8Array) => parseCommand(buf, { rules: 4 })
  assert.ok(parse4(variant('memberAdd', { name: emoji })).ok, 'member name')
  assert.ok(parse4(variant('memberDevice', { name: emoji })).ok, 'device name')
  assert.ok(parse4(variant('groupRename', { name: emoji })).ok, 'group rename')
  assert.ok(parseCommand(variant('groupCreate', { name: emoji, memberName: emoji, rules: 4 })).ok, 'group/create brings its own rules')
  assert.equal(parse4(variant('memberAdd', { name: emoji + 'x' })).ok, false, 'over 512 bytes')
  // Older rules: exactly as before (the same reasons, so old and new nodes keep one view).
  rejects(variant('memberAdd', { name: '🛠'.repeat(33) }), /invalid member name/)
  rejects(variant('memberDevice', { name: '🛠'.repeat(33) }), /invalid device name/)
  rejects(variant('groupCreate', { name: '🛠'.repeat(33), rules: 3 }), /invalid group name/)
  assert.equal(parseCommand(variant('memberAdd', { name: '🛠'.repeat(33) }), { rules: 3 }).ok, false)
  assert.ok(parseCommand(variant('memberAdd', { name: 'x'.repeat(64) }), { rules: 3 }).ok)
})

test('names in the log are held to the same control-character rule as validateName', () => {
  // A name that the local API refuses must not get in through a hand-made log entry either:
  // CR/LF/TAB and C1 controls (e.g. U+009B, a one-byte CSI) can fake or rewrite terminal lines.
  for (const c of ['\u0000', '\u0007', '\t', '\n', '\r', '\u001b', '\u007f', '\u0085', '\u009b']) {
    rejects(variant('groupCreate', { name: `Works${c}council` }), /invalid group name/)
    rejects(variant('groupCreate', { memberName: `alice${c}x` }), /invalid creator name/)
    rejects(variant('memberAdd', { name: `bob${c}x` }), /invalid member name/)
  }
  for (const c of ['\n', '\u009b']) rejects(variant('groupRename', { name: `Works${c}council` }), /invalid group name/)
})

test('room names: lowercase words with - and _, up to 48', () => {
  for (const name of ['general', 'a', '1', 'minutes-2024', 'x_y-z', 'café', 'straße', '会議', 'a'.repeat(MAX_ROOM_NAME)]) {
    assert.ok(isRoomName(name), name)
    accepts(variant('roomCreate', { name }))
    accepts(variant('post', { room: name }))
  }
  for (const name of ['General', 'ROOM', 'two words', '', ' ', 'a'.repeat(MAX_ROOM_NAME + 1), '-start', '_start', 'a!b', 'a/b', 'a.b', 'tab\t', 'new\nline', 42, null]) {
    assert.ok(!isRoomName(name), JSON.stringify(name))
    rejects(variant('roomCreate', { name }), /invalid room name/, 'room/create')
    rejects(variant('post', { room: name }), /invalid room/, 'message/post')
  }
})

test('message ids: 8-64 url-safe characters', () => {
  for (const id of ['abcdefgh', 'A'.repeat(64), 'a-b_c-d_', '01234567']) {
    assert.ok(isMessageId(id), id)
    accepts(variant('post', { id }))
    accepts(variant('edit', { id }))
    accepts(variant('del', { id }))
    accepts(variant('reply', { replyTo: id }))
  }
  const bad: unknown[] = ['abcdefg', 'A'.repeat(65), 'abc!defgh', 'abcd/efgh', 'abcd efgh', 'abcd+efg=', 'ünïcödéid', 12345678, '', null]
  for (const id of bad) {
    assert.ok(!isMessageId(id), JSON.stringify(id))
    rejects(variant('post', { id }), /invalid message id/)
    rejects(variant('edit', { id }), /invalid id or sealed body/)
    rejects(variant('del', { id }), /invalid id/, 'message/delete')
    if (id !== null && id !== '') rejects(variant('reply', { replyTo: id }), /invalid replyTo/)
  }
})

test('unknown command types are rejected with their name', () => {
  rejects(variant('post', { t: 'member/kick' }), /unknown command/, 'member/kick')
  rejects(variant('post', { t: 'epoch/reset' }), /unknown command/, 'epoch/reset')
  rejects(variant('post', { t: 'MESSAGE/POST' }), /unknown command/, 'MESSAGE/POST')
  rejects(variant('post', { t: undefined }), /unknown command/, '?')
  rejects(variant('post', { t: 7 }), /unknown command/, '?')
  rejects(enc({ v: 1, ts: 1 }), /unknown command/, '?')
})

test('parseCommand never throws: 2000 random buffers and 4000 mutations of valid encodings', () => {
  const fuzz = seededRandom(0xf022)
  const seen = { ok: 0, rejected: 0 }
  const check = (buf: Uint8Array, label: string) => {
    let parsed: Parsed
    try {
      parsed = parseCommand(buf)
    } catch (err) {
      assert.fail(`${label}: parseCommand threw ${String(err)} on ${Buffer.from(buf).toString('hex')}`)
    }
    if (parsed.ok) {
      seen.ok++
      // anything accepted is a well-formed command: it re-encodes and parses to the same thing
      const again = parseCommand(encCmd(parsed.cmd))
      assert.ok(again.ok, `${label}: accepted command does not round-trip`)
      assert.deepEqual(again.cmd, parsed.cmd)
    } else {
      seen.rejected++
      assert.equal(typeof parsed.reason, 'string')
      assert.ok(parsed.reason.length > 0)
      assert.equal(typeof parsed.type, 'string')
      assert.ok(parsed.type.length <= 40)
    }
  }
  for (let i = 0; i < 2000; i++) {
    const len = fuzz.int(4) === 0 ? fuzz.int(4) : fuzz.int(300)
    const buf = fuzz.bytes(len)
    // half of them start like a CBOR map so the decoder goes further than the first byte
    if (len > 0 && i % 2 === 0) buf[0] = 0xa0 | fuzz.int(8)
    check(buf, `random #${i}`)
  }
  const valid = Object.values(VALID).map(encCmd)
  for (let i = 0; i < 4000; i++) {
    const buf = Buffer.from(fuzz.pick(valid))
    const op = fuzz.int(4)
    let out: Buffer
    if (op === 0) { // flip 1-4 random bytes
      out = buf
      for (let n = 1 + fuzz.int(4); n > 0; n--) out[fuzz.int(out.byteLength)] = fuzz.int(256)
    } else if (op === 1) { // truncate
      out = buf.subarray(0, fuzz.int(buf.byteLength))
    } else if (op === 2) { // insert random bytes
      const at = fuzz.int(buf.byteLength)
      out = Buffer.concat([buf.subarray(0, at), fuzz.bytes(1 + fuzz.int(8)), buf.subarray(at)])
    } else { // flip single bits (keeps most of the structure intact)
      out = buf
      out[fuzz.int(out.byteLength)] ^= 1 << fuzz.int(8)
    }
    check(out, `mutation #${i}`)
  }
  assert.ok(seen.rejected > 3000, `rejected ${seen.rejected}`)
  assert.ok(seen.ok > 0, 'some mutations (e.g. of text bytes) still parse') // proves the mutations reach the field checks
})

test('new message and pad ids are valid ids that never start with "-" (so the CLI never reads one as an option)', () => {
  const ids = Array.from({ length: 4000 }, () => newRecordId())
  for (const id of ids) {
    assert.ok(isMessageId(id), id)
    assert.match(id, /^[A-Za-z0-9_][A-Za-z0-9_-]{15}$/)
  }
  assert.equal(new Set(ids).size, ids.length, 'no two alike')
  // 4000 draws: a leading '-' (1 in 64) would have turned up about 62 times without the guard.
})

test('checkText: a message needs something visible, whole characters, and at most MAX_TEXT_LENGTH units; the errors say why and the limit', () => {
  const refused = (text: unknown, why: RegExp): void => {
    assert.throws(() => checkText(text), (err: Error & { code?: string }) => err.code === 'BAD_REQUEST' && why.test(err.message), JSON.stringify(text))
  }
  for (const blank of ['', '   ', '\n\t', '\uFEFF']) refused(blank, /must not be empty/)
  // Only invisible characters: zero-width space and joiners, BOM, NUL, bidi marks, a Hangul filler.
  for (const invisible of ['\u200B', '\u200B\u200C\u200D', '\u0000', ' \u200E\u200F ', '\u2060', '\u3164', '\u00AD']) refused(invisible, /something visible/)
  // A lone surrogate (high or low, at either end, in the middle) is refused; a pair is an emoji.
  for (const broken of ['\uD83D', 'a\uDE00', '\uD83Dx', 'x\uDE00y']) refused(broken, /broken characters/)
  assert.equal(checkText('\uD83D\uDC4D'), '👍')
  assert.equal(checkText('\u200Bhi'), '\u200Bhi', 'an invisible character beside a visible one is kept as it is')
  assert.equal(checkText('x'.repeat(MAX_TEXT_LENGTH)).length, MAX_TEXT_LENGTH)
  refused('x'.repeat(MAX_TEXT_LENGTH + 1), /at most 16,000/)
})
