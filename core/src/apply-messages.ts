/** Handlers for rooms, messages and DM signals. */
import type { DmSignal, MessageDelete, MessageEdit, MessagePost, MessageReact, RoomCreate } from './commands.ts'
import { changed, currentEpoch, reject, requireWriter, type ApplyContext } from './apply-context.ts'
import { rulesOf } from './rules.ts'
import { K, type MessageRecord, type ReactionRecord, type RoomRecord } from './view.ts'

/** The rules version from which `message/react` is accepted (rules.ts). */
export const REACTION_RULES = 4

export async function createRoom (ctx: ApplyContext<RoomCreate>) {
  const { tx, cmd } = ctx
  requireWriter(ctx)
  if (ctx.meta.kind !== 'group') reject('no rooms in a direct conversation')
  if (await tx.get(K.room(cmd.name))) reject('room exists')
  const room: RoomRecord = { name: cmd.name, createdBy: ctx.author.id, ts: cmd.ts }
  tx.put(K.room(cmd.name), room)
}

export async function postMessage (ctx: ApplyContext<MessagePost>) {
  await storeMessage(ctx, ctx.cmd)
}

/** Stores a new message (`message/post`, or `bridge/post` with its sender, in clear or sealed). */
export async function storeMessage (ctx: ApplyContext, cmd: Pick<MessagePost, 'id' | 'room' | 'body' | 'ts' | 'replyTo'>, bridged?: MessageRecord['bridged'], bridgedSealed?: MessageRecord['bridgedSealed']) {
  const { tx } = ctx
  requireWriter(ctx)
  if (!(await tx.get(K.room(cmd.room)))) reject('no such room')
  if ((await tx.get(K.messageId(cmd.id))) !== null) reject('duplicate message id')
  if (cmd.replyTo && (await tx.get(K.messageId(cmd.replyTo))) === null) reject('reply to an unknown message')
  // An older epoch is accepted: its author may not have seen the rotation yet (see SECURITY.md).
  if (cmd.body.e > await currentEpoch(tx)) reject('sealed under an epoch that does not exist')
  const seq = await tx.next('msg')
  const msg: MessageRecord = { seq, id: cmd.id, author: ctx.author.id, room: cmd.room, body: cmd.body, ts: cmd.ts }
  if (cmd.replyTo) msg.replyTo = cmd.replyTo
  if (bridged) msg.bridged = bridged
  if (bridgedSealed) msg.bridgedSealed = bridgedSealed
  tx.put(K.message(seq), msg)
  tx.put(K.roomIndex(cmd.room, seq), 0)
  tx.put(K.messageId(cmd.id), seq)
  await changed(tx, seq)
}

export async function changeMessage (ctx: ApplyContext<MessageEdit | MessageDelete>) {
  const { tx, cmd } = ctx
  requireWriter(ctx)
  const seq = await tx.get<number>(K.messageId(cmd.id))
  const msg = seq === null ? null : await tx.get<MessageRecord>(K.message(seq))
  if (!msg) return reject('no such message')
  if (msg.author !== ctx.author.id) reject('only the author edits or deletes a message')
  if (msg.deleted) reject('message is deleted')
  let next: MessageRecord
  if (cmd.t === 'message/edit') {
    if (cmd.body.e > await currentEpoch(tx)) reject('sealed under an epoch that does not exist')
    next = { ...msg, body: cmd.body, editedTs: cmd.ts }
  } else {
    next = { ...msg, deleted: true, editedTs: cmd.ts }
    delete next.body
  }
  tx.put(K.message(msg.seq), next)
  await changed(tx, msg.seq)
}

/**
 * A member's reaction to a message (rules 4): the latest one of each member counts. Under older
 * rules it is refused with the reason a node that does not know the type gives (commands.ts: a
 * new type is format 2), so the view is the same on both.
 */
export async function reactToMessage (ctx: ApplyContext<MessageReact>) {
  const { tx, cmd } = ctx
  if (rulesOf(ctx.meta) < REACTION_RULES) reject('unsupported version 2')
  requireWriter(ctx)
  const seq = await tx.get<number>(K.messageId(cmd.id))
  const msg = seq === null ? null : await tx.get<MessageRecord>(K.message(seq))
  if (!msg) return reject('no such message')
  if (msg.deleted) reject('message is deleted')
  if (cmd.body.e > await currentEpoch(tx)) reject('sealed under an epoch that does not exist')
  const reaction: ReactionRecord = { body: cmd.body, ts: cmd.ts }
  tx.put(K.reaction(msg.seq, ctx.author.id), reaction)
  tx.put(K.message(msg.seq), { ...msg, rx: (msg.rx ?? 0) + 1 })
  await changed(tx, msg.seq)
}

export async function storeDmSignal (ctx: ApplyContext<DmSignal>) {
  const { tx, cmd } = ctx
  requireWriter(ctx)
  if (ctx.meta.kind !== 'group') reject('dm signals travel in groups only')
  const n = await tx.next('dm')
  tx.put(K.dm(n), { n, t: cmd.t, from: ctx.author.id, box: cmd.box, ts: cmd.ts })
}
