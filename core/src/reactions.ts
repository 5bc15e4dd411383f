/**
 * Reactions to messages (rules 4): one emoji per member and message, the latest counts; taking
 * it back seals ''. Apply stores them sealed and never looks inside (apply-messages.ts); what a
 * reaction may be is decided here, when a local user gives one and when one is read: something
 * that is not a single emoji is refused on the way in and not shown on the way out.
 */
import b4a from 'b4a'
import type { Keyring } from './content.ts'
import { errors } from './errors.ts'
import type { MemberId } from './types.ts'

/** Bytes of the longest emoji taken (family and flag sequences are 25–28). */
export const MAX_REACTION = 32

const segmenter = new Intl.Segmenter(undefined, { granularity: 'grapheme' })
// A pictograph (with its modifiers, variation selectors and joiners), a flag, or a keycap.
const EMOJI = /^(?:\p{Extended_Pictographic}|\p{Regional_Indicator}{2}|[0-9#*]\uFE0F?\u20E3)/u

/** Whether `s` is exactly one emoji as a user sees it (one grapheme). */
export function isReaction (s: string): boolean {
  if (s.length === 0 || b4a.byteLength(s) > MAX_REACTION) return false
  const graphemes = [...segmenter.segment(s)]
  return graphemes.length === 1 && EMOJI.test(s)
}

/** A reaction a local user gives: one emoji (BAD_REQUEST otherwise), NFC-normalised. */
export function checkReaction (input: unknown): string {
  const s = typeof input === 'string' ? input.trim().normalize('NFC') : ''
  if (!isReaction(s)) throw errors.badRequest('A reaction is one emoji, for example 👍')
  return s
}

/** The reactions to one message as readers see them: each emoji with who gave it, most given first. */
export interface ReactionView { emoji: string, members: MemberId[] }

/**
 * Groups members' latest reactions (opened with `keyring`) by emoji: most members first, then
 * the emoji given first. Taken-back, unreadable and invalid reactions are left out.
 */
export function groupReactions (records: Array<{ member: MemberId, body: Parameters<Keyring['open']>[0], ts: number }>, keyring: Keyring): ReactionView[] {
  const by = new Map<string, { members: MemberId[], first: number }>()
  for (const r of records) {
    const plain = keyring.open(r.body, 'reaction')
    if (plain === null) continue
    const emoji = b4a.toString(plain)
    if (!isReaction(emoji)) continue
    const slot = by.get(emoji)
    if (slot) {
      slot.members.push(r.member)
      slot.first = Math.min(slot.first, r.ts)
    } else {
      by.set(emoji, { members: [r.member], first: r.ts })
    }
  }
  return [...by.entries()]
    .sort(([, a], [, b]) => b.members.length - a.members.length || a.first - b.first)
    .map(([emoji, { members }]) => ({ emoji, members }))
}
