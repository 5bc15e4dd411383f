/**
 * Private matching: two peers that meet on a LAN find the topics (group discovery keys)
 * they share without telling each other, or a stranger, any topic the other does not know.
 *
 *   initiator → responder   hello  {v: 1, nonce: nI}            (32 random bytes)
 *   responder → initiator   hello  {v: 1, nonce: nR}
 *   each → other            proofs {v: 1, proofs: [MAC…]}       (after reading the other's hello)
 *
 * MAC for topic T sent by side S (0x01 initiator, 0x02 responder):
 *   K_T   = BLAKE2b-256("solidar/lan-match/v1" ‖ T)
 *   MAC   = BLAKE2b-256(S ‖ nI ‖ nR, key = K_T)
 * A receiver computes the MACs the other side would send for each of its own topics and
 * keeps those it received. The role byte stops a peer from reflecting the other's MACs;
 * fresh nonces from both sides make proofs unlinkable across meetings and unreplayable.
 * Proof lists are padded with random MACs to a multiple of PROOF_BUCKET, so the count
 * reveals only a rounded number of groups. See docs/PROTOCOL.md and docs/SECURITY.md.
 *
 * Messages are CBOR in frames of a 4-byte big-endian length; malformed input is rejected
 * with a `MatchError`, never thrown past the caller's session.
 */
import sodium from 'sodium-universal'
import b4a from 'b4a'
import { encode, decode, toBuffer } from './codec.ts'
import { describe } from './describe.ts'

export const MATCH_VERSION = 1
export const NONCE_BYTES = 32
export const MAC_BYTES = 32
/** Proof lists are padded to a multiple of this (hides the exact number of groups). */
export const PROOF_BUCKET = 8
/** More topics than anyone belongs to; a longer list is treated as malformed (bounds work per peer). */
export const MAX_PROOFS = 4096
/** Largest frame accepted: a full proof list plus CBOR overhead. */
export const MAX_FRAME = MAX_PROOFS * (MAC_BYTES + 3) + 64

export type MatchRole = 'initiator' | 'responder'

export class MatchError extends Error {
  readonly code = 'MATCH_MALFORMED'
}

const KEY_LABEL = b4a.from('solidar/lan-match/v1')
const ROLE_BYTE: Record<MatchRole, number> = { initiator: 1, responder: 2 }

export function randomNonce (): Buffer {
  const n = b4a.alloc(NONCE_BYTES)
  sodium.randombytes_buf(n)
  return n
}

function topicKey (topic: Uint8Array): Buffer {
  const out = b4a.alloc(32)
  sodium.crypto_generichash(out, b4a.concat([KEY_LABEL, topic]))
  return out
}

/** The proof that `role` knows `topic`, for the nonces of this meeting. */
export function proofFor (topic: Uint8Array, role: MatchRole, initiatorNonce: Uint8Array, responderNonce: Uint8Array): Buffer {
  const out = b4a.alloc(MAC_BYTES)
  sodium.crypto_generichash(out, b4a.concat([b4a.from([ROLE_BYTE[role]]), initiatorNonce, responderNonce]), topicKey(topic))
  return out
}

/** Our proofs for all our topics, shuffled and padded with random MACs to a multiple of PROOF_BUCKET. */
export function makeProofs (topics: Uint8Array[], role: MatchRole, initiatorNonce: Uint8Array, responderNonce: Uint8Array): Buffer[] {
  const proofs = topics.slice(0, MAX_PROOFS).map(t => proofFor(t, role, initiatorNonce, responderNonce))
  const target = Math.min(MAX_PROOFS, Math.max(PROOF_BUCKET, Math.ceil(proofs.length / PROOF_BUCKET) * PROOF_BUCKET))
  while (proofs.length < target) {
    const pad = b4a.alloc(MAC_BYTES)
    sodium.randombytes_buf(pad)
    proofs.push(pad)
  }
  // Fisher–Yates with sodium's RNG: the position of a real proof says nothing either.
  for (let i = proofs.length - 1; i > 0; i--) {
    const j = sodium.randombytes_uniform(i + 1)
    const tmp = proofs[i]; proofs[i] = proofs[j]; proofs[j] = tmp
  }
  return proofs
}

/** The topics among `ours` that the peer (in `peerRole`) proved to know. */
export function matchProofs (ours: Uint8Array[], received: Uint8Array[], peerRole: MatchRole, initiatorNonce: Uint8Array, responderNonce: Uint8Array): Buffer[] {
  const seen = new Set(received.map(p => b4a.toString(p, 'hex')))
  const shared: Buffer[] = []
  for (const topic of ours) {
    if (seen.has(b4a.toString(proofFor(topic, peerRole, initiatorNonce, responderNonce), 'hex'))) shared.push(toBuffer(topic))
  }
  return shared
}

