/**
 * Read markers: per log, the newest message this member has read on this device
 * (`read.json` in the LocalStore, never replicated), and how many messages arrived after it.
 * The node counts unread messages from the marker, so a client needs no history to show them.
 */
import { errors } from './errors.ts'
import { dmPages, onSnapshot, type PagedLog } from './history.ts'
import { K, getRecord, rangeRecords, type MessageRecord } from './view.ts'
import { getText, putText, type LocalStore } from './registry.ts'

const FILE = 'read.json'
/**
 * How many messages after the marker are looked at: counting reads their records (no
 * decryption), so a long unread stretch costs at most this many reads. A count of
 * UNREAD_SCAN messages by others means "at least that many".
 */
export const UNREAD_SCAN = 1000

/** The newest message read: its id (stable) and its seq when marked (used if the id is gone). */
export interface ReadMarker { id: string, seq: number }

export class ReadMarkers {
  #local: LocalStore
  #markers: Promise<Map<string, ReadMarker>> | null = null

  constructor (local: LocalStore) { this.#local = local }

  async #load (): Promise<Map<string, ReadMarker>> {
    this.#markers ??= getText(this.#local, FILE).then(parseMarkers)
    return this.#markers
  }

  async get (logKey: string): Promise<ReadMarker | null> {
    return (await this.#load()).get(logKey) ?? null
  }

  /**
   * Moves the marker of a log to `marker` unless it already stands at a later message; saved to
   * `read.json` when the disk takes it (see below).
   */
  async advance (logKey: string, marker: ReadMarker): Promise<void> {
    const markers = await this.#load()
    const now = markers.get(logKey)
    if (now !== undefined && now.seq >= marker.seq) return
    markers.set(logKey, marker)
    try {
      await putText(this.#local, FILE, JSON.stringify({ version: 1, read: Object.fromEntries(markers) }))
    } catch {
      // A disk that is full or read-only: the marker holds in memory and is saved with the next
      // one. A read marker is a convenience of this device, never a reason to refuse reading;
      // lost, its messages count as unread again.
    }
  }
}

/** `read.json`: `{version: 1, read: {<log key hex>: {id, seq}}}`. */
function parseMarkers (text: string | null): Map<string, ReadMarker> {
  const out = new Map<string, ReadMarker>()
  if (text === null) return out
  let raw: any
  try { raw = JSON.parse(text) } catch { throw errors.badRequest(`${FILE} is damaged (not JSON)`) }
  if (!raw || raw.version !== 1 || typeof raw.read !== 'object' || raw.read === null) throw errors.badRequest(`${FILE} has an unknown format`)
  for (const [key, m] of Object.entries<any>(raw.read)) {
    if (!m || typeof m.id !== 'string' || !Number.isInteger(m.seq)) throw errors.badRequest(`${FILE} holds a malformed entry`)
    out.set(key, { id: m.id, seq: m.seq })
  }
  return out
}

/**
 * Messages by others (not deleted) after `marker` in the log (all of them without a marker),
 * looking at no more than UNREAD_SCAN messages. `self` is this member's id (hex).
 */
export async function countUnread (log: PagedLog, marker: ReadMarker | null, self: string): Promise<number> {
  return onSnapshot(log, async (bee) => {
    let after = 0
    if (marker !== null) after = (await getRecord<number>(bee, K.messageId(marker.id))) ?? marker.seq
    let n = 0
    for await (const { value } of rangeRecords<MessageRecord>(bee, 's!', { gt: K.message(after), limit: UNREAD_SCAN })) {
      if (value.author !== self && value.deleted !== true) n++
    }
    return n
  })
}

/** One log of a conversation: its key (the marker's name) and its view. */
export interface MarkedLog { key: string, group: PagedLog }

/** Unread messages of a conversation: the sum over its logs (a DM may have two). */
export async function unreadOf (markers: ReadMarkers, logs: MarkedLog[], self: string): Promise<number> {
  let n = 0
  for (const log of logs) n += await countUnread(log.group, await markers.get(log.key), self)
  return n
}

/**
 * Marks a conversation read up to message `id`: the log holding it up to it, any other log up
 * to its newest message earlier than it by (ts, id) (the order in which the logs are merged).
 * MESSAGE_NOT_FOUND when no log holds `id`.
 */
export async function markLogsRead (markers: ReadMarkers, logs: MarkedLog[], id: string): Promise<void> {
  const holding = await Promise.all(logs.map(log => readAt(log.group, id)))
  if (holding.every(m => m === null)) throw errors.messageNotFound(id)
  const before = await dmPages(logs.map(l => l.group), { before: id, limit: 1 })
  for (const [i, log] of logs.entries()) {
    const mark = holding[i] ?? before[i][0] ?? null
    if (mark !== null) await markers.advance(log.key, { id: mark.id, seq: mark.seq })
  }
}

async function readAt (log: PagedLog, id: string): Promise<MessageRecord | null> {
  return onSnapshot(log, async (bee) => {
    const seq = await getRecord<number>(bee, K.messageId(id))
    const rec = seq === null ? null : await getRecord<MessageRecord>(bee, K.message(seq))
    return rec !== null && rec.id === id ? rec : null
  })
}
