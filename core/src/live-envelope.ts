/**
 * The envelope of the live channels that relay through members (meeting signals,
 * meetings/wire.ts; live chat, services/live-wire.ts): sealed under a group epoch, signed by the
 * sending device, with a hop counter outside the signature that each relaying member raises.
 *
 *   channel message = CBOR {e, n, c, v, h, r?}: Sealed(kind, epoch) of CBOR {p, d, s}
 *   p = CBOR payload (the channel's own), d = sending device key,
 *   s = Ed25519(d, protocol ‖ discoveryKey ‖ p)
 *   message id = the first 32 bytes of s (what relays deduplicate on)
 *   r = devices the message was sent to so far (8-byte key prefixes, concatenated; live chat only):
 *       a relay skips those, so a full mesh does not carry every message N² times. Not signed: a
 *       member who lies in it only withholds its own relaying, which it could anyway.
 *
 * Pure functions; what a payload holds and who may send it is the channel's.
 */
import b4a from 'b4a'
import sodium from 'sodium-universal'
import { decode, encode } from './codec.ts'
import { isSealed, type ContentKind, type Keyring } from './content.ts'
import type { Identity } from './identity.ts'
import { describe } from './describe.ts'

/** What one channel's envelopes are: its protocol name (signed), seal kind, size bound and wire versions. */
export interface EnvelopeSpec {
  protocol: string
  kind: ContentKind
  maxMessage: number
  /** The version this node writes (`v`). */
  version: number
  /** The versions it reads; `undefined` stands for messages without `v`. */
  reads: ReadonlyArray<number | undefined>
}

/** Why an envelope was refused. */
export type EnvelopeReject = 'too-large' | 'malformed' | 'unreadable' | 'bad-signature' | 'hop-limit'

/** A refused message, with the reason the channel counts it under. */
export class Rejected<R extends string = string> extends Error {
  readonly reason: R
  constructor (reason: R, detail: string) { super(detail); this.reason = reason }
}

/** A message that opened (decrypted) but whose signature is not checked yet: enough to deduplicate. */
export interface Envelope {
  /** Message id (hex): the first 32 bytes of the signature. */
  id: string
  /** Relaying members it passed so far. */
  hops: number
  epoch: number
  /** The sealed body as received, forwarded unchanged. */
  sealed: { e: number, n: Uint8Array, c: Uint8Array }
  p: Uint8Array
  d: Uint8Array
  s: Uint8Array
  /** Device key prefixes (REACHED_PREFIX bytes each) the message was sent to so far; empty when none were named. */
  reached: Uint8Array
}

/** Bytes of a device key named in `r`. */
export const REACHED_PREFIX = 8
/** Devices named in `r` at most (a relay that would name more stops adding). */
export const MAX_REACHED = 256

function signed (spec: EnvelopeSpec, discoveryKey: Uint8Array, payload: Uint8Array): Buffer {
  return b4a.concat([b4a.from(spec.protocol), discoveryKey, payload])
}

function frame (spec: EnvelopeSpec, sealed: { e: number, n: Uint8Array, c: Uint8Array }, hops: number, reached?: Uint8Array): Buffer {
  return encode({ e: sealed.e, n: sealed.n, c: sealed.c, v: spec.version, h: hops, ...(reached !== undefined && reached.byteLength > 0 ? { r: reached } : {}) })
}

/** A message sealed once, framed per send (hop 0, and the devices it goes to). */
export interface SealedEnvelope { sealed: { e: number, n: Uint8Array, c: Uint8Array } }

/** Signs `payload` (CBOR bytes) as `identity` and seals it under `epoch`; throws Rejected('too-large') past the bound. */
export function sealEnvelope (spec: EnvelopeSpec, keyring: Keyring, epoch: number, identity: Pick<Identity, 'publicKey' | 'secretKey'>, payload: Uint8Array): Buffer {
  return frameEnvelope(spec, signEnvelope(spec, keyring, epoch, identity, payload), 0)
}

