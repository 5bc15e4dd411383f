/**
 * Look-alike names: when two display names or nicknames would look the same to a person.
 *
 * The one place that decides it, used by key verification (KEY CHANGED, look-alike
 * members) and by the XMPP bridge (room nicknames). Built on the confusable skeleton of
 * Unicode Technical Standard #39 (section 4, "Confusable Detection"):
 *
 *   skeleton(X) = NFD(map(NFD(X) without Default_Ignorable_Code_Point))
 *
 * where `map` replaces each character by its prototype from Unicode's confusables.txt
 * (the data and the mapping come from the `unhomoglyph` package, MIT, generated from
 * confusables.txt 13.0.0 and shipped inside the package: it works offline). Before that
 * the name is NFKC-normalized (fullwidth and other compatibility forms become plain
 * letters) and case-folded, as UTS #39 suggests for case-insensitive identifiers.
 *
 * Two refinements on top of the standard, both to catch more look-alikes, never fewer:
 * - Mapping and folding repeat until nothing changes, since a prototype may be an
 *   upper-case letter (`ꓮ` → `A`) and a folded letter may have a prototype (`M` → `m` → `rn`).
 * - A name has two keys: one folds case before mapping (`Alice` ~ `alice`), the other maps
 *   first (`I`, capital i, → `l`, so `nodeI` ~ `nodel`, which folding first would lose as
 *   `nodei`). Two names look alike when they share either key.
 * Runs of white space count as one space, and leading or trailing space is ignored.
 *
 * A key is a comparison value, not text to show: `m` becomes `rn`.
 */
import unhomoglyph from 'unhomoglyph'

/** Characters that render as nothing: zero-width (joiners), soft hyphen, bidi controls, variation selectors, tags… */
const DEFAULT_IGNORABLE = /\p{Default_Ignorable_Code_Point}/gu
const SPACES = /\s+/gu
/** Mapping and folding reach a fixed point after one or two rounds; the bound only guards against a cycle in the data. */
const MAX_ROUNDS = 4

/**
 * Full case folding, approximated with JavaScript's case mappings: upper-casing first
 * applies the special mappings (`ß` → `SS`, final `ς` → `Σ`), then lower-casing.
 */
function caseFold (s: string): string {
  return s.toUpperCase().toLowerCase()
}

/** Removes what renders as nothing and folds white space. */
function clean (s: string): string {
  return s.replace(DEFAULT_IGNORABLE, '').replace(SPACES, ' ').trim()
}

/** Prototype mapping and case folding, repeated until stable. */
function settle (s: string): string {
  let current = s
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const next = clean(caseFold(unhomoglyph(current.normalize('NFD')).normalize('NFD')))
    if (next === current) break
    current = next
  }
  return current
}

/** A name after NFKC, with default-ignorable characters removed and white space folded. */
function prepared (name: string): string {
  return clean(clean(String(name)).normalize('NFKC'))
}

/**
 * The confusable skeleton of a name (UTS #39 on the NFKC case-folded name): two names
 * with the same skeleton look the same, whatever scripts, widths, invisible characters
 * or letter case they are written in.
 */
export function nameSkeleton (name: string): string {
  return settle(caseFold(prepared(name)))
}

/**
 * Every key under which a name is compared: its skeleton, and the skeleton taken before
 * case folding (see the top of this file). Two names look alike when they share a key.
 */
export function nameKeys (name: string): string[] {
  const base = prepared(name)
  const keys = [settle(caseFold(base)), settle(base)]
  return keys[0] === keys[1] ? [keys[0]] : keys
}

/** True when the two names would look the same to a reader (see `nameKeys`). */
export function namesLookAlike (a: string, b: string): boolean {
  const keysOfA = nameKeys(a)
  return nameKeys(b).some(k => keysOfA.includes(k))
}

/**
 * For each entry, the ids of the OTHER entries whose names look alike; entries with no
 * look-alike are absent. Runs in time linear in the entries (one map per key).
 */
export function lookAlikes<Id> (entries: ReadonlyArray<{ id: Id, name: string }>): Map<Id, Id[]> {
  const byKey = new Map<string, Id[]>()
  const keysOf = entries.map(e => nameKeys(e.name))
  entries.forEach((e, i) => {
    for (const key of keysOf[i]) {
      const ids = byKey.get(key)
      if (ids === undefined) byKey.set(key, [e.id])
      else if (!ids.includes(e.id)) ids.push(e.id)
    }
  })
  const result = new Map<Id, Id[]>()
  entries.forEach((e, i) => {
    const others = new Set<Id>()
    for (const key of keysOf[i]) for (const id of byKey.get(key) ?? []) if (id !== e.id) others.add(id)
    if (others.size > 0) result.set(e.id, [...others])
  })
  return result
}

/**
 * The name with what disguises it made visible, for warnings: invisible characters and
 * characters that stand in for another one (a Cyrillic `а` for `a`, a fullwidth `Ａ`) as
 * `<U+0430>`. Plain letters, including ü or ß, stay as they are.
 */
export function revealName (name: string): string {
  let out = ''
  for (const ch of String(name)) {
    const code = ch.codePointAt(0)!
    const disguised = code > 0x7e && (/\p{Default_Ignorable_Code_Point}/u.test(ch) || ch.normalize('NFKC') !== ch || unhomoglyph(ch) !== ch)
    out += disguised ? `<U+${code.toString(16).toUpperCase().padStart(4, '0')}>` : ch
  }
  return out
}
