/**
 * Child processes of a benchmark run (worker processes, Prosody), recorded by PID.
 *
 * Each child leads its own process group; `stop()` sends SIGTERM and falls back to SIGKILL
 * of that group, which holds nothing but the child and what it started. When the run ends
 * early (error, Ctrl-C) every recorded child is killed by its own PID. Nothing else is ever
 * signalled.
 */
import { fork, spawn, type ChildProcess } from 'node:child_process'
import { rmSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const TAIL = 32 * 1024
const registry = new Map<number, Managed>()
const tempDirs = new Set<string>()

export class Managed {
  readonly name: string
  readonly child: ChildProcess
  readonly pid: number
  readonly exited: Promise<{ code: number | null, signal: NodeJS.Signals | null }>
  output = ''
  #done = false

  constructor (name: string, child: ChildProcess) {
    if (child.pid === undefined) throw new Error(`${name}: could not be started`)
    this.name = name
    this.child = child
    this.pid = child.pid
    registry.set(this.pid, this)
    const keep = (chunk: Buffer | string) => {
      this.output += chunk.toString()
      if (this.output.length > TAIL) this.output = this.output.slice(-TAIL)
    }
    child.stdout?.on('data', keep)
    child.stderr?.on('data', keep)
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.#done = true
        registry.delete(this.pid)
        resolve({ code, signal })
      })
      child.once('error', () => {
        if (this.#done) return
        this.#done = true
        registry.delete(this.pid)
        resolve({ code: null, signal: null })
      })
    })
  }

  get running (): boolean { return !this.#done }

  describe (): string {
    return `${this.name} (pid ${this.pid}, ${this.running ? 'running' : 'exited'})\n${this.output.slice(-4000)}`
  }

  /** SIGTERM, then SIGKILL to the child's process group after `graceMs`. */
  async stop (graceMs = 5000): Promise<void> {
    if (!this.running) return
    try { process.kill(this.pid, 'SIGTERM') } catch {}
    let timer: NodeJS.Timeout | undefined
    const exited = await Promise.race([
      this.exited.then(() => true),
      new Promise<boolean>((resolve) => { timer = setTimeout(() => resolve(false), graceMs) })
    ])
    clearTimeout(timer)
    try { process.kill(-this.pid, 'SIGKILL') } catch {} // leftovers in its group, or the child itself
    if (!exited) await Promise.race([this.exited, new Promise(resolve => setTimeout(resolve, 5000))])
  }
}

/** Spawns a command with piped output in its own process group. */
export function spawnManaged (name: string, command: string, args: string[], opts: { cwd?: string, env?: NodeJS.ProcessEnv } = {}): Managed {
  const child = spawn(command, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true })
  return new Managed(name, child)
}

const WORKER = path.join(path.dirname(fileURLToPath(import.meta.url)), 'worker.ts')

type Pending = { resolve: (v: any) => void, reject: (e: Error) => void, timer: NodeJS.Timeout, op: string }

/**
 * A worker process (lib/worker.ts) driven over Node's IPC channel: `call(op, args)`
 * resolves with the worker's answer; `on(event, fn)` receives the events it reports
 * (batched in the worker, each with the timestamp taken when the thing happened).
 */
export class Worker {
  readonly name: string
  readonly proc: Managed
  #next = 1
  #pending = new Map<number, Pending>()
  #listeners = new Map<string, Array<(data: any) => void>>()

  private constructor (name: string, child: ChildProcess) {
    this.name = name
    this.proc = new Managed(name, child)
    child.on('message', (msg: any) => this.#onMessage(msg))
    this.proc.exited.then(({ code, signal }) => {
      for (const [, p] of this.#pending) {
        clearTimeout(p.timer)
        p.reject(new Error(`${name} exited (code ${code}, signal ${signal}) during ${p.op}\n${this.proc.output.slice(-3000)}`))
      }
      this.#pending.clear()
    })
  }

  static async start (name: string, env: NodeJS.ProcessEnv = {}): Promise<Worker> {
    // BENCH_CPU_PROF=DIR: every thread of every worker writes a V8 CPU profile there when it
    // exits, named CPU.<date>.<time>.<pid>.<thread>.<n>.cpuprofile. Thread 0 is the worker's
    // main thread; the others are tsx's module loader thread (one name for all threads made the
    // loader's profile overwrite the main thread's).
    const prof = process.env.BENCH_CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_CPU_PROF] : []
    const child = fork(WORKER, [], {
      execArgv: ['--import', 'tsx', ...prof],
      env: { ...process.env, ...env, BENCH_WORKER: name },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      detached: true,
      serialization: 'advanced'
    })
    const worker = new Worker(name, child)
    await worker.call('ping', {}, 60_000)
    return worker
  }

  call<T = any> (op: string, args: Record<string, unknown> = {}, timeoutMs = 120_000): Promise<T> {
    if (!this.proc.running) return Promise.reject(new Error(`${this.name} is not running`))
    const id = this.#next++
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id)
        reject(new Error(`${this.name}: ${op} timed out after ${timeoutMs} ms\n${this.proc.output.slice(-3000)}`))
      }, timeoutMs)
      this.#pending.set(id, { resolve, reject, timer, op })
      this.proc.child.send({ id, op, args })
    })
  }

  on (event: string, fn: (data: any) => void): () => void {
    const list = this.#listeners.get(event) ?? []
    list.push(fn)
    this.#listeners.set(event, list)
    return () => {
      const l = this.#listeners.get(event)
      if (l) this.#listeners.set(event, l.filter(f => f !== fn))
    }
  }

  #onMessage (msg: any) {
    if (msg && Array.isArray(msg.events)) {
      for (const { event, data } of msg.events) for (const fn of this.#listeners.get(event) ?? []) fn(data)
      return
    }
    const p = msg && this.#pending.get(msg.id)
    if (!p) return
    this.#pending.delete(msg.id)
    clearTimeout(p.timer)
    if (msg.ok) p.resolve(msg.value)
    else p.reject(new Error(`${this.name}: ${p.op}: ${msg.error}`))
  }

  /** Asks the worker to close what it holds and exit; SIGTERM/SIGKILL if it does not. */
  async stop (): Promise<void> {
    if (!this.proc.running) return
    await this.call('shutdown', {}, 20_000).catch(() => {})
    // It exits by itself after shutdown (so a CPU profile gets written); signals only if not.
    await Promise.race([this.proc.exited, new Promise(resolve => setTimeout(resolve, 3000))])
    await this.proc.stop(5000)
  }
}

export function registerTempDir (dir: string): void { tempDirs.add(dir) }
export function removeTempDir (dir: string): void {
  tempDirs.delete(dir)
  try { rmSync(dir, { recursive: true, force: true }) } catch {}
}

/** Stops every child still recorded (used at the end of a run and on errors). */
export async function stopAll (): Promise<void> {
  await Promise.all([...registry.values()].map(p => p.stop(3000).catch(() => {})))
}

function killLeftoversSync (): void {
  for (const p of registry.values()) {
    try { process.kill(-p.pid, 'SIGKILL') } catch {}
    try { process.kill(p.pid, 'SIGKILL') } catch {}
  }
  registry.clear()
  for (const dir of tempDirs) { try { rmSync(dir, { recursive: true, force: true }) } catch {} }
  tempDirs.clear()
}

process.on('exit', killLeftoversSync)
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.once(sig, () => {
    killLeftoversSync()
    process.exit(128 + ({ SIGINT: 2, SIGTERM: 15, SIGHUP: 1 } as const)[sig])
  })
}
