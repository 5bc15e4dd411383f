/**
 * What an invite record means now: its status for listings and for the issuing device that
 * answers a join request. The same rule decides admission in `apply` (apply-invites.ts):
 * an invite admits only while it is not revoked, not used up, not expired, and its issuer is
 * still an admin whose issuing device is not revoked.
 */
import b4a from 'b4a'
import { decodeKey, encodeKey } from './ids.ts'
import { decodeInviteCode } from './invite-code.ts'
import { errors } from './errors.ts'
import type { InviteStatus, InviteView, MemberId } from './types.ts'
import type { InviteRecord, MemberRecord } from './view.ts'
import type { Group } from './group.ts'

/** Why an invite admits nobody any more because of its issuer, or null while the issuer may still admit. */
export function issuerProblem (invite: InviteRecord, issuer: MemberRecord | null): string | null {
  if (!issuer || issuer.left) return 'the invite\'s issuer is no longer a member'
  if (issuer.role !== 'admin') return 'the invite\'s issuer is no longer an admin'
  if (invite.device) {
    const device = (issuer.devices ?? []).find(d => d.device === invite.device)
    if (device?.revoked) return 'the device that made the invite was revoked'
  }
  return null
}

export function inviteStatus (invite: InviteRecord, issuer: MemberRecord | null, now: number): InviteStatus {
  if (invite.revoked) return 'revoked'
  if (invite.orphaned || issuerProblem(invite, issuer)) return 'orphaned'
  if (invite.used >= invite.uses) return 'used'
  if (now > invite.expires) return 'expired'
  return 'open'
}

const memberIdOfHex = (h: string): MemberId => encodeKey(b4a.from(h, 'hex')) as MemberId

/** The API view of one invite; `members` holds everyone who was ever a member, by id (hex). */
export function inviteView (idHex: string, invite: InviteRecord, members: Map<string, MemberRecord>, now: number): InviteView {
  const issuer = members.get(invite.createdBy) ?? null
  return {
    id: encodeKey(b4a.from(idHex, 'hex')),
    role: invite.role,
    status: inviteStatus(invite, issuer, now),
    expires: invite.expires,
    uses: invite.uses,
    used: invite.used,
    created: invite.ts ?? null,
    createdBy: memberIdOfHex(invite.createdBy),
    createdByName: issuer?.name ?? '',
    ...(invite.revoked ? { revoked: invite.revoked } : {}),
    ...(invite.revoked && invite.revokedBy ? { revokedBy: memberIdOfHex(invite.revokedBy) } : {})
  }
}

/** Every invite of a log as the API shows it, newest first. */
export async function listInviteViews (group: Group, now: number): Promise<InviteView[]> {
  const members = new Map((await group.allMembers()).map(m => [m.id, m]))
  const all = (await group.invites()).map(({ id, invite }) => inviteView(id, invite, members, now))
  return all.sort((a, b) => (b.created ?? 0) - (a.created ?? 0))
}

/** The invite id named by `ref`: an invite code (solidar1…) or an id as `invite list` shows it. */
export function inviteIdOf (ref: unknown): Buffer {
  if (typeof ref !== 'string' || ref.trim() === '') throw errors.badRequest('name the invite by its id or its code')
  if (ref.trim().toLowerCase().startsWith('solidar1')) return decodeInviteCode(ref).id
  try {
    return decodeKey(ref, 'invite id')
  } catch {
    throw errors.inviteNotFound(ref.slice(0, 80))
  }
}
