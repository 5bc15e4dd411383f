/**
 * The web editor's schema (web/src/pad/schema.ts) against documents written by core (import,
 * minutes template, `pad append`): the editor's Yjs binding (y-tiptap) must see them as they
 * are. If it found a difference (a mark or node attribute the writer left out), the first edit
 * near it would delete and re-insert that text under the editor's Yjs client, and the history
 * would credit another member's words to whoever pressed Enter (seen in test/web-pads.test.ts:
 * Enter in front of an imported link gave the link's paragraph to Bob).
 *
 * Runs the binding's own diff (`updateYFragment`) in Node, without a browser.
 */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import * as Y from 'yjs'
import { getSchema } from '@tiptap/core'
import { updateYFragment, yXmlFragmentToProseMirrorRootNode } from '@tiptap/y-tiptap'
import { Transform } from '@tiptap/pm/transform'
import { EditorState, TextSelection } from '@tiptap/pm/state'
import { splitBlock } from '@tiptap/pm/commands'
import type { Node as PMNode, Schema } from '@tiptap/pm/model'
import { padSchema } from '@solidar/web/pad/schema'
import { markdownToBlocks, blocksToMarkdown, textToBlocks } from '@solidar/core/pads/markdown'
import { minutes } from '@solidar/core/pads/template'
import { appendInline, docOf, fragmentOf, readBlocks } from '@solidar/core/pads/schema'
import { authorship } from '@solidar/core/pads/history'

const RICH = `# Minutes of 12 May

## Present

Works council\\
Main street 1

Wages rise by **3 %** from *January*, see \`§ 87\` and [the law](https://www.gesetze-im-internet.de/betrvg/).

- night shifts
- weekends
  - Saturdays
  - **Sundays**

1. first
2. second

Later:

3. third, numbered from 3
4. fourth

### Decisions

Adopted: **7** yes, *1* no. Ask [Bob](mailto:bob@example.org) or [**bold link**](https://example.org/).
`

const schema: Schema = getSchema(padSchema())

/** The editor's view of the doc, as the binding builds it when the editor opens. */
const editorDoc = (doc: Y.Doc): PMNode => yXmlFragmentToProseMirrorRootNode(fragmentOf(doc), schema)

/**
 * The binding's metadata of one open editor: which Y type each ProseMirror node came from.
 * It lives as long as the editor, and the diff uses it (y-tiptap 3.0.9 treats mapped nodes at
 * new indices as a move), so tests keep one per simulated editor as the browser does.
 */
const binding = () => ({ mapping: new Map(), isOMark: new Map() })

/** Writes `pm` into `doc` as the binding does after an editor transaction; returns the Yjs updates that made. */
function bindingWrites (doc: Y.Doc, pm: PMNode, meta = binding()): Uint8Array[] {
  const updates: Uint8Array[] = []
  const listen = (u: Uint8Array) => { updates.push(u) }
  doc.on('update', listen)
  doc.transact(() => { updateYFragment(doc, fragmentOf(doc), pm, meta as any) })
  doc.off('update', listen)
  return updates
}

/** Every character of the doc has the Yjs client that typed it (authorship by client id). */
function charsByClient (doc: Y.Doc): Map<number, number> {
  const byClient = new Map<number, string>()
  for (const client of doc.store.clients.keys()) byClient.set(client, String(client))
  return new Map(authorship(doc, byClient).map((a) => [Number(a.member), a.chars]))
}

const documents: Array<[string, () => Y.Doc]> = [
  ['imported Markdown (headings, marks, code, links, nested and numbered lists)', () => docOf(markdownToBlocks(RICH))],
  ['the minutes template', () => docOf(minutes({ title: 'Works council, 12 May', date: '2027-05-12', attendees: ['Alice', 'Bob'] }))],
  ['imported line breaks (a Markdown hard break, a text file\'s single newlines)', () =>
    docOf([...markdownToBlocks('Works council\\\nMain street **1**\n'), ...textToBlocks('Notes\nsecond line\nthird\n')])],
  ['text appended by `pad append --inline` after a link', () => {
    const doc = docOf(markdownToBlocks('See [the law](https://example.org/)'))
    appendInline(doc, ' and more')
    return doc
  }]
]

