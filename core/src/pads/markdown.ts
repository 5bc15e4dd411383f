/**
 * Import and export of pads. Parsing Markdown is marked's (its lexer, CommonMark + GFM);
 * this file only maps marked's tokens to `Block`s, and writes blocks back out as Markdown,
 * plain text or HTML with everything escaped. What the pad model does not have degrades to
 * what it has: h4–h6 become h3, code blocks code-marked paragraphs, quotes their paragraphs,
 * images their alt text, rules and raw HTML are dropped (HTML as text, never as markup).
 */
import { Lexer, type Token, type Tokens } from 'marked'
import { errors } from '../errors.ts'
import { safeUrl } from '../safe-url.ts'
import { MAX_PAD_DEPTH, padContentRejected } from './limits.ts'
import type { Block, Marks, Run } from './schema.ts'

// ------------------------------------------------------------------ import

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: '\u00a0' }

/** marked leaves character references in text tokens as written; decode the common ones. */
function decodeEntities (text: string): string {
  return text.replace(/&(#x[0-9a-f]{1,6}|#[0-9]{1,7}|[a-z]+);/gi, (whole, ref: string) => {
    if (ref[0] === '#') {
      const code = ref[1] === 'x' || ref[1] === 'X' ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10)
      return code > 0 && code <= 0x10ffff && !(code >= 0xd800 && code <= 0xdfff) ? String.fromCodePoint(code) : '\ufffd'
    }
    return ENTITIES[ref.toLowerCase()] ?? whole
  })
}

function inline (tokens: Token[] | undefined, marks: Marks, out: Run[]): Run[] {
  const push = (text: string, m: Marks) => {
    if (text === '') return
    const prev = out[out.length - 1]
    if (prev && JSON.stringify(prev.marks) === JSON.stringify(m)) prev.text += text
    else out.push({ text, marks: { ...m } })
  }
  for (const t of tokens ?? []) {
    switch (t.type) {
      case 'text':
        if ((t as Tokens.Text).tokens?.length) inline((t as Tokens.Text).tokens, marks, out)
        else push(decodeEntities((t as Tokens.Text).text), marks)
        break
      case 'escape': push((t as Tokens.Escape).text, marks); break
      case 'strong': inline((t as Tokens.Strong).tokens, { ...marks, bold: true }, out); break
      case 'em': inline((t as Tokens.Em).tokens, { ...marks, italic: true }, out); break
      case 'del': inline((t as Tokens.Del).tokens, marks, out); break
      case 'codespan': push(decodeEntities((t as Tokens.Codespan).text), { ...marks, code: true }); break
      case 'link': {
        // CommonMark decodes character references in a destination; then the browser's reading decides (safe-url.ts).
        const href = safeUrl(decodeEntities((t as Tokens.Link).href))
        const { link: _outer, ...rest } = marks
        inline((t as Tokens.Link).tokens, href === null ? rest : { ...rest, link: href }, out)
        break
      }
      case 'image': push((t as Tokens.Image).text, marks); break
      case 'br': push('\n', marks); break
      default: push('raw' in t && typeof t.raw === 'string' ? t.raw : '', marks) // inline HTML: kept as text
    }
  }
  return out
}

const runs = (tokens: Token[] | undefined): Run[] => inline(tokens, {}, [])

function blocks (tokens: Token[]): Block[] {
  const out: Block[] = []
  for (const t of tokens) {
    switch (t.type) {
      case 'heading': {
        const depth = (t as Tokens.Heading).depth
        out.push({ type: 'heading', level: Math.min(3, Math.max(1, depth)) as 1 | 2 | 3, runs: runs((t as Tokens.Heading).tokens) })
        break
      }
      case 'paragraph': out.push({ type: 'paragraph', runs: runs((t as Tokens.Paragraph).tokens) }); break
      case 'text': out.push({ type: 'paragraph', runs: (t as Tokens.Text).tokens ? runs((t as Tokens.Text).tokens) : [{ text: decodeEntities((t as Tokens.Text).text), marks: {} }] }); break
      case 'list': {
        const list = t as Tokens.List
        const items = list.items.map(item => blocks(item.tokens))
        if (list.ordered) out.push({ type: 'orderedList', start: typeof list.start === 'number' ? list.start : 1, items })
        else out.push({ type: 'bulletList', items })
        break
      }
      case 'code': {
        for (const line of (t as Tokens.Code).text.split('\n')) out.push({ type: 'paragraph', runs: line ? [{ text: line, marks: { code: true } }] : [] })
        break
      }
      case 'blockquote': out.push(...blocks((t as Tokens.Blockquote).tokens)); break
      case 'table': {
        const table = t as Tokens.Table
        for (const row of [table.header, ...table.rows]) {
          const cells: Run[] = []
          row.forEach((cell, i) => { if (i) cells.push({ text: ' | ', marks: {} }); cells.push(...runs(cell.tokens)) })
          out.push({ type: 'paragraph', runs: cells })
        }
        break
      }
      case 'html': {
        const text = (t as Tokens.HTML).text.trim()
        if (text) out.push({ type: 'paragraph', runs: [{ text, marks: {} }] })
        break
      }
      default: break // space, hr, def
    }
  }
  return out
}

