/** `invite` and `join`: bringing people into a group. */
import { Option } from 'commander'
import type { Command } from 'commander'
import type { InviteResult } from '@solidar/core'
import { clientOf } from '../context.ts'
import { seg } from '../client.ts'
import { boundedDurationArg, positiveIntArg } from '../parsers.ts'
import { MAX_INVITE_EXPIRY_MS, MAX_JOIN_TIMEOUT_MS } from '../../api/schemas.ts'
import { formatDuration } from '../duration.ts'
import { note, print, printJson, sanitize } from '../output.ts'
import { followSync, type SyncOutcome } from '../sync-progress.ts'

/** How long `join` waits for a member to admit us by default. */
export const DEFAULT_JOIN_TIMEOUT_MS = 60_000
/** Extra time the HTTP request gets beyond the join timeout, so the node's answer always arrives. */
const REQUEST_MARGIN_MS = 30_000
/** How long `join` follows the history sync at most (the node goes on syncing afterwards). */
const MAX_SYNC_FOLLOW_MS = 60 * 60_000

/** Registers `invite` and `join`. */
export function registerInvites (program: Command): void {
  program.command('invite')
    .description('create an invite code for a group; prints the code alone on stdout')
    .argument('<group>', 'group id or unambiguous name')
    .addOption(new Option('--role <role>', 'role of whoever joins with it').choices(['member', 'admin', 'observer']).default('member'))
    .option('--expires <duration>', 'how long the code is valid, e.g. 30m, 24h, 7d (default 24h)', boundedDurationArg(MAX_INVITE_EXPIRY_MS))
    .option('--uses <n>', 'how many people may join with it (default 1)', positiveIntArg)
    .option('--json', 'print {code, group, expires, uses, role} as JSON')
    .addHelpText('after', `
Send the code over a channel you trust (in person, Signal, phone). Anyone holding it
can ask to join until it expires or is used up.

Example:
  $ solidar invite "Betriebsrat Nord" --expires 2h --uses 3`)
    .action(async (ref: string, opts: { role: 'member' | 'admin' | 'observer', expires?: number, uses?: number, json?: boolean }, cmd: Command) => {
      const body: { role: string, expiresMs?: number, uses?: number } = { role: opts.role }
      if (opts.expires !== undefined) body.expiresMs = opts.expires
      if (opts.uses !== undefined) body.uses = opts.uses
      const invite = await clientOf(cmd).post<InviteResult>(`/api/groups/${seg(ref)}/invites`, body)
      if (opts.json === true) return printJson(invite)
      print(invite.code)
      note(`Valid until ${new Date(invite.expires).toLocaleString()} for ${invite.uses} ${invite.uses === 1 ? 'person' : 'people'} as ${invite.role}.`)
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
      if (!json && !joined.writable) note('You are admitted. You can write once this device has caught up with the group\'s history.')
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
