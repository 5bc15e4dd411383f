/**
 * This device's list of the logs it belongs to (groups and direct conversations),
 * with their keys. Persisted through the `LocalStore` the runtime provides (a 0600
 * file in node/); written before any operation that depends on it is acknowledged.
 */
import b4a from 'b4a'
import { errors } from './errors.ts'
import type { LocalStore } from './local-store.ts'

export type { LocalStore } from './local-store.ts'

/** A UTF-8 text stored under `name` (the JSON files), or null. */
export async function getText (store: LocalStore, name: string): Promise<string | null> {
  const bytes = await store.get(name)
  return bytes === null ? null : b4a.toString(bytes, 'utf8')
}

/** Stores a text as UTF-8 under `name`; durable when it resolves. */
export function putText (store: LocalStore, name: string, text: string): Promise<void> {
  return store.put(name, b4a.from(text, 'utf8'))
}

export interface LogRecord {
  /** Base key, hex. */
  key: string
  encryptionKey: string
  /** Corestore namespace of this log on this device. */
  namespace: string
  /** 'vault': the member's personal log shared by its devices (see devices in solidar.ts). */
  kind: 'group' | 'dm' | 'vault'
  /** For DMs: the other member's identity key, hex. */
  peer?: string
  /** For groups: the last DM signal processed (see dm.ts). */
  dmCursor?: number
  /** Set (ms) when this device wrote its leave; the record goes once a peer has taken it (delivery.ts). */
  leaving?: number
}

const FILE = 'logs.json'

export class Registry {
  #store: LocalStore
  #records = new Map<string, LogRecord>()
  #writing: Promise<void> = Promise.resolve()

  constructor (store: LocalStore) { this.#store = store }

  async load (): Promise<void> {
    const text = await getText(this.#store, FILE)
    if (text === null) return
    let raw: any
    try { raw = JSON.parse(text) } catch { throw errors.badRequest(`${FILE} is damaged (not JSON)`) }
    if (!raw || raw.version !== 1 || !Array.isArray(raw.logs)) throw errors.badRequest(`${FILE} has an unknown format`)
    for (const r of raw.logs) this.#records.set(r.key, r)
  }

  all (): LogRecord[] { return [...this.#records.values()] }
  get (keyHex: string): LogRecord | undefined { return this.#records.get(keyHex) }

  async put (record: LogRecord): Promise<void> {
    this.#records.set(record.key, record)
    await this.#save()
  }

  async remove (keyHex: string): Promise<void> {
    if (this.#records.delete(keyHex)) await this.#save()
  }

  async update (keyHex: string, patch: Partial<LogRecord>): Promise<void> {
    const r = this.#records.get(keyHex)
    if (!r) return
    Object.assign(r, patch)
    await this.#save()
  }

  /** Serialized so two concurrent saves never interleave on disk. */
  #save (): Promise<void> {
    const text = JSON.stringify({ version: 1, logs: this.all() }, null, 2) + '\n'
    this.#writing = this.#writing.catch(() => { /* the earlier call got its own error; this one runs regardless */ }).then(() => putText(this.#store, FILE, text))
    return this.#writing
  }
}

/** A LocalStore in memory (tests, and nodes that keep nothing): holds copies of what is put. */
export class MemoryLocalStore implements LocalStore {
  readonly files = new Map<string, Uint8Array>()
  async get (name: string) { const bytes = this.files.get(name); return bytes === undefined ? null : b4a.from(bytes) }
  async put (name: string, bytes: Uint8Array) { this.files.set(name, b4a.from(bytes)) }
  async delete (name: string) { this.files.delete(name) }
  async list (prefix: string) { return [...this.files.keys()].filter(n => n.startsWith(prefix)).sort() }
}
