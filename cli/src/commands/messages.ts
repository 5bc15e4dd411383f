/** `send`, `dm`, `edit`, `delete`, `react`: writing messages. */
import { readFile } from 'node:fs/promises'
import type { Command } from 'commander'
import type { MessageView } from '@solidar/core'
import { clientOf } from '../context.ts'
import { seg } from '../client.ts'
import { print, printJson } from '../output.ts'
import { CliError, EXIT } from '../errors.ts'
import { MAX_TEXT_LENGTH } from '@solidar/core/commands'

type JsonOpt = { json?: boolean }
type TextOpt = { textFile?: string }

const LIMITS = `A message holds at most ${MAX_TEXT_LENGTH.toLocaleString('en-US')} characters and must contain something visible.`

/**
 * The message text: the argument; "-" reads standard input; --text-file reads a file (UTF-8).
 * From stdin or a file one final newline goes (what \`echo\` and editors add).
 */
async function messageText (arg: string | undefined, opts: TextOpt): Promise<string> {
  if (opts.textFile !== undefined && arg !== undefined) throw new CliError('give the text as an argument, "-" for standard input, or --text-file, not two of them', EXIT.USAGE)
  if (opts.textFile === undefined && arg === undefined) throw new CliError('missing the text: give it as an argument, "-" to read standard input, or --text-file FILE', EXIT.USAGE)
  if (arg !== undefined && arg !== '-') return arg
  let bytes: Buffer
  if (opts.textFile !== undefined) {
    try {
      bytes = await readFile(opts.textFile)
    } catch (err) {
      throw new CliError(`cannot read ${opts.textFile}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`, EXIT.USAGE)
    }
  } else {
    const chunks: Buffer[] = []
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer)
    bytes = Buffer.concat(chunks)
  }
  let text: string
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes)
  } catch {
    throw new CliError(`${opts.textFile ?? 'standard input'} is not UTF-8 text`, EXIT.USAGE)
  }
  return text.replace(/\r?\n$/, '')
}

function report (message: MessageView, verb: string, json: boolean): void {
  if (json) printJson(message)
  else print(`${verb} message ${message.id}`)
}

/** Registers the message-writing commands. */
export function registerMessages (program: Command): void {
  program.command('send')
    .description('send a message to a group (to its main room unless --room is given)')
    .argument('<group>', 'group id or unambiguous name')
    .argument('[text]', 'the message (quote it); "-" reads it from standard input')
    .option('--text-file <file>', 'read the message from this file (UTF-8)')
    .option('--room <room>', 'room to post in')
    .option('--reply-to <id>', 'id of the message this answers')
    .option('--json', 'print the sent message as JSON')
    .addHelpText('after', `\n${LIMITS}\n\nExamples:\n  $ solidar send "Betriebsrat Nord" "Meeting at 10 in room 2"\n  $ solidar send "Betriebsrat Nord" "Agreed" --room schichtplan --reply-to <id>\n  $ fortune | solidar send "Betriebsrat Nord" -\n  $ solidar send "Betriebsrat Nord" --text-file agenda.txt`)
    .action(async (group: string, arg: string | undefined, opts: { room?: string, replyTo?: string } & JsonOpt & TextOpt, cmd: Command) => {
      const body: { text: string, room?: string, replyTo?: string } = { text: await messageText(arg, opts) }
      if (opts.room !== undefined) body.room = opts.room
      if (opts.replyTo !== undefined) body.replyTo = opts.replyTo
      report(await clientOf(cmd).post<MessageView>(`/api/groups/${seg(group)}/messages`, body), 'Sent', opts.json === true)
    })

  program.command('dm')
    .description('send a direct message to a member you share a group with')
    .argument('<member>', 'member id or unambiguous display name')
    .argument('[text]', 'the message (quote it); "-" reads it from standard input')
    .option('--text-file <file>', 'read the message from this file (UTF-8)')
    .option('--reply-to <id>', 'id of the message this answers')
    .option('--json', 'print the sent message as JSON')
    .addHelpText('after', `\n${LIMITS}\n\nExample:\n  $ solidar dm Alex "Can you call me?"`)
    .action(async (member: string, arg: string | undefined, opts: { replyTo?: string } & JsonOpt & TextOpt, cmd: Command) => {
      const body: { text: string, replyTo?: string } = { text: await messageText(arg, opts) }
      if (opts.replyTo !== undefined) body.replyTo = opts.replyTo
      report(await clientOf(cmd).post<MessageView>(`/api/dms/${seg(member)}/messages`, body), 'Sent', opts.json === true)
    })

  program.command('edit')
    .description('change the text of one of your messages')
    .argument('<group>', 'group id or unambiguous name')
    .argument('<id>', 'message id (see `solidar log GROUP --ids`)')
    .argument('<text>', 'the new text')
    .option('--json', 'print the edited message as JSON')
    .action(async (group: string, id: string, text: string, opts: JsonOpt, cmd: Command) => {
      const message = await clientOf(cmd).request<MessageView>('PATCH', `/api/groups/${seg(group)}/messages/${seg(id)}`, { text })
      report(message, 'Edited', opts.json === true)
    })

  program.command('delete')
    .description('delete one of your messages (peers keep a "(deleted)" marker)')
    .argument('<group>', 'group id or unambiguous name')
    .argument('<id>', 'message id (see `solidar log GROUP --ids`)')
    .option('--json', 'print the deleted message as JSON')
    .action(async (group: string, id: string, opts: JsonOpt, cmd: Command) => {
      const message = await clientOf(cmd).request<MessageView>('DELETE', `/api/groups/${seg(group)}/messages/${seg(id)}`)
      report(message, 'Deleted', opts.json === true)
    })

  program.command('react')
    .description('react to a message with one emoji (one reaction per member and message: a new one replaces yours), or take yours back with --remove')
    .argument('<target>', 'group id or unambiguous name; with --dm, the member of the direct conversation')
    .argument('<id>', 'message id (see `solidar log GROUP --ids`)')
    .argument('[emoji]', 'one emoji, e.g. 👍')
    .option('--dm', 'the message is in your direct conversation with <target>')
    .option('--remove', 'take your reaction back')
    .option('--json', 'print the message, with its reactions, as JSON')
    .addHelpText('after', '\nExamples:\n  solidar react "Works council" 3vQb1xTz9kLm 👍\n  solidar react --dm alice 3vQb1xTz9kLm ❤️\n  solidar react "Works council" 3vQb1xTz9kLm --remove')
    .action(async (target: string, id: string, emoji: string | undefined, opts: JsonOpt & { dm?: boolean, remove?: boolean }, cmd: Command) => {
      if (opts.remove === true && emoji !== undefined) throw new CliError('give an emoji or --remove, not both', EXIT.USAGE)
      if (opts.remove !== true && emoji === undefined) throw new CliError('missing the emoji: give one (e.g. 👍), or --remove to take yours back', EXIT.USAGE)
      const path = `${opts.dm === true ? `/api/dms/${seg(target)}` : `/api/groups/${seg(target)}`}/messages/${seg(id)}/reaction`
      const message = opts.remove === true
        ? await clientOf(cmd).request<MessageView>('DELETE', path)
        : await clientOf(cmd).request<MessageView>('PUT', path, { emoji })
      if (opts.json === true) printJson(message)
      else print(opts.remove === true ? `Took back your reaction to message ${message.id}` : `Reacted ${emoji!.trim()} to message ${message.id}`)
    })
}