describe('the web editor sees documents written by core as they are', () => {
  for (const [name, make] of documents) {
    it(`${name}: opening it in the editor changes nothing`, () => {
      const doc = make()
      const pm = editorDoc(doc)
      assert.deepEqual(bindingWrites(doc, pm), [], 'the binding found a difference where there is none')
    })
  }

  it('a line break is one form, typed or imported: a hardBreak node, as the editor makes it', () => {
    const doc = docOf(textToBlocks('Notes\nsecond line'))
    const para = fragmentOf(doc).get(0) as Y.XmlElement
    assert.deepEqual(para.toArray().map((c) => c instanceof Y.XmlElement ? c.nodeName : c.toString()), ['Notes', 'hardBreak', 'second line'])
    const pm = editorDoc(doc)
    assert.deepEqual(pm.firstChild!.content.content.map((n) => n.type.name), ['text', 'hardBreak', 'text'])
    assert.equal(blocksToMarkdown(readBlocks(doc)), 'Notes\\\nsecond line\n')
  })

  it('the editor keeps links, marks and list numbers of an import (Markdown round trip through the editor)', () => {
    const doc = docOf(markdownToBlocks(RICH))
    const again = new Y.Doc()
    bindingWrites(again, editorDoc(doc))
    assert.equal(blocksToMarkdown(readBlocks(again)), blocksToMarkdown(readBlocks(doc)))
    assert.equal(blocksToMarkdown(readBlocks(doc)).trim(), RICH.trim())
  })

  it('Enter at the start or end of any paragraph, by another client, leaves every character with its writer', () => {
    const source = docOf(markdownToBlocks(RICH))
    const original = charsByClient(source)
    assert.equal(original.size, 1)
    const [writer, total] = [...original][0]
    // Every textblock start and end: split there, as Enter does, in a second client's doc.
    const positions: number[] = []
    editorDoc(source).descendants((node, pos) => {
      if (node.isTextblock) positions.push(pos + 1, pos + 1 + node.content.size)
      return true
    })
    assert.ok(positions.length >= 20, `${positions.length} positions`)
    for (const at of positions) {
      const doc = new Y.Doc()
      Y.applyUpdate(doc, Y.encodeStateAsUpdate(source))
      // The editor opens (the binding maps its nodes), then Enter: ProseMirror's own command,
      // which at the start of a heading leaves an empty paragraph above it.
      const meta = binding()
      const opened = editorDoc(doc)
      let state = EditorState.create({ doc: opened, selection: TextSelection.create(opened, at) })
      assert.deepEqual(bindingWrites(doc, state.doc, meta), [])
      assert.ok(splitBlock(state, (tr) => { state = state.apply(tr) }), `Enter at ${at}`)
      bindingWrites(doc, state.doc, meta)
      const after = charsByClient(doc)
      assert.deepEqual([...after], [[writer, total]], `Enter at ${at} moved text to the other client: ${JSON.stringify([...after])}`)
      assert.equal(doc.store.clients.has(doc.clientID), true, `the split at ${at} was written`)
    }
  })

  it('Enter in the middle of a paragraph: the moved half counts for the splitter (Yjs has no move; docs/ARCHITECTURE.md)', () => {
    const source = docOf(markdownToBlocks('Wages rise by **3 %** from January.'))
    const doc = new Y.Doc()
    Y.applyUpdate(doc, Y.encodeStateAsUpdate(source))
    const at = 1 + 'Wages rise by 3 % '.length
    bindingWrites(doc, new Transform(editorDoc(doc)).split(at).doc)
    assert.deepEqual(readBlocks(doc).map((b) => b.type === 'paragraph' ? b.runs.map((r) => r.text).join('') : b.type), ['Wages rise by 3 % ', 'from January.'])
    const after = charsByClient(doc)
    assert.equal(after.get(source.clientID), 'Wages rise by 3 % '.length)
    assert.equal(after.get(doc.clientID), 'from January.'.length)
  })
})
