/** Markdown, text and HTML round trips of the pad document model (marked parses; we map and write). */
import test from 'node:test'
import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { gunzipSync } from 'node:zlib'
import * as Y from 'yjs'
import { blocksDepth, blocksToHtml, blocksToMarkdown, blocksToText, markdownToBlocks, textToBlocks } from '../src/pads/markdown.ts'
import { makeNodes } from './helpers.ts'
import { appendInline, docOf, fragmentOf, readBlocks } from '../src/pads/schema.ts'

const viaDoc = (md: string) => {
  // Through Yjs updates, as peers see it: encode the doc, load it elsewhere, read it back.
  const copy = new Y.Doc()
  Y.applyUpdate(copy, Y.encodeStateAsUpdate(docOf(markdownToBlocks(md))))
  return blocksToMarkdown(readBlocks(copy))
}

const DOC = `# Works council meeting

## Agenda

1. Approval of the *agenda*
2. Overtime in **team B**, see [the policy](https://example.org/policy?a=1&b=2)
3. Any other business

### Notes

- Shift plan: **not** agreed
- Canteen prices
  - breakfast
  - lunch with *both **marks***

A paragraph with \\*literal stars\\*, a # hash, 5 \\< 6, \\[brackets\\] and \`code <here>\`.
`

test('markdown round trip: headings, lists, emphasis, links survive byte for byte', () => {
  assert.equal(viaDoc(DOC), DOC)
  assert.equal(viaDoc(viaDoc(DOC)), DOC)
})

test('markdown import maps what the pad has no node for onto what it has', () => {
  const md = viaDoc('#### Deep heading\n\n> quoted *text*\n\n```\nline 1\n```\n\n---\n\n* star list\n\n&amp; &#x41; &copy;\n')
  assert.equal(md, '### Deep heading\n\nquoted *text*\n\n`line 1`\n\n- star list\n\n\\& A \\&copy;\n')
})

test('text and HTML export; HTML escapes text and drops unsafe links', () => {
  const blocks = markdownToBlocks('# A <b>&</b>\n\n[click](javascript:alert(1)) and [ok](https://x.org/"q")\n\n- one\n- two\n')
  assert.equal(blocksToText(blocks), 'A <b>&</b>\n\nclick and ok\n\n- one\n- two')
  const html = blocksToHtml(blocks, 'T <x>')
  assert.ok(html.includes('<title>T &lt;x&gt;</title>'))
  assert.ok(html.includes('<h1>A &lt;b&gt;&amp;&lt;/b&gt;</h1>'))
  assert.ok(html.includes('<p>click and <a href="https://x.org/&quot;q&quot;">ok</a></p>'))
  assert.ok(!html.includes('javascript:'))
  assert.ok(html.includes('<ul>\n<li><p>one</p></li>\n<li><p>two</p></li>\n</ul>'))
})

test('plain-text import and inline append', () => {
  const doc = docOf(textToBlocks('first line\nsame paragraph\n\nsecond *not emphasis*'))
  appendInline(doc, ' (added)')
  assert.equal(blocksToMarkdown(readBlocks(doc)), 'first line\\\nsame paragraph\n\nsecond \\*not emphasis\\* (added)\n')
  assert.equal(fragmentOf(doc).length, 2)
})

