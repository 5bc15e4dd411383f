/** `remove`, `leave`, `role`, `group rename`, `audit`: managing who is in a group. */
import type { Command } from 'commander'
import { Argument } from 'commander'
import type { AuditEntry, MemberView } from '@solidar/core'
import { clientOf } from '../context.ts'
import { seg } from '../client.ts'
import { nameArg } from '../parsers.ts'
import { print, printJson, printTable, sanitize } from '../output.ts'

const GROUP = 'group id or unambiguous name'
const MEMBER = 'member id or unambiguous display name in that group'
const NOT_DELIVERED = 'No other member\'s device has this change yet: it reaches them when one connects (keep this node running).'

/** Registers the membership commands. */
export function registerMembership (program: Command): void {
  program.command('remove')
    .description('remove a member from a group (admins only); they read nothing written from now on')
    .argument('<group>', GROUP)
    .argument('<member>', MEMBER)
    .option('--json', 'print the removed member as JSON')
    .addHelpText('after', `
Removing starts a new key epoch at once: everything written afterwards is sealed with a key
the removed member's devices never receive. They keep what they could read before.

Example:
  $ solidar remove "Betriebsrat Nord" Carol`)
    .action(async (group: string, member: string, opts: { json?: boolean }, cmd: Command) => {
      const removed = await clientOf(cmd).request<MemberView & { delivered: boolean }>('DELETE', `/api/groups/${seg(group)}/members/${seg(member)}`)
      if (opts.json === true) return printJson(removed)
      print(`Removed ${sanitize(removed.name)} (${removed.id}); a new group key is in use.`)
      if (!removed.delivered) print(NOT_DELIVERED)
    })

  program.command('leave')
    .description('leave a group; this device stops syncing it once another member\'s device has the leave')
    .argument('<group>', GROUP)
    .option('--json', 'print {id, name, pending} as JSON')
    .addHelpText('after', `
The leave is an entry in the group's log: it counts once another member's device has it. leave
waits up to 10 s for one to take it. If none is online, the group disappears from your lists at
once, this device keeps the entry ready (also across restarts) and sends it, then forgets the
group, when a member's device is next reachable; \`solidar status\` lists it until then.`)
    .action(async (group: string, opts: { json?: boolean }, cmd: Command) => {
      const left = await clientOf(cmd).post<{ id: string, name: string, pending: boolean }>(`/api/groups/${seg(group)}/leave`, {})
      if (opts.json === true) return printJson(left)
      if (!left.pending) return print(`You left ${sanitize(left.name)}.`)
      print(`You left ${sanitize(left.name)}. No member's device is online to take the leave yet: this device sends it when one is, then forgets the group.`)
    })

  program.command('role')
    .description('change a member\'s role (admins only): admin, member or observer (reads only)')
    .argument('<group>', GROUP)
    .argument('<member>', MEMBER)
    .addArgument(new Argument('<role>', 'the new role').choices(['admin', 'member', 'observer']))
    .option('--json', 'print the member as JSON')
    .addHelpText('after', '\nA group always keeps at least one admin.\n\nExample:\n  $ solidar role "Betriebsrat Nord" Bob admin')
    .action(async (group: string, member: string, role: string, opts: { json?: boolean }, cmd: Command) => {
      const changed = await clientOf(cmd).request<MemberView & { delivered: boolean }>('PUT', `/api/groups/${seg(group)}/members/${seg(member)}/role`, { role })
      if (opts.json === true) return printJson(changed)
      print(`${sanitize(changed.name)} is now ${changed.role}.`)
      if (!changed.delivered) print(NOT_DELIVERED)
    })

  const group = program.commands.find(c => c.name() === 'group')
  group?.command('rename')
    .description('rename a group (admins only)')
    .argument('<group>', GROUP)
    .argument('<name>', 'the new name', nameArg)
    .option('--json', 'print {id, name} as JSON')
    .action(async (ref: string, name: string, opts: { json?: boolean }, cmd: Command) => {
      const renamed = await clientOf(cmd).request<{ id: string, name: string }>('PATCH', `/api/groups/${seg(ref)}`, { name })
      if (opts.json === true) return printJson(renamed)
      print(`The group is now called ${sanitize(renamed.name)}.`)
    })

  program.command('audit')
    .description('list log entries every peer ignored, with the reason (a debugging view)')
    .argument('<group>', GROUP)
    .option('--json', 'print [{seq, writer, type, reason}] as JSON')
    .action(async (ref: string, opts: { json?: boolean }, cmd: Command) => {
      const entries = await clientOf(cmd).get<AuditEntry[]>(`/api/groups/${seg(ref)}/audit`)
      if (opts.json === true) return printJson(entries)
      if (entries.length === 0) return print('No entry of this group was refused.')
      printTable(['#', 'TYPE', 'REASON', 'WRITER'], entries.map(e => [String(e.seq), e.type, e.reason, e.writer.slice(0, 16)]))
    })
}
