/**
 * Long-running child processes (DHT bootstrap nodes, daemons, fixtures) with a registry.
 *
 * Every process a test starts is recorded by PID. `stop()` sends SIGTERM and falls back to
 * SIGKILL; `killAll()` ends whatever a test left behind, and a `process.on('exit')` hook
 * does the same if the test process ends early. Only processes started here are ever
 * signalled, and only by their own PID (or the process group that the child leads, which
 * holds nothing but that child and what it started itself).
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { rmSync } from 'node:fs'
import { withTimeout } from './wait.ts'

/** How much of a process's output is kept for failure messages. */
const TAIL_BYTES = 64 * 1024

export interface StartOptions {
  /** A short label for messages ("dht", "alice serve"). */
  name: string
  cwd?: string
  env?: NodeJS.ProcessEnv
  /** How long to wait for the first stdout line (default 30 s). */
  readyTimeout?: number
}

export interface ExitInfo {
  code: number | null
  signal: NodeJS.Signals | null
}

const registry = new Map<number, ManagedProcess>()
const tempDirs = new Set<string>()

export class ManagedProcess {
  readonly name: string
  readonly child: ChildProcess
  readonly pid: number
  /** Resolves when the process has exited and its output is read (never rejects). */
  readonly exited: Promise<ExitInfo>
  #stdout = ''
  #stderr = ''
  #exit: ExitInfo | null = null
  #first: string | null = null
  #firstLine: Promise<string>

