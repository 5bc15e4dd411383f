/**
 * Epoch keys sealed to members: `box = seal(CBOR{g: discoveryKey, e: epoch, k: key}, member)`.
 * The discovery key and epoch inside the box stop a box from one group or epoch being
 * replayed as another's.
 */
import b4a from 'b4a'
import sodium from 'sodium-universal'
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

/**
 * A short public name of an epoch key (16 bytes): boxes and rotations name the key they carry,
 * so apply can tell which devices hold which key of an epoch without opening any box. A hash
 * of the key under the group's discovery key and the epoch: it tells nothing about the key.
 */
export function epochKeyId (discoveryKey: Uint8Array, epoch: number, key: Uint8Array): Buffer {
  const out = b4a.alloc(EPOCH_KEY_ID_BYTES)
  sodium.crypto_generichash(out, b4a.from(`solidar/epoch-key-id/v1\n${b4a.toString(discoveryKey, 'hex')}\n${epoch}`), key)
  return out
}

export const EPOCH_KEY_ID_BYTES = 16
