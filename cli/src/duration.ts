/**
 * Durations on the command line: a number and a unit, e.g. `30s`, `10m`, `24h`, `7d`,
 * `1.5h`, `500ms`, `2w`. A bare number is refused: "10" could mean anything.
 */

const UNITS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000
}

/** Parses a duration to milliseconds; throws an Error with a readable message when invalid. */
export function parseDuration (input: string): number {
  const text = input.trim().toLowerCase()
  const match = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)$/.exec(text)
  if (match === null) {
    if (/^\d+(\.\d+)?$/.test(text)) {
      throw new Error(`"${input}" has no unit; write e.g. ${input}s, ${input}m, ${input}h or ${input}d`)
    }
    throw new Error(`"${input}" is not a duration; use a number and a unit (ms, s, m, h, d, w), e.g. 30s, 10m, 24h, 7d`)
  }
  const ms = Math.round(Number(match[1]) * UNITS[match[2]])
  if (!(ms > 0) || !Number.isSafeInteger(ms)) throw new Error(`"${input}" must be a positive duration`)
  return ms
}

/** Formats milliseconds compactly for messages, e.g. 90000 → "1m30s". */
export function formatDuration (ms: number): string {
  if (ms < 1000) return `${ms}ms`
  const parts: string[] = []
  let rest = Math.round(ms / 1000)
  for (const [unit, size] of [['d', 86400], ['h', 3600], ['m', 60], ['s', 1]] as const) {
    if (rest >= size) {
      parts.push(`${Math.floor(rest / size)}${unit}`)
      rest %= size
    }
  }
  return parts.join('')
}
