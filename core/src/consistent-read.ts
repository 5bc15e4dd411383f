/**
 * Reads of the group view that take two steps (an index, then the record it points to) while
 * Autobase may reorder the view between them. A reorder truncates the view to the part both
 * orders share and applies the rest again, so a seq read a moment ago can hold another message
 * now: under a burst of concurrent sends, `send` answered with another message's id and text
 * (issue 16, item 11). The record read in the second step is accepted only if it is the one the
 * first step was about; otherwise both steps run again on the view as it is now.
 */
import { errors } from './errors.ts'
import { K, getRecord, type Bee, type MessageRecord } from './view.ts'

/** Attempts before giving up; each one after the first waits for the base to finish its update. */
const ATTEMPTS = 8

/**
 * The message with id `id` (null if the view has none). `settle` lets the base finish the
 * update that moved the message (Autobase's `update()`), so the next attempt reads a settled view.
 */
export async function messageByIdConsistent (view: Bee, id: string, settle: () => Promise<void>): Promise<MessageRecord | null> {
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    if (attempt > 0) await settle()
    const seq = await getRecord<number>(view, K.messageId(id))
    if (seq === null) return null
    const rec = await getRecord<MessageRecord>(view, K.message(seq))
    if (rec !== null && rec.id === id) return rec
    // The view was reordered between the two reads: read the index again.
  }
  throw errors.busy('The group is reordering its log; try again in a moment')
}

/**
 * The record of a message this device has just posted, built from the entry it appended (id,
 * room, sealed text, time, reply) and its author, with the position `seq` the view gave it: the
 * answer to `send` never depends on which message the view holds at a seq at that moment.
 */
export function ownPostRecord (seq: number, author: string, entry: { id: string, room: string, body: MessageRecord['body'], ts: number, replyTo?: string }): MessageRecord {
  return { seq, id: entry.id, author, room: entry.room, body: entry.body, ts: entry.ts, ...(entry.replyTo !== undefined ? { replyTo: entry.replyTo } : {}) }
}
