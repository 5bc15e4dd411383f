/**
 * Both sides of joining a group with an invite code.
 * - `answerJoinRequest` (member side): the device that made the invite checks it against
 *   the group state, appends `member/add`, and only then confirms with the group key, in a
 *   reply signed with its device key (pairing-reply.ts).
 * - `JoinUserData`: what the invitee sends, sealed inside the blind-pairing request.
 */
import b4a from 'b4a'
import { encode, decode } from './codec.ts'
import { verifyBindingForDiscoveryKey } from './binding.ts'
import { validateName, verifyDeviceCert } from './identity.ts'
import type { Group } from './group.ts'
import type { EpochBox } from './commands.ts'
import type { Sealed } from './content.ts'
import { issuerProblem } from './invites.ts'
import { refuse, signReply, type ReplySigner } from './pairing-reply.ts'

/** Reply statuses of blind-pairing-core: 1 rejected, 2 used, 3 expired. */
const DENY = { used: 2, expired: 3 } as const

/** `device`/`cert` are set when a linked device (not the member's first) joins. */
export interface JoinUserData { member: Buffer, writer: Buffer, name: string, sig: Buffer, device?: Buffer, cert?: Buffer }

export function encodeJoinUserData (d: JoinUserData): Buffer { return encode(d) }

export function decodeJoinUserData (buf: Uint8Array): JoinUserData | null {
  const d = decode(buf) as any
  if (!d || !(d.member instanceof Uint8Array) || d.member.byteLength !== 32) return null
  if (!(d.writer instanceof Uint8Array) || d.writer.byteLength !== 32) return null
  if (!(d.sig instanceof Uint8Array) || d.sig.byteLength !== 64) return null
  const linked = d.device !== undefined || d.cert !== undefined
  if (linked && (!(d.device instanceof Uint8Array) || d.device.byteLength !== 32 || !(d.cert instanceof Uint8Array) || d.cert.byteLength !== 64)) return null
  try {
    return {
      member: b4a.from(d.member), writer: b4a.from(d.writer), sig: b4a.from(d.sig), name: validateName(d.name),
      ...(linked ? { device: b4a.from(d.device), cert: b4a.from(d.cert) } : {})
    }
  } catch {
    return null
  }
}

export interface AnswerContext {
  group: Group
  encryptionKey: Buffer
  /** Identity key (hex) of this device's member. */
  self: string
  /** This device's key pair: only the device that made an invite answers for it, and signs its reply. */
  signer: ReplySigner
  now: () => number
  /** Epoch keys after 0, sealed to the newcomer's identity key. */
  epochKeysFor: (member: Buffer) => Promise<EpochBox[]>
  /** The newcomer's display name sealed under the current epoch (sealed-meta.ts); absent: in clear. */
  sealName?: (name: string) => Promise<Sealed>
  /** An admission this node could not write (the candidate is told `failed`). */
  onError: (err: Error) => void
}

/**
 * Returns the signed reply for the candidate, or null when this node should stay silent
 * (not an invite this device made, unreadable request, or not caught up enough to write).
 * A revoked invite, or one whose issuer is no longer an admin, gets a signed refusal that says so.
 */
export async function answerJoinRequest (request: any, ctx: AnswerContext): Promise<Buffer | null> {
  const { group, signer } = ctx
  const inviteId = b4a.toString(request.inviteId, 'hex')
  const invite = await group.invite(inviteId)
  if (!invite) return null
  // The candidate accepts replies signed by the issuing device only (its key is in the code).
  if ((invite.device ?? invite.createdBy) !== b4a.toString(signer.publicKey, 'hex')) return null
  try {
    request.open(b4a.from(invite.publicKey, 'hex'))
  } catch {
    return null // signed with another key: a forged or damaged request
  }
  if (invite.revoked) return refuse(request, signer, 'revoked')
  if (invite.orphaned || issuerProblem(invite, await group.member(invite.createdBy))) return refuse(request, signer, 'orphaned')
  if (!group.writable) return null
  const data = decodeJoinUserData(request.userData)
  const requester = data?.device ?? data?.member
  const certOk = !data?.device || verifyDeviceCert(data.cert!, data.device, data.member)
  if (!data || !requester || !certOk || !verifyBindingForDiscoveryKey(group.discoveryKey, data.writer, requester, data.sig)) {
    return refuse(request, signer)
  }
  const memberHex = b4a.toString(data.member, 'hex')
  const found = await group.member(memberHex)
  const existing = found && !found.left ? found : null
  if (existing) {
    // The same device asking again (its first reply was lost): confirm again.
    if (existing.writers.includes(b4a.toString(data.writer, 'hex'))) return confirm(request, ctx)
    return refuse(request, signer)
  }
  const now = ctx.now()
  if (now > invite.expires) return refuse(request, signer, undefined, DENY.expired)
  if (invite.used >= invite.uses) return refuse(request, signer, undefined, DENY.used)
  // The name first: sealing may start a due epoch, whose key the newcomer's boxes must then hold.
  try {
    const sealedName = ctx.sealName ? await ctx.sealName(data.name) : null
    const keys = await ctx.epochKeysFor(requester)
    await group.append({
      t: 'member/add', member: data.member, writer: data.writer, role: invite.role, sig: data.sig,
      ...(sealedName ? { name: '', sealedName } : { name: data.name }),
      invite: b4a.from(inviteId, 'hex'), ts: now, ...(keys.length ? { keys } : {}),
      ...(data.device ? { device: data.device, cert: data.cert } : {})
    })
  } catch (err) {
    // Our failure, not the candidate's: say so to both instead of leaving it to time out.
    ctx.onError(err as Error)
    return refuse(request, signer, 'failed')
  }
  const added = await group.member(memberHex)
  if (!added || added.left) {
    // apply refused the admission: say why when it is the invite's state that changed meanwhile
    const after = await group.invite(inviteId)
    if (after?.revoked) return refuse(request, signer, 'revoked')
    if (after && (after.orphaned || issuerProblem(after, await group.member(after.createdBy)))) return refuse(request, signer, 'orphaned')
    return refuse(request, signer)
  }
  return confirm(request, ctx)
}

function confirm (request: any, ctx: AnswerContext): Buffer {
  request.confirm({ key: ctx.group.key, encryptionKey: ctx.encryptionKey })
  return signReply(request.response, request, ctx.signer)
}
