/**
 * What every command handler of `apply` gets, and the shared rejection mechanism.
 * A handler validates first, then writes through `tx`; calls to `host` (autobase's
 * writer set) come last, because a rejection rolls back `tx` but cannot undo them.
 */
import type { Command } from './commands.ts'
import { K, ViewTx, type GroupMeta, type MemberRecord } from './view.ts'

export interface ApplyHost {
  addWriter (key: Buffer, opts: { indexer: boolean }): Promise<void>
  removeWriter (key: Buffer): Promise<void>
  removeable (key: Buffer): boolean
  /** Ends applying before the current entry, which stays unapplied (upgrade.ts); throws. */
  interrupt (reason: unknown): never
  /** Autobase's system state: `indexers` are the active ones (pending ones are not listed). */
  readonly system: { readonly indexers: ReadonlyArray<{ key: Buffer }> }
}

export interface ApplyContext<C extends Command = Command> {
  tx: ViewTx
  cmd: C
  host: ApplyHost
  bootstrapKey: Buffer
  writerKey: Buffer
  /** hex of `writerKey` */
  writer: string
  meta: GroupMeta
  /** The member that owns the writer (never one that left). */
  author: MemberRecord
  /** The newest apply rules this node follows (CURRENT_RULES; higher only in tests playing a newer Solidar). */
  knownRules: number
}

export class Reject extends Error {}
export const reject = (reason: string): never => { throw new Reject(reason) }

export const DEFAULT_ROOM = 'general'
export const DM_ROOM = 'dm'

/** A current member (not one that left), or null. */
export async function activeMember (tx: ViewTx, hex: string): Promise<MemberRecord | null> {
  const m = await tx.get<MemberRecord>(K.member(hex))
  return m && !m.left ? m : null
}

export async function currentEpoch (tx: ViewTx): Promise<number> {
  return (await tx.get<number>(K.epoch)) ?? 0
}

/** Appends to the change feed that event listeners follow (new, edited, deleted messages). */
export async function changed (tx: ViewTx, seq: number): Promise<void> {
  tx.put(K.change(await tx.next('change')), seq)
}

export function requireAdmin (ctx: ApplyContext, what: string): void {
  if (ctx.author.role !== 'admin') reject(`only admins ${what}`)
}

export function requireWriter (ctx: ApplyContext): void {
  if (ctx.author.role === 'observer') reject('observers read but do not write')
}
