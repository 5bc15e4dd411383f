/**
 * Handlers for the XMPP bridge's entries: the allowlist (admins only) and messages that
 * Jabber users wrote, posted by the bridge member with the sender's JID (core/src/bridge.ts).
 */
import type { BridgeAllow, BridgePost } from './commands.ts'
import { reject, requireAdmin, type ApplyContext } from './apply-context.ts'
import { storeMessage } from './apply-messages.ts'
import { K, type BridgeAllowRecord } from './view.ts'

export async function changeBridgeAllowlist (ctx: ApplyContext<BridgeAllow>) {
  const { tx, cmd } = ctx
  if (ctx.meta.kind !== 'group') reject('the bridge allowlist exists in groups only')
  requireAdmin(ctx, 'change the bridge allowlist')
  const existing = await tx.get<BridgeAllowRecord>(K.bridgeAllow(cmd.entry))
  if (cmd.t === 'bridge/allow') {
    if (existing) reject('already on the bridge allowlist')
    tx.put(K.bridgeAllow(cmd.entry), { entry: cmd.entry, by: ctx.author.id, ts: cmd.ts } satisfies BridgeAllowRecord)
  } else {
    if (!existing) reject('not on the bridge allowlist')
    tx.put(K.bridgeAllow(cmd.entry), null)
  }
}

/**
 * A bridged message. In a group the sender's JID must be on the allowlist when the entry is
 * applied (the bridge checks before posting; this makes every peer enforce it). A DM log has
 * no allowlist of its own: there the bridge checks against the group it serves.
 */
export async function postBridged (ctx: ApplyContext<BridgePost>) {
  const { tx, cmd } = ctx
  if (ctx.meta.kind === 'vault') reject('no messages in a vault')
  if (ctx.meta.kind === 'group') {
    const domain = cmd.jid.slice(cmd.jid.indexOf('@') + 1)
    const allowed = (await tx.get(K.bridgeAllow(cmd.jid))) !== null || (await tx.get(K.bridgeAllow(domain))) !== null
    if (!allowed) reject('JID not on the bridge allowlist')
  }
  await storeMessage(ctx, cmd, { jid: cmd.jid, ...(cmd.nick !== undefined ? { nick: cmd.nick } : {}) })
}
