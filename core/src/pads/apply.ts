/**
 * Apply handlers for pads: validate, then write through the view transaction. They never
 * decode a Yjs update (bodies are sealed; apply stays deterministic and cheap): an update
 * is stored under its pad with the next seq and a chain hash (records.ts).
 * Members and admins write; observers only read. Updates to an archived pad are still
 * accepted: a member who edited offline must not lose acknowledged edits.
 */
import type { PadArchive, PadCreate, PadRename, PadUpdate } from '../commands.ts'
import type { Sealed } from '../content.ts'
import { currentEpoch, reject, requireWriter, type ApplyContext } from '../apply-context.ts'
import type { ViewTx } from '../view.ts'
import { chain, PK, ZERO_HEAD, type PadChangeKind, type PadRecord, type PadUpdateRecord } from './records.ts'

async function feed (ctx: ApplyContext, pad: string, change: PadChangeKind, seq?: number): Promise<void> {
  const n = ((await ctx.tx.get<number>(PK.feedCounter)) ?? 0) + 1
  ctx.tx.put(PK.feedCounter, n)
  ctx.tx.put(PK.feed(n), seq === undefined ? { pad, change, by: ctx.author.id } : { pad, change, by: ctx.author.id, seq })
}

async function checkEpoch (tx: ViewTx, sealed: Sealed): Promise<void> {
  // An older epoch is accepted: its author may not have seen the rotation yet (see SECURITY.md).
  if (sealed.e > await currentEpoch(tx)) reject('sealed under an epoch that does not exist')
}

async function existing (ctx: ApplyContext<PadUpdate | PadRename | PadArchive>): Promise<PadRecord> {
  requireWriter(ctx)
  const pad = await ctx.tx.get<PadRecord>(PK.pad(ctx.cmd.pad))
  return pad ?? reject('no such pad')
}

export async function createPad (ctx: ApplyContext<PadCreate>) {
  const { tx, cmd } = ctx
  requireWriter(ctx)
  if (ctx.meta.kind !== 'group') reject('no pads in a direct conversation')
  if (await tx.get(PK.pad(cmd.id))) reject('pad id exists')
  await checkEpoch(tx, cmd.title)
  const pad: PadRecord = { id: cmd.id, title: cmd.title, createdBy: ctx.author.id, ts: cmd.ts, updates: 0, archived: false, changedTs: cmd.ts }
  tx.put(PK.pad(cmd.id), pad)
  await feed(ctx, cmd.id, 'created')
}

export async function updatePad (ctx: ApplyContext<PadUpdate>) {
  const { tx, cmd } = ctx
  const pad = await existing(ctx)
  await checkEpoch(tx, cmd.body)
  const seq = pad.updates + 1
  const h = chain(pad.head ?? ZERO_HEAD, cmd.body)
  const record: PadUpdateRecord = { seq, author: ctx.author.id, body: cmd.body, ts: cmd.ts, h }
  tx.put(PK.update(pad.id, seq), record)
  tx.put(PK.pad(pad.id), { ...pad, updates: seq, head: h, changedTs: cmd.ts })
  await feed(ctx, pad.id, 'updated', seq)
}

export async function renamePad (ctx: ApplyContext<PadRename>) {
  const { tx, cmd } = ctx
  const pad = await existing(ctx)
  await checkEpoch(tx, cmd.title)
  tx.put(PK.pad(pad.id), { ...pad, title: cmd.title, changedTs: cmd.ts })
  await feed(ctx, pad.id, 'renamed')
}

export async function archivePad (ctx: ApplyContext<PadArchive>) {
  const { tx, cmd } = ctx
  const pad = await existing(ctx)
  if (pad.archived === cmd.archived) reject(cmd.archived ? 'pad is archived already' : 'pad is not archived')
  tx.put(PK.pad(pad.id), { ...pad, archived: cmd.archived, changedTs: cmd.ts })
  await feed(ctx, pad.id, cmd.archived ? 'archived' : 'unarchived')
}
