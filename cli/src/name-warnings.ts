/**
 * Warnings about members' names for the views that show them (`members`, `log`): a key
 * that changed under a verified name (or a name that looks the same), and members whose
 * names look alike (core/src/names.ts decides; the node reports it in `members`).
 */
import type { MemberView } from '@solidar/core'
import { revealName } from '@solidar/core/names'
import { sanitize } from './output.ts'

/** The short mark put next to a name: `!!` key changed, `≈` looks like another member's name. */
export function nameMark (m: Pick<MemberView, 'keyChanged' | 'lookAlike'>): string | null {
  if (m.keyChanged === true) return '!! KEY CHANGED'
  if (m.lookAlike !== undefined && m.lookAlike.length > 0) return '!! LOOK-ALIKE'
  return null
}

/** A name for a warning line: terminal-safe, with look-alike and invisible characters shown as <U+XXXX>. */
export function shownName (name: string): string {
  return sanitize(revealName(name))
}

/** The warning lines under a member list (or a log): one per changed key, one per set of look-alike names. */
export function nameWarningLines (members: MemberView[]): string[] {
  const lines: string[] = []
  for (const m of members.filter((x) => x.keyChanged === true)) {
    const shown = shownName(m.name)
    lines.push(shown === sanitize(m.name)
      ? `!! KEY CHANGED: ${shown} was verified with another key; this is ${m.id}.`
      : `!! KEY CHANGED: ${shown} looks like the name of a member you verified with another key; this is ${m.id}.`)
    lines.push(`!! It may be a new device or an impostor: compare the safety number (solidar verify ${m.id}) before you trust it.`)
  }
  const byId = new Map(members.map((m) => [m.id as string, m]))
  const seen = new Set<string>()
  for (const m of members) {
    if (m.lookAlike === undefined || m.lookAlike.length === 0) continue
    const ids = [m.id as string, ...m.lookAlike].sort()
    const key = ids.join(' ')
    if (seen.has(key)) continue
    seen.add(key)
    const names = ids.map((id) => `${shownName(byId.get(id)?.name ?? '?')} (${id})`).join(', ')
    lines.push(`!! LOOK-ALIKE: ${names} have names that look the same; tell them apart by id, and compare safety numbers (solidar verify ID).`)
  }
  return lines
}
