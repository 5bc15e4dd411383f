/**
 * Printable invite codes. A code wraps a blind-pairing invite (seed + the group's
 * discovery key + expiry: never the group key) in a versioned, checksummed envelope:
 *   "solidar1" + z-base-32( version(1) | invite | blake2b-32(version | invite) )
 * The checksum turns a typo or a tampered character into an immediate, clear error
 * instead of a join that waits for an answer that cannot come.
 */
import z32 from 'z32'
import sodium from 'sodium-universal'
import b4a from 'b4a'
import { decodeInvite } from 'blind-pairing-core'
import { errors } from './errors.ts'

const PREFIX = 'solidar1'
const VERSION = 1
const CHECKSUM_BYTES = 4

export interface DecodedInvite {
  /** The raw blind-pairing invite bytes. */
  invite: Buffer
  id: Buffer
  discoveryKey: Buffer
  seed: Buffer
  /** ms since epoch; 0 = never. */
  expires: number
}

function checksum (data: Uint8Array): Buffer {
  const out = b4a.alloc(sodium.crypto_generichash_BYTES_MIN)
  sodium.crypto_generichash(out, data)
  return out.subarray(0, CHECKSUM_BYTES)
}

export function encodeInviteCode (invite: Uint8Array): string {
  const body = b4a.concat([b4a.from([VERSION]), invite])
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
  if (bytes.byteLength < 1 + CHECKSUM_BYTES + 32) throw errors.inviteMalformed('it is too short (was it cut off?)')
  const body = bytes.subarray(0, bytes.byteLength - CHECKSUM_BYTES)
  if (!b4a.equals(checksum(body), bytes.subarray(bytes.byteLength - CHECKSUM_BYTES))) {
    throw errors.inviteMalformed('its checksum does not match (a character was changed or lost)')
  }
  if (body[0] !== VERSION) throw errors.inviteMalformed(`it has version ${body[0]}, this Solidar reads version ${VERSION}`)
  const invite = b4a.from(body.subarray(1))
  try {
    const decoded = decodeInvite(invite)
    return { invite, id: decoded.id, discoveryKey: decoded.discoveryKey, seed: decoded.seed, expires: Number(decoded.expires) || 0 }
  } catch {
    throw errors.inviteMalformed('its contents cannot be read')
  }
}
