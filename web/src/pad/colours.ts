/**
 * Caret colours of the people in a pad. Each is a 6-digit hex colour (the form the Yjs caret
 * plugin takes; anything else it logs as "unsupported color format") that style.css draws
 * as the class `c<index>` (the CSP allows no inline styles). Colours are given by the tab
 * (sync.ts), never taken from what a peer claims: every member present gets their own, in
 * the order of member ids, so tabs that see the same people show the same colours.
 */
export const PALETTE = ['#b3123a', '#0b57d0', '#1d6b34', '#7a3db8', '#8a4b00', '#00707a', '#b0008a', '#444444'] as const

/** The class index (`c0` … `c7`) of a caret colour; an unknown value gets the first. */
export function colourClass (colour: unknown): number {
  const i = PALETTE.indexOf(colour as typeof PALETTE[number])
  return i < 0 ? 0 : i
}

/** Colours for the members present (ids), distinct as long as there are no more than PALETTE has. */
export function coloursOf (members: Iterable<string>): Map<string, string> {
  const sorted = [...new Set(members)].sort()
  return new Map(sorted.map((m, i) => [m, PALETTE[i % PALETTE.length]]))
}

/** A colour for oneself before anyone else is present (others colour us themselves). */
export function ownColour (member: string): string {
  let h = 0
  for (let i = 0; i < member.length; i++) h = (h * 31 + member.charCodeAt(i)) >>> 0
  return PALETTE[h % PALETTE.length]
}
