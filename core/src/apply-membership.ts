/**
 * Handlers for the group itself, members, roles and key epochs (invites: apply-invites.ts).
 * Admins are Autobase indexers (their devices sign the final order); members and
 * observers are plain writers. A group always keeps at least one admin.
 */
import b4a from 'b4a'
import type { DeviceRevoke, GroupCreate, GroupRename, GroupRules, MemberAdd, MemberDevice, MemberLeave, MemberRemove, MemberRole } from './commands.ts'
import { verifyBinding } from './binding.ts'
import { verifyDeviceCert } from './identity.ts'
import { admittingInvite, orphanInvites } from './apply-invites.ts'
import { rulesOf } from './rules.ts'
import { requireKnownRules } from './upgrade.ts'
import { activeMember, currentEpoch, DEFAULT_ROOM, DM_ROOM, reject, requireAdmin, type ApplyContext, type ApplyHost } from './apply-context.ts'
import { storeEpochBoxes } from './apply-epochs.ts'
import { keepsAnIndexer, NO_INDEXER_LEFT } from './indexer-guard.ts'
import { MAX_SEALED_NAMES } from './sealed-meta.ts'
import { activeDevices, K, type ViewTx, type DeviceRecord, type GroupMeta, type MemberRecord } from './view.ts'

const hex = (b: Uint8Array) => b4a.toString(b, 'hex') as string

/**
 * Checks a device binding (`sig` over the writer, by the device) and, for a linked device,
 * its certificate by the member key. Returns the device record for the member.
 */
function checkDevice (bootstrapKey: Buffer, cmd: { member: Buffer, writer: Buffer, sig: Buffer, device?: Buffer, cert?: Buffer }): DeviceRecord {
  const device = cmd.device ?? cmd.member
  if (!verifyBinding(bootstrapKey, cmd.writer, device, cmd.sig)) reject('bad device binding signature')
  if (cmd.device && !verifyDeviceCert(cmd.cert!, cmd.device, cmd.member)) reject('bad device certificate')
  return { device: hex(device), writer: hex(cmd.writer), ...(cmd.cert ? { cert: hex(cmd.cert) } : {}) }
}

/** First entry of every log; not routed through ApplyContext because there is no author yet. */
export async function createGroup (tx: ViewTx, cmd: GroupCreate, meta: GroupMeta | null, writerKey: Buffer, writer: string, bootstrapKey: Buffer, knownRules: number) {
  if (meta) reject('group already created')
  if (!b4a.equals(writerKey, bootstrapKey)) reject('only the bootstrap writer creates the group')
  const device = checkDevice(bootstrapKey, { ...cmd, writer: writerKey })
  if (cmd.kind === 'dm' && !cmd.peer) reject('a direct conversation names its peer')
  const creator = hex(cmd.member)
  const record: GroupMeta = { kind: cmd.kind, name: cmd.name, creator, ts: cmd.ts }
  if (cmd.peer) record.peer = hex(cmd.peer)
  if (cmd.rules !== undefined) record.rules = cmd.rules
  requireKnownRules(cmd.rules, knownRules)
  tx.put(K.meta, record)
  tx.put(K.epoch, 0)
  const member: MemberRecord = { id: creator, name: cmd.memberName, role: 'admin', joinedTs: cmd.ts, writers: [writer], devices: [device] }
  tx.put(K.member(creator), member)
  tx.put(K.writer(writer), { member: creator })
  tx.put(K.device(device.device), { member: creator })
  if (cmd.kind === 'vault') return // a vault has no rooms
  const room = cmd.kind === 'dm' ? DM_ROOM : DEFAULT_ROOM
  tx.put(K.room(room), { name: room, createdBy: creator, ts: cmd.ts })
}

/**
 * A name in clear replaces the name (and drops sealed ones); a sealed name is added to the
 * newest few (sealed-meta.ts), and the name in clear stays what it was before.
 */
export async function renameGroup (ctx: ApplyContext<GroupRename>) {
  const { cmd, meta } = ctx
  requireAdmin(ctx, 'rename the group')
  if (meta.kind !== 'group') reject('a direct conversation has no name')
  if (!cmd.sealedName) {
    const { sealedNames: _dropped, ...rest } = meta
    return ctx.tx.put(K.meta, { ...rest, name: cmd.name! })
  }
  if (cmd.sealedName.e > await currentEpoch(ctx.tx)) reject('sealed under an epoch that does not exist')
  ctx.tx.put(K.meta, { ...meta, sealedNames: [...(meta.sealedNames ?? []), cmd.sealedName].slice(-MAX_SEALED_NAMES) })
}

