import test from 'node:test'
import assert from 'node:assert/strict'
import b4a from 'b4a'
import z32 from 'z32'
import sodium from 'sodium-universal'
import hcrypto from 'hypercore-crypto'
import { createInvite } from 'blind-pairing-core'
import { decodeInviteCode, encodeInviteCode, encryptionKeyCommitment, type DecodedInvite } from '../src/invite-code.ts'
import { SolidarError } from '../src/errors.ts'
import { seededRandom } from './helpers.ts'

const PREFIX = 'solidar1'
const ALPHABET = 'ybndrfg8ejkmcpqxot1uwisza345h769'

function malformed (fn: () => unknown, message: RegExp) {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof SolidarError, `expected a SolidarError, got ${String(err)}`)
    assert.equal(err.code, 'INVITE_MALFORMED')
    assert.match(err.message, /^This invite code is not valid: /)
    assert.match(err.message, message)
    return true
  })
}

/** A code built by hand around `body`, with a correct checksum (to reach the checks after it). */
function envelope (body: Uint8Array): string {
  const sum = b4a.alloc(16)
  sodium.crypto_generichash(sum, body)
  return PREFIX + z32.encode(b4a.concat([body, sum.subarray(0, 4)]))
}

/** Who the codes of these tests say made them (any 32-byte key and encryption key will do). */
const FROM = { issuer: hcrypto.randomBytes(32), encryptionKey: hcrypto.randomBytes(32) }

function sameInvite (a: DecodedInvite, b: DecodedInvite) {
  assert.ok(b4a.equals(a.invite, b.invite))
  assert.ok(b4a.equals(a.id, b.id))
  assert.ok(b4a.equals(a.discoveryKey, b.discoveryKey))
  assert.ok(b4a.equals(a.seed, b.seed))
  assert.equal(a.expires, b.expires)
}

test('encode / decode round trip keeps every field of the blind-pairing invite', () => {
  const key = hcrypto.randomBytes(32)
  const expires = Date.now() + 3_600_000
  const inv = createInvite(key, { expires })
  const code = encodeInviteCode(inv.invite, FROM)
  assert.ok(code.startsWith(PREFIX))
  assert.match(code.slice(PREFIX.length), new RegExp(`^[${ALPHABET}]+$`))
  const back = decodeInviteCode(code)
  assert.ok(b4a.equals(back.invite, inv.invite))
  assert.ok(b4a.equals(back.id, inv.id))
  assert.ok(b4a.equals(back.seed, inv.seed))
  assert.ok(b4a.equals(back.discoveryKey, hcrypto.discoveryKey(key)))
  // blind-pairing stores the expiry in whole seconds (uint32): the code carries it rounded down,
  // so a local check against the code errs on the early side, never the late one
  assert.equal(back.expires, Math.floor(expires / 1000) * 1000)
  assert.ok(back.expires <= expires && expires - back.expires < 1000)
  // the group key itself is not in the code
  assert.equal(b4a.indexOf(back.invite, key), -1)
  assert.equal(code.toLowerCase().indexOf(z32.encode(key)), -1)

  // no expiry encodes as 0 ("never")
  const forever = decodeInviteCode(encodeInviteCode(createInvite(hcrypto.randomBytes(32)).invite, FROM))
  assert.equal(forever.expires, 0)
})

test('every single-character substitution is rejected (checksum), at every position', () => {
  const rnd = seededRandom(0x501da1)
  for (let round = 0; round < 3; round++) {
    const inv = createInvite(rnd.bytes(32), { seed: rnd.bytes(32), expires: 1_700_000_000_000 + rnd.int(1e9) })
    const code = encodeInviteCode(inv.invite, FROM)
    const original = decodeInviteCode(code)
    let rejected = 0
    let sameBytes = 0
    for (let pos = 0; pos < code.length; pos++) {
      const alphabet = pos < PREFIX.length ? 'abcdefghijklmnopqrstuvwxyz0123456789' : ALPHABET
      for (const ch of alphabet) {
        if (ch === code[pos]) continue
        const bad = code.slice(0, pos) + ch + code.slice(pos + 1)
        let decoded: DecodedInvite | null = null
        try {
          decoded = decodeInviteCode(bad)
        } catch (err: any) {
          assert.equal(err.code, 'INVITE_MALFORMED', `position ${pos} '${ch}': ${err.message}`)
          assert.match(err.message, pos < PREFIX.length ? /does not start with "solidar1"/ : /checksum does not match/)
          rejected++
          continue
        }
        // The only way a changed character may be accepted: the last character carries unused
        // padding bits, and the change touched only those. Then the invite is exactly the same.
        assert.equal(pos, code.length - 1, `substitution at position ${pos} ('${code[pos]}' -> '${ch}') was accepted`)
        sameInvite(decoded, original)
        sameBytes++
      }
    }
    // Exactly the padding variants of the last character got through, everything else was rejected.
    const chars = code.length - PREFIX.length
    const unusedBits = chars * 5 - z32.decode(code.slice(PREFIX.length)).byteLength * 8
    assert.ok(unusedBits >= 0 && unusedBits < 5)
    assert.equal(sameBytes, 2 ** unusedBits - 1)
    assert.equal(rejected, PREFIX.length * 35 + chars * 31 - sameBytes)
  }
})

