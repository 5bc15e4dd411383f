/**
 * Handlers for the group itself, members, roles, invites and key epochs.
 * Admins are Autobase indexers (their devices sign the final order); members and
 * observers are plain writers. A group always keeps at least one admin.
 */
import b4a from 'b4a'
import type { EpochRotate, GroupCreate, GroupRename, InviteCreate, MemberAdd, MemberLeave, MemberRemove, MemberRole } from './commands.ts'
import { verifyBinding } from './binding.ts'
import { activeMember, currentEpoch, DEFAULT_ROOM, DM_ROOM, reject, requireAdmin, type ApplyContext, type ApplyHost } from './apply-context.ts'
import { K, type ViewTx, type GroupMeta, type InviteRecord, type MemberRecord } from './view.ts'

const hex = (b: Uint8Array) => b4a.toString(b, 'hex') as string

/** First entry of every log; not routed through ApplyContext because there is no author yet. */
export async function createGroup (tx: ViewTx, cmd: GroupCreate, meta: GroupMeta | null, writerKey: Buffer, writer: string, bootstrapKey: Buffer) {
  if (meta) reject('group already created')
  if (!b4a.equals(writerKey, bootstrapKey)) reject('only the bootstrap writer creates the group')
  if (!verifyBinding(bootstrapKey, writerKey, cmd.member, cmd.sig)) reject('bad device binding signature')
  if (cmd.kind === 'dm' && !cmd.peer) reject('a direct conversation names its peer')
  const creator = hex(cmd.member)
  const record: GroupMeta = { kind: cmd.kind, name: cmd.name, creator, ts: cmd.ts }
  if (cmd.peer) record.peer = hex(cmd.peer)
  tx.put(K.meta, record)
  tx.put(K.epoch, 0)
  const member: MemberRecord = { id: creator, name: cmd.memberName, role: 'admin', joinedTs: cmd.ts, writers: [writer] }
  tx.put(K.member(creator), member)
  tx.put(K.writer(writer), { member: creator })
  const room = cmd.kind === 'dm' ? DM_ROOM : DEFAULT_ROOM
  tx.put(K.room(room), { name: room, createdBy: creator, ts: cmd.ts })
}

export async function renameGroup (ctx: ApplyContext<GroupRename>) {
  requireAdmin(ctx, 'rename the group')
  if (ctx.meta.kind !== 'group') reject('a direct conversation has no name')
  ctx.tx.put(K.meta, { ...ctx.meta, name: ctx.cmd.name })
}

export async function createInvite (ctx: ApplyContext<InviteCreate>) {
  const { tx, cmd } = ctx
  requireAdmin(ctx, 'create invites')
  if (ctx.meta.kind !== 'group') reject('no invites in a direct conversation')
  const key = K.invite(hex(cmd.id))
  if (await tx.get(key)) reject('invite id already exists')
  const record: InviteRecord = { publicKey: hex(cmd.publicKey), role: cmd.role, expires: cmd.expires, uses: cmd.uses, used: 0, createdBy: ctx.author.id }
  tx.put(key, record)
}

export async function addMember (ctx: ApplyContext<MemberAdd>) {
  const { tx, cmd, meta } = ctx
  requireAdmin(ctx, 'add members')
  const id = hex(cmd.member)
  const writer = hex(cmd.writer)
  if (!verifyBinding(ctx.bootstrapKey, cmd.writer, cmd.member, cmd.sig)) reject('bad device binding signature')
  if (await tx.get(K.writer(writer))) reject('writer already belongs to a member')
  const previous = await tx.get<MemberRecord>(K.member(id))
  if (previous && !previous.left) reject('already a member')
  let role = cmd.role
  if (meta.kind === 'dm') {
    if (meta.peer !== id) reject('only the named peer joins a direct conversation')
    role = 'member'
  } else if (cmd.invite) {
    const key = K.invite(hex(cmd.invite))
    const invite = await tx.get<InviteRecord>(key)
    if (!invite) return reject('unknown invite')
    if (cmd.ts > invite.expires) reject('invite expired')
    if (invite.used >= invite.uses) reject('invite used up')
    role = invite.role // the invite fixes the role; the admitting admin cannot change it
    tx.put(key, { ...invite, used: invite.used + 1 })
  }
  const epoch = await currentEpoch(tx)
  for (const k of cmd.keys ?? []) if (k.e <= epoch) tx.put(K.epochKey(id, k.e), k.box)
  // A member removed earlier and invited again comes back with a new device writer.
  const member: MemberRecord = { id, name: cmd.name, role, joinedTs: cmd.ts, writers: [writer] }
  tx.put(K.member(id), member)
  tx.put(K.writer(writer), { member: id })
  await ctx.host.addWriter(cmd.writer, { indexer: role === 'admin' })
}