  constructor (name: string, child: ChildProcess) {
    if (child.pid === undefined) throw new Error(`${name}: the process could not be started`)
    this.name = name
    this.child = child
    this.pid = child.pid
    child.stdout?.setEncoding('utf8')
    child.stderr?.setEncoding('utf8')
    // Always drain both pipes, or a chatty child blocks once the pipe buffer is full.
    let resolveFirst: (line: string) => void = () => {}
    this.#firstLine = new Promise((resolve) => { resolveFirst = resolve })
    let pending = ''
    child.stdout?.on('data', (chunk: string) => {
      this.#stdout = tail(this.#stdout + chunk)
      if (this.#first !== null) return
      pending += chunk
      const nl = pending.indexOf('\n')
      if (nl !== -1) {
        this.#first = pending.slice(0, nl).replace(/\r$/, '')
        pending = ''
        resolveFirst(this.#first)
      }
    })
    child.stderr?.on('data', (chunk: string) => { this.#stderr = tail(this.#stderr + chunk) })
    child.once('exit', (code, signal) => {
      this.#exit = { code, signal }
      registry.delete(this.pid)
    })
    this.exited = new Promise((resolve) => {
      // 'close' comes after 'exit' once stdout and stderr are drained: all output is in.
      child.once('close', (code, signal) => {
        this.#exit ??= { code, signal }
        registry.delete(this.pid)
        resolve(this.#exit)
      })
      child.once('error', () => {
        // 'exit' may never come after a spawn error.
        if (this.#exit === null) {
          this.#exit = { code: null, signal: null }
          registry.delete(this.pid)
          resolve(this.#exit)
        }
      })
    })
    registry.set(this.pid, this)
  }

  get running (): boolean { return this.#exit === null }
  get exit (): ExitInfo | null { return this.#exit }
  get stdout (): string { return this.#stdout }
  get stderr (): string { return this.#stderr }

  /** The recent output, for failure messages. */
  describe (): string {
    const state = this.#exit === null ? 'running' : `exited code=${this.#exit.code} signal=${this.#exit.signal}`
    return `${this.name} (pid ${this.pid}, ${state})\n--- stdout ---\n${this.#stdout.slice(-4000)}\n--- stderr ---\n${this.#stderr.slice(-4000)}`
  }

  /** Resolves with the first complete stdout line; rejects if the process exits or times out first. */
  firstLine (timeout = 30_000): Promise<string> {
    const line = Promise.race([
      this.#firstLine,
      this.exited.then(() => {
        if (this.#first !== null) return this.#first
        throw new Error(`${this.name} exited before printing its first line\n${this.describe()}`)
      })
    ])
    return withTimeout(line, timeout, () => `${this.name} did not print its first line\n${this.describe()}`)
  }

  /** Sends `signal` to the process (SIGKILL goes to its whole process group). */
  signal (signal: NodeJS.Signals): void {
    if (!this.running) return
    try {
      if (signal === 'SIGKILL') process.kill(-this.pid, 'SIGKILL')
      else process.kill(this.pid, signal)
    } catch (err: any) {
      if (err?.code !== 'ESRCH') throw err
    }
  }

  /**
   * SIGTERM, then SIGKILL if the process has not exited within `graceMs`.
   * Returns how it exited; `forced` tells whether SIGKILL was needed.
   */
  async stop (graceMs = 10_000): Promise<ExitInfo & { forced: boolean }> {
    if (!this.running) return { ...this.#exit!, forced: false }
    this.signal('SIGTERM')
    let timer: NodeJS.Timeout | undefined
    const graceful = await Promise.race([
      this.exited.then((info) => ({ ...info, forced: false })),
      new Promise<null>((resolve) => { timer = setTimeout(() => resolve(null), graceMs) })
    ])
    clearTimeout(timer)
    if (graceful !== null) {
      this.#reapGroup()
      return graceful
    }
    this.signal('SIGKILL')
    const info = await withTimeout(this.exited, 10_000, () => `${this.name} did not die after SIGKILL\n${this.describe()}`)
    return { ...info, forced: true }
  }

  /** SIGKILL (no chance to clean up) and wait until the process is gone. */
  async kill9 (): Promise<ExitInfo> {
    this.signal('SIGKILL')
    return withTimeout(this.exited, 10_000, () => `${this.name} did not die after SIGKILL\n${this.describe()}`)
  }

  /** After the leader exited, end anything it left in its process group. */
  #reapGroup (): void {
    try { process.kill(-this.pid, 'SIGKILL') } catch {}
  }
}

/** Spawns `command args` with piped output in its own process group and registers it. */
export function startProcess (command: string, args: string[], opts: StartOptions): ManagedProcess {
  const child = spawn(command, args, {
    cwd: opts.cwd,
    env: opts.env ?? childEnv(),
    stdio: ['ignore', 'pipe', 'pipe'],
    // Own process group: a SIGKILL reaches helper processes the child may start, and
    // nothing outside what we started.
    detached: true
  })
  return new ManagedProcess(opts.name, child)
}

/** The environment for children: ours, minus what only concerns this test runner. */
export function childEnv (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env = { ...process.env, ...extra }
  delete env.NODE_TEST_CONTEXT
  delete env.NODE_OPTIONS
  return env
}

/** Processes still running that this test process started. */
export function runningProcesses (): ManagedProcess[] {
  return [...registry.values()]
}

/** Stops every registered process (SIGTERM, SIGKILL fallback). */
export async function killAll (graceMs = 5_000): Promise<void> {
  await Promise.all([...registry.values()].map((p) => p.stop(graceMs).catch(() => {})))
}

/** Temp dirs to remove when the test process exits (in case a test's own cleanup did not run). */
/**
 * SOLIDAR_KEEP_TEMP=1 keeps every temp folder a test makes (homes, stores) for a post-mortem;
 * test/run-seeds.ts sets it with a TMPDIR of its own per seed and removes that TMPDIR when the
 * seed passed.
 */
export const KEEP_TEMP = process.env.SOLIDAR_KEEP_TEMP === '1'
export function registerTempDir (dir: string): void { if (!KEEP_TEMP) tempDirs.add(dir) }
export function unregisterTempDir (dir: string): void { tempDirs.delete(dir) }

function tail (text: string): string {
  return text.length > TAIL_BYTES ? text.slice(-TAIL_BYTES) : text
}

function killLeftoversSync (): void {
  for (const p of registry.values()) {
    if (!p.running) continue
    try { process.kill(-p.pid, 'SIGKILL') } catch {}
    try { process.kill(p.pid, 'SIGKILL') } catch {}
  }
  registry.clear()
  for (const dir of tempDirs) {
    try { rmSync(dir, { recursive: true, force: true }) } catch {}
  }
  tempDirs.clear()
}

process.on('exit', killLeftoversSync)
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.once(sig, () => {
    killLeftoversSync()
    process.exit(128 + ({ SIGINT: 2, SIGTERM: 15, SIGHUP: 1 } as const)[sig])
  })
}
