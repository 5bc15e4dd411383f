/**
 * The one place where a log's state changes. Every peer runs the same `applyNodes`
 * over the same linearized log and gets the same view. It never throws on bad input:
 * an entry that is malformed or that its author had no right to write is recorded in
 * the audit range with the reason, and skipped (its partial writes rolled back).
 * The handlers live in apply-membership.ts and apply-messages.ts.
 * One exception: an entry that moves the log to apply rules newer than this code knows stops
 * applying at that entry, on every node of this version alike (upgrade.ts).
 */
import b4a from 'b4a'
import { parseCommand, type Command } from './commands.ts'
import { Reject, reject, type ApplyContext, type ApplyHost } from './apply-context.ts'
import { addDevice, addMember, createGroup, leaveGroup, removeMember, raiseRules, renameGroup, revokeDevice, setRole } from './apply-membership.ts'
import { grantEpochKey, rotateEpoch } from './apply-epochs.ts'
import { recordVaultLog, recordVaultWriter } from './apply-vault.ts'
import { createInvite, revokeInvite } from './apply-invites.ts'
import { changeMessage, createRoom, postMessage, reactToMessage, storeDmSignal } from './apply-messages.ts'
import { archivePad, createPad, renamePad, updatePad } from './pads/apply.ts'
import { changeBridgeAllowlist, postBridged, registerBridge } from './apply-bridge.ts'
import { UpgradeRequired, upgradeNeed } from './upgrade.ts'
import { CURRENT_RULES, rulesOf } from './rules.ts'
import { K, ViewTx, type Bee, type GroupMeta, type MemberRecord } from './view.ts'

export { DEFAULT_ROOM, DM_ROOM, type ApplyHost } from './apply-context.ts'

/** `length`: the writer core's length up to and with this entry (Autobase gives it; tests may not). */
export interface LogNode { value: Uint8Array | null, from: { key: Buffer }, length?: number }

/** What became of one entry, for the node's own bookkeeping (never part of the view's state). */
export interface EntryOutcome {
  /** The writer (hex) and the entry's length in its core (1-based). */
  writer: string
  length: number
  type: string
  /** Why apply refused it (as in its audit record), or null when it was applied. */
  refused: string | null
}

/**
 * `knownRules`: the newest apply rules this node follows (rules.ts); only tests playing a newer
 * Solidar set it higher. `outcome`: told of each entry applied or refused, before the batch is
 * flushed to the view: hints for the node (caches, and whether its own append went through) that
 * are never part of the view.
 */
export async function applyNodes (nodes: LogNode[], bee: Bee, host: ApplyHost, bootstrapKey: Buffer, knownRules = CURRENT_RULES, outcome?: (o: EntryOutcome) => void): Promise<void> {
  const tx = new ViewTx(bee)
  // The rules in force decide some limits while parsing (names: commands.ts MAX_NAME_BYTES);
  // read again after an entry that may change them.
  let rules: number | null = null
  for (const node of nodes) {
    if (node.value === null) continue // autobase ack
    const writer = b4a.toString(node.from.key, 'hex') as string
    rules ??= rulesOf((await tx.get<GroupMeta>(K.meta)) ?? {})
    const parsed = parseCommand(node.value, { rules })
    if (parsed.ok && (parsed.cmd.t === 'group/create' || parsed.cmd.t === 'group/rules')) rules = null
    if (!parsed.ok) {
      // Also a newer format (`parsed.newer`): under rules this node knows no honest node writes
      // one, since a newer node raises the rules first, and that raise stops the log here.
      await audit(tx, writer, parsed.type, parsed.reason)
      outcome?.({ writer, length: node.length ?? 0, type: parsed.type, refused: parsed.reason })
      continue
    }
    tx.begin()
    try {
      await applyCommand(tx, parsed.cmd, node.from.key, writer, host, bootstrapKey, knownRules)
      outcome?.({ writer, length: node.length ?? 0, type: parsed.cmd.t, refused: null })
    } catch (err) {
      // Nothing of this call is flushed: Autobase applies the whole batch again after an upgrade.
      if (err instanceof UpgradeRequired) host.interrupt(upgradeNeed(err, parsed.cmd.t, writer, node.length ?? 0))
      if (!(err instanceof Reject)) throw err // storage failure: not the entry's fault
      tx.rollback()
      await audit(tx, writer, parsed.cmd.t, err.message)
      outcome?.({ writer, length: node.length ?? 0, type: parsed.cmd.t, refused: err.message })
    }
  }
  await tx.flush()
}

async function audit (tx: ViewTx, writer: string, type: string, reason: string) {
  const n = await tx.next('audit')
  tx.put(K.audit(n), { n, writer, type, reason })
}

async function applyCommand (tx: ViewTx, cmd: Command, writerKey: Buffer, writer: string, host: ApplyHost, bootstrapKey: Buffer, knownRules: number) {
  const meta = await tx.get<GroupMeta>(K.meta)
  if (cmd.t === 'group/create') return createGroup(tx, cmd, meta, writerKey, writer, bootstrapKey, knownRules)
  if (!meta) return reject('group not created yet')

  const link = await tx.get<{ member: string }>(K.writer(writer))
  const author = link ? await tx.get<MemberRecord>(K.member(link.member)) : null
  // The member's current writers only: a writer removed from a member (an old device of a member
  // who was removed and admitted again) stays out even though its writer link still names them.
  if (!author || author.left || !author.writers.includes(writer)) return reject('writer is not a member')

  const ctx: ApplyContext<any> = { tx, cmd, host, bootstrapKey, writerKey, writer, meta, author, knownRules }
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
    case 'message/react': return reactToMessage(ctx)
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
