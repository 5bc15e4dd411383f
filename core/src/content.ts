/**
 * Content encryption with key epochs. Autobase encrypts every block of a log with the
 * log key, which every member that was ever admitted holds. Content (message text, pad
 * updates) is additionally sealed with the key of the group's current *epoch*:
 *   epoch 0: derived from the log key (everyone admitted has it);
 *   epoch n: 32 random bytes chosen by an admin when someone is removed or leaves,
 *            sealed to each remaining device (see `epoch/rotate` in apply.ts).
 * A removed member keeps the log key and old epoch keys, so it can still read the past
 * and see metadata, but nothing sealed under a later epoch.
 *
 * Sealed = { e: epoch, n: 24-byte nonce, c: XChaCha20-Poly1305 ciphertext }, with
 * associated data binding it to the log and to what kind of content it is.
 */
import sodium from 'sodium-universal'
import b4a from 'b4a'

export interface Sealed { e: number, n: Buffer, c: Buffer }

/**
 * 'pad': Yjs updates; 'pad-title': pad titles; 'pad-presence': awareness over the ephemeral channel (never stored);
 * 'pad-live': edits sent at once over the live channel (pads/live.ts, never stored);
 * 'chat-live': messages sent at once over the live chat channel (services/live-messages.ts, never stored).
 * Sealed metadata (sealed-meta.ts): 'group-name', 'member-name', 'bridge-entry' (an allowlist entry),
 * 'bridge-sender' (a bridged message's JID and nickname).
 */
export type ContentKind = 'message' | 'pad' | 'vault' | 'pad-title' | 'pad-presence' | 'pad-live' | 'chat-live' | 'meeting' |
  'group-name' | 'member-name' | 'bridge-entry' | 'bridge-sender' | 'reaction'

const NONCE = 24
const TAG = 16
const AD_DOMAIN = 'solidar/content/v1'

function ad (discoveryKey: Uint8Array, kind: ContentKind, epoch: number): Buffer {
  return b4a.concat([b4a.from(AD_DOMAIN), discoveryKey, b4a.from(`/${kind}/${epoch}`)])
}

/** Epoch 0's key: BLAKE2b keyed with the log key, so it never equals the log key itself. */
export function epochZeroKey (logKey: Uint8Array): Buffer {
  const out = b4a.alloc(32)
  sodium.crypto_generichash(out, b4a.from('solidar/epoch/0'), logKey)
  return out
}

export function randomKey (): Buffer {
  const key = b4a.alloc(32)
  sodium.randombytes_buf(key)
  return key
}

export function sealContent (key: Uint8Array, epoch: number, discoveryKey: Uint8Array, kind: ContentKind, plaintext: Uint8Array): Sealed {
  const n = b4a.alloc(NONCE)
  sodium.randombytes_buf(n)
  const c = b4a.alloc(plaintext.byteLength + TAG)
  sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(c, plaintext, ad(discoveryKey, kind, epoch), null, n, key)
  return { e: epoch, n, c }
}

/** Null when the key is wrong or the box was tampered with. */
export function openContent (key: Uint8Array, sealed: Sealed, discoveryKey: Uint8Array, kind: ContentKind): Buffer | null {
  if (sealed.c.byteLength < TAG || sealed.n.byteLength !== NONCE) return null
  const out = b4a.alloc(sealed.c.byteLength - TAG)
  try {
    sodium.crypto_aead_xchacha20poly1305_ietf_decrypt(out, null, sealed.c, ad(discoveryKey, kind, sealed.e), sealed.n, key)
    return out
  } catch {
    return null
  }
}

export function isSealed (x: unknown, maxBytes: number): x is Sealed {
  if (typeof x !== 'object' || x === null) return false
  const s = x as Record<string, unknown>
  return Number.isSafeInteger(s.e) && (s.e as number) >= 0 &&
    s.n instanceof Uint8Array && s.n.byteLength === NONCE &&
    s.c instanceof Uint8Array && s.c.byteLength >= TAG && s.c.byteLength <= maxBytes + TAG
}

/** The epoch keys this device holds for one log. */
export class Keyring {
  /** The key of each epoch: what this device seals with. */
  #keys = new Map<number, Buffer>()
  /**
   * Other keys of an epoch, only for opening: concurrent rotations by two admins both make
   * a key for the same epoch, and content sealed under the one that came second in the order
   * (or under one this device used before the order settled) must stay readable.
   */
  #alternates = new Map<number, Buffer[]>()
  readonly discoveryKey: Buffer

  constructor (logKey: Uint8Array, discoveryKey: Buffer) {
    this.discoveryKey = discoveryKey
    this.#keys.set(0, epochZeroKey(logKey))
  }

  /** Sets the key of an epoch; a different key it replaces stays as an alternate. */
  add (epoch: number, key: Buffer): void {
    const old = this.#keys.get(epoch)
    this.#keys.set(epoch, key)
    if (old && !b4a.equals(old, key)) this.addAlternate(epoch, old)
    const alts = this.#alternates.get(epoch)
    if (alts) this.#alternates.set(epoch, alts.filter(k => !b4a.equals(k, key)))
  }

  /** Another key of an epoch, tried when the epoch's key does not open something. */
  addAlternate (epoch: number, key: Buffer): void {
    if (this.#keys.has(epoch) && b4a.equals(this.#keys.get(epoch)!, key)) return
    const alts = this.#alternates.get(epoch) ?? []
    if (!alts.some(k => b4a.equals(k, key))) alts.push(key)
    this.#alternates.set(epoch, alts)
  }

  has (epoch: number): boolean { return this.#keys.has(epoch) }
  get (epoch: number): Buffer | undefined { return this.#keys.get(epoch) }
  /** Every key of an epoch: its key first, then the alternates. */
  all (epoch: number): Buffer[] {
    const key = this.#keys.get(epoch)
    return [...(key ? [key] : []), ...(this.#alternates.get(epoch) ?? [])]
  }
  get epochs (): number[] { return [...this.#keys.keys()].sort((a, b) => a - b) }
  /** How many keys it holds, alternates included (grows when a key opens). */
  get size (): number { return this.#keys.size + [...this.#alternates.values()].reduce((n, alts) => n + alts.length, 0) }

  seal (epoch: number, kind: ContentKind, plaintext: Uint8Array): Sealed {
    const key = this.#keys.get(epoch)
    if (!key) throw new Error(`no key for epoch ${epoch}`)
    return sealContent(key, epoch, this.discoveryKey, kind, plaintext)
  }

  open (sealed: Sealed, kind: ContentKind): Buffer | null {
    for (const key of this.all(sealed.e)) {
      const plain = openContent(key, sealed, this.discoveryKey, kind)
      if (plain) return plain
    }
    return null
  }
}
