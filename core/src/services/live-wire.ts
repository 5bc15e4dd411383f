/**
 * Messages of the live chat channel `solidar/chat-live/v1` (docs/PROTOCOL.md): the envelope of
 * ../live-envelope.ts (sealed under the group's current epoch as 'chat-live', signed by the
 * sending device, hop counter outside the signature) around one of these payloads:
 *
 *   {k: 'hello', t: the sender's transport key (32 bytes)}
 *       "this connection is my device": sent once when the channel opens, never relayed.
 *       Binding the transport key (which the Noise handshake authenticated) keeps a hello from
 *       being replayed on another connection. Messages go only to connections whose device is
 *       an active device of a current member (live-messages.ts).
 *   {k: 'post', id, r: room, b: the text sealed as in `message/post`, ts, rt?: reply to}
 *       a message at once, beside its durable `message/post` entry with the same id and body.
 *   {k: 'withdraw', id, ts}
 *       the sender's append of that message failed: take it away.
 *
 * Pure functions; the channel is in live-messages.ts.
 */
import b4a from 'b4a'
import { encode } from '../codec.ts'
import { isMessageId, isRoomName, MAX_TEXT_BYTES } from '../commands.ts'
import { isSealed, type Keyring, type Sealed } from '../content.ts'
import type { Identity } from '../identity.ts'
import { Rejected, sealEnvelope, type EnvelopeSpec } from '../live-envelope.ts'

export const PROTOCOL = 'solidar/chat-live/v1'
export const WIRE_VERSION = 1
/** One channel message: the longest text sealed, plus room, ids, key, signature and framing. */
export const MAX_MESSAGE = MAX_TEXT_BYTES + 4096

export const SPEC: EnvelopeSpec = { protocol: PROTOCOL, kind: 'chat-live', maxMessage: MAX_MESSAGE, version: WIRE_VERSION, reads: [WIRE_VERSION] }

/** The `message/post` fields a live post carries (the same id and sealed body as the entry). */
export interface LivePost { id: string, room: string, body: Sealed, ts: number, replyTo?: string }

export type LivePayload =
  | { k: 'hello', t: Uint8Array }
  | { k: 'post', id: string, r: string, b: Sealed, ts: number, rt?: string }
  | { k: 'withdraw', id: string, ts: number }

const isTs = (x: unknown): x is number => Number.isSafeInteger(x) && (x as number) >= 0

/** Parses a verified payload; throws Rejected('malformed'). */
export function parsePayload (x: unknown): LivePayload {
  const bad = (why: string): never => { throw new Rejected('malformed', why) }
  if (typeof x !== 'object' || x === null) return bad('payload is not a map')
  const p = x as Record<string, unknown>
  switch (p.k) {
    case 'hello':
      if (!(p.t instanceof Uint8Array) || p.t.byteLength !== 32) return bad('bad transport key')
      return { k: 'hello', t: p.t }
    case 'post': {
      if (!isMessageId(p.id)) return bad('bad message id')
      if (typeof p.r !== 'string' || !isRoomName(p.r)) return bad('bad room')
      if (!isSealed(p.b, MAX_TEXT_BYTES)) return bad('bad body')
      if (!isTs(p.ts)) return bad('bad timestamp')
      if (p.rt !== undefined && !isMessageId(p.rt)) return bad('bad reply')
      const b = p.b as unknown as Sealed
      return { k: 'post', id: p.id, r: p.r, b: { e: b.e, n: b4a.from(b.n), c: b4a.from(b.c) }, ts: p.ts, ...(p.rt !== undefined ? { rt: p.rt as string } : {}) }
    }
    case 'withdraw':
      if (!isMessageId(p.id)) return bad('bad message id')
      if (!isTs(p.ts)) return bad('bad timestamp')
      return { k: 'withdraw', id: p.id, ts: p.ts }
    default:
      return bad('unknown kind')
  }
}

/** Seals one payload as this device (exported for the security tests, which forge and replay them). */
export function sealLive (keyring: Keyring, epoch: number, identity: Pick<Identity, 'publicKey' | 'secretKey'>, payload: LivePayload): Buffer {
  return sealEnvelope(SPEC, keyring, epoch, identity, encode(payload))
}

export function postPayload (post: LivePost): LivePayload {
  return { k: 'post', id: post.id, r: post.room, b: post.body, ts: post.ts, ...(post.replyTo !== undefined ? { rt: post.replyTo } : {}) }
}
