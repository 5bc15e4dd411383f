/** `group create|list`, `members`, `rooms`, `room create`: groups and their rooms. */
import type { Command } from 'commander'
import type { GroupSummary, MemberView, RoomView } from '@solidar/core'
import { describeCatchUp } from '@solidar/core/catch-up'
import { clientOf } from '../context.ts'
import { seg } from '../client.ts'
import { nameArg } from '../parsers.ts'
import { note, print, printJson, printTable, sanitize } from '../output.ts'
import { nameWarningLines } from '../name-warnings.ts'

const JSON_HELP = 'print the result as JSON'

/** Registers the group, member and room commands. */
export function registerGroups (program: Command): void {
  const group = program.command('group')
    .description('create, list and rename groups (see: group create --help)')

  group.command('create')
    .description('create a new group with you as its admin')
    .argument('<name>', 'name of the group', nameArg)
    .option('--json', 'print {id, name, sameName?} as JSON (sameName: ids of your groups with the same name)')
    .addHelpText('after', '\nExample:\n  $ solidar group create "Betriebsrat Nord"')
    .action(async (name: string, opts: { json?: boolean }, cmd: Command) => {
      const created = await clientOf(cmd).post<{ id: string, name: string, sameName?: string[] }>('/api/groups', { name })
      if (opts.json === true) return printJson(created)
      print(`Created group ${sanitize(created.name)} (id ${created.id})`)
      if (created.sameName !== undefined) {
        note(`Warning: you already have a group named ${sanitize(created.name)} (id ${created.sameName.join(', ')}). Commands by that name now ask which one: give the id instead, or rename one (\`solidar group rename ${created.id} NEW-NAME\`).`)
      }
    })

  group.command('list')
    .description('list your groups')
    .option('--json', 'print [{id, name, role, members, unread, catchUp?, upgradeRequired?}] as JSON (unread: messages by others after the last one read in the web app; catchUp: while the group has not fully reached this device; upgradeRequired {rules, known}: the group needs a newer Solidar)')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      const groups = await clientOf(cmd).get<GroupSummary[]>('/api/groups')
      if (opts.json === true) return printJson(groups)
      if (groups.length === 0) return print('You are in no group yet: create one with `solidar group create NAME` or join with `solidar join CODE`.')
      printTable(['NAME', 'ROLE', 'MEMBERS', 'UNREAD', 'ID'], groups.map((g) => [g.name, g.role ?? '-', String(g.members), g.unread ? String(g.unread) : '-', g.id]))
      for (const g of groups) {
        if (g.upgradeRequired !== undefined) print(`${sanitize(g.name)}: this group needs a newer Solidar (it follows format rules ${g.upgradeRequired.rules}; this one knows up to ${g.upgradeRequired.known}): what came before reads, writing does not`)
        if (g.catchUp !== undefined) print(`${sanitize(g.name)}: ${g.catchUp.stage === 'admission' ? 'not admitted yet' : 'catching up'}: ${sanitize(describeCatchUp(g.catchUp))}`)
      }
    })

  program.command('members')
    .description('list the members of a group')
    .argument('<group>', 'group id or unambiguous name')
    .option('--json', 'print [{id, name, role, joinedTs, verified, keyChanged?, lookAlike?, bridge?}] as JSON (lookAlike: ids of other members whose names look the same; bridge: the group\'s XMPP bridge)')
    .action(async (ref: string, opts: { json?: boolean }, cmd: Command) => {
      const members = await clientOf(cmd).get<MemberView[]>(`/api/groups/${seg(ref)}/members`)
      if (opts.json === true) return printJson(members)
      const mark = (m: MemberView): string => m.keyChanged === true ? '!!' : m.verified === true ? '✓' : m.lookAlike !== undefined ? '≈' : ''
      printTable(['NAME', 'ROLE', 'VERIFIED', 'ID'], members.map((m) => [m.bridge === true ? `${m.name} (XMPP bridge)` : m.name, m.role, mark(m), m.id]))
      for (const line of nameWarningLines(members)) print(line)
      if (members.some((m) => m.bridge === true)) print('(XMPP bridge): not a person but the group\'s bridge to Jabber; it decrypts what is written in the rooms and hands the text to its XMPP server, whose operator can read it.')
    })

  program.command('rooms')
    .description('list the rooms of a group')
    .argument('<group>', 'group id or unambiguous name')
    .option('--json', JSON_HELP)
    .action(async (ref: string, opts: { json?: boolean }, cmd: Command) => {
      const rooms = await clientOf(cmd).get<RoomView[]>(`/api/groups/${seg(ref)}/rooms`)
      if (opts.json === true) return printJson(rooms)
      for (const room of rooms) print(sanitize(room.name))
    })

  const room = program.command('room')
    .description('manage rooms (see: room create --help)')

  room.command('create')
    .description('create a room in a group')
    .argument('<group>', 'group id or unambiguous name')
    .argument('<name>', 'name of the new room', nameArg)
    .option('--json', JSON_HELP)
    .addHelpText('after', '\nExample:\n  $ solidar room create "Betriebsrat Nord" schichtplan')
    .action(async (ref: string, name: string, opts: { json?: boolean }, cmd: Command) => {
      const created = await clientOf(cmd).post<RoomView>(`/api/groups/${seg(ref)}/rooms`, { name })
      if (opts.json === true) return printJson(created)
      print(`Created room ${sanitize(created.name)}`)
    })
}