// ------------------------------------------------------------------ wire messages

export function encodeHello (nonce: Uint8Array): Buffer {
  return frame(encode({ v: MATCH_VERSION, t: 'hello', nonce: toBuffer(nonce) }))
}

export function encodeProofs (proofs: Uint8Array[]): Buffer {
  return frame(encode({ v: MATCH_VERSION, t: 'proofs', proofs: proofs.map(toBuffer) }))
}

export function decodeHello (payload: Uint8Array): Buffer {
  const msg = decodeMessage(payload, 'hello')
  if (!isBytes(msg.nonce, NONCE_BYTES)) throw new MatchError('hello: nonce must be 32 bytes')
  return toBuffer(msg.nonce)
}

export function decodeProofs (payload: Uint8Array): Buffer[] {
  const msg = decodeMessage(payload, 'proofs')
  const proofs = msg.proofs
  if (!Array.isArray(proofs)) throw new MatchError('proofs: not a list')
  if (proofs.length > MAX_PROOFS) throw new MatchError(`proofs: more than ${MAX_PROOFS}`)
  if (!proofs.every(p => isBytes(p, MAC_BYTES))) throw new MatchError('proofs: every proof must be 32 bytes')
  return proofs.map(toBuffer)
}

function decodeMessage (payload: Uint8Array, type: string): Record<string, unknown> {
  const msg = decode(payload)
  if (msg === null || typeof msg !== 'object' || Array.isArray(msg)) throw new MatchError(`${type}: not a CBOR map`)
  const m = msg as Record<string, unknown>
  if (m.v !== MATCH_VERSION) throw new MatchError(`${type}: unsupported version ${describe(m.v)}`)
  if (m.t !== type) throw new MatchError(`expected ${type}, got ${typeof m.t === 'string' ? m.t.slice(0, 20) : typeof m.t}`)
  return m
}

const isBytes = (x: unknown, len: number): x is Uint8Array => x instanceof Uint8Array && x.byteLength === len

function frame (payload: Buffer): Buffer {
  const header = b4a.alloc(4)
  header.writeUInt32BE(payload.byteLength, 0)
  return b4a.concat([header, payload])
}

/**
 * Splits a byte stream into frames. `append` adds bytes, `next` returns one complete
 * frame (or null until one is complete); `rest()` hands back the bytes after it (what follows matching).
 */
export class FrameReader {
  #buf: Buffer = b4a.alloc(0)

  append (chunk: Uint8Array): void {
    this.#buf = this.#buf.byteLength === 0 ? toBuffer(chunk) : b4a.concat([this.#buf, chunk])
  }

  /** Takes only the next complete frame; later bytes stay buffered (see `rest`). */
  next (): Buffer | null {
    if (this.#buf.byteLength < 4) return null
    const len = this.#buf.readUInt32BE(0)
    if (len > MAX_FRAME) throw new MatchError(`frame of ${len} bytes exceeds ${MAX_FRAME}`)
    if (this.#buf.byteLength < 4 + len) return null
    const f = this.#buf.subarray(4, 4 + len)
    this.#buf = this.#buf.subarray(4 + len)
    return f
  }

  rest (): Buffer {
    const r = this.#buf
    this.#buf = b4a.alloc(0)
    return r
  }
}

/** A framed channel to one peer: `write` sends a frame, `read` resolves with the next frame. */
export interface MatchChannel {
  write (frame: Buffer): void
  read (): Promise<Buffer>
}

/**
 * Runs one matching exchange in `role` over `channel`; resolves with the topics among
 * `topics` that the peer proved to know (possibly none). Rejects with `MatchError` on
 * malformed input; the caller bounds the time it waits.
 */
export async function runMatch (channel: MatchChannel, role: MatchRole, topics: Uint8Array[]): Promise<Buffer[]> {
  if (role === 'initiator') {
    const nI = randomNonce()
    channel.write(encodeHello(nI))
    const nR = decodeHello(await channel.read())
    channel.write(encodeProofs(makeProofs(topics, 'initiator', nI, nR)))
    return matchProofs(topics, decodeProofs(await channel.read()), 'responder', nI, nR)
  }
  const nI = decodeHello(await channel.read())
  const nR = randomNonce()
  channel.write(encodeHello(nR))
  channel.write(encodeProofs(makeProofs(topics, 'responder', nI, nR)))
  return matchProofs(topics, decodeProofs(await channel.read()), 'initiator', nI, nR)
}
