import test from 'node:test'
import assert from 'node:assert/strict'
import b4a from 'b4a'
import {
  createIdentity, memberId, fingerprint, encodeIdentity, decodeIdentity, validateName, sign, verify,
  decodeKey, MAX_NAME_LENGTH, type Identity
} from '../src/identity.ts'
import { SolidarError } from '../src/errors.ts'

const Z32 = /^[ybndrfg8ejkmcpqxot1uwisza345h769]+$/

/** Asserts that `fn` throws a SolidarError with `code` and a message matching `message`. */
function throwsCode (fn: () => unknown, code: string, message: RegExp) {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof SolidarError, `expected a SolidarError, got ${String(err)}`)
    assert.equal(err.code, code)
    assert.match(err.message, message)
    return true
  })
}

const identityJson = (id: Identity, patch: Record<string, unknown> = {}) =>
  JSON.stringify({ ...JSON.parse(encodeIdentity(id)), ...patch })

test('createIdentity: Ed25519 key sizes, embedded public key, trimmed name', () => {
  const id = createIdentity('  Alice  ')
  assert.equal(id.publicKey.byteLength, 32)
  assert.equal(id.secretKey.byteLength, 64)
  assert.ok(b4a.equals(id.secretKey.subarray(32), id.publicKey), 'libsodium secret key ends with the public key')
  assert.equal(id.name, 'Alice')
  const other = createIdentity('Alice')
  assert.ok(!b4a.equals(id.publicKey, other.publicKey), 'two identities never share a key')
})

test('memberId is 52 characters of z-base-32 and round-trips through decodeKey', () => {
  const id = createIdentity('alice')
  const mid = memberId(id)
  assert.equal(mid.length, 52)
  assert.match(mid, Z32)
  assert.ok(b4a.equals(decodeKey(mid), id.publicKey))
  // ids are case-insensitive and tolerate surrounding whitespace on input
  assert.ok(b4a.equals(decodeKey(`  ${mid.toUpperCase()}\n`), id.publicKey))
  // 64-hex is accepted as well
  assert.ok(b4a.equals(decodeKey(b4a.toString(id.publicKey, 'hex')), id.publicKey))
  throwsCode(() => decodeKey(mid.slice(0, 40), 'member id'), 'BAD_REQUEST', /not a valid member id/)
  throwsCode(() => decodeKey('', 'member id'), 'BAD_REQUEST', /missing member id/)
  throwsCode(() => decodeKey(mid.slice(0, 51) + '0'), 'BAD_REQUEST', /not a valid key/) // '0' is not z-base-32
})

test('fingerprint: stable per key, different between keys, "xxxx xxxx xxxx xxxx xxxx"', () => {
  const a = createIdentity('a')
  const b = createIdentity('b')
  const fa = fingerprint(a.publicKey)
  assert.match(fa, /^[0-9a-f]{4}( [0-9a-f]{4}){4}$/)
  assert.equal(fingerprint(b4a.from(a.publicKey)), fa, 'same key, same fingerprint (a copy of the key)')
  assert.equal(fingerprint(a.publicKey), fa)
  assert.notEqual(fingerprint(b.publicKey), fa)
  // a one-bit change of the key changes the fingerprint
  const flipped = b4a.from(a.publicKey)
  flipped[31] ^= 1
  assert.notEqual(fingerprint(flipped), fa)
  // fixed vectors: users compare fingerprints out of band across versions and devices,
  // so the derivation must never change silently
  assert.equal(fingerprint(b4a.alloc(32)), '0504 4fcf 98a8 2fb5 aad8')
  assert.equal(fingerprint(b4a.alloc(32, 1)), 'd7b7 ae1c cb67 56f4 4482')
})

test('encodeIdentity / decodeIdentity round trip', () => {
  const id = createIdentity('Ünïcødé Name')
  const text = encodeIdentity(id)
  assert.ok(text.endsWith('\n'))
  const raw = JSON.parse(text)
  assert.equal(raw.version, 1)
  const back = decodeIdentity(text)
  assert.ok(b4a.equals(back.publicKey, id.publicKey))
  assert.ok(b4a.equals(back.secretKey, id.secretKey))
  assert.equal(back.name, id.name)
  // the decoded key still signs verifiably
  const msg = b4a.from('round trip')
  assert.ok(verify(sign(msg, back.secretKey), msg, id.publicKey))
})

