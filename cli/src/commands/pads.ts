/** `pad new|list|cat|append|import|export|history|rename|archive|unarchive`: collaborative documents. */
import { readFile } from 'node:fs/promises'
import path from 'node:path'
import type { Command } from 'commander'
import { Option, InvalidArgumentError } from 'commander'
import type { PadExport, PadHistory, PadSummary } from '@solidar/core'
import { clientOf } from '../context.ts'
import { seg } from '../client.ts'
import { CliError } from '../errors.ts'
import { count, note, print, printJson, printTable, sanitize } from '../output.ts'

const GROUP = 'group id or unambiguous name'
const PAD = 'pad id or unambiguous title'
type JsonOpt = { json?: boolean }

const padPath = (group: string, pad: string, rest = '') => `/api/groups/${seg(group)}/pads/${seg(pad)}${rest}`

function atArg (value: string): number {
  if (!/^\d{1,12}$/.test(value)) throw new InvalidArgumentError('use a number of updates (see `pad history`).')
  return Number(value)
}

const when = (ts: number) => new Date(ts).toISOString().slice(0, 16).replace('T', ' ')

/**
 * A pad's text for stdout: exactly as the pad has it into a file or a pipe (bidi marks, CR and
 * all); on a terminal, characters that could rewrite the screen show as U+FFFD.
 */
const forOutput = (text: string): string => process.stdout.isTTY === true ? sanitize(text) : text

function reportPad (pad: PadSummary & { requestedTitle?: string }, verb: string, json: boolean): void {
  if (json) return printJson(pad)
  print(`${verb} pad ${sanitize(pad.title)} (id ${pad.id})`)
  if (pad.requestedTitle !== undefined) note(`The group already has a pad named ${sanitize(pad.requestedTitle)}, so this one is named ${sanitize(pad.title)} (rename it with \`solidar pad rename\`).`)
}

