/**
 * What a node learns from its own apply runs, beside the view (which stays the only state
 * peers share): whether members, devices, roles or keys may have changed (the membership stamp
 * that view caches follow, stamped-cache.ts), and what became of this device's own entries
 * (appendChecked asks right after its append, instead of reading the audit records back).
 * One per log (Group.watch).
 */
import type { Command } from './commands.ts'
import type { EntryOutcome } from './apply.ts'

/** Own entries whose outcome is remembered (appendChecked asks right after its append). */
const OWN_OUTCOMES = 1_024

/** Commands that never change members, their devices, roles or keys. */
const CONTENT_COMMANDS: ReadonlySet<string> = new Set<Command['t']>([
  'room/create', 'message/post', 'message/edit', 'message/delete', 'message/react',
  'pad/create', 'pad/update', 'pad/rename', 'pad/archive', 'bridge/post', 'dm/offer', 'dm/accept'
])

export class ApplyWatch {
  /** The writer (hex) of this device's entries in the log, once it has one. */
  readonly #local: () => string | null
  /** Commands applied here that may change members, devices, roles or keys, and reorders of the log. */
  #membership = 0
  /** Such a change was applied and Autobase has not yet said (its 'update') that the view holds it. */
  #unsettled = false
  /** This device's entries by length in its writer core: null applied, else why apply refused it. */
  readonly #own = new Map<number, string | null>()

  constructor (local: () => string | null) {
    this.#local = local
  }

  /**
   * Changes whenever members, their devices or roles, or the epoch keys may have changed (any
   * command applied but content; a reorder of the log); null from such a change until
   * Autobase's next 'update' (its view batch may not be readable before). What a cache read from
   * the view between two equal, non-null stamps still holds (stamped-cache.ts).
   */
  get membershipStamp (): number | null { return this.#unsettled ? null : this.#membership }

  /** Apply's word on one entry (applyNodes' `outcome`). */
  outcome (o: EntryOutcome): void {
    if (o.refused === null && !CONTENT_COMMANDS.has(o.type)) this.#moved()
    if (o.writer !== this.#local()) return
    this.#own.delete(o.length) // applied again after a reorder: the latest word counts, kept as the newest
    this.#own.set(o.length, o.refused)
    if (this.#own.size > OWN_OUTCOMES) this.#own.delete(this.#own.keys().next().value!)
  }

  /** The view's tail was truncated (a reorder): a member record may have gone back with it. */
  truncated (): void { this.#moved() }

  /** Autobase emitted 'update': what it applied is in the view. */
  settled (): void { this.#unsettled = false }

  /**
   * Whether apply refused this device's entry at `length` of its writer core (why), applied it
   * (null), or is not known here (undefined: not applied yet, or long ago).
   */
  ownOutcome (length: number): string | null | undefined {
    return this.#own.get(length)
  }

  #moved (): void {
    this.#membership++
    this.#unsettled = true
  }
}
