/**
 * The automerge-paper editing trace (bench/data, CC BY 4.0, see bench/data/README.md) and
 * the one way both sides apply it: one Yjs transaction per trace transaction, on a Y.XmlText
 * inside a paragraph of the `default` XmlFragment, the shape a Solidar pad has (TipTap's).
 */
import fs from 'node:fs'
import path from 'node:path'
import zlib from 'node:zlib'
import { fileURLToPath } from 'node:url'
import * as Y from 'yjs'

export const TRACE_FILE = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'data', 'automerge-paper.json.gz')

export type Patch = [number, number, string]
export interface Trace { txns: Patch[][], endContent: string, total: number }

/** The first `limit` transactions (all by default); `endContent` only when all are taken. */
export function loadTrace (limit = Infinity): Trace {
  if (!fs.existsSync(TRACE_FILE)) throw new Error(`editing trace not found: ${TRACE_FILE} (see bench/data/README.md)`)
  const raw = JSON.parse(zlib.gunzipSync(fs.readFileSync(TRACE_FILE)).toString('utf8'))
  const all: Patch[][] = raw.txns.map((t: any) => t.patches)
  const txns = all.slice(0, Math.min(limit, all.length))
  return { txns, endContent: txns.length === all.length ? raw.endContent : '', total: all.length }
}

/** The XmlText the trace is typed into: the first paragraph of the fragment (created if missing). */
export function traceText (doc: Y.Doc, create: boolean): Y.XmlText | null {
  const fragment = doc.getXmlFragment('default')
  const first = fragment.length > 0 ? fragment.get(0) : null
  if (first instanceof Y.XmlElement && first.nodeName === 'paragraph') {
    const text = first.length > 0 ? first.get(0) : null
    if (text instanceof Y.XmlText) return text
  }
  if (!create) return null
  const p = new Y.XmlElement('paragraph')
  p.insert(0, [new Y.XmlText()])
  fragment.insert(0, [p])
  return p.get(0) as Y.XmlText
}

export function applyPatches (text: Y.XmlText, patches: Patch[]): void {
  for (const [pos, del, ins] of patches) {
    if (del > 0) text.delete(pos, del)
    if (ins) text.insert(pos, ins)
  }
}

/** Plain text of the trace's XmlText (no formatting is ever applied, so no markup). */
export function plainText (text: Y.XmlText): string {
  return text.toDelta().map((d: any) => typeof d.insert === 'string' ? d.insert : '').join('')
}

/** What the first `limit` transactions produce, applied to a plain Y.Doc (also the baseline). */
export function replayPlain (trace: Trace): { doc: Y.Doc, text: string, ms: number } {
  const doc = new Y.Doc()
  const t0 = performance.now()
  const text = doc.transact(() => traceText(doc, true)!)
  for (const patches of trace.txns) doc.transact(() => applyPatches(text, patches))
  const ms = performance.now() - t0
  return { doc, text: plainText(text), ms }
}
