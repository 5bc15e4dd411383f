/**
 * Printable ids. Keys are shown in z-base-32 (the encoding Holepunch tools use),
 * 52 characters for a 32-byte key; ids are case-insensitive on input.
 */
import b4a from 'b4a'
import crypto from 'hypercore-crypto'
import idEncoding from 'hypercore-id-encoding'
import type { GroupId, MemberId } from './types.ts'
import { errors } from './errors.ts'

export function encodeKey (key: Uint8Array): string {
  return idEncoding.normalize(key)
}

/** Decodes a z-base-32 (or 64-hex) key; throws BAD_REQUEST with `what` in the message. */
export function decodeKey (text: string, what = 'key'): Buffer {
  if (typeof text !== 'string' || text.length === 0) throw errors.badRequest(`missing ${what}`)
  try {
    const key = idEncoding.decode(text.trim().toLowerCase())
    if (key.byteLength !== 32) throw new Error('length')
    return key
  } catch {
    throw errors.badRequest(`not a valid ${what}: "${text}"`)
  }
}

/** The key `text` spells (z32 or hex, see decodeKey), or null if it is not one. */
export function keyOrNull (text: string): Buffer | null {
  try { return decodeKey(text) } catch { return null } // not a key: the caller tries names
}

export function isKeyString (text: string): boolean {
  try { decodeKey(text); return true } catch { return false }
}

export const memberIdOf = (publicKey: Uint8Array): MemberId => encodeKey(publicKey) as MemberId
export const groupIdOf = (baseKey: Uint8Array): GroupId => encodeKey(baseKey) as GroupId

export function toHex (buf: Uint8Array): string {
  return Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength).toString('hex')
}

/**
 * A new message or pad id: 16 base64url characters (96 random bits). Never starts with '-',
 * so it can be typed as a command-line argument (`solidar pad export G <id>`) without being
 * read as an option.
 */
export function newRecordId (): string {
  for (;;) {
    const id = b4a.toString(crypto.randomBytes(12), 'base64url') as string
    if (id[0] !== '-') return id
  }
}
