/**
 * Printable invite codes. A code wraps a blind-pairing invite (seed + the group's
 * discovery key + expiry: never the group key) in a versioned, checksummed envelope:
 *   "solidar1" + z-base-32( body | blake2b-32(body) )
 *   body v2 = 2 | issuer(32) | keyCommit(32) | invite
 * `issuer` is the public key of the device that made the invite: the newcomer accepts only
 * pairing replies signed by it (pairing-reply.ts). `keyCommit` is a hash of the log's
 * encryption key, so the newcomer can check the key it is handed before it trusts it.
 * Version 1 (no issuer, no commitment) is still read, to say clearly why it is refused.
 * The checksum turns a typo or a tampered character into an immediate, clear error
 * instead of a join that waits for an answer that cannot come.
 */
import z32 from 'z32'
import sodium from 'sodium-universal'
import b4a from 'b4a'
import { decodeInvite } from 'blind-pairing-core'
import { errors } from './errors.ts'

const PREFIX = 'solidar1'
const VERSION = 2
const CHECKSUM_BYTES = 4
const KEY_BYTES = 32
const COMMIT_NS = b4a.from('solidar/invite/encryption-key/v1')

export interface DecodedInvite {
  /** The raw blind-pairing invite bytes. */
  invite: Buffer
  id: Buffer
  discoveryKey: Buffer
  seed: Buffer
  /** ms since epoch; 0 = never. */
  expires: number
  /** The device that made the invite and alone may answer it. */
  issuer: Buffer
  /** Commitment to the log's encryption key (`encryptionKeyCommitment`). */
  keyCommit: Buffer
}

export interface InviteIssuer {
  /** Public key of the issuing device. */
  issuer: Uint8Array
  /** The encryption key of the log the invite admits to. */
  encryptionKey: Uint8Array
}

function checksum (data: Uint8Array): Buffer {
  const out = b4a.alloc(sodium.crypto_generichash_BYTES_MIN)
  sodium.crypto_generichash(out, data)
  return out.subarray(0, CHECKSUM_BYTES)
}

/** What a code commits to for an encryption key (a keyed-domain blake2b-256 hash). */
export function encryptionKeyCommitment (encryptionKey: Uint8Array): Buffer {
  const out = b4a.alloc(KEY_BYTES)
  sodium.crypto_generichash(out, b4a.concat([COMMIT_NS, encryptionKey]))
  return out
}

export function encodeInviteCode (invite: Uint8Array, from: InviteIssuer): string {
  if (from.issuer.byteLength !== KEY_BYTES) throw new TypeError('issuer must be a 32-byte key')
  const body = b4a.concat([b4a.from([VERSION]), from.issuer, encryptionKeyCommitment(from.encryptionKey), invite])
  return PREFIX + z32.encode(b4a.concat([body, checksum(body)]))
}

export function decodeInviteCode (code: unknown): DecodedInvite {
  if (typeof code !== 'string') throw errors.inviteMalformed('it is not text')
  const text = code.trim().replace(/\s+/g, '').toLowerCase()
  if (!text.startsWith(PREFIX)) throw errors.inviteMalformed(`it does not start with "${PREFIX}"`)
  let bytes: Buffer
  try {
    bytes = z32.decode(text.slice(PREFIX.length))
  } catch {
    throw errors.inviteMalformed('it contains characters that do not belong in a code')
  }
  // z32 fills missing bits with zeros: a code that lost its last character can decode to the same
  // bytes (when those bits were zero, 1 time in 4). A complete code has exactly this many characters.
  if (text.length - PREFIX.length !== Math.ceil(bytes.byteLength * 8 / 5)) throw errors.inviteMalformed('it has the wrong length (a character lost, doubled or cut off?)')
  if (bytes.byteLength < 1 + CHECKSUM_BYTES + 32) throw errors.inviteMalformed('it is too short (was it cut off?)')
  const body = bytes.subarray(0, bytes.byteLength - CHECKSUM_BYTES)
  if (!b4a.equals(checksum(body), bytes.subarray(bytes.byteLength - CHECKSUM_BYTES))) {
    throw errors.inviteMalformed('its checksum does not match (a character was changed or lost)')
  }
  if (body[0] === 1) throw errors.inviteMalformed('it was made by an older Solidar (version 1 codes cannot prove who answers them); ask an admin for a new code')
  if (body[0] !== VERSION) throw errors.inviteMalformed(`it has version ${body[0]}, this Solidar reads version ${VERSION}`)
  if (body.byteLength < 1 + 2 * KEY_BYTES + 32) throw errors.inviteMalformed('it is too short (was it cut off?)')
  const issuer = b4a.from(body.subarray(1, 1 + KEY_BYTES))
  const keyCommit = b4a.from(body.subarray(1 + KEY_BYTES, 1 + 2 * KEY_BYTES))
  const invite = b4a.from(body.subarray(1 + 2 * KEY_BYTES))
  try {
    const decoded = decodeInvite(invite)
    return { invite, id: decoded.id, discoveryKey: decoded.discoveryKey, seed: decoded.seed, expires: Number(decoded.expires) || 0, issuer, keyCommit }
  } catch {
    throw errors.inviteMalformed('its contents cannot be read')
  }
}
