/**
 * Device identity: an Ed25519 key pair per device. A member's first device's public key is
 * the member id (z-base-32); a device linked later has its own key pair plus the member key
 * and a certificate signed by the first device ("this device is that member's").
 * The fingerprint is a short digest to compare out of band (read aloud, in person).
 * sodium-universal keeps this portable (sodium-native in Node, sodium-javascript elsewhere).
 */
import sodium from 'sodium-universal'
import b4a from 'b4a'
import { memberIdOf, decodeKey } from './ids.ts'
import { errors } from './errors.ts'
import type { MemberId } from './types.ts'

export interface Identity {
  /** This device's key pair. */
  publicKey: Buffer
  secretKey: Buffer
  name: string
  /** The member this device belongs to, when it is not the member's first device. */
  member?: Buffer
  /** The member key's signature over this device key (see `signDeviceCert`). */
  cert?: Buffer
}

/** The member key of an identity: its own key on a first device. */
export function memberKey (identity: Pick<Identity, 'publicKey' | 'member'>): Buffer {
  return identity.member ?? identity.publicKey
}

const CERT_DOMAIN = b4a.from('solidar/device-cert/v1')

/** The member key's statement "device belongs to me". */
export function signDeviceCert (device: Uint8Array, memberSecretKey: Uint8Array): Buffer {
  return sign(b4a.concat([CERT_DOMAIN, device]), memberSecretKey)
}

export function verifyDeviceCert (cert: Uint8Array, device: Uint8Array, member: Uint8Array): boolean {
  return verify(cert, b4a.concat([CERT_DOMAIN, device]), member)
}

export const MAX_NAME_LENGTH = 64
/** UTF-8 bytes of a name (rules 4, commands.ts): 64 characters fit, flags included, unless they are long emoji sequences. */
export const MAX_NAME_BYTES = 512

const segmenter = new Intl.Segmenter(undefined, { granularity: 'grapheme' })
/** How many characters a user sees in `s` (grapheme clusters). */
export function graphemes (s: string): number {
  return [...segmenter.segment(s)].length
}

export function validateName (name: unknown, what = 'name'): string {
  if (typeof name !== 'string') throw errors.badRequest(`${what} must be text`)
  // One spelling for what looks the same: a decomposed "Unicodé" (NFD, as some keyboards and
  // file names give it) is stored composed, as names are compared (resolve.ts nameKey).
  const trimmed = name.trim().normalize('NFC')
  if (trimmed.length === 0) throw errors.badRequest(`${what} must not be empty`)
  // Characters as a user sees them (an emoji, a letter with its accents: one each), and a size
  // in bytes that the log takes (commands.ts MAX_NAME_BYTES: long emoji sequences count more).
  if (graphemes(trimmed) > MAX_NAME_LENGTH) throw errors.badRequest(`${what} is longer than ${MAX_NAME_LENGTH} characters`)
  if (b4a.byteLength(trimmed) > MAX_NAME_BYTES) throw errors.badRequest(`${what} is too long: at most ${MAX_NAME_BYTES} bytes of text (an emoji takes 4 to 28 of them)`)
  // Control characters would let a name rewrite a terminal line or fake a log entry.
  if (/\p{Cc}/u.test(trimmed)) throw errors.badRequest(`${what} must not contain control characters`)
  return trimmed
}

export function createIdentity (name: string): Identity {
  const publicKey = b4a.alloc(sodium.crypto_sign_PUBLICKEYBYTES)
  const secretKey = b4a.alloc(sodium.crypto_sign_SECRETKEYBYTES)
  sodium.crypto_sign_keypair(publicKey, secretKey)
  return { publicKey, secretKey, name: validateName(name) }
}

export function memberId (identity: Pick<Identity, 'publicKey' | 'member'>): MemberId {
  return memberIdOf(memberKey(identity))
}

/**
 * 80 bits of BLAKE2b over the public key as 20 hex digits in groups of four
 * ("a1b2 c3d4 e5f6 0718 293a"): short enough to read aloud, long enough that a
 * swapped key cannot be made to match by brute force in practice.
 */
export function fingerprint (publicKey: Uint8Array): string {
  const out = b4a.alloc(sodium.crypto_generichash_BYTES_MIN)
  sodium.crypto_generichash(out, b4a.concat([b4a.from('solidar/fingerprint/v1'), publicKey]))
  const hex = b4a.toString(out.subarray(0, 10), 'hex') as string
  return hex.match(/.{4}/g)!.join(' ')
}

export function sign (message: Uint8Array, secretKey: Uint8Array): Buffer {
  const sig = b4a.alloc(sodium.crypto_sign_BYTES)
  sodium.crypto_sign_detached(sig, message, secretKey)
  return sig
}

export function verify (signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
  if (signature.byteLength !== sodium.crypto_sign_BYTES || publicKey.byteLength !== 32) return false
  return sodium.crypto_sign_verify_detached(signature, message, publicKey)
}

/** Text form stored in `<home>/identity.json` (mode 0600). */
export function encodeIdentity (identity: Identity): string {
  return JSON.stringify({
    version: 1,
    name: identity.name,
    publicKey: b4a.toString(identity.publicKey, 'hex'),
    secretKey: b4a.toString(identity.secretKey, 'hex'),
    ...(identity.member && identity.cert
      ? { member: b4a.toString(identity.member, 'hex'), cert: b4a.toString(identity.cert, 'hex') }
      : {})
  }, null, 2) + '\n'
}

export function decodeIdentity (text: string): Identity {
  let raw: any
  try { raw = JSON.parse(text) } catch { throw errors.badRequest('identity file is not valid JSON') }
  if (!raw || raw.version !== 1) throw errors.badRequest('identity file has an unknown version')
  const publicKey = b4a.from(String(raw.publicKey), 'hex')
  const secretKey = b4a.from(String(raw.secretKey), 'hex')
  if (publicKey.byteLength !== 32 || secretKey.byteLength !== 64) throw errors.badRequest('identity file holds malformed keys')
  // The secret key embeds the public key: a mismatch means a damaged or tampered file.
  if (!b4a.equals(secretKey.subarray(32), publicKey)) throw errors.badRequest('identity file keys do not match')
  const identity: Identity = { publicKey, secretKey, name: validateName(raw.name) }
  if (raw.member !== undefined || raw.cert !== undefined) {
    const member = b4a.from(String(raw.member), 'hex')
    const cert = b4a.from(String(raw.cert), 'hex')
    if (member.byteLength !== 32 || !verifyDeviceCert(cert, publicKey, member)) throw errors.badRequest('identity file holds an invalid device certificate')
    identity.member = member
    identity.cert = cert
  }
  return identity
}

export { decodeKey }
