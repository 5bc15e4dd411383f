/**
 * Writes the Markdown summary of a benchmark report again from its JSON (after the report's
 * format changed, without measuring again):
 *   node --import tsx bench/render.ts bench/results/latest.json   → bench/results/latest.md
 */
import fs from 'node:fs'
import { markdown, type Report } from './lib/report.ts'

const file = process.argv[2]
if (!file?.endsWith('.json')) {
  console.error('usage: node --import tsx bench/render.ts bench/results/NAME.json')
  process.exit(64)
}
// writeReport stores Infinity and NaN as strings (JSON has no such numbers).
const report: Report = JSON.parse(fs.readFileSync(file, 'utf8'), (_, v) => v === 'Infinity' ? Infinity : v === '-Infinity' ? -Infinity : v === 'NaN' ? NaN : v)
fs.writeFileSync(file.replace(/\.json$/, '.md'), markdown(report) + '\n')
console.log(`wrote ${file.replace(/\.json$/, '.md')}`)
