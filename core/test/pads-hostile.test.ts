/**
 * A pad stays readable whatever a member writes (issue 15, item 3): documents 10,000 levels
 * deep (nested lists, unknown elements, elements inside a paragraph), very wide ones, and a
 * sealed update that is not Yjs at all. The model (read, export as md/txt/html, authorship)
 * on its own; then across two nodes: the pad API refuses such updates with
 * PAD_CONTENT_REJECTED, and what a client that skips the check writes anyway is read on every
 * peer (cat, export in every format and at every version, history naming the bad update,
 * snapshot) instead of failing.
 */
import test from 'node:test'
import assert from 'node:assert/strict'
import b4a from 'b4a'
import * as Y from 'yjs'
import { encode } from '../src/codec.ts'
import { commandValue } from '../src/commands.ts'
import { epochZeroKey, sealContent } from '../src/content.ts'
import { authorship } from '../src/pads/history.ts'
import { deleteDeepestFirst, depthOf, MAX_PAD_DEPTH, tooDeep } from '../src/pads/limits.ts'
import { blocksToHtml, blocksToMarkdown, blocksToText, markdownToBlocks } from '../src/pads/markdown.ts'
import { fragmentOf, readBlocks, type Block } from '../src/pads/schema.ts'
import { makeNodes, waitFor } from './helpers.ts'

const DEEP = 10_000

/** `levels` nested `names` (cycled), built one level per insert (Yjs itself recurses over prelim content), `text` at the bottom. */
function nest (parent: Y.XmlFragment | Y.XmlElement, names: string[], levels: number, text: string | null): void {
  let at: Y.XmlFragment | Y.XmlElement = parent
  for (let i = 0; i < levels; i++) {
    at.insert(at.length, [new Y.XmlElement(names[i % names.length])])
    at = at.get(at.length - 1) as Y.XmlElement
  }
  if (text === null) return
  const para = new Y.XmlElement('paragraph')
  at.insert(at.length, [para])
  ;(at.get(at.length - 1) as Y.XmlElement).insert(0, [new Y.XmlText(text)])
}

/** The hostile documents: each a function that writes into a doc. */
const HOSTILE: Record<string, (doc: Y.Doc) => void> = {
  'nested lists': doc => nest(fragmentOf(doc), ['bulletList', 'listItem'], DEEP, 'bottom of the lists'),
  'nested unknown elements': doc => nest(fragmentOf(doc), ['blink', 'marquee', 'blockquote'], DEEP, 'bottom of the unknown'),
  'elements nested inside a paragraph': doc => {
    const frag = fragmentOf(doc)
    frag.insert(0, [new Y.XmlElement('paragraph')])
    nest(frag.get(0) as Y.XmlElement, ['span', 'strong'], DEEP, 'bottom of the paragraph')
  },
  wide: doc => {
    const frag = fragmentOf(doc)
    const list = new Y.XmlElement('bulletList')
    list.insert(0, Array.from({ length: 20_000 }, () => new Y.XmlElement('listItem')))
    const para = new Y.XmlElement('paragraph')
    para.insert(0, Array.from({ length: 40_000 }, (_, i) => i % 2 ? new Y.XmlElement('hardBreak') : new Y.XmlText('w')))
    frag.insert(0, [list, para, new Y.XmlText('wide end')])
  }
}
const MARKER: Record<string, string> = {
  'nested lists': 'bottom of the lists',
  'nested unknown elements': 'bottom of the unknown',
  'elements nested inside a paragraph': 'bottom of the paragraph',
  wide: 'wide end'
}

/** How deep a block tree nests (the exporters recurse over it). */
function blockDepth (blocks: Block[]): number {
  let deepest = 0
  const stack = blocks.map(b => ({ b, d: 1 }))
  while (stack.length) {
    const { b, d } = stack.pop()!
    deepest = Math.max(deepest, d)
    if (b.type === 'bulletList' || b.type === 'orderedList') for (const item of b.items) for (const c of item) stack.push({ b: c, d: d + 1 })
  }
  return deepest
}

for (const [name, write] of Object.entries(HOSTILE)) {
  test(`pad model: ${name} reads and exports (md, txt, html) without recursion`, () => {
    const source = new Y.Doc()
    source.transact(() => write(source))
    // As a peer gets it: one Yjs update from elsewhere.
    const doc = new Y.Doc()
    Y.applyUpdate(doc, Y.encodeStateAsUpdate(source))
    const blocks = readBlocks(doc)
    assert.ok(blockDepth(blocks) <= MAX_PAD_DEPTH, 'what lies deeper than MAX_PAD_DEPTH is flattened')
    const md = blocksToMarkdown(blocks)
    const txt = blocksToText(blocks)
    const html = blocksToHtml(blocks, 'Hostile')
    for (const out of [md, txt, html]) assert.ok(out.includes(MARKER[name]), `${name}: the text at the bottom is still there`)
    // The Markdown export reads back in.
    assert.ok(blocksToMarkdown(markdownToBlocks(md)).includes(MARKER[name].replace(/ /g, ' ')))
    const client = [...Y.parseUpdateMeta(Y.encodeStateAsUpdate(source)).to.keys()][0]
    assert.ok(authorship(doc, new Map([[client, 'm']]))[0].chars > 0)
  })
}

