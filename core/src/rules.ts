/**
 * Which rules a log's `apply` follows. Every peer must compute the same state from the same
 * entries, also a device that applies an old log from scratch years later; so a rule that would
 * judge an existing entry differently cannot simply change. It takes effect from a point in the
 * log instead: the rules version in the group meta, set by `group/create` (new logs) or raised
 * by an admin's `group/rules` entry (existing logs, written by the first admin node that runs
 * newer code). Entries before that point are judged by the rules they were written under.
 *
 * A new format version of a command, or a new command (commands.ts `COMMAND_VERSIONS`), comes
 * with a new rules version that allows it. A node that meets a raise beyond CURRENT_RULES stops
 * that log at the raise until it is upgraded (upgrade.ts; docs/PROTOCOL.md, "Versions").
 *
 * 1: the rules before versioning (no `rules` field).
 * 2: only the group's registered bridge writes `bridge/post` in a group; an invite admits only
 *    while its issuer is an admin on the issuing device (removal, leave, demotion or revoking
 *    that device ends it).
 * 3: epoch keys are named by key id (`epoch/rotate` `id`, newcomers' boxes `id`) and an admin may
 *    seal a key of an epoch to a current device that lacks it (`epoch/grant`); apply-epochs.ts.
 * 4: reactions (`message/react`, one per member and message; apply-messages.ts); names in clear
 *    or sealed are limited by their UTF-8 size (512 bytes) instead of 64 UTF-16 units (commands.ts).
 */
import type { GroupMeta } from './view.ts'

/** The rules this code applies to new logs and raises old ones to. */
export const CURRENT_RULES = 4
/** Higher numbers are refused in entries (a typo or a hostile value cannot jump far ahead). */
export const MAX_RULES = 64

/** The rules version in force in a log (1 when the meta predates versioning). */
export function rulesOf (meta: Pick<GroupMeta, 'rules'>): number {
  return meta.rules ?? 1
}
