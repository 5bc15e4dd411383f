/**
 * Output of the CLI. With `--json` a command prints exactly one JSON document on stdout
 * (streaming commands print one JSON object per line instead). Human output is plain
 * text; text that came from other people is sanitised so it cannot drive the terminal.
 */
import type { MessageView } from '@solidar/core'

/** Prints one JSON document on stdout. */
export function printJson (value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n')
}

/** Prints one compact JSON object on its own line (NDJSON, for streams). */
export function printJsonLine (value: unknown): void {
  process.stdout.write(JSON.stringify(value) + '\n')
}

/** Prints a line of human output on stdout. */
export function print (line = ''): void {
  process.stdout.write(line + '\n')
}

/** Prints a note for the human on stderr (never mixed into parseable stdout). */
export function note (line: string): void {
  process.stderr.write(line + '\n')
}

// Control characters (except tab and newline) and bidirectional overrides: they could
// move the cursor, recolour or rewrite the terminal, or make text read differently.
const UNSAFE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/gu

/** Replaces characters that could manipulate a terminal with U+FFFD. */
export function sanitize (text: string): string {
  return text.replace(UNSAFE, '\ufffd')
}

/** Local wall-clock time as HH:MM. */
export function formatTime (ts: number): string {
  const d = new Date(ts)
  return `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`
}

export interface MessageFormat {
  /** Put the message id in front (needed for `edit` and `delete`). */
  ids?: boolean
  /** A mark to put after an author's name, by member id (name-warnings.ts: KEY CHANGED, LOOK-ALIKE). */
  marks?: ReadonlyMap<string, string>
  /** Messages by id, to name what a reply answers (a reply to one not among them says so). */
  byId?: ReadonlyMap<string, MessageView>
}

/** "↳ reply to alice: first words…" for a reply; '' for any other message. */
function replyLine (m: MessageView, byId: ReadonlyMap<string, MessageView> | undefined): string {
  if (m.replyTo === undefined) return ''
  const parent = byId?.get(m.replyTo)
  if (parent === undefined) return `↳ reply to an earlier message (${m.replyTo})\n`
  const words = parent.deleted === true ? '(deleted)' : parent.text.replace(/\s+/g, ' ').slice(0, 60) + (parent.text.length > 60 ? '…' : '')
  return `↳ reply to ${sanitize(parent.authorName)}: ${sanitize(words)}\n`
}

/**
 * One message as `[HH:MM] name: text` (`[HH:MM] name [!! KEY CHANGED]: text` when `marks` names the author), marked `(edited)` or shown as `(deleted)`, with a line of reactions under it if it has any; a Jabber
 * user's message (XMPP bridge) as `[HH:MM] nick <jid> via bridge-name: text`.
 * Continuation lines of multi-line messages are indented.
 */
export function formatMessage (m: MessageView, opts: MessageFormat = {}): string {
  const author = m.bridged !== undefined
    ? `${sanitize(m.bridged.nick ?? m.bridged.jid)} <${sanitize(m.bridged.jid)}> via ${sanitize(m.authorName)}`
    : sanitize(m.authorName)
  const mark = opts.marks?.get(m.author)
  const prefix = `${opts.ids === true ? `${m.id} ` : ''}[${formatTime(m.ts)}] ${author}${mark !== undefined ? ` [${mark}]` : ''}: `
  const reply = replyLine(m, opts.byId)
  const indented = reply === '' ? '' : ' '.repeat(opts.ids === true ? m.id.length + 1 : 0) + '        ' + reply
  if (m.deleted === true) return indented + prefix + '(deleted)'
  const body = sanitize(m.text).replace(/\n/g, '\n' + ' '.repeat(prefix.length))
  return indented + prefix + body + (m.editedTs !== undefined ? ' (edited)' : '') + reactionsLine(m, prefix.length)
}

/** Reactions under a message: `👍 2  ❤️ 1` (each emoji with how many gave it), indented like the text. */
function reactionsLine (m: MessageView, indent: number): string {
  if (m.reactions === undefined || m.reactions.length === 0) return ''
  return '\n' + ' '.repeat(indent) + m.reactions.map(r => `${sanitize(r.emoji)} ${r.members.length}`).join('  ')
}

/** Prints rows as left-aligned columns. */
export function printTable (header: string[], rows: string[][]): void {
  const all = [header, ...rows.map((r) => r.map(sanitize))]
  const widths = header.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)))
  for (const row of all) print(row.map((cell, i) => i === row.length - 1 ? cell : cell.padEnd(widths[i])).join('  ').trimEnd())
}

/** "1 version", "2 versions": a count with its noun (`plural` for nouns that do not just add an s). */
export function count (n: number, noun: string, plural = `${noun}s`): string {
  return `${n.toLocaleString('en-US')} ${n === 1 ? noun : plural}`
}
