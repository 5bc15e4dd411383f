/**
 * The one place where a log's state changes. Every peer runs the same `applyNodes`
 * over the same linearized log and gets the same view. It never throws on bad input:
 * an entry that is malformed or that its author had no right to write is recorded in
 * the audit range with the reason, and skipped (its partial writes rolled back).
 * The handlers live in apply-membership.ts and apply-messages.ts.
 */
import b4a from 'b4a'
import { parseCommand, type Command } from './commands.ts'
import { Reject, reject, type ApplyContext, type ApplyHost } from './apply-context.ts'
import { addDevice, addMember, createGroup, leaveGroup, removeMember, raiseRules, renameGroup, revokeDevice, setRole } from './apply-membership.ts'
import { grantEpochKey, rotateEpoch } from './apply-epochs.ts'
import { recordVaultLog, recordVaultWriter } from './apply-vault.ts'
import { createInvite, revokeInvite } from './apply-invites.ts'
import { changeMessage, createRoom, postMessage, storeDmSignal } from './apply-messages.ts'
import { archivePad, createPad, renamePad, updatePad } from './pads/apply.ts'
import { changeBridgeAllowlist, postBridged, registerBridge } from './apply-bridge.ts'
import { K, ViewTx, type Bee, type GroupMeta, type MemberRecord } from './view.ts'

export { DEFAULT_ROOM, DM_ROOM, type ApplyHost } from './apply-context.ts'

export interface LogNode { value: Uint8Array | null, from: { key: Buffer } }

export async function applyNodes (nodes: LogNode[], bee: Bee, host: ApplyHost, bootstrapKey: Buffer): Promise<void> {
  const tx = new ViewTx(bee)
  for (const node of nodes) {
    if (node.value === null) continue // autobase ack
    const writer = b4a.toString(node.from.key, 'hex') as string
    const parsed = parseCommand(node.value)
    if (!parsed.ok) {
      await audit(tx, writer, parsed.type, parsed.reason)
      continue
    }
    tx.begin()
    try {
      await applyCommand(tx, parsed.cmd, node.from.key, writer, host, bootstrapKey)
    } catch (err) {
      if (!(err instanceof Reject)) throw err // storage failure: not the entry's fault
      tx.rollback()
      await audit(tx, writer, parsed.cmd.t, err.message)
    }
  }
  await tx.flush()
}

async function audit (tx: ViewTx, writer: string, type: string, reason: string) {
  const n = await tx.next('audit')
  tx.put(K.audit(n), { n, writer, type, reason })
}

async function applyCommand (tx: ViewTx, cmd: Command, writerKey: Buffer, writer: string, host: ApplyHost, bootstrapKey: Buffer) {
  const meta = await tx.get<GroupMeta>(K.meta)
  if (cmd.t === 'group/create') return createGroup(tx, cmd, meta, writerKey, writer, bootstrapKey)
  if (!meta) return reject('group not created yet')

  const link = await tx.get<{ member: string }>(K.writer(writer))
  const author = link ? await tx.get<MemberRecord>(K.member(link.member)) : null
  // The member's current writers only: a writer removed from a member (an old device of a member
  // who was removed and admitted again) stays out even though its writer link still names them.
  if (!author || author.left || !author.writers.includes(writer)) return reject('writer is not a member')

  const ctx: ApplyContext<any> = { tx, cmd, host, bootstrapKey, writerKey, writer, meta, author }
  switch (cmd.t) {
    case 'group/rename': return renameGroup(ctx)
    case 'group/rules': return raiseRules(ctx)
    case 'member/add': return addMember(ctx)
    case 'member/remove': return removeMember(ctx)
    case 'member/leave': return leaveGroup(ctx)
    case 'member/role': return setRole(ctx)
    case 'epoch/rotate': return rotateEpoch(ctx)
    case 'epoch/grant': return grantEpochKey(ctx)
    case 'member/device': return addDevice(ctx)
    case 'member/revoke-device': return revokeDevice(ctx)
    case 'vault/log': return recordVaultLog(ctx)
    case 'vault/writer': return recordVaultWriter(ctx)
    case 'invite/create': return createInvite(ctx)
    case 'invite/revoke': return revokeInvite(ctx)
    case 'room/create': return createRoom(ctx)
    case 'message/post': return postMessage(ctx)
    case 'message/edit':
    case 'message/delete': return changeMessage(ctx)
    case 'dm/offer':
    case 'dm/accept': return storeDmSignal(ctx)
    case 'pad/create': return createPad(ctx)
    case 'pad/update': return updatePad(ctx)
    case 'pad/rename': return renamePad(ctx)
    case 'pad/archive': return archivePad(ctx)
    case 'bridge/allow':
    case 'bridge/revoke': return changeBridgeAllowlist(ctx)
    case 'bridge/post': return postBridged(ctx)
    case 'bridge/register':
    case 'bridge/unregister': return registerBridge(ctx)
  }
}
