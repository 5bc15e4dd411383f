/**
 * The few statistics the benchmarks report: percentiles from sorted samples (nearest
 * rank), the median over repeated runs, and ratios of figures taken in the same run.
 */

/** Sorted copy, ascending; NaN and infinities are kept out (callers count them separately). */
export function sorted (samples: readonly number[]): number[] {
  return samples.filter(Number.isFinite).sort((a, b) => a - b)
}

/**
 * Nearest-rank percentile of `sortedSamples` (already ascending): the smallest sample
 * with at least p% of the samples at or below it. p99 of fewer than 100 samples is the maximum.
 */
export function percentile (sortedSamples: readonly number[], p: number): number {
  const n = sortedSamples.length
  if (n === 0) return NaN
  if (p <= 0) return sortedSamples[0]
  const rank = Math.ceil((p / 100) * n)
  return sortedSamples[Math.min(n, Math.max(1, rank)) - 1]
}

export function median (values: readonly number[]): number {
  const s = sorted(values)
  const n = s.length
  if (n === 0) return NaN
  return n % 2 === 1 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2
}

export interface LatencySummary { n: number, p50: number, p99: number, max: number }

export function summarize (samples: readonly number[]): LatencySummary {
  const s = sorted(samples)
  return { n: s.length, p50: percentile(s, 50), p99: percentile(s, 99), max: s.length ? s[s.length - 1] : NaN }
}

/** a / b; NaN when either side is missing or b is 0. */
export function ratio (a: number, b: number): number {
  return Number.isFinite(a) && Number.isFinite(b) && b !== 0 ? a / b : NaN
}

/** The median of per-run summaries, field by field (each figure a median over runs). */
export function medianOfRuns (runs: readonly LatencySummary[]): LatencySummary {
  return {
    n: runs.reduce((sum, r) => sum + r.n, 0),
    p50: median(runs.map(r => r.p50)),
    p99: median(runs.map(r => r.p99)),
    max: Math.max(...runs.map(r => r.max))
  }
}