test('text fidelity: a text file comes back byte for byte from text export, through the pad document; Markdown keeps its tabs and indentation', async () => {
  const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
  const trace = JSON.parse(gunzipSync(await readFile(path.join(repo, 'bench/data/automerge-paper.json.gz'))).toString('utf8')) as { endContent: string }
  const samples: Array<[string, string]> = [
    // Real files: TypeScript with tabs-free indentation and blank-line runs, a shell script, Markdown, a LaTeX paper (an editing trace's final text).
    ['core/src/pads/markdown.ts', await readFile(path.join(repo, 'core/src/pads/markdown.ts'), 'utf8')],
    ['.ci/run', await readFile(path.join(repo, '.ci/run'), 'utf8')],
    ['README.md', await readFile(path.join(repo, 'README.md'), 'utf8')],
    ['automerge-paper (trace)', trace.endContent],
    // The edges the issue names: bidi marks and isolates, CR, tabs on whitespace-only lines, runs of blank lines, no final newline.
    ['edges', 'right\u200Fto\u200Eleft \u061C\u2066isolated\u2069\r\nwindows line\r\n\n\n\n\t\n  \t \nend without newline'],
    ['empty', ''],
    ['only newlines', '\n\n\n']
  ]
  for (const [name, text] of samples) {
    const doc = docOf(textToBlocks(text))
    assert.equal(blocksToText(readBlocks(doc)), text, `${name}: text → pad → text`)
  }
  // Markdown: indentation and tabs at line starts and ends survive export and import.
  const code = 'def f():\n\treturn 1\n    four spaces\n  \t \nmiddle\ttab stays\ntrailing  '
  assert.equal(blocksToText(markdownToBlocks(blocksToMarkdown(readBlocks(docOf(textToBlocks(code)))))), code)
})

test('line breaks inside a paragraph or list item survive Markdown export and import; in a heading they become spaces', () => {
  const md = 'Works council\\\nMain street 1\n\n- Anna\\\n  room 2\n- Ben\n\nends with a break\n'
  const doc = docOf(markdownToBlocks(md))
  // The editor's Shift+Enter is a hardBreak node; core reads it as the same line break.
  const last = fragmentOf(doc).get(fragmentOf(doc).length - 1) as Y.XmlElement
  last.insert(last.length, [new Y.XmlElement('hardBreak')])
  assert.equal(blocksToMarkdown(readBlocks(doc)), md)
  assert.equal(viaDoc(md), md)
  assert.equal(blocksToMarkdown([{ type: 'heading', level: 2, runs: [{ text: 'Two\nlines', marks: {} }] }]), '## Two lines\n')
  assert.ok(blocksToHtml(markdownToBlocks(md), 't').includes('<p>Works council<br>Main street 1</p>'))
})

test('import: Markdown nested absurdly deep is refused with PAD_CONTENT_REJECTED, never a stack overflow; ordinary nesting imports', async (t) => {
  const nested = (levels: number) => Array.from({ length: levels }, (_, i) => ' '.repeat(i * 2) + '- level ' + i).join('\n')
  assert.equal(blocksDepth(markdownToBlocks(nested(10))), 21, 'ten lists in lists: a list and an item a level each, plus the paragraph')
  const refused = (md: string, why: RegExp) => assert.throws(() => markdownToBlocks(md), (err: any) => err.code === 'PAD_CONTENT_REJECTED' && why.test(err.message))
  refused(nested(30), /more than 40 levels/)
  refused('>'.repeat(50_000) + ' deep', /nested too deeply/)
  refused(nested(700), /more than 400 columns/)
  // Quotes nested ever deeper line by line (2 MB): refused before the parser, whose memory grows with the square.
  refused(Array.from({ length: 2_000 }, (_, i) => '>'.repeat(i) + ' x').join('\n'), /nested too deeply/)
  // Emphasis markers are inline and flat: a long run of them imports as text.
  assert.ok(markdownToBlocks('*'.repeat(100_000) + 'x').length >= 1)

  // Through the pad service: a clear refusal, and the node goes on.
  const { nodes: [alice] } = await makeNodes(['alice'], t)
  const { id } = await alice.createGroup('G')
  await assert.rejects(alice.pads.create(id, 'Deep', { content: '>'.repeat(50_000) + ' hi', format: 'md' }), (err: any) => err.code === 'PAD_CONTENT_REJECTED')
  const ok = await alice.pads.create(id, 'Fine', { content: nested(5), format: 'md' })
  assert.match((await alice.pads.export(id, ok.id, { format: 'md' })).content, /level 4/)
  assert.deepEqual((await alice.pads.list(id)).map(p => p.title), ['Fine'])
})
