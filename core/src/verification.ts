/**
 * Key verification: the safety number two members compare in person, and this device's
 * list of members whose keys its owner verified (`verified.json`, never replicated).
 *
 * In Solidar a member id IS the member's Ed25519 public key, so a member's key cannot
 * "change" under the same id. What can happen is that someone appears under the display
 * name of a member you verified, with another key: a new device identity of that person,
 * or an impostor. That is what `key-changed` reports. "The display name of a member you
 * verified" means any name that looks the same (names.ts: Unicode confusable skeleton,
 * invisible characters removed, case folded), so `nodeА` with a Cyrillic А or `node\u200BA`
 * with a zero-width space is caught as well as `nodeA`.
 *
 * Safety number (construction, modelled on Signal's "numeric fingerprint"):
 *
 *   half(key) = 30 digits derived from one 32-byte public key:
 *     h_0 = BLAKE2b-512("solidar/safety-number/v1" ‖ key)
 *     h_i = BLAKE2b-512(h_{i-1} ‖ key)          for i = 1 … 5199   (5200 hashes in all)
 *     the first 30 bytes of h_5199 as six 5-byte big-endian numbers n_1 … n_6;
 *     each n_j mod 100000, written with 5 digits (leading zeros kept)
 *   safetyNumber(a, b) = half(min(a, b)) ‖ half(max(a, b))   (keys ordered bytewise)
 *
 * 60 digits, shown as 12 groups of 5. Ordering the keys makes the number the same on
 * both ends. Each half depends on one key only, so when one member's key is swapped the
 * number changes completely in that member's half. A half carries about 99.7 bits; an
 * attacker who wants a key whose half matches a victim's needs about 2^99 tries, each
 * made 5200 times more expensive by the iteration. (The mod-100000 bias of a 40-bit
 * number is below 1e-7 and does not matter.)
 */
import sodium from 'sodium-universal'
import b4a from 'b4a'
import { fingerprint } from './identity.ts'
import { errors } from './errors.ts'
import { namesLookAlike, revealName } from './names.ts'
import { getText, putText, type LocalStore } from './registry.ts'

export const SAFETY_NUMBER_ITERATIONS = 5200
const SAFETY_DOMAIN = 'solidar/safety-number/v1'

/** The 30-digit half of a safety number that belongs to one public key. */
export function safetyNumberHalf (publicKey: Uint8Array): string {
  if (publicKey.byteLength !== 32) throw errors.badRequest('a public key has 32 bytes')
  let hash = b4a.alloc(64)
  sodium.crypto_generichash(hash, b4a.concat([b4a.from(SAFETY_DOMAIN), publicKey]))
  for (let i = 1; i < SAFETY_NUMBER_ITERATIONS; i++) {
    const next = b4a.alloc(64)
    sodium.crypto_generichash(next, b4a.concat([hash, publicKey]))
    hash = next
  }
  let digits = ''
  for (let j = 0; j < 6; j++) {
    const chunk = hash.subarray(j * 5, j * 5 + 5)
    let n = 0
    for (const byte of chunk) n = n * 256 + byte // 40 bits: exact in a double
    digits += String(n % 100000).padStart(5, '0')
  }
  return digits
}

/**
 * The safety number of two members: 60 digits in 12 groups of 5, the same for both
 * (see the construction at the top of this file).
 */
export function safetyNumber (a: Uint8Array, b: Uint8Array): string {
  const [first, second] = b4a.compare(a, b) <= 0 ? [a, b] : [b, a]
  const digits = safetyNumberHalf(first) + safetyNumberHalf(second)
  return digits.match(/.{5}/g)!.join(' ')
}

export type VerificationStatus = 'verified' | 'unverified' | 'key-changed'

export interface VerifiedRecord {
  /** The member's display name when it was verified. */
  name: string
  /** The member's fingerprint (identity.ts) when it was verified. */
  fingerprint: string
  /** When it was marked verified, ms since epoch. */
  ts: number
}

/** What `Solidar.verify` reports: everything needed to compare keys in person. */
export interface VerificationResult {
  /** Member id (z-base-32 public key). */
  member: string
  name: string
  fingerprint: string
  ownFingerprint: string
  /** 60 digits in 12 groups of 5, the same on both devices. */
  safetyNumber: string
  verified: boolean
  /** Set (with `warning`) when another key was verified under this member's name. */
  keyChanged?: true
  warning?: string
}

const FILE = 'verified.json'

/** Names compare like `#resolveMember` does, plus Unicode compatibility folding. */
export function sameName (a: string, b: string): boolean {
  const fold = (s: string) => s.normalize('NFKC').trim().toLowerCase()
  return fold(a) === fold(b)
}

/**
 * The members this device's owner verified, keyed by public key (hex), persisted as
 * `verified.json` through the `LocalStore` (a 0600 file in node/).
 */
export class VerificationStore {
  #store: LocalStore
  #records = new Map<string, VerifiedRecord>()
  #writing: Promise<void> = Promise.resolve()
  #now: () => number

  constructor (store: LocalStore, opts: { now?: () => number } = {}) {
    this.#store = store
    this.#now = opts.now ?? Date.now
  }

