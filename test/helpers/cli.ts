/**
 * Runs the `solidar` CLI as a separate process, the way a person would:
 * `node cli/bin/solidar.js --home HOME <args…>`.
 */
import { fileURLToPath } from 'node:url'
import path from 'node:path'
import { startProcess } from './processes.ts'
import { withTimeout } from './wait.ts'

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..')
export const SOLIDAR_BIN = path.join(REPO_ROOT, 'cli', 'bin', 'solidar.js')

/** sysexits(3) codes the CLI contract names. */
export const EXIT_NO_DAEMON = 2
export const EXIT_USAGE = 64

export interface CliResult {
  args: string[]
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
  ms: number
}

export interface CliOptions {
  /** Kill the command and fail after this many ms (default 60 s). */
  timeout?: number
}

/** The argv for `solidar --home HOME …` (home null: no --home at all). */
export function solidarArgv (home: string | null, args: string[]): string[] {
  return [SOLIDAR_BIN, ...(home === null ? [] : ['--home', home]), ...args]
}

/** Runs one CLI command to completion; never throws for a non-zero exit (only on timeout). */
export async function solidar (home: string | null, args: string[], opts: CliOptions = {}): Promise<CliResult> {
  const timeout = opts.timeout ?? 60_000
  const started = Date.now()
  const proc = startProcess(process.execPath, solidarArgv(home, args), {
    name: `solidar ${args.join(' ')}`.slice(0, 120),
    cwd: REPO_ROOT
  })
  let stdout = ''
  let stderr = ''
  proc.child.stdout?.on('data', (chunk: string) => { stdout += chunk })
  proc.child.stderr?.on('data', (chunk: string) => { stderr += chunk })
  try {
    const exit = await withTimeout(proc.exited, timeout, `\`${describeArgs(home, args)}\` did not finish`)
    return { args, code: exit.code, signal: exit.signal, stdout, stderr, ms: Date.now() - started }
  } catch (err: any) {
    await proc.kill9().catch(() => {})
    throw new Error(`${err.message}\n--- stdout ---\n${stdout}\n--- stderr ---\n${stderr}`)
  }
}

/** Runs a command that must succeed and returns its trimmed stdout. */
export async function solidarOk (home: string | null, args: string[], opts: CliOptions = {}): Promise<string> {
  const result = await solidar(home, args, opts)
  if (result.code !== 0) throw new Error(`\`${describeArgs(home, args)}\` failed\n${formatResult(result)}`)
  return result.stdout.trim()
}

/** Runs a command with `--json` (added unless present) and parses its stdout. */
export async function solidarJson<T = any> (home: string | null, args: string[], opts: CliOptions = {}): Promise<T> {
  const argv = args.includes('--json') ? args : [...args, '--json']
  const stdout = await solidarOk(home, argv, opts)
  try {
    return JSON.parse(stdout) as T
  } catch {
    throw new Error(`\`${describeArgs(home, argv)}\` printed no valid JSON:\n${stdout}`)
  }
}

export function formatResult (r: CliResult): string {
  return `exit code ${r.code}${r.signal ? ` (signal ${r.signal})` : ''} after ${r.ms} ms\n--- stdout ---\n${r.stdout}\n--- stderr ---\n${r.stderr}`
}

function describeArgs (home: string | null, args: string[]): string {
  return ['solidar', ...(home === null ? [] : ['--home', path.basename(home)]), ...args].join(' ')
}