/**
 * Markdown as pad blocks. Throws PAD_CONTENT_REJECTED for Markdown nested so deeply (quotes in
 * quotes, lists in lists) that the parser runs out of stack, or deeper than a pad may be
 * (MAX_PAD_DEPTH): no real document is, and the editor could not show it.
 */
export function markdownToBlocks (markdown: string): Block[] {
  checkNesting(markdown)
  let out: Block[]
  try {
    out = blocks(new Lexer({ gfm: true }).lex(markdown))
  } catch (err) {
    // marked and `blocks` recurse per level of nesting: a stack overflow means absurd nesting.
    if (err instanceof RangeError) throw padContentRejected('This Markdown is nested too deeply to import (quotes or lists inside each other)')
    throw err
  }
  // The reader flattens what lies deeper than MAX_PAD_DEPTH into a paragraph up to two levels
  // below it (schema.ts): the Markdown export of any pad imports again.
  if (blocksDepth(out) > MAX_PAD_DEPTH + 2) throw padContentRejected(`This Markdown nests lists more than ${MAX_PAD_DEPTH} levels deep (counting each list and its items); the editor cannot show that`)
  return out
}

/** Leading indentation (columns) beyond which a line is refused before parsing. */
const MAX_INDENT = 400

/**
 * Refuses absurd nesting before the parser sees it: marked's work and memory grow with the
 * square of the nesting (a Markdown file of 2 MB with quotes nested 2,000 deep took over 1 GB),
 * and no real document has more than MAX_PAD_DEPTH quote markers or MAX_INDENT columns of
 * indentation at the start of a line.
 */
function checkNesting (markdown: string): void {
  let quotes = 0
  let indent = 0
  let lineStart = true
  for (let i = 0; i < markdown.length; i++) {
    const c = markdown.charCodeAt(i)
    if (c === 10) { lineStart = true; quotes = 0; indent = 0; continue }
    if (!lineStart) continue
    if (c === 62) quotes++ // '>'
    else if (c === 32) indent++
    else if (c === 9) indent += 4
    else lineStart = false
    if (quotes > MAX_PAD_DEPTH) throw padContentRejected('This Markdown is nested too deeply to import (quotes or lists inside each other)')
    if (indent > MAX_INDENT) throw padContentRejected(`This Markdown indents a line by more than ${MAX_INDENT} columns (lists inside each other); the editor cannot show that`)
  }
}

/** How deep `blocks` become in the pad's document: a list and its items are a level each, a paragraph one more. */
export function blocksDepth (top: Block[]): number {
  let deepest = 0
  const stack: Array<{ blocks: Block[], depth: number }> = [{ blocks: top, depth: 1 }]
  while (stack.length > 0) {
    const { blocks: level, depth } = stack.pop()!
    for (const b of level) {
      if (b.type === 'bulletList' || b.type === 'orderedList') {
        for (const item of b.items) stack.push({ blocks: item, depth: depth + 2 })
        deepest = Math.max(deepest, depth + 1)
      } else {
        deepest = Math.max(deepest, depth)
      }
    }
  }
  return deepest
}

/**
 * Plain text, exactly: a paragraph per piece between two newlines in a row ("\n\n"), each
 * piece as it is (its single newlines as line breaks, tabs, spaces, whitespace-only lines, CR,
 * bidi marks, an empty piece as an empty paragraph). blocksToText gives the same text back.
 */
export function textToBlocks (text: string): Block[] {
  return text.split('\n\n').map(p => ({ type: 'paragraph' as const, runs: p === '' ? [] : [{ text: p, marks: {} }] }))
}

/** A file's text imported as blocks (`format` 'md' or 'txt'); refuses what is not text. */
export function importBlocks (content: unknown, format: unknown): Block[] {
  if (typeof content !== 'string') throw errors.badRequest('content must be text')
  // NUL: a binary file. U+FFFD: bytes that were not UTF-8 (a photo, or text saved as
  // Windows-1252, whose umlauts would otherwise be lost without a word).
  if (/[\u0000\uFFFD]/.test(content)) throw errors.badRequest('This file does not look like UTF-8 text (Markdown or plain text). If it is text, save it as UTF-8 and import it again.')
  if (format !== 'md' && format !== 'txt') throw errors.badRequest('import format must be "md" or "txt"')
  return format === 'md' ? markdownToBlocks(content) : textToBlocks(content)
}