/** Registers the pad commands. */
export function registerPads (program: Command): void {
  const pad = program.command('pad')
    .description('collaborative documents of a group: meeting minutes, drafts (see: pad new --help)')
    .addHelpText('after', `
Examples:
  $ solidar pad new "Betriebsrat Nord" "Sitzung 2026-03-12" --template minutes
  $ solidar pad append "Betriebsrat Nord" "Sitzung 2026-03-12" "Motion carried: yes 7, no 1, abstentions 1"
  $ solidar pad export "Betriebsrat Nord" "Sitzung 2026-03-12" --format html > minutes.html`)

  pad.command('new')
    .description('create a pad (empty, or from a template)')
    .argument('<group>', GROUP)
    .argument('<title>', 'title of the pad')
    .addOption(new Option('--template <name>', 'start from a template').choices(['minutes']))
    .addOption(new Option('--language <lang>', 'language of the template\'s headings (default: de when $LANG is German, else en)').choices(['en', 'de']))
    .option('--json', 'print {id, title, …} as JSON')
    .addHelpText('after', '\nThe minutes template holds date, attendees (the group\'s members online now: you and those connected to you), agenda, decisions with votes and tasks.')
    .action(async (group: string, title: string, opts: { template?: string, language?: 'en' | 'de' } & JsonOpt, cmd: Command) => {
      const body: Record<string, unknown> = { title }
      if (opts.template !== undefined) {
        body.template = opts.template
        body.language = opts.language ?? (/^de/i.test(process.env.LC_ALL || process.env.LC_MESSAGES || process.env.LANG || '') ? 'de' : 'en')
      }
      reportPad(await clientOf(cmd).post<PadSummary>(`/api/groups/${seg(group)}/pads`, body), 'Created', opts.json === true)
    })

  pad.command('list')
    .description('list the pads of a group, newest change first')
    .argument('<group>', GROUP)
    .option('--archived', 'include archived pads')
    .option('--json', 'print [{id, title, createdBy, createdByName, ts, changedTs, updates, archived}] as JSON')
    .action(async (group: string, opts: { archived?: boolean } & JsonOpt, cmd: Command) => {
      const pads = await clientOf(cmd).get<PadSummary[]>(`/api/groups/${seg(group)}/pads${opts.archived === true ? '?archived=true' : ''}`)
      if (opts.json === true) return printJson(pads)
      if (pads.length === 0) return print('No pads yet: create one with `solidar pad new GROUP TITLE`.')
      printTable(['TITLE', 'EDITS', 'CHANGED', 'BY', 'ID'], pads.map(p => [
        (p.unreadable === true ? '(unreadable)' : p.title) + (p.archived ? ' (archived)' : ''), String(p.updates), when(p.changedTs), p.createdByName, p.id
      ]))
    })

  pad.command('cat')
    .description('print a pad as plain text')
    .argument('<group>', GROUP)
    .argument('<pad>', PAD)
    .option('--at <updates>', 'as it was after its first N updates (see pad history)', atArg)
    .action(async (group: string, ref: string, opts: { at?: number }, cmd: Command) => {
      const out = await clientOf(cmd).get<PadExport>(padPath(group, ref, `/export?format=txt${opts.at !== undefined ? `&at=${opts.at}` : ''}`))
      process.stdout.write(forOutput(out.content))
    })

  pad.command('export')
    .description('print a pad as Markdown (default), plain text or HTML')
    .argument('<group>', GROUP)
    .argument('<pad>', PAD)
    .addOption(new Option('--format <format>', 'output format').choices(['md', 'txt', 'html']).default('md'))
    .option('--at <updates>', 'as it was after its first N updates (see pad history)', atArg)
    .option('--json', 'print {pad, title, format, at, updates, content} as JSON')
    .action(async (group: string, ref: string, opts: { format: string, at?: number } & JsonOpt, cmd: Command) => {
      const out = await clientOf(cmd).get<PadExport>(padPath(group, ref, `/export?format=${opts.format}${opts.at !== undefined ? `&at=${opts.at}` : ''}`))
      if (opts.json === true) return printJson(out)
      // Exact bytes into files and pipes; on a terminal, nothing a member wrote may drive it.
      process.stdout.write(forOutput(out.content))
    })

  pad.command('append')
    .description('append a paragraph to a pad, as an edit (each line of TEXT becomes a paragraph)')
    .argument('<group>', GROUP)
    .argument('<pad>', PAD)
    .argument('<text>', 'the text (quote it)')
    .option('--inline', 'append to the end of the last paragraph instead')
    .option('--json', 'print the pad as JSON')
    .action(async (group: string, ref: string, text: string, opts: { inline?: boolean } & JsonOpt, cmd: Command) => {
      const body: Record<string, unknown> = { text }
      if (opts.inline === true) body.inline = true
      reportPad(await clientOf(cmd).post<PadSummary>(padPath(group, ref, '/append'), body), 'Appended to', opts.json === true)
    })

  pad.command('import')
    .description('create a pad from a Markdown or plain-text file')
    .argument('<group>', GROUP)
    .argument('<file>', 'a UTF-8 text file (.txt: plain text; anything else: Markdown; see --format)')
    .option('--title <title>', 'title of the pad (default: the first heading, else the file name)')
    .addOption(new Option('--format <format>', 'how to read the file (default: by its extension; .txt is text, all else Markdown)').choices(['md', 'txt']))
    .option('--json', 'print {id, title, …} as JSON')
    .action(async (group: string, file: string, opts: { title?: string, format?: 'md' | 'txt' } & JsonOpt, cmd: Command) => {
      let content: string
      try { content = await readFile(file, 'utf8') } catch (err: any) { throw new CliError(`Cannot read ${file}: ${err.code ?? err.message}`) }
      const format = opts.format ?? (path.extname(file).toLowerCase() === '.txt' ? 'txt' : 'md')
      const heading = format === 'md' ? /^#{1,6}[ \t]+(.+?)[ \t#]*$/m.exec(content)?.[1] : undefined
      const title = opts.title ?? heading ?? path.basename(file).replace(/\.[^.]*$/, '')
      reportPad(await clientOf(cmd).post<PadSummary>(`/api/groups/${seg(group)}/pads`, { title, content, format }), 'Imported', opts.json === true)
    })

  pad.command('history')
    .description('list the versions of a pad (who edited when) and who wrote its text')
    .argument('<group>', GROUP)
    .argument('<pad>', PAD)
    .option('--json', 'print {pad, versions, authors, skipped?} as JSON')
    .addHelpText('after', '\nShow an earlier version with `solidar pad export GROUP PAD --at SEQ` (SEQ from the list).')
    .action(async (group: string, ref: string, opts: JsonOpt, cmd: Command) => {
      const h = await clientOf(cmd).get<PadHistory>(padPath(group, ref, '/history'))
      if (opts.json === true) return printJson(h)
      print(`${sanitize(h.pad.title)}: ${count(h.pad.updates, 'edit')} in ${count(h.versions.length, 'version')}`)
      printTable(['VERSION', 'SEQ', 'AUTHOR', 'FROM', 'TO', 'EDITS'], h.versions.map(v => [String(v.version), String(v.seq), v.authorName, when(v.startTs), when(v.endTs), String(v.updates)]))
      if (h.authors.length > 0) print('Text now by: ' + h.authors.map(a => `${sanitize(a.name)} (${count(a.chars, 'character')})`).join(', '))
      // Updates every device skips because they cannot be read as a document (a hostile or broken client).
      for (const x of h.skipped ?? []) print(`Skipped update ${x.seq} by ${sanitize(x.authorName)}: ${sanitize(x.reason)}`)
    })

  pad.command('rename')
    .description('give a pad a new title')
    .argument('<group>', GROUP)
    .argument('<pad>', PAD)
    .argument('<title>', 'the new title')
    .option('--json', 'print the pad as JSON')
    .action(async (group: string, ref: string, title: string, opts: JsonOpt, cmd: Command) => {
      reportPad(await clientOf(cmd).request<PadSummary>('PATCH', padPath(group, ref), { title }), 'Renamed', opts.json === true)
    })

  for (const [name, archived] of [['archive', true], ['unarchive', false]] as const) {
    pad.command(name)
      .description(archived ? 'hide a pad from the list (it stays readable; unarchive to edit)' : 'bring an archived pad back')
      .argument('<group>', GROUP)
      .argument('<pad>', PAD)
      .option('--json', 'print the pad as JSON')
      .action(async (group: string, ref: string, opts: JsonOpt, cmd: Command) => {
        reportPad(await clientOf(cmd).request<PadSummary>('PATCH', padPath(group, ref), { archived }), archived ? 'Archived' : 'Unarchived', opts.json === true)
      })
  }
}
