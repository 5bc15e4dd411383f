/**
 * What survives a restart of reseal.ts: per log, the epoch keys this device sealed with while the
 * log had not settled them, and from which of its own entries on (those before were settled).
 * After a restart the re-seal reads its own entries from there, opens those sealed under these
 * keys and watches them again, so an entry sealed under a rotation the log later refuses is
 * sealed again also when the node restarted in between (`reseal.json` in the LocalStore, written
 * once per such key and when a log has settled everything: rare, never per message).
 *
 * It holds epoch keys, like `logs.json` holds each log's key: the home is this device's.
 */
import b4a from 'b4a'
import { getText, putText, type LocalStore } from '../registry.ts'

const FILE = 'reseal.json'

export interface SavedLog {
  /** This device's entries before this index were settled when the first key was saved. */
  from: number
  keys: Array<{ e: number, k: string }>
}

export class ResealKeys {
  readonly #local: LocalStore
  #logs: Promise<Map<string, SavedLog>> | null = null
  #writing: Promise<void> = Promise.resolve()

  constructor (local: LocalStore) { this.#local = local }

  async #load (): Promise<Map<string, SavedLog>> {
    this.#logs ??= getText(this.#local, FILE).then((text) => {
      const out = new Map<string, SavedLog>()
      if (text === null) return out
      let raw: any
      try { raw = JSON.parse(text) } catch { return out } // damaged: what it held is re-derived as far as the keyring still can
      if (raw?.version !== 1 || typeof raw.logs !== 'object' || raw.logs === null) return out
      for (const [key, log] of Object.entries(raw.logs as Record<string, any>)) {
        if (!Number.isSafeInteger(log?.from) || !Array.isArray(log?.keys)) continue
        const keys = log.keys.filter((x: any) => Number.isSafeInteger(x?.e) && typeof x?.k === 'string' && /^[0-9a-f]{64}$/.test(x.k))
        out.set(key, { from: log.from, keys })
      }
      return out
    })
    return this.#logs
  }

  async get (logKey: string): Promise<SavedLog | undefined> {
    return (await this.#load()).get(logKey)
  }

  /** Saves `key` of `epoch` for `logKey` (durably, before it answers) unless it is saved already. */
  async add (logKey: string, epoch: number, key: Uint8Array, from: number): Promise<void> {
    const logs = await this.#load()
    const hex = b4a.toString(key, 'hex')
    const log = logs.get(logKey) ?? { from, keys: [] }
    if (logs.has(logKey) && log.keys.some(x => x.e === epoch && x.k === hex)) return
    log.keys.push({ e: epoch, k: hex })
    log.from = Math.min(log.from, from)
    logs.set(logKey, log)
    await this.#save(logs)
  }

  /** Everything of `logKey` is settled: forget its keys. */
  async drop (logKey: string): Promise<void> {
    const logs = await this.#load()
    if (logs.delete(logKey)) await this.#save(logs)
  }

  #save (logs: Map<string, SavedLog>): Promise<void> {
    const text = JSON.stringify({ version: 1, logs: Object.fromEntries(logs) }) + '\n'
    this.#writing = this.#writing.catch(() => { /* the earlier write's caller got its error */ }).then(() => putText(this.#local, FILE, text))
    return this.#writing
  }
}
