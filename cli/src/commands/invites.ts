/** `invite [create|list|revoke]` and `join`: bringing people into a group. */
import { Option } from 'commander'
import type { Command } from 'commander'
import type { InviteResult, InviteView } from '@solidar/core'
import { clientOf } from '../context.ts'
import { seg } from '../client.ts'
import { boundedDurationArg, positiveIntArg } from '../parsers.ts'
import { MAX_INVITE_EXPIRY_MS, MAX_JOIN_TIMEOUT_MS } from '@solidar/node/api/schemas'
import { formatDuration } from '../duration.ts'
import { note, print, printJson, printTable, sanitize } from '../output.ts'
import { followSync, type SyncOutcome } from '../sync-progress.ts'

/** How long `join` waits for a member to admit us by default. */
export const DEFAULT_JOIN_TIMEOUT_MS = 60_000
/** Extra time the HTTP request gets beyond the join timeout, so the node's answer always arrives. */
const REQUEST_MARGIN_MS = 30_000
/** How long `join` follows the history sync at most (the node goes on syncing afterwards). */
const MAX_SYNC_FOLLOW_MS = 60 * 60_000

/** Registers `invite` and `join`. */
export function registerInvites (program: Command): void {
  const invite = program.command('invite')
    .description('create, list and revoke invite codes (`invite GROUP` creates one)')
    .addHelpText('after', `
Commands:
  solidar invite GROUP            create a code (same as \`invite create GROUP\`)
  solidar invite list GROUP       the group's invites and whether they still admit anyone
  solidar invite revoke GROUP ID  end an invite (ID from the list, or the code itself)`)

  invite.command('create', { isDefault: true })
    .description('create an invite code for a group; prints the code alone on stdout')
    .argument('<group>', 'group id or unambiguous name')
    .addOption(new Option('--role <role>', 'role of whoever joins with it').choices(['member', 'admin', 'observer']).default('member'))
    .option('--expires <duration>', 'how long the code is valid, e.g. 30m, 24h, 7d (default 24h)', boundedDurationArg(MAX_INVITE_EXPIRY_MS))
    .option('--uses <n>', 'how many people may join with it (default 1)', positiveIntArg)
    .option('--json', 'print {code, id, group, expires, uses, role} as JSON')
    .addHelpText('after', `
Send the code over a channel you trust (in person, Signal, phone). Anyone holding it
can ask to join until it expires, is used up or revoked, or you stop being an admin.
Only this device answers for the code: keep it online until the newcomer has joined.
Sent it to the wrong chat? \`solidar invite revoke GROUP CODE\` ends it.

Example:
  $ solidar invite "Betriebsrat Nord" --expires 2h --uses 3`)
    .action(async (ref: string, opts: { role: 'member' | 'admin' | 'observer', expires?: number, uses?: number, json?: boolean }, cmd: Command) => {
      const body: { role: string, expiresMs?: number, uses?: number } = { role: opts.role }
      if (opts.expires !== undefined) body.expiresMs = opts.expires
      if (opts.uses !== undefined) body.uses = opts.uses
      const made = await clientOf(cmd).post<InviteResult>(`/api/groups/${seg(ref)}/invites`, body)
      if (opts.json === true) return printJson(made)
      print(made.code)
      note(`Valid until ${new Date(made.expires).toLocaleString()} for ${made.uses} ${made.uses === 1 ? 'person' : 'people'} as ${made.role} (id ${made.id}).`)
    })

  invite.command('list')
    .description('list a group\'s invites with their state (admins only)')
    .argument('<group>', 'group id or unambiguous name')
    .option('--open', 'only invites that still admit someone')
    .option('--json', 'print [{id, role, status, expires, uses, used, created, createdBy, createdByName, revoked?, revokedBy?}] as JSON')
    .addHelpText('after', `
STATE is open (admits people), used (no uses left), expired, revoked (an admin ended it) or
orphaned (whoever made it is no longer an admin, or revoked the device that made it).
The list never shows codes: they are not stored anywhere but in the hands they were given to.

Example:
  $ solidar invite list "Betriebsrat Nord" --open`)
    .action(async (ref: string, opts: { open?: boolean, json?: boolean }, cmd: Command) => {
      const all = await clientOf(cmd).get<InviteView[]>(`/api/groups/${seg(ref)}/invites`)
      const shown = opts.open === true ? all.filter(i => i.status === 'open') : all
      if (opts.json === true) return printJson(shown)
      if (shown.length === 0) return note(opts.open === true ? 'No open invites.' : 'No invites yet.')
      printTable(['ID', 'STATE', 'ROLE', 'USED', 'EXPIRES', 'BY'], shown.map(i => [
        i.id, i.status, i.role, `${i.used}/${i.uses}`, new Date(i.expires).toLocaleString(), sanitize(i.createdByName || i.createdBy)
      ]))
    })

  invite.command('revoke')
    .description('end an invite at once: nobody can join with its code any more (admins only)')
    .argument('<group>', 'group id or unambiguous name')
    .argument('<invite>', 'the invite\'s id (see `solidar invite list`) or the code itself')
    .option('--json', 'print the revoked invite as JSON (as in `invite list --json`)')
    .addHelpText('after', `
Whoever tries the code afterwards is told it was revoked. Revoking cannot be undone: make a
new invite instead.

Examples:
  $ solidar invite revoke "Betriebsrat Nord" solidar1…   (the code you sent to the wrong chat)
  $ solidar invite revoke "Betriebsrat Nord" <id>`)
    .action(async (ref: string, inviteRef: string, opts: { json?: boolean }, cmd: Command) => {
      const revoked = await clientOf(cmd).post<InviteView>(`/api/groups/${seg(ref)}/invites/revoke`, { invite: inviteRef.trim() })
      if (opts.json === true) return printJson(revoked)
      print(`Revoked invite ${revoked.id}; its code admits nobody now.`)
    })

  program.command('join')
    .description('join a group with an invite code; waits until a member admits you')
    .argument('<code>', 'the invite code you received')
    .option('--timeout <duration>', `how long to wait for a member to answer (default ${formatDuration(DEFAULT_JOIN_TIMEOUT_MS)})`, boundedDurationArg(MAX_JOIN_TIMEOUT_MS))
    .option('--sync', 'then wait until the group\'s history is here, showing progress on stderr (default without --json)')
    .option('--no-sync', 'return as soon as you are admitted; the history syncs in the background')
    .option('--json', 'print {id, name, writable} of the group as JSON (with --sync also {sync: {state, messages, ms}})')
    .addHelpText('after', `
A member of the group must be online on the same network. After admission the command shows
how the history syncs (entries here, blocks still to fetch and to apply) until this device has
everything its peers have; the node keeps syncing if you stop it with Ctrl+C.

Example:
  $ solidar join <code> --timeout 5m`)
    .action(async (code: string, opts: { timeout?: number, json?: boolean, sync?: boolean }, cmd: Command) => {
      const timeoutMs = opts.timeout ?? DEFAULT_JOIN_TIMEOUT_MS
      const json = opts.json === true
      const client = clientOf(cmd)
      if (!json) note(`Waiting up to ${formatDuration(timeoutMs)} for a member of the group to admit you…`)
      const joined = await client.post<{ id: string, name: string, writable: boolean }>('/api/join', { code: code.trim(), timeoutMs },
        { timeoutMs: timeoutMs + REQUEST_MARGIN_MS })
      if (!json) print(`Joined group ${sanitize(joined.name)} (id ${joined.id})`)
      if (!json && !joined.writable) note('You are admitted. You can write once this device has caught up with the group\'s history; `solidar status` shows how far it is, from whom, and whether an admin is online.')
      let sync: SyncOutcome | undefined
      if (opts.sync ?? !json) {
        sync = await followSync(client, joined.id, { maxMs: MAX_SYNC_FOLLOW_MS, tty: process.stderr.isTTY === true, write: (text) => process.stderr.write(text) })
        if (!json) note(syncVerdict(sync))
      }
      if (json) printJson(sync === undefined ? joined : { ...joined, sync })
    })
}

function syncVerdict (s: SyncOutcome): string {
  const seconds = `${(s.ms / 1000).toFixed(1)} s`
  switch (s.state) {
    case 'synced': return `History complete: ${s.messages.toLocaleString('en-US')} messages (${seconds}).`
    case 'offline': return `No member is online to sync the history from; your node will fetch it when one is (see \`solidar status\`).`
    case 'stalled': return `The history sync made no progress for a minute (${s.messages.toLocaleString('en-US')} messages so far); your node keeps trying (see \`solidar status\`).`
    case 'timeout': return `Still syncing after ${seconds} (${s.messages.toLocaleString('en-US')} messages so far); your node goes on in the background (see \`solidar status\`).`
  }
}
