/** `send`, `dm`, `edit`, `delete`: writing messages. */
import type { Command } from 'commander'
import type { MessageView } from '@solidar/core'
import { clientOf } from '../context.ts'
import { seg } from '../client.ts'
import { print, printJson } from '../output.ts'

type JsonOpt = { json?: boolean }

function report (message: MessageView, verb: string, json: boolean): void {
  if (json) printJson(message)
  else print(`${verb} message ${message.id}`)
}

/** Registers the message-writing commands. */
export function registerMessages (program: Command): void {
  program.command('send')
    .description('send a message to a group (to its main room unless --room is given)')
    .argument('<group>', 'group id or unambiguous name')
    .argument('<text>', 'the message (quote it)')
    .option('--room <room>', 'room to post in')
    .option('--reply-to <id>', 'id of the message this answers')
    .option('--json', 'print the sent message as JSON')
    .addHelpText('after', '\nExamples:\n  $ solidar send "Betriebsrat Nord" "Meeting at 10 in room 2"\n  $ solidar send "Betriebsrat Nord" "Agreed" --room schichtplan --reply-to <id>')
    .action(async (group: string, text: string, opts: { room?: string, replyTo?: string } & JsonOpt, cmd: Command) => {
      const body: { text: string, room?: string, replyTo?: string } = { text }
      if (opts.room !== undefined) body.room = opts.room
      if (opts.replyTo !== undefined) body.replyTo = opts.replyTo
      report(await clientOf(cmd).post<MessageView>(`/api/groups/${seg(group)}/messages`, body), 'Sent', opts.json === true)
    })

  program.command('dm')
    .description('send a direct message to a member you share a group with')
    .argument('<member>', 'member id or unambiguous display name')
    .argument('<text>', 'the message (quote it)')
    .option('--reply-to <id>', 'id of the message this answers')
    .option('--json', 'print the sent message as JSON')
    .addHelpText('after', '\nExample:\n  $ solidar dm Alex "Can you call me?"')
    .action(async (member: string, text: string, opts: { replyTo?: string } & JsonOpt, cmd: Command) => {
      const body: { text: string, replyTo?: string } = { text }
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
}
