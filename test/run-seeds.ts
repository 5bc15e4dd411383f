/**
 * Runs a seeded reliability test file many times with fresh seeds, a few at once, bounded in
 * runs and minutes, and reports each seed's result (issue 16 item 5: the crash loop and the
 * partition schedule over hundreds of seeds, under load).
 *
 *   node --import tsx test/run-seeds.ts FILE [--runs N] [--parallel P] [--minutes M] [--out FILE.jsonl]
 *
 * Each run gets SOLIDAR_SEED set here (so every result names its seed) and its output kept in
 * test/artifacts/seeds/ when it fails, with its temp folders (homes, stores: TMPDIR of its own,
 * SOLIDAR_KEEP_TEMP=1) for a post-mortem; a passing run's are removed. Exit code 1 if any run failed. Stops starting runs once
 * the time is up and lets the running ones finish.
 */
import { spawn } from 'node:child_process'
import { randomInt } from 'node:crypto'
import { appendFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { REPO_ROOT } from './helpers/cli.ts'

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    runs: { type: 'string', default: '20' },
    parallel: { type: 'string', default: '2' },
    minutes: { type: 'string', default: '60' },
    out: { type: 'string' }
  }
})
const file = positionals[0]
const runs = Number(values.runs)
const parallel = Number(values.parallel)
const minutes = Number(values.minutes)
if (file === undefined || !(runs > 0) || !(parallel > 0) || !(minutes > 0)) {
  console.error('usage: run-seeds.ts FILE [--runs N] [--parallel P] [--minutes M] [--out FILE.jsonl]')
  process.exit(64)
}
const artifacts = path.join(REPO_ROOT, 'test', 'artifacts', 'seeds')
mkdirSync(artifacts, { recursive: true })
const deadline = Date.now() + minutes * 60_000

interface Result { file: string, seed: number, ok: boolean, ms: number, code: number | null }

function runOnce (seed: number): Promise<Result> {
  const started = Date.now()
  return new Promise((resolve) => {
    // Each run's temp folders (homes, stores) under a TMPDIR of its own, kept when it fails.
    const tmp = mkdtempSync(path.join(os.tmpdir(), `seed-${seed}-`))
    const child = spawn(process.execPath, ['--import', 'tsx', '--test', file], {
      cwd: REPO_ROOT, env: { ...process.env, SOLIDAR_SEED: String(seed), TMPDIR: tmp, SOLIDAR_KEEP_TEMP: '1' }, stdio: ['ignore', 'pipe', 'pipe']
    })
    let output = ''
    child.stdout.on('data', (c: Buffer) => { output += c.toString() })
    child.stderr.on('data', (c: Buffer) => { output += c.toString() })
    child.on('close', (code) => {
      const ok = code === 0
      if (!ok) writeFileSync(path.join(artifacts, `${path.basename(file)}-${seed}.log`), output + `\n# temp folders kept in ${tmp}\n`)
      else rmSync(tmp, { recursive: true, force: true })
      resolve({ file, seed, ok, ms: Date.now() - started, code })
    })
  })
}

const results: Result[] = []
let next = 0
async function worker (): Promise<void> {
  while (next < runs && Date.now() < deadline) {
    next++
    const result = await runOnce(randomInt(0, 2 ** 31))
    results.push(result)
    if (values.out !== undefined) appendFileSync(values.out, JSON.stringify(result) + '\n')
    console.log(`${result.ok ? 'pass' : 'FAIL'} ${path.basename(file)} seed ${result.seed} ${(result.ms / 1000).toFixed(0)} s (${results.length}/${runs})`)
  }
}
await Promise.all(Array.from({ length: parallel }, worker))
const failed = results.filter((r) => !r.ok)
console.log(`${results.length} runs of ${file}: ${results.length - failed.length} passed, ${failed.length} failed${failed.length > 0 ? ` (seeds ${failed.map((r) => r.seed).join(', ')}; output in test/artifacts/seeds/)` : ''}`)
process.exitCode = failed.length > 0 ? 1 : 0
