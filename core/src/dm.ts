/**
 * Direct messages. A DM is its own two-member log (own base, own random key), never
 * readable with the group key. The group only carries sealed envelopes:
 *   dm/offer  {base, encryptionKey, from, to}   sealed to the peer: "here is our DM"
 *   dm/accept {base, writer, sig, from, to}     sealed to the creator: "add my writer"
 * Every member stores the boxes; only the addressee can open one. Members learn that
 * someone sealed something to someone, not who talks to whom or what is said.
 */
import b4a from 'b4a'
import { encode, decode } from './codec.ts'
import { seal, openSealed } from './seal.ts'
import type { Identity } from './identity.ts'

export interface DmOffer { kind: 'offer', base: Buffer, encryptionKey: Buffer, from: Buffer, to: Buffer }
export interface DmAccept { kind: 'accept', base: Buffer, writer: Buffer, sig: Buffer, from: Buffer, to: Buffer }
export type DmPayload = DmOffer | DmAccept

export function sealDmPayload (payload: DmPayload, recipient: Uint8Array): Buffer {
  return seal(encode(payload), recipient)
}

/** Opens a box addressed to `me`; null if it is someone else's or malformed. */
export function openDmPayload (box: Uint8Array, me: Identity): DmPayload | null {
  const plain = openSealed(box, me.publicKey, me.secretKey)
  if (!plain) return null
  const p = decode(plain) as any
  const key = (x: unknown, n = 32) => x instanceof Uint8Array && x.byteLength === n
  if (!p || !key(p.base) || !key(p.from) || !key(p.to)) return null
  if (!b4a.equals(p.to, me.publicKey)) return null
  if (p.kind === 'offer' && key(p.encryptionKey)) {
    return { kind: 'offer', base: b4a.from(p.base), encryptionKey: b4a.from(p.encryptionKey), from: b4a.from(p.from), to: b4a.from(p.to) }
  }
  if (p.kind === 'accept' && key(p.writer) && key(p.sig, 64)) {
    return { kind: 'accept', base: b4a.from(p.base), writer: b4a.from(p.writer), sig: b4a.from(p.sig), from: b4a.from(p.from), to: b4a.from(p.to) }
  }
  return null
}
