/**
 * A node:test reporter that prints, after a run, each test file's time: the sum of its
 * top-level tests' durations (the file's own work, without the process start), how many
 * top-level tests it has and how many failed, slowest first. `npm run test:unit` and
 * `test:integration` run it next to the TAP reporter, so CI shows where the suite's time goes.
 */
import path from 'node:path'

// Plain JavaScript: node loads reporters before tsx's hooks are registered.

/** @param {AsyncIterable<{ type: string, data: { file?: string, nesting: number, details?: { duration_ms?: number } } }>} source */
export default async function * fileTimes (source) {
  const started = Date.now()
  /** @type {Map<string, { ms: number, tests: number, failed: number }>} */
  const files = new Map()
  for await (const event of source) {
    if (event.type !== 'test:pass' && event.type !== 'test:fail') continue
    if (event.data.nesting !== 0 || event.data.file === undefined) continue
    const entry = files.get(event.data.file) ?? { ms: 0, tests: 0, failed: 0 }
    entry.ms += event.data.details?.duration_ms ?? 0
    entry.tests++
    if (event.type === 'test:fail') entry.failed++
    files.set(event.data.file, entry)
  }
  const rows = [...files].sort((a, b) => b[1].ms - a[1].ms)
  const total = rows.reduce((sum, [, t]) => sum + t.ms, 0)
  const lines = ['', `# time per test file (sum of its top-level tests; ${rows.length} files, ${(total / 1000).toFixed(1)} s in all, ${((Date.now() - started) / 1000).toFixed(1)} s of wall time)`]
  for (const [file, t] of rows) {
    lines.push(`# ${(t.ms / 1000).toFixed(1).padStart(7)} s  ${path.relative(process.cwd(), file)}  (${t.tests} tests${t.failed > 0 ? `, ${t.failed} failed` : ''})`)
  }
  yield lines.join('\n') + '\n'
}