// ------------------------------------------------------------------ markdown export

const MARK_ORDER = ['link', 'bold', 'italic', 'code'] as const
type MarkName = typeof MARK_ORDER[number]

/** Backslash-escapes what Markdown would read as syntax, everywhere or at a line start. */
function escapeText (text: string): string {
  return text
    .replace(/[\\`*_[\]<>&~|]/g, c => '\\' + c)
    .replace(/(^|\n)([ \t]*)([#+=-]|\d+[.)])/g, (_, nl: string, sp: string, lead: string) => nl + sp + lead.replace(/([#+=.)-])$/, '\\$1'))
}

function codeSpan (text: string): string {
  const longest = Math.max(0, ...[...text.matchAll(/`+/g)].map(m => m[0].length))
  const fence = '`'.repeat(longest + 1)
  const pad = text.startsWith('`') || text.endsWith('`') || (text.startsWith(' ') && text.endsWith(' ') && text.trim() !== '') ? ' ' : ''
  return fence + pad + text + pad + fence
}

const linkTarget = (href: string): string => /[\s()<>]/.test(href) ? `<${href.replace(/[<>\n]/g, encodeURIComponent)}>` : href

/**
 * Emphasis cannot open or close next to whitespace: where bold or italic starts (or ends) at
 * a run boundary, the run's leading (trailing) spaces are moved out of that mark.
 */
function splitSpaces (runs: Run[]): Run[] {
  const out: Run[] = []
  const without = (m: Marks, drop: Array<'bold' | 'italic'>): Marks => {
    const c: Marks = { ...m }
    for (const d of drop) delete c[d]
    return c
  }
  runs.forEach((run, i) => {
    const prev = runs[i - 1]?.marks ?? {}
    const next = runs[i + 1]?.marks ?? {}
    const opening = (['bold', 'italic'] as const).filter(k => run.marks[k] && !prev[k])
    const closing = (['bold', 'italic'] as const).filter(k => run.marks[k] && !next[k])
    const m = /^(\s*)([\s\S]*?)(\s*)$/.exec(run.text)!
    if (m[2] === '') { out.push({ text: run.text, marks: without(run.marks, ['bold', 'italic']) }); return }
    if (m[1]) out.push({ text: m[1], marks: without(run.marks, opening) })
    out.push({ text: m[2], marks: run.marks })
    if (m[3]) out.push({ text: m[3], marks: without(run.marks, closing) })
  })
  return out
}

/** The run with its link only if it leads to a web or mail address (else its text alone). */
function withSafeLink (run: Run): Run {
  if (run.marks.link === undefined) return run
  const href = safeUrl(run.marks.link)
  if (href === run.marks.link) return run
  const { link: _unsafe, ...marks } = run.marks
  return { text: run.text, marks: href === null ? marks : { ...marks, link: href } }
}

function inlineMarkdown (runs: Run[]): string {
  let out = ''
  const open: Array<{ name: MarkName, href?: string }> = []
  const has = (m: Marks, name: MarkName) => name === 'link' ? m.link !== undefined : m[name] === true
  const close = (name: MarkName, href?: string) => {
    if (name === 'link') out += `](${linkTarget(href!)})`
    else if (name === 'bold') out += '**'
    else if (name === 'italic') out += '*'
  }
  for (const run of splitSpaces(runs.map(withSafeLink))) {
    // Close from the innermost down to the first open mark the run no longer has (or whose link differs).
    let keep = 0
    while (keep < open.length && has(run.marks, open[keep].name) && (open[keep].name !== 'link' || open[keep].href === run.marks.link)) keep++
    while (open.length > keep) { const m = open.pop()!; close(m.name, m.href) }
    for (const name of MARK_ORDER) {
      if (name === 'code' || !has(run.marks, name) || open.some(o => o.name === name)) continue
      open.push(name === 'link' ? { name, href: run.marks.link } : { name })
      out += name === 'link' ? '[' : name === 'bold' ? '**' : '*'
    }
    // A line break inside a paragraph (the editor's Shift+Enter, a text file's single newline)
    // is a hard break: backslash, newline (CommonMark), which import reads back as one.
    out += run.marks.code ? codeSpan(run.text) : escapeText(run.text).replace(/\n/g, '\\\n')
  }
  while (open.length) { const m = open.pop()!; close(m.name, m.href) }
  // A break at the very start or end of a paragraph shows nothing (and would read back as a backslash).
  return keepLineSpaces(out.replace(/^(\\\n)+|(\\\n)+$/g, ''))
}

