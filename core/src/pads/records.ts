/**
 * The pads' part of the group view (written only by `apply`, see apply.ts here), and
 * typed reads of it. Keys (utf-8), values CBOR:
 *
 *   pd!<pad>                pad meta     {id, title (sealed), createdBy, ts, updates, head?, archived, changedTs}
 *   pu!<pad>!<seq12>        one update   {seq, author, body (sealed Yjs update), ts, h}
 *   n!pad                   counter of the pad change feed
 *   pc!<n12>                change feed  {pad, change, by, seq?}   (what subscribers follow; by = author)
 *
 * `seq` counts a pad's accepted updates in log order (1-based). `h` chains them:
 * h_seq = BLAKE2b-256(h_{seq-1} ‖ nonce ‖ ciphertext), h_0 = 32 zero bytes, and `head` in
 * the meta is the newest h. Apply never decodes Yjs (bodies are sealed); the chain lets a
 * device check cheaply that the first N updates are still exactly the ones a local
 * snapshot covered (autobase may reorder the not-yet-final tail of the log).
 */
import sodium from 'sodium-universal'
import b4a from 'b4a'
import { getRecord, pad as pad12, rangeRecords, type Bee } from '../view.ts'
import type { Sealed } from '../content.ts'

export type PadChangeKind = 'created' | 'updated' | 'renamed' | 'archived' | 'unarchived'

export interface PadRecord {
  id: string
  title: Sealed
  /** Member (hex) who created the pad. */
  createdBy: string
  ts: number
  /** Accepted updates so far; the seq of the newest. */
  updates: number
  /** Chain hash of update `updates` (absent while there is none). */
  head?: Uint8Array
  archived: boolean
  /** Author's clock of the last change of any kind. */
  changedTs: number
}

export interface PadUpdateRecord { seq: number, author: string, body: Sealed, ts: number, h: Uint8Array }
export interface PadChangeRecord { pad: string, change: PadChangeKind, by: string, seq?: number }

export const PK = {
  pad: (id: string) => `pd!${id}`,
  update: (id: string, seq: number) => `pu!${id}!${pad12(seq)}`,
  updates: (id: string) => `pu!${id}!`,
  feedCounter: 'n!pad',
  feed: (n: number) => `pc!${pad12(n)}`
}

export const ZERO_HEAD = b4a.alloc(32)

/** The next link of the update chain. */
export function chain (prev: Uint8Array, body: Sealed): Buffer {
  const out = b4a.alloc(32)
  sodium.crypto_generichash_batch(out, [prev, body.n, body.c])
  return out
}

export const readPad = (view: Bee, id: string): Promise<PadRecord | null> => getRecord<PadRecord>(view, PK.pad(id))

export async function readPads (view: Bee): Promise<PadRecord[]> {
  const out: PadRecord[] = []
  for await (const { value } of rangeRecords<PadRecord>(view, 'pd!')) out.push(value)
  return out
}

export const readUpdate = (view: Bee, id: string, seq: number): Promise<PadUpdateRecord | null> => getRecord<PadUpdateRecord>(view, PK.update(id, seq))

/** Updates of a pad with `after < seq <= upTo`, in order. */
export async function * readUpdates (view: Bee, id: string, after = 0, upTo = Infinity): AsyncIterable<PadUpdateRecord> {
  for await (const { value } of rangeRecords<PadUpdateRecord>(view, PK.updates(id), { gt: PK.update(id, after) })) {
    if (value.seq > upTo) return
    yield value
  }
}

export async function feedCount (view: Bee): Promise<number> {
  return (await getRecord<number>(view, PK.feedCounter)) ?? 0
}

/** Change feed entries after `after`, with their numbers. */
export async function readFeed (view: Bee, after: number): Promise<Array<PadChangeRecord & { n: number }>> {
  const out: Array<PadChangeRecord & { n: number }> = []
  for await (const { key, value } of rangeRecords<PadChangeRecord>(view, 'pc!', { gt: PK.feed(after) })) {
    out.push({ ...value, n: Number(key.slice(3)) })
  }
  return out
}
