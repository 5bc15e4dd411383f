/**
 * Deleting (and collecting) a nested subtree of any depth. Yjs 13.6 deletes a nested type with
 * one call per level, so a member who deleted a 10,000-level list overflowed the stack of every
 * peer that applied it, and the deletion was left half done, differently on each machine.
 * patches/yjs+13.6.33.patch walks nested types with a work list; this checks it.
 */
import test from 'node:test'
import assert from 'node:assert/strict'
import * as Y from 'yjs'
import { readBlocks } from '../src/pads/schema.ts'
import { blocksToMarkdown } from '../src/pads/markdown.ts'

const DEPTH = 20_000

function deepDoc (gc: boolean): Y.Doc {
  const doc = new Y.Doc({ gc })
  const frag = doc.getXmlFragment('default')
  doc.transact(() => {
    const top = new Y.XmlElement('paragraph')
    top.insert(0, [new Y.XmlText('kept')])
    frag.insert(0, [top])
    let at: Y.XmlFragment | Y.XmlElement = frag
    for (let i = 0; i < DEPTH; i++) {
      const el = new Y.XmlElement(i % 2 ? 'listItem' : 'bulletList')
      at.insert(at.length, [el])
      at = el
    }
    at.insert(0, [new Y.XmlText('bottom')])
  })
  return doc
}

for (const gc of [false, true]) {
  test(`a ${DEPTH}-level subtree is deleted in one go, locally and on a peer (gc ${gc})`, () => {
    const a = deepDoc(gc)
    const b = new Y.Doc({ gc })
    Y.applyUpdate(b, Y.encodeStateAsUpdate(a))
    const frag = a.getXmlFragment('default')
    assert.equal(frag.length, 2)
    a.transact(() => frag.delete(1, 1))
    assert.equal(frag.length, 1)
    Y.applyUpdate(b, Y.encodeStateAsUpdate(a, Y.encodeStateVector(b)))
    assert.equal(b.getXmlFragment('default').length, 1)
    for (const doc of [a, b]) assert.equal(blocksToMarkdown(readBlocks(doc)).trim(), 'kept')
    // Both hold the same deletions, and a third peer loading either ends the same.
    const c = new Y.Doc({ gc })
    Y.applyUpdate(c, Y.encodeStateAsUpdate(b))
    assert.equal(c.getXmlFragment('default').toString(), a.getXmlFragment('default').toString())
  })
}
