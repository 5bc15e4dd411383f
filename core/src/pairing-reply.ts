/**
 * Signed pairing replies. blind-pairing's reply is encrypted under a key derived from the
 * invite's public key and the request's session: anyone who read the `invite/create` entry
 * (a removed member, a plain member) can open a request and forge a reply. So the reply
 * travels in an envelope signed by the device that made the invite, whose key the invite code
 * carries (invite-code.ts); the candidate ignores every reply that is not signed by it, and
 * checks the encryption key it is handed against the code's commitment.
 *
 *   envelope = CBOR { v: 1, reply, device, sig, reason? }
 *   sig = Ed25519(device, blake2b-256("solidar/pairing-reply/v1" | discoveryKey | session | reason | reply))
 *
 * `reason` refines a refusal ("revoked", "orphaned"; "failed": the admin's node could not write
 * the admission, the invite is not used up) so the candidate gets a clear error.
 */
import b4a from 'b4a'
import sodium from 'sodium-universal'
import { CandidateRequest } from 'blind-pairing-core'
import { encode, decode } from './codec.ts'
import { encryptionKeyCommitment, type DecodedInvite } from './invite-code.ts'
import { errors, type SolidarError } from './errors.ts'

const NS = b4a.from('solidar/pairing-reply/v1')
/** What a refusal can say beyond blind-pairing's own statuses. */
export type RefusalReason = 'revoked' | 'orphaned' | 'failed'
const REASONS: readonly RefusalReason[] = ['revoked', 'orphaned', 'failed']

/** blind-pairing-core's reply statuses. */
const STATUS = { rejected: 1, used: 2, expired: 3 } as const

function signedHash (discoveryKey: Uint8Array, session: Uint8Array, reason: string, reply: Uint8Array): Buffer {
  const out = b4a.alloc(32)
  sodium.crypto_generichash(out, b4a.concat([NS, discoveryKey, session, b4a.from(reason + '\0'), reply]))
  return out
}

export interface ReplySigner { publicKey: Buffer, secretKey: Buffer }

/** Member side: wraps a blind-pairing reply (`request.response`) in an envelope signed by `signer`. */
export function signReply (reply: Buffer, request: { discoveryKey: Buffer, session: Buffer }, signer: ReplySigner, reason?: RefusalReason): Buffer {
  const sig = b4a.alloc(sodium.crypto_sign_BYTES)
  sodium.crypto_sign_detached(sig, signedHash(request.discoveryKey, request.session, reason ?? '', reply), signer.secretKey)
  return encode({ v: 1, reply, device: signer.publicKey, sig, ...(reason ? { reason } : {}) })
}

/** Member side: a refusal with `reason`, signed. */
export function refuse (request: any, signer: ReplySigner, reason?: RefusalReason, status: number = STATUS.rejected): Buffer {
  request.deny({ status })
  return signReply(request.response, request, signer, reason)
}

export type ReplyVerdict =
  | { ok: true, key: Buffer, encryptionKey: Buffer }
  | { ok: false, error: SolidarError }

/**
 * Candidate side: what a reply says, or null when it must be ignored (not from the invite's
 * issuer, not for this request, or a key that does not match the code). Never throws.
 */
export function judgeReply (buf: Buffer, invite: DecodedInvite, userData: Buffer, session: Buffer): ReplyVerdict | null {
  const env = decode(buf) as any
  if (!env || env.v !== 1 || !isBytes(env.reply) || !isBytes(env.device, 32) || !isBytes(env.sig, 64)) return null
  if (env.reason !== undefined && !REASONS.includes(env.reason)) return null
  if (!b4a.equals(env.device, invite.issuer)) return null
  const hash = signedHash(invite.discoveryKey, session, env.reason ?? '', env.reply)
  if (!sodium.crypto_sign_verify_detached(b4a.from(env.sig), hash, b4a.from(env.device))) return null
  // A fresh request with the same session opens the reply: blind-pairing's request object
  // destroys its secrets after the first reply it accepts, and we may need to read more.
  const probe: any = new CandidateRequest(invite.invite, userData, { session })
  let auth: any = null
  try {
    auth = probe.handleResponse(b4a.from(env.reply))
  } catch {
    return null // not even a reply envelope of blind-pairing
  }
  if (auth) {
    if (!auth.encryptionKey || !b4a.equals(encryptionKeyCommitment(auth.encryptionKey), invite.keyCommit)) return null
    return { ok: true, key: b4a.from(auth.key), encryptionKey: b4a.from(auth.encryptionKey) }
  }
  const status = probe.response?.status
  if (status === STATUS.used) return { ok: false, error: errors.inviteUsed() }
  if (status === STATUS.expired) return { ok: false, error: errors.inviteExpired() }
  if (status === STATUS.rejected) {
    if (env.reason === 'revoked') return { ok: false, error: errors.inviteRevoked() }
    if (env.reason === 'orphaned') return { ok: false, error: errors.inviteOrphaned() }
    if (env.reason === 'failed') return { ok: false, error: errors.admissionFailed() }
    return { ok: false, error: errors.inviteRejected() }
  }
  return null // signed by the issuer but unreadable for this request: nothing to act on
}

function isBytes (x: unknown, length?: number): x is Uint8Array {
  return x instanceof Uint8Array && (length === undefined || x.byteLength === length)
}
