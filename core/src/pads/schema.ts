/**
 * The rich-text model of a pad. A pad's Y.Doc holds one Y.XmlFragment named `default`
 * shaped like ProseMirror/TipTap's StarterKit schema, so the web editor can bind TipTap
 * (Collaboration extension, y-prosemirror) to the same document:
 *
 *   paragraph | heading{level 1–3} | bulletList > listItem > block+ | orderedList{start} > listItem
 *   text marks (Y.XmlText formatting attributes): bold {}, italic {}, code {}, link {href}
 *   a line break inside a paragraph or heading: a `hardBreak` element between its texts
 *
 * `Block`s are a plain-data view of that document: what import builds and export reads.
 * Reading is lenient (unknown nodes from a newer editor degrade to their text, what lies
 * deeper than MAX_PAD_DEPTH to one paragraph of its text, links other than http, https and
 * mailto to their text) and never recursive; writing produces only the nodes above.
 */
import * as Y from 'yjs'
import { safeUrl } from '../safe-url.ts'
import { MAX_PAD_DEPTH } from './limits.ts'

export const FRAGMENT = 'default'

export interface Marks { bold?: true, italic?: true, code?: true, link?: string }
export interface Run { text: string, marks: Marks }
export type Block =
  | { type: 'paragraph', runs: Run[] }
  | { type: 'heading', level: 1 | 2 | 3, runs: Run[] }
  | { type: 'bulletList', items: Block[][] }
  | { type: 'orderedList', start: number, items: Block[][] }

export const fragmentOf = (doc: Y.Doc): Y.XmlFragment => doc.getXmlFragment(FRAGMENT)

export const paragraph = (text: string, marks: Marks = {}): Block => ({ type: 'paragraph', runs: text ? [{ text, marks }] : [] })
export const heading = (level: 1 | 2 | 3, text: string): Block => ({ type: 'heading', level, runs: [{ text, marks: {} }] })

// ------------------------------------------------------------------ write

function attributesOf (marks: Marks): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  if (marks.bold) out.bold = {}
  if (marks.italic) out.italic = {}
  if (marks.code) out.code = {}
  if (marks.link !== undefined) out.link = { href: marks.link }
  return out
}

function textOf (runs: Run[]): Y.XmlText {
  const text = new Y.XmlText()
  let at = 0
  for (const run of runs) {
    if (run.text === '') continue
    // An explicit (possibly empty) attribute set: the run never inherits its neighbour's marks.
    text.insert(at, run.text, attributesOf(run.marks))
    at += run.text.length
  }
  return text
}

/**
 * The children of a paragraph or heading: text, with each line break as a `hardBreak` node
 * (what the editor's Shift+Enter makes), so a pad has one form for a break whether it was
 * typed or imported. No empty text nodes around breaks.
 */
function inlineOf (runs: Run[]): Array<Y.XmlText | Y.XmlElement> {
  const out: Array<Y.XmlText | Y.XmlElement> = []
  let line: Run[] = []
  const flush = () => {
    if (line.some(r => r.text !== '')) out.push(textOf(line))
    line = []
  }
  for (const run of runs) {
    const parts = run.text.split('\n')
    parts.forEach((text, i) => {
      if (i > 0) { flush(); out.push(new Y.XmlElement('hardBreak')) }
      line.push({ text, marks: run.marks })
    })
  }
  flush()
  // An empty block keeps its (empty) text node, as before hard breaks were nodes.
  return out.length ? out : [textOf([])]
}

/** A Y element for a block (not yet integrated: insert it into a fragment or element). */
export function elementOf (block: Block): Y.XmlElement {
  const el = new Y.XmlElement(block.type)
  switch (block.type) {
    case 'paragraph':
      el.insert(0, inlineOf(block.runs))
      break
    case 'heading':
      el.setAttribute('level', block.level as any)
      el.insert(0, inlineOf(block.runs))
      break
    case 'bulletList':
    case 'orderedList':
      // Always set, also 1: the editor's orderedList has start=1, and a missing attribute would
      // look like a change to its Yjs binding (see web/src/pad/schema.ts).
      if (block.type === 'orderedList') el.setAttribute('start', block.start as any)
      el.insert(0, block.items.map(item => {
        const li = new Y.XmlElement('listItem')
        li.insert(0, (item.length ? item : [paragraph('')]).map(elementOf))
        return li
      }))
      break
  }
  return el
}