const SPACE_REF: Record<string, string> = { ' ': '&#32;', '\t': '&#9;' }

/**
 * Markdown drops the spaces and tabs at the start and end of a line (and reads four spaces as
 * code): those of a paragraph's lines are written as character references, which import reads
 * back as the same spaces and tabs (indented source code, a tab-separated list).
 */
function keepLineSpaces (markdown: string): string {
  return markdown.split('\n').map(line => {
    const m = /^([ \t]*)([\s\S]*?)([ \t]*)(\\?)$/.exec(line)!
    const refs = (s: string) => s.replace(/[ \t]/g, c => SPACE_REF[c])
    return refs(m[1]) + m[2] + refs(m[3]) + m[4]
  }).join('\n')
}

function blockMarkdown (block: Block): string {
  switch (block.type) {
    case 'paragraph': return inlineMarkdown(block.runs)
    case 'heading': return '#'.repeat(block.level) + ' ' + inlineMarkdown(block.runs.map(r => ({ ...r, text: r.text.replace(/\n/g, ' ') })))
    case 'bulletList':
    case 'orderedList': {
      const tight = block.items.every(item => item.length <= 1 || (item.length === 2 && item[1].type !== 'paragraph' && item[1].type !== 'heading'))
      return block.items.map((item, i) => {
        const marker = block.type === 'bulletList' ? '- ' : `${block.start + i}. `
        const indent = ' '.repeat(marker.length)
        const body = item.map(blockMarkdown).filter(s => s !== '').join(tight ? '\n' : '\n\n')
        return marker + body.replace(/\n(?!\n)/g, '\n' + indent).replace(/\n\n/g, '\n\n' + indent)
      }).join(tight ? '\n' : '\n\n')
    }
  }
}

/** Markdown of the document; ends with one newline (empty document: empty string). */
export function blocksToMarkdown (blocks: Block[]): string {
  const text = blocks.map(blockMarkdown).filter(s => s.trim() !== '').join('\n\n')
  return text ? text + '\n' : ''
}

// ------------------------------------------------------------------ plain text

function blockText (block: Block): string {
  switch (block.type) {
    case 'paragraph':
    case 'heading': return block.runs.map(r => r.text).join('')
    case 'bulletList':
    case 'orderedList':
      return block.items.map((item, i) => {
        const marker = block.type === 'bulletList' ? '- ' : `${block.start + i}. `
        return marker + item.map(blockText).filter(s => s !== '').join('\n').replace(/\n/g, '\n' + ' '.repeat(marker.length))
      }).join('\n')
  }
}

/** Plain text: blocks joined by a blank line, nothing added or left out (see textToBlocks). */
export function blocksToText (blocks: Block[]): string {
  return blocks.map(blockText).join('\n\n')
}

// ------------------------------------------------------------------ HTML

export function escapeHtml (text: string): string {
  return text.replace(/[&<>"']/g, c => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!)
}

function inlineHtml (runs: Run[]): string {
  return runs.map(run => {
    let html = escapeHtml(run.text).replace(/\n/g, '<br>')
    if (run.marks.code) html = `<code>${html}</code>`
    if (run.marks.italic) html = `<em>${html}</em>`
    if (run.marks.bold) html = `<strong>${html}</strong>`
    // Only web and mail links, as a browser reads them (never `java\tscript:`, `data:` or relative ones).
    const href = run.marks.link !== undefined ? safeUrl(run.marks.link) : null
    if (href !== null) html = `<a href="${escapeHtml(href)}">${html}</a>`
    return html
  }).join('')
}

function blockHtml (block: Block): string {
  switch (block.type) {
    case 'paragraph': return `<p>${inlineHtml(block.runs)}</p>`
    case 'heading': return `<h${block.level}>${inlineHtml(block.runs)}</h${block.level}>`
    case 'bulletList':
    case 'orderedList': {
      const tag = block.type === 'bulletList' ? 'ul' : 'ol'
      const start = block.type === 'orderedList' && block.start !== 1 ? ` start="${block.start}"` : ''
      return `<${tag}${start}>\n${block.items.map(item => `<li>${item.map(blockHtml).join('\n')}</li>`).join('\n')}\n</${tag}>`
    }
  }
}

/** A standalone HTML document (UTF-8) with the pad's title. */
export function blocksToHtml (blocks: Block[], title: string): string {
  return `<!DOCTYPE html>\n<html>\n<head>\n<meta charset="utf-8">\n<title>${escapeHtml(title)}</title>\n</head>\n<body>\n${blocks.map(blockHtml).join('\n')}\n</body>\n</html>\n`
}
