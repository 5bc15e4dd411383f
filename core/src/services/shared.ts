/**
 * What the node's services (core/src/services/) share: the `OpenLog` every one of them works
 * on, the lookups of the log set, and small helpers that need no state.
 */
import b4a from 'b4a'
import type { Keyring } from '../content.ts'
import type { EpochGrants } from '../epoch-grants.ts'
import { errors } from '../errors.ts'
import type { Group } from '../group.ts'
import type { Identity } from '../identity.ts'
import type { LogRecord } from '../registry.ts'
import type { MemberId } from '../types.ts'
import { encodeKey } from '../ids.ts'

/**
 * `boxes`: for each epoch key in the keyring (`epoch` or `epoch!alternate`), the box (hex) it was opened from.
 * `emitted`: the message versions events went out for lately, so a reorder that applies them again repeats none.
 */
export interface OpenLog { record: LogRecord, group: Group, lastChange: number, keyring: Keyring, boxes: Map<string, string>, rotation: Promise<void>, emitted: Set<string>, grants: EpochGrants }

/** A command as `Group.append` takes it. */
export type Entry = Parameters<Group['append']>[0]

/**
 * What a service does with the logs' updates (the log set's update loop, log-set.ts, calls
 * every service in one list, in order, each isolated from the others' failures).
 */
export interface LogService {
  /** Autobase reordered the log's tail and kept its first `cut` view blocks: go back to there. */
  rewind? (log: OpenLog, cut: number): Promise<void>
  /** After each update of the log. */
  onUpdate? (log: OpenLog): Promise<void>
}

/** Read-only lookups in the open logs (implemented by LogSet). */
export interface LogIndex {
  /** Every open log (groups, DMs, the vault, and groups being left). */
  all (): OpenLog[]
  get (key: string): OpenLog | undefined
  /** The groups of this device (not those it is leaving, see leaveGroup). */
  groupLogs (): OpenLog[]
  /** The DM logs with `peer` (hex). */
  dmLogs (peer: string): OpenLog[]
  /** The member's vault (devices.ts), if this device has one. */
  vault (): OpenLog | null
}

export const hex = (b: Uint8Array): string => b4a.toString(b, 'hex')
export const z32OfHex = (h: string): MemberId => encodeKey(b4a.from(h, 'hex')) as MemberId

/** Audit records appendChecked looks back through when apply's own word on an entry is missing. */
const AUDIT_LOOKBACK = 64

/** Appends and reports what apply said about it, so a rejected entry is an error, not silence. */
export async function appendChecked (group: Group, cmd: Entry): Promise<void> {
  // What apply made of the entry, as apply itself told (Group.ownOutcome): no view read. Not
  // known (it should be: a local append is applied before `append` returns): the newest audit records.
  const length = await group.append(cmd)
  const outcome = group.ownOutcome(length)
  if (outcome === null) return
  if (typeof outcome === 'string') throw errors.notPermitted(`The group refused this ${cmd.t}: ${outcome}`)
  const recent = await group.audit(Math.max(0, (await group.auditCount()) - AUDIT_LOOKBACK))
  const mine = recent.reverse().find(a => a.writer === hex(group.localWriterKey) && a.type === cmd.t)
  if (mine) throw errors.notPermitted(`The group refused this ${cmd.t}: ${mine.reason}`)
}

/** `device` and `cert` for entries signed by a linked (not first) device. */
export function deviceFields (identity: Identity): { device?: Buffer, cert?: Buffer } {
  return identity.member ? { device: identity.publicKey, cert: identity.cert } : {}
}

export const sleep = (ms: number) => new Promise(resolve => setTimeout(resolve, ms))

/** True once `p` resolves, false if it has not after `ms`; rejects as `p` does. */
export async function resolvesWithin (p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined
  try {
    const resolved = p.then(() => true)
    resolved.catch(() => {}) // rejecting after the time is up is nobody's business (no unhandled rejection)
    return await Promise.race([resolved, new Promise<boolean>((resolve) => { timer = setTimeout(() => resolve(false), ms) })])
  } finally {
    clearTimeout(timer)
  }
}