/** Appends blocks at the end of the document (one transaction if called inside one). */
export function appendBlocks (doc: Y.Doc, blocks: Block[]): void {
  if (blocks.length === 0) return
  const frag = fragmentOf(doc)
  frag.insert(frag.length, blocks.map(elementOf))
}

/**
 * Appends `text` to the end of the document's last paragraph or heading (top level or the
 * last list item's); starts a paragraph when the document ends with none.
 */
export function appendInline (doc: Y.Doc, text: string): void {
  let node: Y.XmlElement | Y.XmlFragment = fragmentOf(doc)
  for (;;) {
    const last: unknown = node.length ? node.get(node.length - 1) : null
    if (!(last instanceof Y.XmlElement)) break
    if (last.nodeName === 'paragraph' || last.nodeName === 'heading') {
      const t = last.length ? last.get(last.length - 1) : null
      if (t instanceof Y.XmlText) t.insert(t.length, text, {})
      else last.insert(last.length, [textOf([{ text, marks: {} }])])
      return
    }
    if (!['bulletList', 'orderedList', 'listItem'].includes(last.nodeName)) break
    node = last
  }
  appendBlocks(doc, [paragraph(text)])
}

// ------------------------------------------------------------------ read
// Every walk is iterative with its own stack: a member can write any tree (see limits.ts).

type YNode = Y.XmlElement | Y.XmlText | Y.XmlHook

/** Pushes `nodes` so that the first is popped first (a loop: spreading 100,000 children into push() throws). */
function pushReversed (stack: YNode[], nodes: YNode[]): void {
  for (let i = nodes.length - 1; i >= 0; i--) stack.push(nodes[i])
}

function marksOf (attrs: Record<string, any> | undefined): Marks {
  const marks: Marks = {}
  if (!attrs) return marks
  if (attrs.bold != null || attrs.strong != null) marks.bold = true
  if (attrs.italic != null || attrs.em != null) marks.italic = true
  if (attrs.code != null) marks.code = true
  // A link only to a web or mail address, as a browser would read it (safe-url.ts).
  const href = attrs.link != null && typeof attrs.link === 'object' ? safeUrl(attrs.link.href) : null
  if (href !== null) marks.link = href
  return marks
}

const sameMarks = (a: Marks, b: Marks) => a.bold === b.bold && a.italic === b.italic && a.code === b.code && a.link === b.link

type Delta = Array<{ insert: unknown, attributes?: Record<string, any> }>

/** The text runs of an inline container (paragraph, heading), adjacent equal marks merged; nested elements give their text. */
function runsOf (el: Y.XmlElement): Run[] {
  const runs: Run[] = []
  const push = (text: string, marks: Marks) => {
    if (text === '') return
    const prev = runs[runs.length - 1]
    if (prev && sameMarks(prev.marks, marks)) prev.text += text
    else runs.push({ text, marks })
  }
  const stack: YNode[] = []
  pushReversed(stack, el.toArray())
  while (stack.length > 0) {
    const child = stack.pop()!
    if (child instanceof Y.XmlText) {
      for (const op of child.toDelta() as Delta) if (typeof op.insert === 'string') push(op.insert, marksOf(op.attributes))
    } else if (child instanceof Y.XmlElement) {
      if (child.nodeName === 'hardBreak') push('\n', {})
      else pushReversed(stack, child.toArray())
    }
  }
  return runs
}

const plainText = (text: Y.XmlText): string => (text.toDelta() as Delta).map(op => typeof op.insert === 'string' ? op.insert : '').join('')

