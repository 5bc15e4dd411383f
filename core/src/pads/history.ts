/**
 * A pad's history, Etherpad-style: versions are runs of consecutive updates by one member
 * less than SESSION_GAP_MS apart (a "session" of typing); any version can be shown by
 * replaying the log up to its last update (`export --at SEQ`). Authorship of the text that
 * is there now comes from Yjs: every inserted character carries the client id of the doc
 * that typed it, and the first log update carrying a client id names the member.
 */
import * as Y from 'yjs'
import { SESSION_GAP_MS } from './constants.ts'
import { fragmentOf } from './schema.ts'

export interface VersionOf<A> { version: number, fromSeq: number, seq: number, author: A, startTs: number, endTs: number, updates: number }

/** One update of a pad's log as `readHistory` reads it (records.ts PadUpdateRecord, its body sealed). */
export interface HistoryUpdate<B> { seq: number, author: string, ts: number, body: B }

/**
 * Reads a pad's log updates in order: each one's seq, author and time (for `versions`), the
 * member each Yjs client id first appears with (for `authorship`), and the updates that are no
 * Yjs update. `open` unseals a body (null: this device cannot, and the update only counts).
 */
export async function readHistory<B> (updates: AsyncIterable<HistoryUpdate<B>>, open: (body: B) => Uint8Array | null): Promise<{
  records: Array<{ seq: number, author: string, ts: number }>
  clients: Map<number, string>
  skipped: Array<{ seq: number, author: string, reason: string }>
}> {
  const records: Array<{ seq: number, author: string, ts: number }> = []
  const clients = new Map<number, string>()
  const skipped: Array<{ seq: number, author: string, reason: string }> = []
  for await (const rec of updates) {
    records.push({ seq: rec.seq, author: rec.author, ts: rec.ts })
    const plain = open(rec.body)
    if (!plain) continue
    let meta: ReturnType<typeof Y.parseUpdateMeta>
    try {
      meta = Y.parseUpdateMeta(plain)
    } catch {
      // Readers skip it (doc.ts); here it is named with its author.
      skipped.push({ seq: rec.seq, author: rec.author, reason: 'not a Yjs update' })
      continue
    }
    // The first update carrying a Yjs client id names its author (client ids are per open doc).
    for (const client of meta.to.keys()) if (!clients.has(client)) clients.set(client, rec.author)
  }
  return { records, clients, skipped }
}

export function versions (records: Array<{ seq: number, author: string, ts: number }>): Array<VersionOf<string>> {
  const out: Array<VersionOf<string>> = []
  for (const r of records) {
    const last = out[out.length - 1]
    if (last && last.author === r.author && r.ts - last.endTs < SESSION_GAP_MS && r.ts >= last.startTs - SESSION_GAP_MS) {
      last.seq = r.seq
      last.endTs = Math.max(last.endTs, r.ts)
      last.updates++
    } else {
      out.push({ version: out.length + 1, fromSeq: r.seq, seq: r.seq, author: r.author, startTs: r.ts, endTs: r.ts, updates: 1 })
    }
  }
  return out
}

/** Characters now in the document per member (by `clients`: Yjs client id → member), most first. */
export function authorship (doc: Y.Doc, clients: Map<number, string>): Array<{ member: string, chars: number }> {
  const counts = new Map<string, number>()
  // Iterative: a member can nest elements 10,000 deep (see limits.ts).
  const stack: Array<Y.XmlElement | Y.XmlText | Y.XmlHook> = fragmentOf(doc).toArray()
  while (stack.length > 0) {
    const node = stack.pop()!
    if (node instanceof Y.XmlText) {
      for (let item = node._start; item !== null; item = item.right) {
        if (item.deleted || !(item.content instanceof Y.ContentString)) continue
        const member = clients.get(item.id.client)
        if (member !== undefined) counts.set(member, (counts.get(member) ?? 0) + item.length)
      }
    } else if (node instanceof Y.XmlElement) for (const child of node.toArray()) stack.push(child)
  }
  return [...counts].map(([member, chars]) => ({ member, chars })).sort((a, b) => b.chars - a.chars || a.member.localeCompare(b.member))
}
