/**
 * This device's list of the logs it belongs to (groups and direct conversations),
 * with their keys. Persisted through the `LocalStore` the runtime provides (a 0600
 * file in node/); written before any operation that depends on it is acknowledged.
 */
import { errors } from './errors.ts'

/** Small named text blobs kept on this device only (never replicated). */
export interface LocalStore {
  read (name: string): Promise<string | null>
  /** Must be durable (fsync) when it resolves. */
  write (name: string, text: string): Promise<void>
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
    const text = await this.#store.read(FILE)
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
    this.#writing = this.#writing.catch(() => { /* the earlier call got its own error; this one runs regardless */ }).then(() => this.#store.write(FILE, text))
    return this.#writing
  }
}

export class MemoryLocalStore implements LocalStore {
  files = new Map<string, string>()
  async read (name: string) { return this.files.get(name) ?? null }
  async write (name: string, text: string) { this.files.set(name, text) }
}
