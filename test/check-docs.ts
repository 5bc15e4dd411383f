/**
 * The docs point at real files, and every security claim names its test.
 *
 * - Every source or test path the docs quote in backticks (`core/src/…`, `test/….test.ts`, …)
 *   exists: a renamed or deleted file makes the docs lie, and this says where.
 * - Every row of docs/SECURITY.md's tables that states a threat names, in its last column, at
 *   least one test file (`….test.ts`), and those exist ("every claim names the test that
 *   proves it").
 *
 *   node --import tsx test/check-docs.ts      (exit code 1 with the list when something is off)
 */
import fs from 'node:fs'
import path from 'node:path'
import { REPO_ROOT } from './helpers/cli.ts'

const DOCS = ['README.md', 'docs/ARCHITECTURE.md', 'docs/SECURITY.md', 'docs/RELIABILITY.md', 'docs/PROTOCOL.md', 'docs/DEPLOY.md', 'BENCHMARKS.md', 'patches/README.md']
const PATH = /`((?:core|node|relay|cli|web|test|bench|deploy)\/[A-Za-z0-9_./-]+\.(?:tsx?|cjs|mjs|js|json|md|service))`/g
const TEST = /((?:core|node|relay|cli|web|test|bench)\/[A-Za-z0-9_./-]+\.test\.tsx?)/g

const problems: string[] = []
for (const doc of DOCS) {
  const file = path.join(REPO_ROOT, doc)
  if (!fs.existsSync(file)) continue
  const lines = fs.readFileSync(file, 'utf8').split('\n')
  lines.forEach((line, i) => {
    for (const [, quoted] of line.matchAll(PATH)) {
      if (!fs.existsSync(path.join(REPO_ROOT, quoted))) problems.push(`${doc}:${i + 1}: \`${quoted}\` does not exist`)
    }
  })
  if (doc !== 'docs/SECURITY.md') continue
  lines.forEach((line, i) => {
    if (!line.startsWith('| ') || /^\|\s*-/.test(line)) return
    const cells = line.replace(/^\|/, '').replace(/\|\s*$/, '').split(' | ')
    if (cells.length < 3 || /^(threat|claim)$/i.test(cells[0].trim())) return // the header row
    const tests = [...cells[cells.length - 1].matchAll(TEST)].map((m) => m[1])
    if (tests.length === 0) problems.push(`docs/SECURITY.md:${i + 1}: the claim "${cells[0].trim().slice(0, 60)}…" names no test file`)
  })
}

if (problems.length > 0) {
  console.error(`docs: ${problems.length} problem(s):\n${problems.map((p) => `  ${p}`).join('\n')}`)
  process.exit(1)
}
console.log(`docs: every quoted path exists and every security claim names its test (${DOCS.filter((d) => fs.existsSync(path.join(REPO_ROOT, d))).join(', ')})`)