test('tooDeep: a tab leaves out what others nested too deep, never its own edit (the node refuses that, and the tab loads the pad again)', () => {
  const node = new Y.Doc()
  nest(fragmentOf(node), ['bulletList', 'listItem'], MAX_PAD_DEPTH, 'from another member')
  // The tab has the node's pad, in which another member went 42 levels deep.
  const tab = new Y.Doc()
  Y.applyUpdate(tab, Y.encodeStateAsUpdate(node))
  const theirs = tooDeep(fragmentOf(tab), MAX_PAD_DEPTH, tab.clientID)
  assert.equal(theirs.length, 1, 'the other member\'s paragraph at level 41 is left out')
  assert.equal(theirs[0]._item!.id.client, node.clientID)
  tab.transact(tr => deleteDeepestFirst(theirs, tr))
  assert.equal(depthOf(fragmentOf(tab)), MAX_PAD_DEPTH)
  // Its user sinks an item one level deeper than the pad holds, and types into it.
  let at = fragmentOf(tab).get(0) as Y.XmlElement
  for (let level = 1; level < MAX_PAD_DEPTH; level++) at = at.get(at.length - 1) as Y.XmlElement
  nest(at, [], 0, 'mine')
  assert.equal(depthOf(fragmentOf(tab)), MAX_PAD_DEPTH + 2)
  assert.deepEqual(tooDeep(fragmentOf(tab), MAX_PAD_DEPTH, tab.clientID), [], 'the tab\'s own levels stay as its user made them')
  assert.equal(tooDeep(fragmentOf(tab)).length, 1, 'without `except` they are listed')
  // Another member's nodes below a level of the tab's own that is in bounds are still left out.
  const other = new Y.Doc()
  Y.applyUpdate(other, Y.encodeStateAsUpdate(tab))
  const mine = fragmentOf(other).get(0) as Y.XmlElement
  nest(mine, ['bulletList', 'listItem'], 60, 'deep under the tab\'s list')
  Y.applyUpdate(tab, Y.encodeStateAsUpdate(other, Y.encodeStateVector(tab)))
  const hidden = tooDeep(fragmentOf(tab), MAX_PAD_DEPTH, tab.clientID)
  assert.ok(hidden.length >= 1 && hidden.every(n => n._item!.id.client === other.clientID), 'only the other member\'s levels')
})

/** Bob's client skipped the API's check (an old or hostile node): appends a raw sealed body as a pad update. */
async function appendRaw (node: any, group: string, pad: string, plain: Uint8Array): Promise<void> {
  const { base } = await node.logBase(group)
  const body = sealContent(epochZeroKey(base.encryptionKey), 0, base.discoveryKey, 'pad', plain)
  await base.append(encode(commandValue({ t: 'pad/update', pad, body, ts: Date.now() })))
  await base.update()
}

