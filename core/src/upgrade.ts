/**
 * A log that a newer Solidar moved on to rules this code does not know (rules.ts) stops at that
 * entry on this node: `apply` calls Autobase's `host.interrupt`, which ends applying without
 * taking in the entry (nor anything after it in the order) and without closing the base. So:
 * - every node of this version stops at the same entry of the same order: it never derives a
 *   state the newer nodes do not have (skipping the entry would; members would not know);
 * - what came before stays readable (the view is kept), writes are refused (UPGRADE_REQUIRED);
 * - on every restart with this code apply meets the entry again and stops again; with code that
 *   knows the rules it applies it and everything after it: nothing to rebuild or migrate.
 * The stop is not recorded in the view (an interrupted apply writes nothing); `Group` keeps it.
 */
import type { UpgradeRequiredInfo } from './types.ts'

/** Why a log stopped: which entry (writer core and its length with the entry) needs which rules. */
export interface UpgradeNeed {
  code: 'UPGRADE_REQUIRED'
  /** The apply rules the entry moves the log to (this code knows up to `known`). */
  rules: number
  known: number
  /** The command that stopped the log (`group/rules`, or `group/create` of a log made under newer rules). */
  type: string
  /** Hex key of the writer core that holds the entry, and that core's length up to and with it. */
  writer: string
  length: number
}

/** Thrown inside apply by a handler that meets rules newer than the node knows (CURRENT_RULES); applyNodes turns it into an interrupt. */
export class UpgradeRequired extends Error {
  constructor (readonly rules: number, readonly known: number) { super(`needs apply rules ${rules}; this Solidar knows up to ${known}`) }
}

/** Stops apply at an entry that needs rules newer than this code's (only after the entry passed every other check). */
export function requireKnownRules (rules: number | undefined, known: number): void {
  if (rules !== undefined && rules > known) throw new UpgradeRequired(rules, known)
}

export function upgradeNeed (err: UpgradeRequired, type: string, writer: string, length: number): UpgradeNeed {
  return { code: 'UPGRADE_REQUIRED', rules: err.rules, known: err.known, type, writer, length }
}

/** The need that Autobase hands back with its 'interrupt' event, or null for an interrupt of another kind. */
export function asUpgradeNeed (reason: unknown): UpgradeNeed | null {
  return typeof reason === 'object' && reason !== null && (reason as UpgradeNeed).code === 'UPGRADE_REQUIRED' ? reason as UpgradeNeed : null
}

/** The `upgradeRequired` field of a group in `status` and the group list (absent while the log applies). */
export function upgradeOf (group: { upgradeRequired: UpgradeNeed | null }): { upgradeRequired?: UpgradeRequiredInfo } {
  const need = group.upgradeRequired
  return need ? { upgradeRequired: { rules: need.rules, known: need.known } } : {}
}