export async function addMember (ctx: ApplyContext<MemberAdd>) {
  const { tx, cmd, meta } = ctx
  requireAdmin(ctx, 'add members')
  const id = hex(cmd.member)
  const writer = hex(cmd.writer)
  if (meta.kind === 'vault') reject('devices join a vault with member/device')
  const device = checkDevice(ctx.bootstrapKey, cmd)
  if (await tx.get(K.writer(writer))) reject('writer already belongs to a member')
  const owner = await tx.get<{ member: string }>(K.device(device.device))
  if (owner && owner.member !== id) reject('device belongs to another member')
  const previous = await tx.get<MemberRecord>(K.member(id))
  if (previous && !previous.left) reject('already a member')
  let role = cmd.role
  if (meta.kind === 'dm') {
    if (meta.peer !== id) reject('only the named peer joins a direct conversation')
    role = 'member'
  } else if (cmd.invite) {
    const invite = await admittingInvite(tx, cmd.invite, cmd.ts, rulesOf(meta))
    role = invite.role // the invite fixes the role; the admitting admin cannot change it
    tx.put(K.invite(hex(cmd.invite)), { ...invite, used: invite.used + 1 })
  }
  // The newcomer's boxes first: a name sealed under the current epoch must be one it can open.
  await storeEpochBoxes(tx, meta, device.device, cmd.keys ?? [])
  if (cmd.sealedName && cmd.sealedName.e > await currentEpoch(tx)) reject('sealed under an epoch that does not exist')
  // A member removed earlier and invited again comes back with a new device writer.
  const member: MemberRecord = { id, name: cmd.name, role, joinedTs: cmd.ts, writers: [writer], devices: [device], ...(cmd.sealedName ? { sealedName: cmd.sealedName } : {}) }
  tx.put(K.member(id), member)
  tx.put(K.writer(writer), { member: id })
  tx.put(K.device(device.device), { member: id })
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
  if (!keepsAnIndexer(host, keys)) reject(NO_INDEXER_LEFT)
  tx.put(K.member(target.id), { ...target, left: ctx.cmd.ts })
  tx.put(K.rekey, 1)
  await orphanInvites(tx, rulesOf(ctx.meta), target.id, ctx.cmd.ts)
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
  if (ctx.meta.kind !== 'group') reject('members are removed from groups only')
  const target = await activeMember(ctx.tx, hex(ctx.cmd.member))
  if (!target) return reject('not a member')
  await removeFromGroup(ctx, target, 'removed')
}

export async function leaveGroup (ctx: ApplyContext<MemberLeave>) {
  if (ctx.meta.kind !== 'group') reject('only groups can be left')
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
  if (target.role === 'admin' && !keepsAnIndexer(host, target.writers.map(w => b4a.from(w, 'hex')))) reject(NO_INDEXER_LEFT)
  tx.put(K.member(target.id), { ...target, role: cmd.role })
  if (target.role === 'admin') await orphanInvites(tx, rulesOf(ctx.meta), target.id, cmd.ts)
  for (const w of target.writers) await host.addWriter(b4a.from(w, 'hex'), { indexer: cmd.role === 'admin' })
}

export type { ApplyHost }

/** A member adds another of its own devices (a sibling device already in this log does it). */
export async function addDevice (ctx: ApplyContext<MemberDevice>) {
  const { tx, cmd, author } = ctx
  const device = hex(cmd.device)
  if (!verifyDeviceCert(cmd.cert, cmd.device, b4a.from(author.id, 'hex'))) reject('bad device certificate')
  if (!verifyBinding(ctx.bootstrapKey, cmd.writer, cmd.device, cmd.sig)) reject('bad device binding signature')
  if (await tx.get(K.device(device))) reject('device already known')
  const writer = hex(cmd.writer)
  if (await tx.get(K.writer(writer))) reject('writer already belongs to a member')
  await storeEpochBoxes(tx, ctx.meta, device, cmd.keys ?? [])
  const record: DeviceRecord = { device, writer, name: cmd.name, cert: hex(cmd.cert) }
  tx.put(K.member(author.id), { ...author, writers: [...author.writers, writer], devices: [...(author.devices ?? []), record] })
  tx.put(K.writer(writer), { member: author.id })
  tx.put(K.device(device), { member: author.id })
  await ctx.host.addWriter(cmd.writer, { indexer: author.role === 'admin' })
}

/** A member revokes one of its devices: like a removal, for that device only. */
export async function revokeDevice (ctx: ApplyContext<DeviceRevoke>) {
  const { tx, cmd, author, host } = ctx
  const device = hex(cmd.device)
  const target = (author.devices ?? []).find(d => d.device === device && !d.revoked)
  if (!target) return reject('not a current device of the author')
  if (activeDevices(author).length <= 1) reject('a member keeps at least one device (leave the group instead)')
  const key = b4a.from(target.writer, 'hex')
  if (!host.removeable(key)) reject('autobase cannot remove this writer (last indexer)')
  tx.put(K.member(author.id), {
    ...author,
    writers: author.writers.filter(w => w !== target.writer),
    devices: (author.devices ?? []).map(d => d.device === device ? { ...d, revoked: cmd.ts } : d)
  })
  tx.put(K.rekey, 1)
  await orphanInvites(tx, rulesOf(ctx.meta), author.id, cmd.ts, device)
  await host.removeWriter(key)
}

/** Raises the log's apply rules (rules.ts): admins only, never lowered, in groups, DMs and vaults alike. */
export async function raiseRules (ctx: ApplyContext<GroupRules>) {
  requireAdmin(ctx, 'change the rules version')
  if (ctx.cmd.rules <= rulesOf(ctx.meta)) reject('rules version not higher than the current one')
  requireKnownRules(ctx.cmd.rules, ctx.knownRules)
  ctx.tx.put(K.meta, { ...ctx.meta, rules: ctx.cmd.rules })
}