test('pads: hostile updates are refused by the API, and what reaches the log anyway stays readable on every peer', async (t) => {
  const { nodes } = await makeNodes(['alice', 'bob'], t)
  const [alice, bob] = nodes
  const { id: group } = await alice.createGroup('Works council')
  await bob.join((await alice.createInvite(group)).code, { timeoutMs: 30_000 })
  const pad = await alice.pads.create(group, 'Minutes', { content: 'Start of the minutes' })
  await waitFor(async () => (await bob.pads.list(group)).length === 1, 'bob lists the pad')
  const state = async () => (await bob.pads.state(group, pad.id)).update
  const updateOn = async (write: (doc: Y.Doc) => void) => {
    const doc = new Y.Doc()
    Y.applyUpdate(doc, await state())
    const before = Y.encodeStateVector(doc)
    doc.transact(() => write(doc))
    return Y.encodeStateAsUpdate(doc, before)
  }

  // The ordinary API (POST …/updates): deep content, garbage and a deep subtree sent before its root are refused with a code.
  for (const name of ['nested lists', 'nested unknown elements', 'elements nested inside a paragraph']) {
    await assert.rejects(bob.pads.applyUpdate(group, pad.id, await updateOn(HOSTILE[name])), { code: 'PAD_CONTENT_REJECTED' }, name)
  }
  await assert.rejects(bob.pads.applyUpdate(group, pad.id, b4a.from('not yjs at all, just text')), { code: 'PAD_CONTENT_REJECTED' })
  {
    // A deep subtree sent before its root (Yjs holds it back, its parent is missing), then the root alone.
    const doc = new Y.Doc()
    Y.applyUpdate(doc, await state())
    const before = Y.encodeStateVector(doc)
    const frag = fragmentOf(doc)
    frag.insert(frag.length, [new Y.XmlElement('bulletList')])
    const root = Y.encodeStateAsUpdate(doc, before)
    const mid = Y.encodeStateVector(doc)
    nest(frag.get(frag.length - 1) as Y.XmlElement, ['listItem', 'bulletList'], 200, 'sneaky')
    await assert.rejects(bob.pads.applyUpdate(group, pad.id, Y.encodeStateAsUpdate(doc, mid)), { code: 'PAD_CONTENT_REJECTED' }, 'a held-back deep subtree')
    await bob.pads.applyUpdate(group, pad.id, root)
  }
  // Ordinary edits still pass.
  await bob.pads.applyUpdate(group, pad.id, await updateOn(doc => nest(fragmentOf(doc), ['bulletList', 'listItem'], 10, 'ten levels')))

  // Bob's node writes what its API would refuse: 10,000 nested lists, nested unknown elements
  // and elements inside a paragraph (each in entries of 1,000 levels, under MAX_PAD_UPDATE), a
  // wide part, and a sealed update that is not Yjs.
  const deep: Array<{ names: string[], text: string, inParagraph?: boolean }> = [
    { names: ['bulletList', 'listItem'], text: MARKER['nested lists'] },
    { names: ['blink', 'blockquote'], text: MARKER['nested unknown elements'] },
    { names: ['span', 'strong'], text: MARKER['elements nested inside a paragraph'], inParagraph: true }
  ]
  for (const { names, text, inParagraph } of deep) {
    for (let done = 0; done < DEEP; done += 1_000) {
      await bob.pads.change(group, pad.id, doc => {
        const frag = fragmentOf(doc)
        if (done === 0) {
          frag.insert(frag.length, [new Y.XmlElement(inParagraph ? 'paragraph' : names[0])])
          nest(frag.get(frag.length - 1) as Y.XmlElement, inParagraph ? names : [...names.slice(1), names[0]], 999, null)
          return
        }
        let at = frag.get(frag.length - 1) as Y.XmlElement
        while (at.length > 0 && at.get(at.length - 1) instanceof Y.XmlElement) at = at.get(at.length - 1) as Y.XmlElement
        nest(at, done % 2 ? [...names.slice(1), names[0]] : names, 1_000, done + 1_000 >= DEEP ? text : null)
      })
      await bob.pads.flush(group, pad.id)
    }
  }
  const wide: Array<(frag: Y.XmlFragment) => void> = [
    frag => { const list = new Y.XmlElement('bulletList'); list.insert(0, Array.from({ length: 8_000 }, () => new Y.XmlElement('listItem'))); frag.insert(frag.length, [list]) },
    frag => { const p = new Y.XmlElement('paragraph'); p.insert(0, Array.from({ length: 8_000 }, (_, i) => i % 2 ? new Y.XmlElement('hardBreak') : new Y.XmlText('w'))); frag.insert(frag.length, [p]) },
    frag => frag.insert(frag.length, [new Y.XmlText(MARKER.wide)])
  ]
  for (const write of wide) {
    await bob.pads.change(group, pad.id, doc => write(fragmentOf(doc)))
    await bob.pads.flush(group, pad.id)
  }
  await appendRaw(bob, group, pad.id, b4a.from('sealed under the right key, but not a Yjs update'))
  await bob.pads.append(group, pad.id, 'After the garbage')
  const total = (await bob.pads.get(group, pad.id)).updates

  for (const node of [alice, bob]) {
    await waitFor(async () => (await node.pads.get(group, pad.id)).updates === total, `${node.label} has every update`)
    for (const format of ['md', 'txt', 'html'] as const) {
      const out = (await node.pads.export(group, pad.id, { format })).content
      for (const marker of ['Start of the minutes', 'ten levels', ...Object.values(MARKER), 'After the garbage']) {
        assert.ok(out.includes(marker), `${node.label} ${format} export holds "${marker}"`)
      }
    }
    // Every version (export --at), history naming the update that is not Yjs, and a fresh load with and without a snapshot.
    for (let at = 1; at <= total; at++) await node.pads.export(group, pad.id, { format: 'html', at })
    const history = await node.pads.history(group, pad.id)
    assert.deepEqual(history.skipped?.map(s => [s.seq, s.authorName, s.reason]), [[total - 1, 'bob', 'not a Yjs update']])
    assert.ok(history.authors.some(a => a.name === 'bob'))
    await node.pads.saveSnapshot(group, pad.id)
    for (const useSnapshot of [true, false]) {
      const { doc } = await node.pads.load(group, pad.id, { useSnapshot })
      assert.ok(depthOf(fragmentOf(doc)) > MAX_PAD_DEPTH, 'the log holds the deep content')
      assert.ok(blocksToText(readBlocks(doc)).includes('After the garbage'))
    }
  }
})
