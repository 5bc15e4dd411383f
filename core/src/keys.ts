/**
 * Epoch keys sealed to members: `box = seal(CBOR{g: discoveryKey, e: epoch, k: key}, member)`.
 * The discovery key and epoch inside the box stop a box from one group or epoch being
 * replayed as another's.
 */
import b4a from 'b4a'
import { encode, decode } from './codec.ts'
import { seal, openSealed } from './seal.ts'
import type { Identity } from './identity.ts'

export function sealEpochKey (discoveryKey: Uint8Array, epoch: number, key: Uint8Array, member: Uint8Array): Buffer {
  return seal(encode({ g: discoveryKey, e: epoch, k: key }), member)
}

export function openEpochKey (box: Uint8Array, discoveryKey: Uint8Array, epoch: number, me: Identity): Buffer | null {
  const plain = openSealed(box, me.publicKey, me.secretKey)
  if (!plain) return null
  const p = decode(plain) as any
  if (!p || !(p.g instanceof Uint8Array) || !b4a.equals(p.g, discoveryKey) || p.e !== epoch) return null
  if (!(p.k instanceof Uint8Array) || p.k.byteLength !== 32) return null
  return b4a.from(p.k)
}
