/**
 * Messages of the meeting channel `solidar/meeting/v1` (see docs/PROTOCOL.md): building,
 * signing and sealing them, and the strict parser receivers use. Pure functions; the
 * channel itself is in service.ts.
 *
 *   channel message = CBOR {e, n, c, v: 2, h}: Sealed('meeting', current epoch) of CBOR {p, d, s},
 *     plus the wire version v and the hop counter h (0 from the sender, +1 per relaying member)
 *   p = CBOR payload (below), d = sending device key, s = Ed25519(d, "solidar/meeting/v1" ‖ discoveryKey ‖ p)
 *   message id = the first 32 bytes of s (what receivers deduplicate on)
 *
 * Version 1 messages (no v, no h) read as v 2 with h 0; version 1 nodes ignore v and h (their
 * parser checks e, n and c only), so both still talk: they just do not relay.
 *
 * Payloads (`m` meeting id, `se` the sender's session, `ts` the sender's clock):
 *   {k: 'announce', m, se, ts, si: since, md: {a, v, s} (audio, video, screen), r?: room}
 *   {k: 'leave', m, se, ts}
 *   {k: 'signal', m, se, ts, to: device key (32 bytes), tt: addressee's session, x: signal as JSON}
 */
import b4a from 'b4a'
import sodium from 'sodium-universal'
import { decode, encode } from '../codec.ts'
import { isMessageId, isRoomName } from '../commands.ts'
import { isSealed, type Keyring } from '../content.ts'
import type { Identity } from '../identity.ts'
import type { MediaState, MeetingSignal } from '../types.ts'
import { MAX_MESSAGE, MAX_SIGNAL } from './constants.ts'

export const PROTOCOL = 'solidar/meeting/v1'
/** The message format this node writes (the channel name stays v1: version 1 nodes read it). */
export const WIRE_VERSION = 2

export type MeetingPayload =
  | { k: 'announce', m: string, se: string, ts: number, si: number, md: MediaState, r?: string }
  | { k: 'leave', m: string, se: string, ts: number }
  | { k: 'signal', m: string, se: string, ts: number, to: Uint8Array, tt: string, x: string }

/** A message that opened, parsed and whose signature checked; membership is the caller's to check. */
export interface Opened { payload: MeetingPayload, device: Buffer, epoch: number }

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
}

/**
 * Why a message was dropped (counted per reason, see Meetings.stats). The last five are about
 * relaying: over the hop limit, seen before, outside the replay window, its device over its rate,
 * or the seen-set full of live ids.
 */
export type RejectReason = 'too-large' | 'malformed' | 'unreadable' | 'bad-signature' | 'not-member' | 'not-addressed' | 'meeting-full' |
  'hop-limit' | 'duplicate' | 'stale' | 'rate-limited' | 'overloaded'

export class Rejected extends Error {
  readonly reason: RejectReason
  constructor (reason: RejectReason, detail: string) { super(detail); this.reason = reason }
}

/** Session ids and meeting ids: 8–64 url-safe characters. */
export const isSessionId = isMessageId
export const isMeetingId = isMessageId

function signed (discoveryKey: Uint8Array, payload: Uint8Array): Buffer {
  return b4a.concat([b4a.from(PROTOCOL), discoveryKey, payload])
}

export function sealMessage (keyring: Keyring, epoch: number, identity: Identity, payload: MeetingPayload): Buffer {
  const p = encode(payload)
  const s = b4a.alloc(64)
  sodium.crypto_sign_detached(s, signed(keyring.discoveryKey, p), identity.secretKey)
  const out = frame(keyring.seal(epoch, 'meeting', encode({ p, d: identity.publicKey, s })), 0)
  if (out.byteLength > MAX_MESSAGE) throw new Rejected('too-large', `meeting message of ${out.byteLength} bytes`)
  return out
}

function frame (sealed: { e: number, n: Uint8Array, c: Uint8Array }, hops: number): Buffer {
  return encode({ e: sealed.e, n: sealed.n, c: sealed.c, v: WIRE_VERSION, h: hops })
}

/** The message as a relaying member passes it on: the same sealed body, one more hop. */
export function forwardMessage (env: Envelope): Buffer {
  return frame(env.sealed, env.hops + 1)
}

/**
 * Decrypts a channel message and reads its envelope, without checking the signature (the
 * caller drops duplicates first: decrypting is cheap, verifying is not). `maxHops`: a message
 * that already passed more relays is dropped before decrypting. Throws `Rejected`.
 */
export function openEnvelope (keyring: Keyring, buf: Uint8Array, maxHops: number): Envelope {
  if (buf.byteLength > MAX_MESSAGE) throw new Rejected('too-large', `${buf.byteLength} bytes`)
  const body = safeDecode(buf) as Record<string, unknown> | null
  if (!isSealed(body, MAX_MESSAGE)) throw new Rejected('malformed', 'not a sealed body')
  if (body.v !== undefined && body.v !== 1 && body.v !== WIRE_VERSION) throw new Rejected('malformed', `unknown wire version ${String(body.v)}`)
  const hops = body.h === undefined ? 0 : body.h
  if (!Number.isSafeInteger(hops) || (hops as number) < 0) throw new Rejected('malformed', 'bad hop counter')
  if ((hops as number) > maxHops) throw new Rejected('hop-limit', `${String(hops)} hops`)
  const sealed = { e: body.e, n: b4a.from(body.n), c: b4a.from(body.c) }
  const plain = keyring.open(sealed, 'meeting')
  if (plain === null) throw new Rejected('unreadable', `not sealed with a key of this group (epoch ${body.e})`)
  const env = safeDecode(plain) as Record<string, unknown> | null
  if (env === null || typeof env !== 'object' || !(env.p instanceof Uint8Array) || !(env.d instanceof Uint8Array) ||
    env.d.byteLength !== 32 || !(env.s instanceof Uint8Array) || env.s.byteLength !== 64) {
    throw new Rejected('malformed', 'bad envelope')
  }
  return { id: b4a.toString(env.s.subarray(0, 32), 'hex'), hops: hops as number, epoch: body.e, sealed, p: env.p, d: env.d, s: env.s }
}

