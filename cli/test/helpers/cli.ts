/** Runs `node cli/bin/solidar.js` as a child process, as a user would. */
import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

export const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'solidar.js')

export interface Result {
  code: number | null
  stdout: string
  stderr: string
}

/** Runs the CLI to completion (killed after `timeoutMs`). */
export function run (args: string[], opts: { timeoutMs?: number, env?: NodeJS.ProcessEnv } = {}): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => { stdout += d })
    child.stderr.on('data', (d) => { stderr += d })
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`solidar ${args.join(' ')} timed out\n${stderr}`)) }, opts.timeoutMs ?? 30_000)
    child.once('error', reject)
    child.once('close', (code) => { clearTimeout(timer); resolve({ code, stdout, stderr }) })
  })
}

/** A long-running CLI process (serve, log --follow) with its output so far. */
export class LongRunning {
  readonly child: ChildProcess
  stdout = ''
  stderr = ''
  readonly exited: Promise<number | null>

  constructor (args: string[]) {
    this.child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
    this.child.stdout!.on('data', (d) => { this.stdout += d })
    this.child.stderr!.on('data', (d) => { this.stderr += d })
    this.exited = new Promise((resolve) => this.child.once('close', (code) => resolve(code)))
  }

  /**
   * Waits until stdout (or stderr) holds a match for `re`; returns the match.
   * The two pipes arrive independently, so a line written to stderr before a
   * stdout line may still be on its way when the stdout line is seen.
   */
  async waitFor (re: RegExp, timeoutMs = 30_000, stream: 'stdout' | 'stderr' = 'stdout'): Promise<RegExpMatchArray> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const m = this[stream].match(re)
      if (m !== null) return m
      if (this.child.exitCode !== null || Date.now() > deadline) {
        throw new Error(`no ${re} on ${stream} (exit ${this.child.exitCode})\n--- stdout\n${this.stdout}\n--- stderr\n${this.stderr}`)
      }
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  }

  /** Sends a signal and waits for the exit code. */
  async stop (signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    if (this.child.exitCode === null) this.child.kill(signal)
    return this.exited
  }
}
