/**
 * Room nicknames that cannot be mistaken for someone else's. A Jabber user may not take a
 * nickname that looks like a member's (their display name or room nick) or like another
 * occupant's: `аlice` with a Cyrillic а, `alice` with a zero-width space or in fullwidth
 * letters all look like `alice` (core/src/names.ts, the same rule that drives KEY CHANGED
 * and the look-alike warnings). Members whose names look alike get their id in the
 * nickname, as members with one name always did.
 */
import { lookAlikes, nameKeys, type MemberView } from '@solidar/core'
import type { Occupant } from './state.ts'

/** Who already holds a nickname that looks like the requested one, or null. */
export type NickHolder = { kind: 'member', nick: string } | { kind: 'occupant', nick: string }

/**
 * The holder of a nickname that looks like `nick`: a member (by display name or room
 * nick) first, then another occupant of the room (`jid`'s own entry does not count, so
 * an occupant may change the case of their own nick).
 */
export function nickHolder (
  nick: string,
  members: Iterable<{ member: Pick<MemberView, 'name'>, nick: string }>,
  occupants: readonly Occupant[],
  jid: string
): NickHolder | null {
  const keys = new Set(nameKeys(nick))
  const alike = (name: string) => nameKeys(name).some(k => keys.has(k))
  for (const x of members) {
    if (alike(x.nick) || alike(x.member.name)) return { kind: 'member', nick: x.nick }
  }
  const other = occupants.find(o => o.jid !== jid && alike(o.nick))
  return other !== undefined ? { kind: 'occupant', nick: other.nick } : null
}

/** The members whose names look like another member's: their nicknames carry their id. */
export function membersNeedingIds (members: ReadonlyArray<{ id: string, name: string }>): Set<string> {
  return new Set(lookAlikes(members).keys())
}