/** Everything under `el` as one paragraph of plain text (blocks on lines of their own): what lies too deep to render. */
function flattened (el: Y.XmlElement): Block | null {
  const parts: string[] = []
  const stack: YNode[] = [el]
  while (stack.length > 0) {
    const node = stack.pop()!
    if (node instanceof Y.XmlText) parts.push(plainText(node))
    else if (node instanceof Y.XmlElement) {
      if (parts.length > 0 && !parts[parts.length - 1].endsWith('\n')) parts.push('\n')
      pushReversed(stack, node.toArray())
    }
  }
  const text = parts.join('').replace(/^\n+|\n+$/g, '')
  return text === '' ? null : paragraph(text)
}

/** One level of the walk: the children of a container still to read, where their blocks go, and their level. */
interface Frame { children: YNode[], next: number, out: Block[], depth: number }

function blocksOf (root: Y.XmlFragment): Block[] {
  const top: Block[] = []
  // Depth-first: a frame pushed while reading a child is finished before its parent reads on,
  // so blocks land in document order.
  const stack: Frame[] = [{ children: root.toArray(), next: 0, out: top, depth: 1 }]
  while (stack.length > 0) {
    const f = stack[stack.length - 1]
    if (f.next >= f.children.length) { stack.pop(); continue }
    const child = f.children[f.next++]
    const out = f.out
    if (child instanceof Y.XmlText) {
      // Text directly in a container (not TipTap's shape): keep it as a paragraph.
      const text = plainText(child)
      if (text) out.push(paragraph(text))
      continue
    }
    if (!(child instanceof Y.XmlElement)) continue
    if (f.depth > MAX_PAD_DEPTH) {
      const flat = flattened(child)
      if (flat) out.push(flat)
      continue
    }
    switch (child.nodeName) {
      case 'paragraph':
        out.push({ type: 'paragraph', runs: runsOf(child) })
        break
      case 'heading': {
        const level = Number(child.getAttribute('level'))
        out.push({ type: 'heading', level: (level >= 1 && level <= 3 ? level : 3) as 1 | 2 | 3, runs: runsOf(child) })
        break
      }
      case 'bulletList':
      case 'orderedList': {
        const items: Block[][] = []
        for (const li of child.toArray()) {
          if (!(li instanceof Y.XmlElement)) continue
          const item: Block[] = []
          items.push(item)
          stack.push({ children: li.toArray(), next: 0, out: item, depth: f.depth + 2 })
        }
        if (child.nodeName === 'bulletList') out.push({ type: 'bulletList', items })
        else {
          const start = Number(child.getAttribute('start') ?? 1)
          out.push({ type: 'orderedList', start: Number.isSafeInteger(start) && start >= 0 ? start : 1, items })
        }
        break
      }
      case 'codeBlock':
        out.push({ type: 'paragraph', runs: [{ text: runsOf(child).map(r => r.text).join(''), marks: { code: true } }] })
        break
      default:
        // blockquote and anything newer: its blocks, or its text.
        if (child.toArray().some(c => c instanceof Y.XmlElement)) stack.push({ children: child.toArray(), next: 0, out, depth: f.depth + 1 })
        else out.push({ type: 'paragraph', runs: runsOf(child) })
    }
  }
  return top
}

/** The document as blocks. */
export function readBlocks (doc: Y.Doc): Block[] {
  return blocksOf(fragmentOf(doc))
}

/** A fresh document holding `blocks` (for import and templates; its update is appended as one entry). */
export function docOf (blocks: Block[]): Y.Doc {
  const doc = new Y.Doc()
  doc.transact(() => appendBlocks(doc, blocks))
  return doc
}

/** The text of the document's first paragraph or heading (tests and benchmarks edit it directly). */
export function firstText (doc: Y.Doc): Y.XmlText {
  const block = fragmentOf(doc).get(0)
  const text = block instanceof Y.XmlElement ? block.get(0) : null
  if (!(text instanceof Y.XmlText)) throw new Error('the document does not start with a paragraph')
  return text
}