  async load (): Promise<void> {
    const text = await getText(this.#store, FILE)
    this.#records.clear()
    if (text === null) return
    let raw: any
    try { raw = JSON.parse(text) } catch { throw errors.badRequest(`${FILE} is damaged (not JSON)`) }
    if (!raw || raw.version !== 1 || typeof raw.verified !== 'object' || raw.verified === null) throw errors.badRequest(`${FILE} has an unknown format`)
    for (const [key, r] of Object.entries<any>(raw.verified)) {
      if (!/^[0-9a-f]{64}$/.test(key) || !r || typeof r.name !== 'string' || typeof r.fingerprint !== 'string' || typeof r.ts !== 'number') {
        throw errors.badRequest(`${FILE} holds a malformed entry`)
      }
      this.#records.set(key, { name: r.name, fingerprint: r.fingerprint, ts: r.ts })
    }
  }

  get (memberHex: string): VerifiedRecord | undefined { return this.#records.get(memberHex) }
  all (): Array<[string, VerifiedRecord]> { return [...this.#records.entries()] }

  /** Marks a member (public key, hex) verified under its current display name. */
  async mark (memberHex: string, name: string): Promise<VerifiedRecord> {
    const key = checkHex(memberHex)
    const record: VerifiedRecord = { name, fingerprint: fingerprint(b4a.from(key, 'hex')), ts: this.#now() }
    this.#records.set(key, record)
    await this.#save()
    return record
  }

  /** Forgets that a member was verified; false if it was not. */
  async unmark (memberHex: string): Promise<boolean> {
    if (!this.#records.delete(checkHex(memberHex))) return false
    await this.#save()
    return true
  }

  /** Verified members other than `memberHex` whose name (at verification) looks like `name` (names.ts). */
  verifiedNamesakes (memberHex: string, name: string): Array<[string, VerifiedRecord]> {
    return this.all().filter(([key, r]) => key !== memberHex && namesLookAlike(r.name, name))
  }

  /**
   * `verified` if this key was marked; `key-changed` if not, but a verified member with
   * another key had a display name that looks like this one (the caller asks about members of groups it
   * shares, so the namesake is "in a shared group"); `unverified` otherwise.
   */
  status (memberHex: string, currentName: string): VerificationStatus {
    if (this.#records.has(memberHex)) return 'verified'
    return this.verifiedNamesakes(memberHex, currentName).length > 0 ? 'key-changed' : 'unverified'
  }

  /** Serialized so two concurrent saves never interleave on disk. */
  #save (): Promise<void> {
    const verified = Object.fromEntries([...this.#records.entries()].sort(([a], [b]) => a.localeCompare(b)))
    const text = JSON.stringify({ version: 1, verified }, null, 2) + '\n'
    this.#writing = this.#writing.catch(() => { /* the earlier call got its own error; this one runs regardless */ }).then(() => putText(this.#store, FILE, text))
    return this.#writing
  }
}

function checkHex (memberHex: string): string {
  if (typeof memberHex !== 'string' || !/^[0-9a-f]{64}$/.test(memberHex)) throw errors.badRequest('not a member key')
  return memberHex
}

/** The warning `verify` shows for a key-changed member. */
export function keyChangedWarning (name: string, namesakes: Array<[string, VerifiedRecord]>): string {
  const was = namesakes.map(([, r]) => `fingerprint ${r.fingerprint}, verified ${new Date(r.ts).toISOString().slice(0, 10)}`).join('; ')
  const disguised = [...new Set(namesakes.map(([, r]) => r.name).filter(n => n !== name))]
  const looks = disguised.length > 0
    ? `The name "${revealName(name)}" looks like ${disguised.map(n => `"${revealName(n)}"`).join(', ')} but is written with other characters. `
    : ''
  return `KEY CHANGED: you verified "${name}" with another key (${was}). ` + looks +
    'This may be a new device of that person, or someone else using the name. ' +
    'Do not trust this key until you have compared the safety number in person or on a call you trust.'
}

export interface VerifyOptions {
  /** Mark this member's key verified. */
  mark?: boolean
  /** Forget that this member's key was verified. */
  unmark?: boolean
}

export const SELF_VERIFY_MESSAGE = 'You cannot verify yourself: run `solidar verify MEMBER` with another member and compare the safety number with them'

/**
 * The body of `Solidar.verify` once the member is resolved: marks or unmarks, then
 * reports fingerprints, safety number and status. A key-changed warning is kept in the
 * answer of the `--mark` that accepts the new key, so it is seen once more.
 */
export async function verifyMember (
  store: VerificationStore,
  p: { own: Uint8Array, member: Uint8Array, memberId: string, name: string },
  opts: VerifyOptions = {}
): Promise<VerificationResult> {
  if (opts.mark === true && opts.unmark === true) throw errors.badRequest('choose either mark or unmark, not both')
  if (b4a.equals(p.own, p.member)) throw errors.badRequest(SELF_VERIFY_MESSAGE)
  const key = b4a.toString(p.member, 'hex') as string
  const before = store.status(key, p.name)
  if (opts.mark === true) await store.mark(key, p.name)
  if (opts.unmark === true) await store.unmark(key)
  const after = store.status(key, p.name)
  const result: VerificationResult = {
    member: p.memberId,
    name: p.name,
    fingerprint: fingerprint(p.member),
    ownFingerprint: fingerprint(p.own),
    safetyNumber: safetyNumber(p.own, p.member),
    verified: after === 'verified'
  }
  if (after === 'key-changed') result.keyChanged = true
  if (before === 'key-changed' || after === 'key-changed') {
    result.warning = keyChangedWarning(p.name, store.verifiedNamesakes(key, p.name)) +
      (after === 'verified' ? ' You have now marked this key verified as well.' : '')
  }
  return result
}

/** A member view with the verification fields of `members()`; `lookAlike` (other members' ids) only when there are some. */
export function withVerification<T extends object, Id = string> (view: T, status: VerificationStatus, lookAlike: Id[] = []): T & { verified: boolean, keyChanged?: true, lookAlike?: Id[] } {
  return {
    ...view,
    verified: status === 'verified',
    ...(status === 'key-changed' ? { keyChanged: true as const } : {}),
    ...(lookAlike.length > 0 ? { lookAlike } : {})
  }
}
