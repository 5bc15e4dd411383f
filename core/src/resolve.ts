/**
 * The one resolver for what users type to name a group, a member or a pad: an id, else a name
 * that matches exactly one candidate. Names compare by `nameKey` — trimmed, Unicode NFC, case
 * folded — everywhere (core, node API, CLI, relay), so "works council" finds "Works council"
 * in every command and in the event filter of `log --follow`.
 */

/** The form two names are compared in: trimmed, NFC, lower case. */
export function nameKey (name: string): string {
  return name.trim().normalize('NFC').toLowerCase()
}

/** Whether `name` is what `ref` names. */
export function nameMatches (name: string, ref: string): boolean {
  return nameKey(name) === nameKey(ref)
}

export interface ResolveRules<T> {
  /** The candidate `ref` names by id (an exact id match wins over names), or undefined. */
  byId?: (ref: string) => T | undefined
  /** A candidate's name as users see it. */
  name: (candidate: T) => string
  /** Candidates with equal identity are one (a member listed once per shared group). */
  identity?: (candidate: T) => string
  /** Among several equal names, prefer these (e.g. pads that are not archived), if any. */
  prefer?: (candidate: T) => boolean
  notFound: (ref: string) => Error
  ambiguous: (ref: string, matches: T[]) => Error
  /** For a blank reference. */
  missing: () => Error
}

/** The single candidate `ref` names: by id, else by name; throws the rules' errors otherwise. */
export function resolveOne<T> (candidates: Iterable<T>, ref: unknown, rules: ResolveRules<T>): T {
  if (typeof ref !== 'string' || ref.trim() === '') throw rules.missing()
  const text = ref.trim()
  const byId = rules.byId?.(text)
  if (byId !== undefined) return byId
  let matches = [...candidates].filter(c => nameMatches(rules.name(c), text))
  const identity = rules.identity
  if (identity !== undefined) matches = [...new Map(matches.map(c => [identity(c), c])).values()]
  if (matches.length > 1 && rules.prefer !== undefined && matches.some(rules.prefer)) matches = matches.filter(rules.prefer)
  if (matches.length === 1) return matches[0]
  if (matches.length > 1) throw rules.ambiguous(text, matches)
  throw rules.notFound(text)
}
