/**
 * Handlers for a member's vault: the personal log its devices share. It lists the logs
 * the member belongs to (sealed under the vault's epoch key) and which writer each device
 * uses in each log, so a sibling device can add it there. Only the member's devices write
 * a vault: every writer belongs to the one member.
 */
import b4a from 'b4a'
import type { VaultLog, VaultWriter } from './commands.ts'
import { verifyBinding } from './binding.ts'
import { currentEpoch, reject, type ApplyContext } from './apply-context.ts'
import { K } from './view.ts'

const hex = (b: Uint8Array) => b4a.toString(b, 'hex') as string

export async function recordVaultLog (ctx: ApplyContext<VaultLog>) {
  const { tx, cmd } = ctx
  if (ctx.meta.kind !== 'vault') reject('vault entries belong in a vault')
  if (cmd.body.e > await currentEpoch(tx)) reject('sealed under an epoch that does not exist')
  const n = await tx.next('vault')
  tx.put(K.vaultLog(n), { n, body: cmd.body, ts: cmd.ts })
}

export async function recordVaultWriter (ctx: ApplyContext<VaultWriter>) {
  const { tx, cmd, author } = ctx
  if (ctx.meta.kind !== 'vault') reject('vault entries belong in a vault')
  const device = hex(cmd.device)
  if (!(author.devices ?? []).some(d => d.device === device && !d.revoked)) reject('not a current device of this member')
  // The binding is for the target log: its discovery key is derived from `log`.
  if (!verifyBinding(cmd.log, cmd.writer, cmd.device, cmd.sig)) reject('bad device binding signature')
  tx.put(K.vaultWriter(hex(cmd.log), device), { writer: hex(cmd.writer), sig: hex(cmd.sig), ts: cmd.ts })
}
