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
import { encode } from '../codec.ts'
import { isMessageId, isRoomName } from '../commands.ts'
import type { Keyring } from '../content.ts'
import { forwardEnvelope, openEnvelope as openLiveEnvelope, Rejected, sealEnvelope, verifyEnvelope as verifyLiveEnvelope, type Envelope, type EnvelopeReject, type EnvelopeSpec } from '../live-envelope.ts'
import type { RelayReject } from '../live-relay.ts'
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

/**
 * Why a message was dropped (counted per reason, see Meetings.stats). The last five are about
 * relaying: over the hop limit, seen before, outside the replay window, its device over its rate,
 * or the seen-set full of live ids.
 */
export type RejectReason = EnvelopeReject | 'not-member' | 'not-addressed' | 'meeting-full' | RelayReject

export { Rejected, type Envelope }

/** The meeting channel's envelopes (../live-envelope.ts): version 1 (no `v`) and 2 read, 2 written. */
const SPEC: EnvelopeSpec = { protocol: PROTOCOL, kind: 'meeting', maxMessage: MAX_MESSAGE, version: WIRE_VERSION, reads: [undefined, 1, WIRE_VERSION] }

/** Session ids and meeting ids: 8–64 url-safe characters. */
export const isSessionId = isMessageId
export const isMeetingId = isMessageId

export function sealMessage (keyring: Keyring, epoch: number, identity: Identity, payload: MeetingPayload): Buffer {
  return sealEnvelope(SPEC, keyring, epoch, identity, encode(payload))
}

/** The message as a relaying member passes it on: the same sealed body, one more hop. */
export function forwardMessage (env: Envelope): Buffer {
  return forwardEnvelope(SPEC, env)
}

/**
 * Decrypts a channel message and reads its envelope, without checking the signature (the
 * caller drops duplicates first: decrypting is cheap, verifying is not). `maxHops`: a message
 * that already passed more relays is dropped before decrypting. Throws `Rejected`.
 */
export function openEnvelope (keyring: Keyring, buf: Uint8Array, maxHops: number): Envelope {
  return openLiveEnvelope(SPEC, keyring, buf, maxHops)
}

/** Checks the signature of an opened envelope and parses its payload; throws `Rejected`. */
export function verifyEnvelope (discoveryKey: Uint8Array, env: Envelope): Opened {
  const payload = parsePayload(verifyLiveEnvelope(SPEC, discoveryKey, env))
  return { payload, device: b4a.from(env.d), epoch: env.epoch }
}

/** Opens, parses and verifies a channel message (any hop count); throws `Rejected` with the reason. */
export function openMessage (keyring: Keyring, buf: Uint8Array): Opened {
  return verifyEnvelope(keyring.discoveryKey, openEnvelope(keyring, buf, Number.MAX_SAFE_INTEGER))
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
