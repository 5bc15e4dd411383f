/** `log`: read a group's or a direct conversation's messages, optionally following new ones. */
import type { Command } from 'commander'
import type { GroupSummary, MemberView, MessageView, SolidarEvent } from '@solidar/core'
import type { ApiClient } from '../client.ts'
import { seg } from '../client.ts'
import { clientOf } from '../context.ts'
import { CliError, EXIT } from '../errors.ts'
import { formatMessage, note, print, printJson, printJsonLine } from '../output.ts'
import { nameMark } from '../name-warnings.ts'
import { untilSignal } from '../signals.ts'
import { positiveIntArg } from '../parsers.ts'

interface LogOptions {
  dm?: string
  room?: string
  json?: boolean
  follow?: boolean
  ids?: boolean
  limit?: number
  before?: string
  all?: boolean
}

/** The node's largest page: `--all` reads the history back to the start in pages of this size. */
const MAX_PAGE = 500

type Target =
  | { kind: 'group', ref: string, room?: string }
  | { kind: 'dm', ref: string }

/** A page of the conversation (the node's default: the newest 100, at most 500 per page). */
function messagesPath (target: Target, opts: LogOptions): string {
  const query = new URLSearchParams()
  if (target.kind === 'group' && target.room !== undefined) query.set('room', target.room)
  if (opts.before !== undefined) query.set('before', opts.before)
  if (opts.limit !== undefined) query.set('limit', String(opts.limit))
  const q = query.size > 0 ? `?${query.toString()}` : ''
  if (target.kind === 'dm') return `/api/dms/${seg(target.ref)}/messages${q}`
  return `/api/groups/${seg(target.ref)}/messages${q}`
}

/** Every message, oldest first: pages of MAX_PAGE, each before the oldest of the last, until one is short. */
async function wholeHistory (client: ApiClient, target: Target): Promise<MessageView[]> {
  const pages: MessageView[][] = []
  let before: string | undefined
  for (;;) {
    const page = await client.get<MessageView[]>(messagesPath(target, { before, limit: MAX_PAGE }))
    pages.unshift(page)
    if (page.length < MAX_PAGE) return pages.flat()
    before = page[0].id
  }
}

/**
 * The message an event of the stream (filtered by the node to this conversation) shows, if
 * any: a logged one, or one that came live (seq 0) before its log entry.
 */
function matches (event: SolidarEvent, target: Target): MessageView | null {
  if (target.kind === 'group' && (event.type === 'message' || event.type === 'message-live')) {
    return target.room === undefined || event.message.room === target.room ? event.message : null
  }
  if (target.kind === 'dm' && (event.type === 'dm' || event.type === 'dm-live')) return event.message
  return null
}

/** The id of a live message its sender withdrew (its append failed), if the event is one for this conversation. */
function withdrawn (event: SolidarEvent, target: Target): string | null {
  if (target.kind === 'group' && event.type === 'message-withdrawn') return event.id
  if (target.kind === 'dm' && event.type === 'dm-withdrawn') return event.id
  return null
}

/**
 * Marks for authors whose names need a second look (KEY CHANGED, LOOK-ALIKE), by member
 * id: from the group's member list, or for a DM from every group's.
 */
async function authorMarks (client: ApiClient, target: Target): Promise<Map<string, string>> {
  const groups = target.kind === 'group' ? [target.ref] : (await client.get<GroupSummary[]>('/api/groups')).map((g) => g.id)
  const marks = new Map<string, string>()
  for (const g of groups) {
    for (const m of await client.get<MemberView[]>(`/api/groups/${seg(g)}/members`)) {
      const mark = nameMark(m)
      if (mark !== null) marks.set(m.id, mark)
    }
  }
  return marks
}

const MARK_NOTE = '!! Names marked KEY CHANGED or LOOK-ALIKE may not be who they seem: see `solidar members GROUP` and compare safety numbers (solidar verify MEMBER).'

/**
 * Identity of a message's visible state: a re-emitted, unchanged message is not printed twice.
 * With `placed` (--json), a live message's log copy counts as new: it brings the message's seq.
 */
function stateOf (m: MessageView, placed: boolean): string {
  return `${m.id}|${m.editedTs ?? ''}|${m.deleted === true ? 'x' : ''}|${JSON.stringify(m.reactions ?? [])}${placed && m.seq > 0 ? '|logged' : ''}`
}

