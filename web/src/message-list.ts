/**
 * The messages a conversation shows, kept in order as events arrive (views/chat.tsx): upserted by
 * id, in the log's order; a message that came live (seq 0, `message-live`) sorts after every
 * logged one until the log's copy takes its place. Pure functions.
 */
import type { MessageView } from './types.ts'

/** Where a message goes in the list: by its place in the log; a live one (seq 0, not logged yet) after all logged ones. */
const place = (m: MessageView): number => m.seq === 0 ? Number.MAX_SAFE_INTEGER : m.seq
const byPlace = (a: MessageView, b: MessageView): number => place(a) - place(b) || a.ts - b.ts

/**
 * Puts a message in the list (by id). `live`: a copy from the live channel, shown until the
 * log's copy comes and takes its place (and its position); it never replaces what is there.
 */
export function upsert (list: MessageView[], m: MessageView, live = false): MessageView[] {
  const i = list.findIndex((x) => x.id === m.id)
  if (i === -1) return [...list, m].sort(byPlace)
  if (live) return list
  const next = list.slice()
  next[i] = m
  return list[i].seq === m.seq ? next : next.sort(byPlace)
}

/** A live message whose sender's append failed goes away (a logged one stays). */
export const withdraw = (list: MessageView[], id: string): MessageView[] => list.filter((m) => m.id !== id || m.seq !== 0)

/** An earlier page in front of the messages shown (those shown win: they may be newer versions). */
export function prepend (older: MessageView[], list: MessageView[]): MessageView[] {
  const shown = new Set(list.map((m) => m.id))
  return [...older.filter((m) => !shown.has(m.id)), ...list].sort(byPlace)
}