test('wrong prefix, truncation, foreign characters, empty and non-text inputs give a helpful INVITE_MALFORMED', () => {
  const inv = createInvite(hcrypto.randomBytes(32), { expires: Date.now() + 60_000 })
  const code = encodeInviteCode(inv.invite, FROM)
  const body = code.slice(PREFIX.length)

  malformed(() => decodeInviteCode('solidar2' + body), /does not start with "solidar1"/)
  malformed(() => decodeInviteCode(body), /does not start with "solidar1"/)
  malformed(() => decodeInviteCode('https://example.org/' + code), /does not start with "solidar1"/)
  malformed(() => decodeInviteCode(''), /does not start with "solidar1"/)
  malformed(() => decodeInviteCode('   '), /does not start with "solidar1"/)
  malformed(() => decodeInviteCode(PREFIX), /too short|cut off/)

  // cut off at the end (copy-paste lost the tail): too short, or the checksum no longer matches
  for (const keep of [1, 8, 20, 40, body.length - 10, body.length - 1]) {
    malformed(() => decodeInviteCode(PREFIX + body.slice(0, keep)), /too short|cut off|checksum does not match|characters that do not belong/)
  }
  malformed(() => decodeInviteCode(PREFIX + body.slice(0, 16)), /too short \(was it cut off\?\)/)
  // lost a character in the middle
  malformed(() => decodeInviteCode(code.slice(0, 30) + code.slice(31)), /checksum does not match|characters that do not belong|wrong length/)
  // doubled a character
  malformed(() => decodeInviteCode(code.slice(0, 30) + code[30] + code.slice(30)), /checksum does not match|characters that do not belong|wrong length/)

  // characters outside z-base-32 (0, 2, l, v and punctuation)
  for (const ch of ['0', '2', 'l', 'v', '-', '.', 'ä', '/']) {
    malformed(() => decodeInviteCode(code.slice(0, 20) + ch + code.slice(21)), /characters that do not belong in a code/)
  }

  for (const value of [undefined, null, 42, {}, [code], b4a.from(code)]) {
    malformed(() => decodeInviteCode(value), /it is not text/)
  }
})

test('a correct checksum around a wrong version or unreadable contents is still rejected', () => {
  const inv = createInvite(hcrypto.randomBytes(32), { expires: 123_000 })
  const v2 = (invite: Uint8Array) => b4a.concat([b4a.from([2]), FROM.issuer, b4a.alloc(32), invite])
  malformed(() => decodeInviteCode(envelope(b4a.concat([b4a.from([3]), inv.invite]))), /version 3, this Solidar reads version 2/)
  malformed(() => decodeInviteCode(envelope(v2(b4a.alloc(40, 0xff)))), /contents cannot be read/)
  malformed(() => decodeInviteCode(envelope(b4a.from([2, 1, 2, 3]).subarray(0, 1))), /too short/)
  // the hand-made envelope is right: with version 2 it decodes
  assert.equal(decodeInviteCode(envelope(v2(inv.invite))).expires, 123_000)
})

test('a version 1 code (no issuer, no key commitment) is refused with a reason to ask for a new one', () => {
  const inv = createInvite(hcrypto.randomBytes(32), { expires: 123_000 })
  malformed(() => decodeInviteCode(envelope(b4a.concat([b4a.from([1]), inv.invite]))), /older Solidar .*ask an admin for a new code/)
})

test('a code carries the issuing device and a commitment to the encryption key, never the key itself', () => {
  const inv = createInvite(hcrypto.randomBytes(32), { expires: Date.now() + 60_000 })
  const code = encodeInviteCode(inv.invite, FROM)
  const back = decodeInviteCode(code)
  assert.ok(b4a.equals(back.issuer, FROM.issuer))
  assert.ok(b4a.equals(back.keyCommit, encryptionKeyCommitment(FROM.encryptionKey)))
  assert.ok(!b4a.equals(back.keyCommit, FROM.encryptionKey))
  assert.equal(b4a.indexOf(z32.decode(code.slice(PREFIX.length)), FROM.encryptionKey), -1, 'the encryption key is not in the code')
})

test('whitespace, line breaks and letter case are tolerated', () => {
  const inv = createInvite(hcrypto.randomBytes(32), { expires: Date.now() + 60_000 })
  const code = encodeInviteCode(inv.invite, FROM)
  const original = decodeInviteCode(code)
  const grouped = code.match(/.{1,4}/g)!.join(' ')
  const variants = [
    code.toUpperCase(),
    `  ${code}\n`,
    grouped,
    code.match(/.{1,20}/g)!.join('\n'),
    code.match(/.{1,7}/g)!.join('\t'),
    grouped.toUpperCase().replace(/ /g, ' \r\n '),
    code.slice(0, 10).toUpperCase() + code.slice(10)
  ]
  for (const v of variants) sameInvite(decodeInviteCode(v), original)
})

test('a code that lost its last character is refused even when z32 fills the lost bits with the zeros they were', () => {
  // z32 decodes a string one character short to the same bytes whenever the bits that character
  // carried were zero (1 code in 4 of the current length): found by a flaky CI run. Pick such a code.
  let found = 0
  for (let i = 0; i < 400 && found < 5; i++) {
    const inv = createInvite(hcrypto.randomBytes(32), { expires: Date.now() + 60_000 })
    const code = encodeInviteCode(inv.invite, { issuer: hcrypto.randomBytes(32), encryptionKey: hcrypto.randomBytes(32) })
    const cut = code.slice(0, -1)
    if (!b4a.equals(z32.decode(cut.slice(PREFIX.length)), z32.decode(code.slice(PREFIX.length)))) continue
    found++
    malformed(() => decodeInviteCode(cut), /wrong length \(a character lost, doubled or cut off\?\)/)
    assert.equal(decodeInviteCode(code).id.length, 32)
  }
  assert.ok(found > 0, 'such codes exist (a quarter of them)')
})