async function follow (client: ApiClient, target: Target, opts: LogOptions): Promise<void> {
  let marks = opts.json === true ? new Map<string, string>() : await authorMarks(client, target)
  let noted = false
  const byId = new Map<string, MessageView>()
  const show = (m: MessageView): void => {
    byId.set(m.id, m)
    // What replies can name: the newest 10,000 (a follow may run for days).
    if (byId.size > 10_000) byId.delete(byId.keys().next().value!)
    if (opts.json === true) return printJsonLine(m)
    print(formatMessage(m, { ids: opts.ids, marks, byId }))
    if (!noted && marks.has(m.author)) { noted = true; note(MARK_NOTE) }
  }
  // Subscribe first and buffer, so nothing sent while we read the history is lost.
  // The node resolves the reference with the rules of every other command (core/src/resolve.ts).
  const stream = await client.openEvents(target.kind === 'group' ? { group: target.ref } : { dm: target.ref })
  let ready = false
  const seen = new Set<string>()
  const emit = (m: MessageView): void => {
    const state = stateOf(m, opts.json === true)
    if (seen.has(state)) return
    seen.add(state)
    show(m)
  }
  const buffered: SolidarEvent[] = []
  stream.onEvent((event) => {
    if (opts.json !== true && event.type === 'members') {
      // A failed refresh keeps the marks we have: the next members event tries again.
      authorMarks(client, target).then((fresh) => { marks = fresh }, () => {})
    }
    if (!ready) { buffered.push(event); return }
    const m = matches(event, target)
    if (m !== null) emit(m)
    const gone = withdrawn(event, target)
    if (gone !== null && byId.get(gone)?.seq === 0) {
      if (opts.json === true) printJsonLine({ id: gone, withdrawn: true })
      else note(`The message ${gone} was withdrawn: its sender's node could not store it.`)
    }
  })
  const history = await client.get<MessageView[]>(messagesPath(target, opts))
  for (const m of history) emit(m)
  for (const event of buffered) {
    const m = matches(event, target)
    if (m !== null) emit(m)
  }
  ready = true

  const done = new AbortController() // the node going away ends the signal wait too
  const stopped = await Promise.race([untilSignal(done.signal).then(() => 'signal' as const), stream.closed().then(() => 'closed' as const)])
  done.abort()
  stream.close()
  if (stopped === 'closed') throw new CliError('The node stopped; no more messages')
  process.exitCode = EXIT.OK
}

/** Registers `log`. */
export function registerLog (program: Command): void {
  program.command('log')
    .description('show the messages of a group (or, with --dm, of a direct conversation)')
    .argument('[group]', 'group id or unambiguous name')
    .option('--dm <member>', 'show the direct conversation with this member instead')
    .option('--room <room>', 'only this room of the group')
    .option('--ids', 'put each message\'s id in front (for edit, delete, --reply-to, --before)')
    .option('-n, --limit <n>', 'show at most this many messages, the newest (default: 100, at most 500)', positiveIntArg)
    .option('--before <id>', 'show the messages before this message id (page back: the id of the oldest one shown)')
    .option('--all', 'show the whole history, read page by page (not with --limit, --before or --follow)')
    .option('-f, --follow', 'keep running and print new messages as they arrive, until Ctrl+C')
    .option('--json', 'print an array of message objects; with --follow one JSON object per line')
    .addHelpText('after', `
Shows one page: the newest 100 messages (--limit, at most 500). To read further back,
give the id of the oldest message shown (--ids or --json) as --before; fewer messages
than the limit means the start of the conversation is reached; --all reads every page.
With --follow: the last
page, then new messages live: another member's message appears as soon as it reaches
this node over the group's live channel, before it is stored in the log (--before does
not combine with --follow). A live message whose sender could not store it is noted
as withdrawn.

Human output: one "[HH:MM] name: text" line per message, marked (edited) or (deleted);
an author whose name needs a second look is marked [!! KEY CHANGED] or [!! LOOK-ALIKE].
With --json: an array of {id, author, authorName, room, text, ts, seq, ...} in order.
With --json --follow: one message object per line (NDJSON), first the existing ones,
then new and changed ones as they arrive. A message that came live has "seq": 0; its
log copy follows with its seq. A withdrawn live message: {"id": ..., "withdrawn": true}.

Examples:
  $ solidar log "Betriebsrat Nord" --room schichtplan
  $ solidar log --dm Alex --json
  $ solidar log "Betriebsrat Nord" --follow
  $ solidar log "Betriebsrat Nord" --limit 20 --ids
  $ solidar log "Betriebsrat Nord" --limit 20 --before Xy3kQ9wLm2Pa`)
    .action(async (group: string | undefined, opts: LogOptions, cmd: Command) => {
      const usage = (message: string): never => cmd.error(`error: ${message}`, { exitCode: EXIT.USAGE, code: 'solidar.usage' })
      if (group === undefined && opts.dm === undefined) usage('name a group, or a member with --dm')
      if (group !== undefined && opts.dm !== undefined) usage('give either a group or --dm MEMBER, not both')
      if (opts.dm !== undefined && opts.room !== undefined) usage('--room applies to groups, not to --dm')
      if (opts.follow === true && opts.before !== undefined) usage('--before reads older messages; --follow shows the newest and what comes next')
      if (opts.all === true && (opts.limit !== undefined || opts.before !== undefined || opts.follow === true)) usage('--all reads every page: leave out --limit, --before and --follow')
      const target: Target = opts.dm !== undefined
        ? { kind: 'dm', ref: opts.dm }
        : { kind: 'group', ref: group as string, room: opts.room }
      const client = clientOf(cmd)
      if (opts.follow === true) return follow(client, target, opts)
      const messages = opts.all === true ? await wholeHistory(client, target) : await client.get<MessageView[]>(messagesPath(target, opts))
      if (opts.json === true) return printJson(messages)
      const marks = await authorMarks(client, target)
      const byId = new Map(messages.map((m) => [m.id, m]))
      for (const m of messages) print(formatMessage(m, { ids: opts.ids, marks, byId }))
      if (messages.some((m) => marks.has(m.author))) note(MARK_NOTE)
    })
}
