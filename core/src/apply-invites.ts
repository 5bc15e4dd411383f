/**
 * Handlers for invites: create, revoke, and the check a `member/add` with an invite passes.
 * An invite admits only while its issuer is an admin (and its issuing device not revoked):
 * deciding that here, at the member/add's place in the order, makes every peer agree, and a
 * removal or demotion ends the issuer's open invites everywhere at once.
 */
import b4a from 'b4a'
import type { InviteCreate, InviteRevoke } from './commands.ts'
import { activeMember, reject, requireAdmin, type ApplyContext } from './apply-context.ts'
import { issuerProblem } from './invites.ts'
import { K, type InviteRecord, type MemberRecord, type ViewTx } from './view.ts'

const hex = (b: Uint8Array) => b4a.toString(b, 'hex') as string

export async function createInvite (ctx: ApplyContext<InviteCreate>) {
  const { tx, cmd } = ctx
  requireAdmin(ctx, 'create invites')
  if (ctx.meta.kind === 'dm') reject('no invites in a direct conversation')
  const key = K.invite(hex(cmd.id))
  if (await tx.get(key)) reject('invite id already exists')
  // The issuing device: the one whose writer wrote this entry (only it answers join requests).
  const device = (ctx.author.devices ?? []).find(d => d.writer === ctx.writer)?.device
  const record: InviteRecord = {
    publicKey: hex(cmd.publicKey), role: cmd.role, expires: cmd.expires, uses: cmd.uses, used: 0,
    createdBy: ctx.author.id, ts: cmd.ts, ...(device ? { device } : {})
  }
  tx.put(key, record)
}

export async function revokeInvite (ctx: ApplyContext<InviteRevoke>) {
  const { tx, cmd } = ctx
  requireAdmin(ctx, 'revoke invites')
  const key = K.invite(hex(cmd.id))
  const invite = await tx.get<InviteRecord>(key)
  if (!invite) return reject('unknown invite')
  if (invite.revoked) reject('invite already revoked')
  tx.put(key, { ...invite, revoked: cmd.ts, revokedBy: ctx.author.id })
}

/**
 * Ends the open invites `member` made (all of them, or those made on `device`): called where a
 * member is removed, leaves, is demoted, or revokes a device. The mark stays, so promoting the
 * member again does not bring old codes back to life.
 */
export async function orphanInvites (tx: ViewTx, rules: number, member: string, ts: number, device?: string): Promise<void> {
  // Rules 1 (rules.ts): an invite outlived its issuer's authority; marking it would misreport it.
  if (rules < 2) return
  for (const key of await tx.keys('i!')) {
    const invite = await tx.get<InviteRecord>(key)
    if (!invite || invite.createdBy !== member || invite.revoked || invite.orphaned) continue
    if (device !== undefined && invite.device !== device) continue
    tx.put(key, { ...invite, orphaned: ts })
  }
}

/**
 * For a member/add that names invite `id` at time `ts`: the invite record to count the use on,
 * or a rejection saying why the invite admits nobody.
 */
export async function admittingInvite (tx: ViewTx, id: Buffer, ts: number, rules: number): Promise<InviteRecord> {
  const invite = await tx.get<InviteRecord>(K.invite(hex(id)))
  if (!invite) return reject('unknown invite')
  if (invite.revoked) reject('invite revoked')
  // Rules 1 (rules.ts): an invite outlived its issuer's authority; entries of that time keep their outcome.
  if (rules >= 2) {
    if (invite.orphaned) reject('the invite\'s issuer is no longer an admin')
    const issuer: MemberRecord | null = await activeMember(tx, invite.createdBy)
    const problem = issuerProblem(invite, issuer)
    if (problem) reject(problem)
  }
  if (ts > invite.expires) reject('invite expired')
  if (invite.used >= invite.uses) reject('invite used up')
  return invite
}
