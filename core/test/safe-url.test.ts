/**
 * Disguised script links (issue 15, item 5): one table of hrefs a browser would run or resolve
 * elsewhere, refused by `safeUrl` and so by the pad's Markdown import, its Markdown and HTML
 * exports and the reader of link marks another client wrote. The web editor and the history
 * view use the same function (test/web-pads.test.ts checks the editor in Chromium).
 */
import test from 'node:test'
import assert from 'node:assert/strict'
import * as Y from 'yjs'
import { safeUrl } from '../src/safe-url.ts'
import { blocksToHtml, blocksToMarkdown, markdownToBlocks } from '../src/pads/markdown.ts'
import { fragmentOf, readBlocks } from '../src/pads/schema.ts'

/** Hrefs as a link mark may hold them (any client can write any string). */
export const DISGUISED = [
  'javascript:alert(1)',
  'JAVASCRIPT:alert(1)',
  'JaVaScRiPt:alert(1)',
  'java\tscript:alert(1)',
  'java\nscript:alert(1)',
  'java\rscript:alert(1)',
  '\u0001javascript:alert(1)',
  ' \u0000\u001fjavascript:alert(1)',
  '\tjavascript:alert(1)\u0000',
  'javascript&colon;alert(1)',
  'javascript&#58;alert(1)',
  '&#x6A;avascript:alert(1)',
  'data:text/html,<script>alert(1)</script>',
  'DATA:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==',
  'vbscript:msgbox(1)',
  '//evil.example/x',
  '\\\\evil.example/x',
  '/relative/path',
  'file:///etc/passwd',
  ''
]

/** The same as Markdown a member imports (entity-encoded, in angle brackets, autolinks). */
const DISGUISED_MD = [
  '[t](<java\tscript:alert(1)>)',
  '[t](<java\nscript:alert(1)>)',
  '[t](java&#x09;script:alert(1))',
  '[t](java&Tab;script:alert(1))',
  '[t](&#x6A;avascript:alert(1))',
  '[t](javascript&colon;alert(1))',
  '[t](javascript&#58;alert(1))',
  '[t](<\u0001javascript:alert(1)>)',
  '[t](JAVASCRIPT:alert(1))',
  '[t](//evil.example)',
  '[t](data:text/html;base64,PHNjcmlwdD4=)',
  '[t](vbscript:msgbox(1))',
  '<javascript:alert(1)>',
  '<JavaScript:alert(1)>'
]

const SAFE: Array<[string, string]> = [
  ['https://example.org/a?b=1', 'https://example.org/a?b=1'],
  ['HTTP://EXAMPLE.ORG', 'HTTP://EXAMPLE.ORG'],
  ['mailto:rat@example.org', 'mailto:rat@example.org'],
  [' \thttps://exa\nmple.org/ ', 'https://example.org/']
]

test('safeUrl: refuses every disguised href, keeps web and mail links as a browser reads them', () => {
  for (const href of DISGUISED) assert.equal(safeUrl(href), null, JSON.stringify(href))
  for (const [href, out] of SAFE) assert.equal(safeUrl(href), out, JSON.stringify(href))
  assert.equal(safeUrl(undefined), null)
  assert.equal(safeUrl({ toString: () => 'https://x.org' }), null)
})

test('Markdown import and export: a disguised link keeps its text and loses its target', () => {
  for (const md of DISGUISED_MD) {
    const blocks = markdownToBlocks(md + ' and [ok](https://ok.example/)')
    const html = blocksToHtml(blocks, 'T')
    assert.deepEqual([...html.matchAll(/<a href="([^"]*)"/g)].map(m => m[1]), ['https://ok.example/'], JSON.stringify(md))
    const out = blocksToMarkdown(blocks)
    assert.deepEqual([...out.matchAll(/(?<!\\)\]\(([^)]*)\)/g)].map(m => m[1]), ['https://ok.example/'], JSON.stringify(md))
  }
})

test('link marks another client wrote: no export (md, html) turns a disguised href into a link', () => {
  const doc = new Y.Doc()
  const frag = fragmentOf(doc)
  for (const href of [...DISGUISED, 'https://ok.example/']) {
    const p = new Y.XmlElement('paragraph')
    p.insert(0, [new Y.XmlText()])
    frag.insert(frag.length, [p])
    ;((frag.get(frag.length - 1) as Y.XmlElement).get(0) as Y.XmlText).insert(0, 'link', { link: { href } })
  }
  const blocks = readBlocks(doc)
  assert.deepEqual([...blocksToHtml(blocks, 'T').matchAll(/<a href="([^"]*)"/g)].map(m => m[1]), ['https://ok.example/'])
  assert.equal((blocksToMarkdown(blocks).match(/\]\(/g) ?? []).length, 1)
  assert.ok(blocksToMarkdown(blocks).includes('[link](https://ok.example/)'))
  // Blocks handed to the exporters directly (not read from a doc) are checked there too.
  for (const href of DISGUISED) {
    const direct = [{ type: 'paragraph' as const, runs: [{ text: 'x', marks: { link: href } }] }]
    assert.ok(!blocksToHtml(direct, 'T').includes('<a '), JSON.stringify(href))
    assert.equal(blocksToMarkdown(direct), 'x\n', JSON.stringify(href))
  }
})