/** Checks the signature of an opened envelope and parses its payload; throws `Rejected`. */
export function verifyEnvelope (discoveryKey: Uint8Array, env: Envelope): Opened {
  if (!sodium.crypto_sign_verify_detached(env.s, signed(discoveryKey, env.p), env.d)) throw new Rejected('bad-signature', 'signature does not check')
  const payload = parsePayload(safeDecode(env.p))
  return { payload, device: b4a.from(env.d), epoch: env.epoch }
}

/** Opens, parses and verifies a channel message (any hop count); throws `Rejected` with the reason. */
export function openMessage (keyring: Keyring, buf: Uint8Array): Opened {
  return verifyEnvelope(keyring.discoveryKey, openEnvelope(keyring, buf, Number.MAX_SAFE_INTEGER))
}

function safeDecode (buf: Uint8Array): unknown {
  try { return decode(buf) } catch { return null }
}

const isTs = (x: unknown): x is number => Number.isSafeInteger(x) && (x as number) >= 0

/** A media state as the API takes it: `{audio, video, screen}` booleans. */
export function isMediaState (x: unknown): x is MediaState {
  if (typeof x !== 'object' || x === null) return false
  const m = x as Record<string, unknown>
  return typeof m.audio === 'boolean' && typeof m.video === 'boolean' && typeof m.screen === 'boolean'
}

function parsePayload (x: unknown): MeetingPayload {
  const bad = (why: string): never => { throw new Rejected('malformed', why) }
  if (typeof x !== 'object' || x === null) return bad('payload is not a map')
  const p = x as Record<string, unknown>
  if (!isMeetingId(p.m)) return bad('bad meeting id')
  if (!isSessionId(p.se)) return bad('bad session id')
  if (!isTs(p.ts)) return bad('bad timestamp')
  switch (p.k) {
    case 'announce': {
      if (!isTs(p.si)) return bad('bad since')
      const md = p.md as Record<string, unknown>
      if (typeof md !== 'object' || md === null || typeof md.a !== 'boolean' || typeof md.v !== 'boolean' || typeof md.s !== 'boolean') return bad('bad media state')
      if (p.r !== undefined && !isRoomName(p.r)) return bad('bad room')
      return { k: 'announce', m: p.m, se: p.se, ts: p.ts, si: p.si, md: { audio: md.a, video: md.v, screen: md.s }, ...(p.r !== undefined ? { r: p.r as string } : {}) }
    }
    case 'leave':
      return { k: 'leave', m: p.m, se: p.se, ts: p.ts }
    case 'signal': {
      if (!(p.to instanceof Uint8Array) || p.to.byteLength !== 32) return bad('bad addressee')
      if (!isSessionId(p.tt)) return bad('bad addressee session')
      if (typeof p.x !== 'string' || p.x.length > MAX_SIGNAL) return bad('bad signal')
      parseSignal(p.x) // throws for a signal that is not one
      return { k: 'signal', m: p.m, se: p.se, ts: p.ts, to: p.to, tt: p.tt, x: p.x }
    }
    default:
      return bad('unknown kind')
  }
}

/** The media state as it goes on the wire (short keys). */
export function wireMedia (m: MediaState): { a: boolean, v: boolean, s: boolean } {
  return { a: m.audio, v: m.video, s: m.screen }
}

const SIGNAL_TYPES = new Set(['offer', 'answer', 'pranswer', 'rollback', 'candidate', 'renegotiate', 'transceiverRequest'])

/**
 * A simple-peer signal: a JSON object with a known `type`; offers and answers carry an SDP
 * string (whose `a=fingerprint` is what the signature binds to the member), candidates an
 * object with a candidate string. Throws `Rejected('malformed')` for anything else.
 */
export function parseSignal (json: string): MeetingSignal {
  let x: unknown
  try { x = JSON.parse(json) } catch { throw new Rejected('malformed', 'signal is not JSON') }
  checkSignal(x)
  return x as MeetingSignal
}

export function checkSignal (x: unknown): asserts x is MeetingSignal {
  const bad = (why: string): never => { throw new Rejected('malformed', why) }
  if (typeof x !== 'object' || x === null || Array.isArray(x)) return bad('signal is not an object')
  const s = x as Record<string, unknown>
  if (typeof s.type !== 'string' || !SIGNAL_TYPES.has(s.type)) return bad('unknown signal type')
  if ((s.type === 'offer' || s.type === 'answer' || s.type === 'pranswer') && (typeof s.sdp !== 'string' || !s.sdp.startsWith('v=0'))) return bad('offer/answer without an SDP')
  if (s.type === 'candidate') {
    const c = s.candidate as Record<string, unknown>
    if (typeof c !== 'object' || c === null || typeof c.candidate !== 'string') return bad('candidate without a candidate string')
  }
}
