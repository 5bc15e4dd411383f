/**
 * Handlers for the XMPP bridge's entries: which member is the group's bridge (admins only),
 * the allowlist (admins only) and messages that Jabber users wrote, posted by the registered
 * bridge member with the sender's JID (core/src/bridge.ts, sealed-meta.ts).
 */
import b4a from 'b4a'
import type { BridgeAllow, BridgePost, BridgeRegister } from './commands.ts'
import { currentEpoch, reject, requireAdmin, type ApplyContext } from './apply-context.ts'
import { storeMessage } from './apply-messages.ts'
import { K, type BridgeAllowRecord, type BridgeMemberRecord, type SealedBridgeAllowRecord } from './view.ts'
import { rulesOf } from './rules.ts'

const hex = (b: Uint8Array) => b4a.toString(b, 'hex') as string

/**
 * An admin names (or stops naming) a member as the group's bridge. The member need not have
 * joined yet: an admin may register the bridge's id before it joins with an invite.
 */
export async function registerBridge (ctx: ApplyContext<BridgeRegister>) {
  const { tx, cmd } = ctx
  if (ctx.meta.kind !== 'group') reject('a bridge is registered in groups only')
  requireAdmin(ctx, 'register the group\'s bridge')
  const key = K.bridgeMember(hex(cmd.member))
  const existing = await tx.get<BridgeMemberRecord>(key)
  if (cmd.t === 'bridge/register') {
    if (existing) reject('already registered as the group\'s bridge')
    tx.put(key, { member: hex(cmd.member), by: ctx.author.id, ts: cmd.ts } satisfies BridgeMemberRecord)
  } else {
    if (!existing) reject('not registered as the group\'s bridge')
    tx.put(key, null)
  }
}

export async function changeBridgeAllowlist (ctx: ApplyContext<BridgeAllow>) {
  const { tx, cmd } = ctx
  if (ctx.meta.kind !== 'group') reject('the bridge allowlist exists in groups only')
  requireAdmin(ctx, 'change the bridge allowlist')
  if (cmd.tag) return changeSealedEntry(ctx, cmd.tag)
  const entry = cmd.entry!
  const existing = await tx.get<BridgeAllowRecord>(K.bridgeAllow(entry))
  if (cmd.t === 'bridge/allow') {
    if (existing) reject('already on the bridge allowlist')
    tx.put(K.bridgeAllow(entry), { entry, by: ctx.author.id, ts: cmd.ts } satisfies BridgeAllowRecord)
  } else {
    if (!existing) reject('not on the bridge allowlist')
    tx.put(K.bridgeAllow(entry), null)
  }
}

/**
 * A sealed entry, stored under its tag. Apply cannot see the entry: "already on the list"
 * holds only for the same entry sealed under the same epoch (equal tags). The admin's node
 * checks the opened list before it appends, so doubles come only from concurrent admins.
 */
async function changeSealedEntry (ctx: ApplyContext<BridgeAllow>, tag: Buffer) {
  const { tx, cmd } = ctx
  const key = K.bridgeTag(hex(tag))
  const existing = await tx.get<SealedBridgeAllowRecord>(key)
  if (cmd.t === 'bridge/allow') {
    if (existing) reject('already on the bridge allowlist')
    if (cmd.sealed!.e > await currentEpoch(tx)) reject('sealed under an epoch that does not exist')
    tx.put(key, { tag: hex(tag), sealed: cmd.sealed!, by: ctx.author.id, ts: cmd.ts } satisfies SealedBridgeAllowRecord)
  } else {
    if (!existing) reject('not on the bridge allowlist')
    tx.put(key, null)
  }
}

/**
 * A bridged message. In a group only a device of the registered bridge member writes one, and
 * the sender must be allowed when the entry is applied: by the JID or its domain in clear (older
 * entries), or, for a sealed sender, by the allowlist entry the post names (`allow`: a sealed
 * entry's tag, or an entry in clear). The bridge checks the opened JID against the list before
 * posting; apply makes every peer enforce that the named entry exists. A DM log has no
 * allowlist or registration of its own: its only other reader is the bridge itself.
 */
export async function postBridged (ctx: ApplyContext<BridgePost>) {
  const { tx, cmd } = ctx
  if (ctx.meta.kind === 'vault') reject('no messages in a vault')
  if (ctx.meta.kind === 'group') {
    // Rules 1 (rules.ts): any member could post bridged messages; entries of that time keep their outcome.
    if (rulesOf(ctx.meta) >= 2 && !(await tx.get(K.bridgeMember(ctx.author.id)))) reject('only the group\'s registered bridge posts bridged messages')
    if (!(await isAllowed(ctx))) reject('JID not on the bridge allowlist')
  }
  if (cmd.from) {
    if (cmd.from.e > await currentEpoch(tx)) reject('sealed under an epoch that does not exist')
    return storeMessage(ctx, cmd, undefined, cmd.from)
  }
  await storeMessage(ctx, cmd, { jid: cmd.jid!, ...(cmd.nick !== undefined ? { nick: cmd.nick } : {}) })
}

async function isAllowed ({ tx, cmd }: ApplyContext<BridgePost>): Promise<boolean> {
  if (cmd.from) {
    if (cmd.allow === undefined) return false
    if (typeof cmd.allow === 'string') return (await tx.get(K.bridgeAllow(cmd.allow))) !== null
    return (await tx.get(K.bridgeTag(hex(cmd.allow)))) !== null
  }
  const jid = cmd.jid!
  const domain = jid.slice(jid.indexOf('@') + 1)
  return (await tx.get(K.bridgeAllow(jid))) !== null || (await tx.get(K.bridgeAllow(domain))) !== null
}