test('decodeIdentity rejects damaged or tampered files', () => {
  const id = createIdentity('alice')
  const other = createIdentity('mallory')
  throwsCode(() => decodeIdentity('{not json'), 'BAD_REQUEST', /not valid JSON/)
  throwsCode(() => decodeIdentity(''), 'BAD_REQUEST', /not valid JSON/)
  throwsCode(() => decodeIdentity('null'), 'BAD_REQUEST', /unknown version/)
  throwsCode(() => decodeIdentity('[]'), 'BAD_REQUEST', /unknown version/)
  throwsCode(() => decodeIdentity(identityJson(id, { version: 2 })), 'BAD_REQUEST', /unknown version/)
  throwsCode(() => decodeIdentity(identityJson(id, { version: '1' })), 'BAD_REQUEST', /unknown version/)
  throwsCode(() => decodeIdentity(identityJson(id, { version: undefined })), 'BAD_REQUEST', /unknown version/)
  const pkHex = b4a.toString(id.publicKey, 'hex')
  const skHex = b4a.toString(id.secretKey, 'hex')
  throwsCode(() => decodeIdentity(identityJson(id, { publicKey: pkHex.slice(0, 62) })), 'BAD_REQUEST', /malformed keys/)
  throwsCode(() => decodeIdentity(identityJson(id, { secretKey: skHex.slice(0, 126) })), 'BAD_REQUEST', /malformed keys/)
  throwsCode(() => decodeIdentity(identityJson(id, { secretKey: skHex + '00' })), 'BAD_REQUEST', /malformed keys/)
  throwsCode(() => decodeIdentity(identityJson(id, { publicKey: 'zz'.repeat(32) })), 'BAD_REQUEST', /malformed keys/)
  throwsCode(() => decodeIdentity(identityJson(id, { publicKey: undefined })), 'BAD_REQUEST', /malformed keys/)
  // someone else's public key next to our secret key
  throwsCode(() => decodeIdentity(identityJson(id, { publicKey: b4a.toString(other.publicKey, 'hex') })), 'BAD_REQUEST', /do not match/)
  throwsCode(() => decodeIdentity(identityJson(id, { secretKey: b4a.toString(other.secretKey, 'hex') })), 'BAD_REQUEST', /do not match/)
  // names are validated like at creation time
  throwsCode(() => decodeIdentity(identityJson(id, { name: 'evil\u001b[2Kname' })), 'BAD_REQUEST', /control characters/)
  throwsCode(() => decodeIdentity(identityJson(id, { name: 'two\nlines' })), 'BAD_REQUEST', /control characters/)
  throwsCode(() => decodeIdentity(identityJson(id, { name: '' })), 'BAD_REQUEST', /must not be empty/)
  throwsCode(() => decodeIdentity(identityJson(id, { name: 42 })), 'BAD_REQUEST', /must be text/)
  throwsCode(() => decodeIdentity(identityJson(id, { name: 'x'.repeat(MAX_NAME_LENGTH + 1) })), 'BAD_REQUEST', /longer than 64/)
})

test('validateName: trimming, length limits, control characters, custom label', () => {
  assert.equal(validateName('  Bob '), 'Bob')
  assert.equal(validateName('x'.repeat(MAX_NAME_LENGTH)), 'x'.repeat(MAX_NAME_LENGTH))
  assert.equal(validateName(`  ${'x'.repeat(MAX_NAME_LENGTH)}  `), 'x'.repeat(MAX_NAME_LENGTH), 'the limit applies after trimming')
  assert.equal(validateName('Betriebsrat Süd – Ver.di 🛠'), 'Betriebsrat Süd – Ver.di 🛠')
  throwsCode(() => validateName('x'.repeat(MAX_NAME_LENGTH + 1)), 'BAD_REQUEST', /name is longer than 64 characters/)
  // Characters as a user sees them: 64 emoji (128 UTF-16 units) and 64 letters with accents fit.
  assert.equal(validateName('🛠'.repeat(64)), '🛠'.repeat(64))
  assert.equal(validateName('e\u0301'.repeat(64)).length, 64, 'NFC makes é one unit; still 64 characters')
  assert.equal(validateName('🇩🇪'.repeat(64)), '🇩🇪'.repeat(64), '64 flags are 64 characters')
  throwsCode(() => validateName('🛠'.repeat(65)), 'BAD_REQUEST', /longer than 64 characters/)
  throwsCode(() => validateName('👨‍👩‍👧‍👦'.repeat(21)), 'BAD_REQUEST', /too long: at most 512 bytes/)
  throwsCode(() => validateName(''), 'BAD_REQUEST', /name must not be empty/)
  throwsCode(() => validateName(' \t\n '), 'BAD_REQUEST', /must not be empty/)
  throwsCode(() => validateName(undefined), 'BAD_REQUEST', /name must be text/)
  throwsCode(() => validateName(null), 'BAD_REQUEST', /must be text/)
  throwsCode(() => validateName(['a']), 'BAD_REQUEST', /must be text/)
  for (const c of ['\u0000', '\u0007', '\t', '\n', '\r', '\u001b', '\u007f', '\u0085', '\u009b']) {
    throwsCode(() => validateName(`a${c}b`), 'BAD_REQUEST', /control characters/)
  }
  throwsCode(() => validateName('', 'group name'), 'BAD_REQUEST', /^group name must not be empty$/)
  assert.throws(() => createIdentity(' '), { code: 'BAD_REQUEST' })
})

test('sign / verify: valid, tampered, wrong key, wrong lengths', () => {
  const a = createIdentity('a')
  const b = createIdentity('b')
  const msg = b4a.from('solidarity forever')
  const sig = sign(msg, a.secretKey)
  assert.equal(sig.byteLength, 64)
  assert.equal(verify(sig, msg, a.publicKey), true)
  assert.equal(verify(sig, b4a.from('solidarity forever!'), a.publicKey), false, 'other message')
  assert.equal(verify(sig, msg, b.publicKey), false, 'other key')
  const bent = b4a.from(sig)
  bent[0] ^= 0x80
  assert.equal(verify(bent, msg, a.publicKey), false, 'tampered signature')
  // wrong lengths are a plain `false`, never an exception
  assert.equal(verify(sig.subarray(0, 63), msg, a.publicKey), false)
  assert.equal(verify(b4a.concat([sig, b4a.alloc(1)]), msg, a.publicKey), false)
  assert.equal(verify(b4a.alloc(0), msg, a.publicKey), false)
  assert.equal(verify(sig, msg, a.publicKey.subarray(0, 31)), false)
  assert.equal(verify(sig, msg, a.secretKey), false, 'a 64-byte secret key is not a public key')
  // the empty message is signable too
  assert.equal(verify(sign(b4a.alloc(0), b.secretKey), b4a.alloc(0), b.publicKey), true)
})
