/**
 * What a pad's document may hold, so that a pad stays readable whatever a member writes.
 * Yjs accepts any tree: 10,000 nested list items, or elements no editor knows. Checked
 * twice: where a client's update is accepted (`checkClientUpdate`, a coded refusal) and
 * where a document is read (schema.ts flattens what lies deeper than MAX_PAD_DEPTH into its
 * text; doc.ts skips an update that is not Yjs). Every walk here is iterative: the depth of
 * a document never becomes the depth of a call stack.
 *
 * Pure over yjs: the web app imports this file to limit what its editor binds to.
 */
import * as Y from 'yjs'
import { SolidarError } from '../errors.ts'

/**
 * Deepest element level the pad model renders (a top-level paragraph is level 1; a list
 * nested n deep puts its paragraphs at level 2n+1). 40 allows 19 nested lists, far more than
 * anyone writes, and stays far below what ProseMirror, y-prosemirror and a browser's stack
 * handle (they recurse per level).
 */
export const MAX_PAD_DEPTH = 40

/**
 * New Yjs types (elements and text nodes) in one client update. A pasted 50-page document is
 * ~5,000; a single update holds at most MAX_PAD_UPDATE (256 KiB) anyway.
 */
export const MAX_NEW_TYPES = 50_000

type Node = Y.XmlElement | Y.XmlText | Y.XmlHook

/** The level of the deepest element or text under `root` (0: empty). */
export function depthOf (root: Y.XmlFragment | Y.XmlElement): number {
  let deepest = 0
  const stack: Array<{ node: Node, depth: number }> = root.toArray().map(node => ({ node, depth: 1 }))
  while (stack.length > 0) {
    const { node, depth } = stack.pop()!
    if (depth > deepest) deepest = depth
    if (node instanceof Y.XmlElement) for (const child of node.toArray()) stack.push({ node: child, depth: depth + 1 })
  }
  return deepest
}

/**
 * Elements (and text nodes) nested deeper than `max` levels below `root`: what the web editor
 * leaves out. The outermost ones only (deleting one takes its subtree along).
 *
 * `except`: a Yjs client id whose too-deep nodes are not listed (nor what lies below them). The web
 * tab passes its own: a level its user just made too deep is for the node to refuse (the tab
 * then loads the pad again); deleting it in the tab, unseen by the node, while the user types
 * on in it, left the tab's edits pointing at deleted items: text landed in other paragraphs.
 */
export function tooDeep (root: Y.XmlFragment, max = MAX_PAD_DEPTH, except?: number): Array<Y.XmlElement | Y.XmlText> {
  const out: Array<Y.XmlElement | Y.XmlText> = []
  const stack: Array<{ node: Node, depth: number }> = root.toArray().map(node => ({ node, depth: 1 }))
  while (stack.length > 0) {
    const { node, depth } = stack.pop()!
    if (depth > max) {
      if ((node instanceof Y.XmlElement || node instanceof Y.XmlText) && (except === undefined || node._item?.id.client !== except)) out.push(node)
      continue
    }
    if (node instanceof Y.XmlElement) for (const child of node.toArray()) stack.push({ node: child, depth: depth + 1 })
  }
  return out
}

export const padContentRejected = (why: string): SolidarError => new SolidarError('PAD_CONTENT_REJECTED', why)

/** Decodes a client update; throws PAD_CONTENT_REJECTED for bytes that are not a Yjs update. Returns the new types in it. */
export function newTypes (update: Uint8Array, v2 = false): number {
  let decoded: ReturnType<typeof Y.decodeUpdate>
  try {
    decoded = v2 ? Y.decodeUpdateV2(update) : Y.decodeUpdate(update)
  } catch {
    throw padContentRejected('This is not a Yjs update (the pad editor\'s format)')
  }
  let n = 0
  for (const s of decoded.structs) if (s instanceof Y.Item && s.content instanceof Y.ContentType) n++
  return n
}

/** New types in the items a document holds back until their dependencies arrive (Yjs keeps them as a v2 update). */
function pendingTypes (doc: Y.Doc): number {
  const pending = doc.store.pendingStructs
  return pending ? newTypes(pending.update, true) : 0
}

/**
 * Refuses (PAD_CONTENT_REJECTED) a client's update that is not Yjs, brings too many new
 * nodes at once, or would nest the document deeper than MAX_PAD_DEPTH. Typing (no new
 * nodes) costs a decode; a new node a walk of the document; only an update that could
 * reach the limit is tried on a copy of the document.
 */
export function checkClientUpdate (doc: Y.Doc, fragment: string, update: Uint8Array): void {
  const added = newTypes(update)
  if (added === 0) return
  if (added > MAX_NEW_TYPES) throw padContentRejected(`This edit adds ${added} elements at once; the most is ${MAX_NEW_TYPES}: paste less at a time`)
  // Items Yjs holds back (their parents are missing) count as possible levels too: otherwise a
  // deep subtree sent before its root would pass, and its root later as one new element.
  if (depthOf(doc.getXmlFragment(fragment)) + pendingTypes(doc) + added <= MAX_PAD_DEPTH) return
  const probe = new Y.Doc()
  try {
    Y.applyUpdate(probe, Y.encodeStateAsUpdate(doc))
    Y.applyUpdate(probe, update)
    if (depthOf(probe.getXmlFragment(fragment)) + pendingTypes(probe) > MAX_PAD_DEPTH) throw padContentRejected(`This edit nests the pad more than ${MAX_PAD_DEPTH} levels deep (lists in lists); the editor cannot show that`)
  } catch (err) {
    if (err instanceof SolidarError) throw err
    throw padContentRejected('This Yjs update cannot be applied to the pad')
  } finally {
    probe.destroy()
  }
}

/**
 * A Doc's `gcFilter`: never garbage-collect an element or text node itself (their deleted
 * characters still are). Yjs collects a deleted type by recursing into its children, one
 * call per level: a deleted 10,000-level subtree would overflow the stack of every reader.
 */
export const gcKeepingTypes = (item: Y.Item): boolean => !(item.content instanceof Y.ContentType)

/**
 * Deletes `roots` with their subtrees, deepest first, inside the transaction `tr`: Yjs deletes a
 * type by recursing into its children not yet deleted, so the children go first.
 */
export function deleteDeepestFirst (roots: Array<Y.XmlElement | Y.XmlText>, tr: Y.Transaction): void {
  const order: Y.Item[] = []
  const stack: Node[] = [...roots]
  while (stack.length > 0) {
    const node = stack.pop()!
    if (node._item !== null) order.push(node._item)
    if (node instanceof Y.XmlElement) for (const child of node.toArray()) stack.push(child)
  }
  for (let i = order.length - 1; i >= 0; i--) if (!order[i].deleted) order[i].delete(tr)
}
