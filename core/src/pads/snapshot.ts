/**
 * This device's snapshot cache of pads: the encoded state of a pad's Y.Doc after its first
 * `n` log updates, with the chain hash `h` of update n (records.ts). Opening a pad loads
 * the snapshot and applies only updates n+1…; the log stays the source of truth: a
 * snapshot whose `h` no longer matches update n of the view (the not-yet-final tail of the
 * log was reordered) is ignored and the pad is replayed in full.
 *
 * Snapshots hold pad plaintext, so they are sealed (XChaCha20-Poly1305) with a key derived
 * from the log key, bound to the log and the pad; on disk they are 0600 files of the
 * runtime's LocalStore (`pads/<group>/<pad>.ysnap`, the sealed bytes). They never leave the
 * device, and go with the group when this device leaves it (`SnapshotStore.clear`). Versions before
 * 2026-12-07 kept base64 text in `<pad>.snap`: still read, replaced by the next save.
 */
import sodium from 'sodium-universal'
import b4a from 'b4a'
import { decode, encode } from '../codec.ts'
import type { LocalStore } from '../registry.ts'

const DOMAIN = 'solidar/pad-snapshot/v1'
const NONCE = 24
const TAG = 16

export interface Snapshot {
  /** Log updates covered (1…n). */
  n: number
  /** Chain hash of update n. */
  h: Uint8Array
  /** Y.encodeStateAsUpdate of the document after those updates. */
  state: Uint8Array
}

export function snapshotKey (logKey: Uint8Array): Buffer {
  const out = b4a.alloc(32)
  sodium.crypto_generichash(out, b4a.from(DOMAIN), logKey)
  return out
}

const ad = (discoveryKey: Uint8Array, pad: string) => b4a.concat([b4a.from(DOMAIN), discoveryKey, b4a.from('/' + pad)])

export function sealSnapshot (key: Uint8Array, discoveryKey: Uint8Array, pad: string, snap: Snapshot): Buffer {
  const plain = encode({ v: 1, n: snap.n, h: snap.h, s: snap.state })
  const out = b4a.alloc(NONCE + plain.byteLength + TAG)
  const nonce = out.subarray(0, NONCE)
  sodium.randombytes_buf(nonce)
  sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(out.subarray(NONCE), plain, ad(discoveryKey, pad), null, nonce, key)
  return out
}

/** Null when the file is damaged, from another log or pad, or of an unknown version. */
export function openSnapshot (key: Uint8Array, discoveryKey: Uint8Array, pad: string, sealed: Uint8Array): Snapshot | null {
  if (sealed.byteLength < NONCE + TAG) return null
  const plain = b4a.alloc(sealed.byteLength - NONCE - TAG)
  try {
    sodium.crypto_aead_xchacha20poly1305_ietf_decrypt(plain, null, sealed.subarray(NONCE), ad(discoveryKey, pad), sealed.subarray(0, NONCE), key)
  } catch {
    return null
  }
  const raw = decode(plain) as any
  if (!raw || raw.v !== 1 || !Number.isSafeInteger(raw.n) || !(raw.h instanceof Uint8Array) || !(raw.s instanceof Uint8Array)) return null
  return { n: raw.n, h: raw.h, state: raw.s }
}

/** Where a group's pad snapshots live in the LocalStore. */
const dirOf = (groupId: string) => `pads/${groupId}`

/** Snapshots of one log's pads in a LocalStore. */
export class SnapshotStore {
  readonly #local: LocalStore
  readonly #key: Buffer
  readonly #discoveryKey: Buffer
  readonly #dir: string

  constructor (local: LocalStore, opts: { logKey: Uint8Array, discoveryKey: Buffer, groupId: string }) {
    this.#local = local
    this.#key = snapshotKey(opts.logKey)
    this.#discoveryKey = opts.discoveryKey
    this.#dir = dirOf(opts.groupId)
  }

  #name (pad: string) { return `${this.#dir}/${pad}.ysnap` }
  /** The earlier format: base64 text of the same sealed bytes. */
  #oldName (pad: string) { return `${this.#dir}/${pad}.snap` }

  async load (pad: string): Promise<Snapshot | null> {
    // A cache: one that cannot be read is as good as none (the pad is replayed from the log).
    const sealed = await this.#local.get(this.#name(pad)).catch(() => null)
    if (sealed !== null) return openSnapshot(this.#key, this.#discoveryKey, pad, sealed)
    const old = await this.#local.get(this.#oldName(pad)).catch(() => null)
    if (old === null) return null
    return openSnapshot(this.#key, this.#discoveryKey, pad, b4a.from(b4a.toString(old, 'utf8').trim(), 'base64'))
  }

  async save (pad: string, snap: Snapshot): Promise<void> {
    await this.#local.put(this.#name(pad), sealSnapshot(this.#key, this.#discoveryKey, pad, snap))
    await this.#local.delete(this.#oldName(pad))
  }

  /** Removes every snapshot of a group's pads (this device left the group). */
  static async clear (local: LocalStore, groupId: string): Promise<void> {
    for (const name of await local.list(`${dirOf(groupId)}/`)) await local.delete(name)
  }
}
