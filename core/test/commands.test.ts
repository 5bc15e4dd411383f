import test from 'node:test'
import assert from 'node:assert/strict'
import { Encoder } from 'cbor-x'
import {
  parseCommand, commandValue, isMessageId, isRoomName, MAX_TEXT_LENGTH, MAX_ROOM_NAME, MAX_NAME, MAX_SEALED,
  PROTOCOL_VERSION, type Command, type Parsed
} from '../src/commands.ts'
import { encode } from '../src/codec.ts'
import { seededRandom } from './helpers.ts'

const rnd = seededRandom(20240601)
const k32 = () => rnd.bytes(32)
const sig64 = () => rnd.bytes(64)
const TS = 1_717_171_717_171

const VALID: Record<string, Command> = {
  groupCreate: { t: 'group/create', kind: 'group', name: 'Works council', member: k32(), memberName: 'alice', sig: sig64(), ts: TS },
  dmCreate: { t: 'group/create', kind: 'dm', name: '', member: k32(), memberName: 'alice', sig: sig64(), ts: TS, peer: k32() },
  memberAdd: { t: 'member/add', member: k32(), writer: k32(), name: 'bob', role: 'member', sig: sig64(), ts: TS },
  memberAddInvite: { t: 'member/add', member: k32(), writer: k32(), name: 'carol', role: 'admin', sig: sig64(), invite: k32(), ts: TS },
  inviteCreate: { t: 'invite/create', id: k32(), publicKey: k32(), role: 'member', expires: TS + 86_400_000, uses: 1, ts: TS },
  roomCreate: { t: 'room/create', name: 'minutes', ts: TS },
  post: { t: 'message/post', id: 'AbCdEfGh12_-', room: 'general', text: 'hello\nworld', ts: TS },
  reply: { t: 'message/post', id: 'reply-00001', room: 'general', text: 'a reply', ts: 0, replyTo: 'AbCdEfGh12_-' },
  edit: { t: 'message/edit', id: 'AbCdEfGh12_-', text: 'hello, edited', ts: TS + 1 },
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

function rejects (buf: Uint8Array, reason: RegExp, type?: string) {
  const parsed = parseCommand(buf)
  assert.equal(parsed.ok, false, `expected a rejection (${reason}), got ${JSON.stringify(parsed)}`)
  if (parsed.ok) return
  assert.match(parsed.reason, reason)
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
  accepts(variant('post', { text: 'x'.repeat(MAX_TEXT_LENGTH) }))
  accepts(variant('edit', { text: 'x'.repeat(MAX_TEXT_LENGTH) }))
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

test('parseCommand rejects over-long, empty and non-text text', () => {
  const tooLong = 'x'.repeat(MAX_TEXT_LENGTH + 1)
  rejects(variant('post', { text: tooLong }), /invalid text/, 'message/post')
  rejects(variant('edit', { text: tooLong }), /invalid id or text/, 'message/edit')
  for (const text of ['', '   ', '\n\t', undefined, 42, Buffer.from('hi')]) {
    rejects(variant('post', { text }), /invalid text/)
    rejects(variant('edit', { text }), /invalid id or text/)
  }
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

test('names in the log are held to the same control-character rule as validateName', () => {
  // A name that the local API refuses must not get in through a hand-made log entry either:
  // CR/LF/TAB and C1 controls (e.g. U+009B, a one-byte CSI) can fake or rewrite terminal lines.
  for (const c of ['\u0000', '\u0007', '\t', '\n', '\r', '\u001b', '\u007f', '\u0085', '\u009b']) {
    rejects(variant('groupCreate', { name: `Works${c}council` }), /invalid group name/)
    rejects(variant('groupCreate', { memberName: `alice${c}x` }), /invalid creator name/)
    rejects(variant('memberAdd', { name: `bob${c}x` }), /invalid member name/)
  }
  // message text may span lines
  accepts(variant('post', { text: 'line one\nline two\ttabbed' }))
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
    rejects(variant('edit', { id }), /invalid id or text/)
    rejects(variant('del', { id }), /invalid id/, 'message/delete')
    if (id !== null && id !== '') rejects(variant('reply', { replyTo: id }), /invalid replyTo/)
  }
})

test('unknown command types are rejected with their name', () => {
  rejects(variant('post', { t: 'member/remove' }), /unknown command/, 'member/remove')
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
