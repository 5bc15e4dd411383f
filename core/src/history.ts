/**
 * Paged reads of a log's messages (issue 17 item 6): a page is the newest `limit` messages
 * strictly before a message id, read from the view by a reverse range with a limit (on `s!` for
 * the whole log, on the room index `x!<room>!` for one room), so only those records are read and
 * only they are decrypted. A page is returned oldest first, in the order a full read has.
 *
 * `before` is a message id rather than a seq: ids never change, while the seq of a message
 * that is not final yet can move when Autobase reorders the log's tail; and ids work the same
 * for DMs, whose messages may lie in two logs with seqs of their own.
 */
import { errors } from './errors.ts'
import { isMessageId } from './commands.ts'
import { K, getRecord, rangeRecords, type Bee, type MessageRecord } from './view.ts'

/** A page when the caller names no limit: more than a screen holds, read and decrypted in a few ms. */
export const DEFAULT_PAGE = 100
/** The largest page: bounds the work and the response of one request (texts are up to 4,000 characters each). */
export const MAX_PAGE = 500
/** Reads of a snapshot that a reorder made unavailable before giving up (each after the base's update). */
const ATTEMPTS = 8

export interface PageOptions {
  /** One room only (its index), else all rooms. */
  room?: string
  /** A message id: the page ends just before it. Absent: the newest messages. */
  before?: string
  /** How many messages at most: 1 … MAX_PAGE, default DEFAULT_PAGE. */
  limit?: number
}

/** `limit` checked (BAD_REQUEST unless a whole number 1 … MAX_PAGE), DEFAULT_PAGE if absent. */
export function pageLimit (limit: unknown): number {
  if (limit === undefined) return DEFAULT_PAGE
  if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE) {
    throw errors.badRequest(`limit must be a whole number from 1 to ${MAX_PAGE}`)
  }
  return limit
}

/** `before` checked (BAD_REQUEST unless a message id). */
export function checkBefore (before: unknown): string | undefined {
  if (before === undefined) return undefined
  if (typeof before !== 'string' || !isMessageId(before)) throw errors.badRequest('before must be a message id')
  return before
}

/** What a page is read from: a log's view, and a way to let an update under way finish. */
export interface PagedLog { readonly view: Bee, update (): Promise<void> }

/**
 * Runs `read` on a snapshot of the view, so that the reads in it (an id's position, then a range)
 * see one state even while Autobase reorders the tail. A reorder that truncates blocks the
 * snapshot still needs makes them unavailable: then read again from the view as it is now.
 */
export async function onSnapshot<T> (log: PagedLog, read: (bee: Bee) => Promise<T>): Promise<T> {
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    if (attempt > 0) await log.update()
    const snap = log.view.snapshot?.() ?? null
    try {
      return await read(snap ?? log.view)
    } catch (err: any) {
      if (err?.code !== 'SNAPSHOT_NOT_AVAILABLE') throw err
      // The reorder cut what this snapshot was reading: the next attempt reads the new order.
    } finally {
      await snap?.close()
    }
  }
  throw errors.busy('The group is reordering its log; try again in a moment')
}

/** A page and the message it ends before (null when the page ends at the newest message). */
export interface Page { messages: MessageRecord[], anchor: MessageRecord | null }

/**
 * One page of one log. Null when `before` is not a message of this log (the caller says
 * MESSAGE_NOT_FOUND, or looks in the other log of a DM).
 */
export async function readPage (log: PagedLog, opts: PageOptions): Promise<Page | null> {
  const limit = pageLimit(opts.limit)
  const before = checkBefore(opts.before)
  return onSnapshot(log, async (bee) => {
    let anchor: MessageRecord | null = null
    if (before !== undefined) {
      const seq = await getRecord<number>(bee, K.messageId(before))
      anchor = seq === null ? null : await getRecord<MessageRecord>(bee, K.message(seq))
      if (anchor === null || anchor.id !== before) return null
    }
    return { messages: await newestBefore(bee, opts.room, anchor?.seq ?? null, limit), anchor }
  })
}

async function newestBefore (bee: Bee, room: string | undefined, seq: number | null, limit: number): Promise<MessageRecord[]> {
  const out: MessageRecord[] = []
  if (room === undefined) {
    const lt = seq === null ? undefined : K.message(seq)
    for await (const { value } of rangeRecords<MessageRecord>(bee, 's!', { lt, reverse: true, limit })) out.push(value)
  } else {
    const lt = seq === null ? undefined : K.roomIndex(room, seq)
    for await (const { key } of rangeRecords<unknown>(bee, `x!${room}!`, { lt, reverse: true, limit })) {
      const msg = await getRecord<MessageRecord>(bee, K.message(Number(key.slice(key.lastIndexOf('!') + 1))))
      if (msg !== null) out.push(msg)
    }
  }
  return out.reverse()
}

/**
 * A page of each DM log with one peer (usually one log; two while both sides opened one at once).
 * The log holding `before` is cut at it; another log, which has no position for it, at its
 * time: messages earlier than `before` by (ts, id), as the merge of the logs orders them where
 * they meet. The caller merges the pages (`mergeLogs`) and keeps the newest `limit`.
 * MESSAGE_NOT_FOUND when no log holds `before`.
 */
export async function dmPages (logs: PagedLog[], opts: Omit<PageOptions, 'room'>): Promise<MessageRecord[][]> {
  const limit = pageLimit(opts.limit)
  const before = checkBefore(opts.before)
  const pages = await Promise.all(logs.map(log => readPage(log, { before, limit })))
  if (before === undefined) return pages.map(p => p!.messages)
  const anchor = pages.find(p => p !== null)?.anchor
  if (anchor == null) throw errors.messageNotFound(before)
  return Promise.all(pages.map((page, i) => page !== null ? page.messages : earlierThan(logs[i], anchor, limit)))
}

/** The newest `limit` messages of a log that are earlier than `anchor` by (ts, id), oldest first. */
async function earlierThan (log: PagedLog, anchor: MessageRecord, limit: number): Promise<MessageRecord[]> {
  return onSnapshot(log, async (bee) => {
    const out: MessageRecord[] = []
    for await (const { value } of rangeRecords<MessageRecord>(bee, 's!', { reverse: true })) {
      if (value.ts < anchor.ts || (value.ts === anchor.ts && value.id < anchor.id)) out.push(value)
      if (out.length === limit) break
    }
    return out.reverse()
  })
}
