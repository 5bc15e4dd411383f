import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import crypto from 'hypercore-crypto'
import b4a from 'b4a'
import { encode } from '../src/codec.ts'
import {
  FrameReader, MatchError, PROOF_BUCKET, decodeHello, decodeProofs, encodeHello, encodeProofs, makeProofs, matchProofs,
  proofFor, randomNonce, runMatch, type MatchChannel
} from '../src/lan-matching.ts'

/** Two channels joined back to back, frames parsed with FrameReader as on the wire. */
function channelPair (): [MatchChannel, MatchChannel] {
  const make = () => ({ reader: new FrameReader(), waiting: [] as Array<(f: Buffer) => void>, frames: [] as Buffer[] })
  const ends = [make(), make()]
  const channel = (me: number): MatchChannel => ({
    write (frame) {
      const other = ends[1 - me]
      other.reader.append(frame)
      let f: Buffer | null
      while ((f = other.reader.next()) !== null) {
        const w = other.waiting.shift()
        if (w) w(f); else other.frames.push(f)
      }
    },
    read: () => new Promise(resolve => {
      const f = ends[me].frames.shift()
      if (f) resolve(f); else ends[me].waiting.push(resolve)
    })
  })
  return [channel(0), channel(1)]
}

const hexes = (list: Buffer[]) => list.map(b => b4a.toString(b, 'hex')).sort()

describe('LAN private matching', () => {
  it('both sides find exactly the topics they share', async () => {
    const shared = [crypto.randomBytes(32), crypto.randomBytes(32)]
    const onlyA = [crypto.randomBytes(32), crypto.randomBytes(32), crypto.randomBytes(32)]
    const onlyB = [crypto.randomBytes(32)]
    const [ca, cb] = channelPair()
    const [fromA, fromB] = await Promise.all([
      runMatch(ca, 'initiator', [...onlyA, shared[0], shared[1]]),
      runMatch(cb, 'responder', [shared[1], ...onlyB, shared[0]])
    ])
    assert.deepEqual(hexes(fromA), hexes(shared))
    assert.deepEqual(hexes(fromB), hexes(shared))
  })

  it('a stranger with no topics learns nothing and matches nothing', async () => {
    const [ca, cb] = channelPair()
    const [fromA, fromB] = await Promise.all([runMatch(ca, 'initiator', [crypto.randomBytes(32)]), runMatch(cb, 'responder', [])])
    assert.equal(fromA.length, 0)
    assert.equal(fromB.length, 0)
  })

  it('proofs are padded to a bucket, fresh per meeting, and bound to the role', () => {
    const topic = crypto.randomBytes(32)
    const nI = randomNonce()
    const nR = randomNonce()
    assert.equal(makeProofs([], 'initiator', nI, nR).length, PROOF_BUCKET)
    assert.equal(makeProofs(Array.from({ length: 9 }, () => crypto.randomBytes(32)), 'initiator', nI, nR).length, 2 * PROOF_BUCKET)
    assert.ok(!b4a.equals(proofFor(topic, 'initiator', nI, nR), proofFor(topic, 'initiator', randomNonce(), nR)), 'new nonce, new proof')
    // Reflection: the responder echoing the initiator's proofs proves nothing.
    const initiatorProofs = makeProofs([topic], 'initiator', nI, nR)
    assert.equal(matchProofs([topic], initiatorProofs, 'responder', nI, nR).length, 0)
    assert.equal(matchProofs([topic], initiatorProofs, 'initiator', nI, nR).length, 1)
  })

  it('malformed messages are MatchErrors, never crashes', () => {
    const payload = (buf: Buffer) => buf.subarray(4)
    assert.equal(decodeHello(payload(encodeHello(randomNonce()))).byteLength, 32)
    assert.equal(decodeProofs(payload(encodeProofs([crypto.randomBytes(32)]))).length, 1)
    const bad: Array<[string, Buffer]> = [
      ['not CBOR', b4a.from([0xff, 0x00, 0x13])],
      ['a list', encode([1, 2])],
      ['wrong version', encode({ v: 2, t: 'hello', nonce: randomNonce() })],
      ['short nonce', encode({ v: 1, t: 'hello', nonce: b4a.alloc(5) })],
      ['wrong type', encode({ v: 1, t: 'proofs', proofs: [] })]
    ]
    for (const [what, buf] of bad) assert.throws(() => decodeHello(buf), MatchError, what)
    assert.throws(() => decodeProofs(encode({ v: 1, t: 'proofs', proofs: 'x' })), MatchError)
    assert.throws(() => decodeProofs(encode({ v: 1, t: 'proofs', proofs: [b4a.alloc(31)] })), MatchError)
    assert.throws(() => decodeProofs(encode({ v: 1, t: 'proofs', proofs: Array.from({ length: 5000 }, () => b4a.alloc(32)) })), MatchError)
    const reader = new FrameReader()
    reader.append(b4a.from([0xff, 0xff, 0xff, 0xff]))
    assert.throws(() => reader.next(), MatchError, 'oversized frame')
  })

  it('bytes after the matching frames stay for what follows', () => {
    const reader = new FrameReader()
    reader.append(b4a.concat([encodeHello(randomNonce()), b4a.from('rest')]))
    assert.ok(reader.next())
    assert.equal(reader.rest().toString(), 'rest')
  })
})