/** The signed, sealed body, to frame with `frameEnvelope` (with the devices it goes to). */
export function signEnvelope (spec: EnvelopeSpec, keyring: Keyring, epoch: number, identity: Pick<Identity, 'publicKey' | 'secretKey'>, payload: Uint8Array): SealedEnvelope {
  const s = b4a.alloc(64)
  sodium.crypto_sign_detached(s, signed(spec, keyring.discoveryKey, payload), identity.secretKey)
  return { sealed: keyring.seal(epoch, spec.kind, encode({ p: payload, d: identity.publicKey, s })) }
}

/** The channel message of a sealed body after `hops` relays, naming the devices in `reached`; Rejected('too-large') past the bound. */
export function frameEnvelope (spec: EnvelopeSpec, env: SealedEnvelope, hops: number, reached?: Uint8Array): Buffer {
  const out = frame(spec, env.sealed, hops, reached)
  if (out.byteLength > spec.maxMessage) throw new Rejected<EnvelopeReject>('too-large', `${spec.protocol} message of ${out.byteLength} bytes`)
  return out
}

/** The message as a relaying member passes it on: the same sealed body, one more hop (and, given, the devices reached now). */
export function forwardEnvelope (spec: EnvelopeSpec, env: Envelope, reached?: Uint8Array): Buffer {
  return frame(spec, env.sealed, env.hops + 1, reached)
}

/**
 * Decrypts a channel message and reads its envelope, without checking the signature (the
 * caller drops duplicates first: decrypting is cheap, verifying is not). A message that
 * already passed more than `maxHops` relays is dropped before decrypting. Throws `Rejected`.
 */
export function openEnvelope (spec: EnvelopeSpec, keyring: Keyring, buf: Uint8Array, maxHops: number): Envelope {
  if (buf.byteLength > spec.maxMessage) throw new Rejected<EnvelopeReject>('too-large', `${buf.byteLength} bytes`)
  const body = decode(buf) as Record<string, unknown> | null
  if (!isSealed(body, spec.maxMessage)) throw new Rejected<EnvelopeReject>('malformed', 'not a sealed body')
  if (!spec.reads.includes(body.v as number | undefined)) throw new Rejected<EnvelopeReject>('malformed', `unknown wire version ${describe(body.v)}`)
  const hops = body.h === undefined ? 0 : body.h
  if (!Number.isSafeInteger(hops) || (hops as number) < 0) throw new Rejected<EnvelopeReject>('malformed', 'bad hop counter')
  if ((hops as number) > maxHops) throw new Rejected<EnvelopeReject>('hop-limit', `${String(hops)} hops`)
  const reached = body.r === undefined ? b4a.alloc(0) : body.r
  if (!(reached instanceof Uint8Array) || reached.byteLength % REACHED_PREFIX !== 0 || reached.byteLength > MAX_REACHED * REACHED_PREFIX) throw new Rejected<EnvelopeReject>('malformed', 'bad reached list')
  const sealed = { e: body.e, n: b4a.from(body.n), c: b4a.from(body.c) }
  const plain = keyring.open(sealed, spec.kind)
  if (plain === null) throw new Rejected<EnvelopeReject>('unreadable', `not sealed with a key of this group (epoch ${body.e})`)
  const env = decode(plain) as Record<string, unknown> | null
  if (env === null || typeof env !== 'object' || !(env.p instanceof Uint8Array) || !(env.d instanceof Uint8Array) ||
    env.d.byteLength !== 32 || !(env.s instanceof Uint8Array) || env.s.byteLength !== 64) {
    throw new Rejected<EnvelopeReject>('malformed', 'bad envelope')
  }
  return { id: b4a.toString(env.s.subarray(0, 32), 'hex'), hops: hops as number, epoch: body.e, sealed, p: env.p, d: env.d, s: env.s, reached }
}

/** Checks the envelope's signature and decodes its payload (not parsed: that is the channel's); throws `Rejected`. */
export function verifyEnvelope (spec: EnvelopeSpec, discoveryKey: Uint8Array, env: Envelope): unknown {
  if (!sodium.crypto_sign_verify_detached(env.s, signed(spec, discoveryKey, env.p), env.d)) throw new Rejected<EnvelopeReject>('bad-signature', 'signature does not check')
  return decode(env.p)
}