async function adminCount (tx: ViewTx): Promise<number> {
  let n = 0
  for (const key of await tx.keys('m!')) {
    const m = await tx.get<MemberRecord>(key)
    if (m && !m.left && m.role === 'admin') n++
  }
  return n
}

async function removeFromGroup (ctx: ApplyContext, target: MemberRecord, why: 'removed' | 'left') {
  const { tx, host } = ctx
  if (target.role === 'admin' && await adminCount(tx) <= 1) {
    const others = await memberCount(tx) > 1
    if (others) reject(`the last admin cannot be ${why}; make another member admin first`)
  }
  const keys = target.writers.map(w => b4a.from(w, 'hex'))
  for (const key of keys) if (!host.removeable(key)) reject('autobase cannot remove this writer (last indexer)')
  tx.put(K.member(target.id), { ...target, left: ctx.cmd.ts })
  tx.put(K.rekey, 1)
  for (const key of keys) await host.removeWriter(key)
}

async function memberCount (tx: ViewTx): Promise<number> {
  let n = 0
  for (const key of await tx.keys('m!')) {
    const m = await tx.get<MemberRecord>(key)
    if (m && !m.left) n++
  }
  return n
}

export async function removeMember (ctx: ApplyContext<MemberRemove>) {
  requireAdmin(ctx, 'remove members')
  if (ctx.meta.kind !== 'group') reject('no removals in a direct conversation')
  const target = await activeMember(ctx.tx, hex(ctx.cmd.member))
  if (!target) return reject('not a member')
  await removeFromGroup(ctx, target, 'removed')
}

export async function leaveGroup (ctx: ApplyContext<MemberLeave>) {
  if (ctx.meta.kind !== 'group') reject('a direct conversation cannot be left')
  await removeFromGroup(ctx, ctx.author, 'left')
}

export async function setRole (ctx: ApplyContext<MemberRole>) {
  const { tx, cmd, host } = ctx
  requireAdmin(ctx, 'change roles')
  if (ctx.meta.kind !== 'group') reject('no roles in a direct conversation')
  const target = await activeMember(tx, hex(cmd.member))
  if (!target) return reject('not a member')
  if (target.role === cmd.role) reject(`already ${cmd.role}`)
  if (target.role === 'admin' && await adminCount(tx) <= 1) reject('a group keeps at least one admin')
  tx.put(K.member(target.id), { ...target, role: cmd.role })
  for (const w of target.writers) await host.addWriter(b4a.from(w, 'hex'), { indexer: cmd.role === 'admin' })
}

export async function rotateEpoch (ctx: ApplyContext<EpochRotate>) {
  const { tx, cmd } = ctx
  requireAdmin(ctx, 'start a new key epoch')
  const epoch = await currentEpoch(tx)
  if (cmd.epoch !== epoch + 1) reject(`epoch ${cmd.epoch} does not follow the current epoch ${epoch}`)
  for (const { member, box } of cmd.keys) {
    const id = hex(member)
    if (await activeMember(tx, id)) tx.put(K.epochKey(id, cmd.epoch), box)
  }
  tx.put(K.epoch, cmd.epoch)
  tx.put(K.rekey, 0)
}

export type { ApplyHost }
