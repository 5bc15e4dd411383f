/**
 * A Prosody of the test's own (Debian's prosody package): its config, data and pid file in a
 * temp folder, c2s and component ports picked free on 127.0.0.1, no s2s, no TLS (loopback
 * only, test-only settings). Started in the foreground as a child of the test, stopped by its
 * PID (SIGKILL to its process group if needed, also when the test process dies). A system
 * Prosody, if one runs, is never used or touched.
 */
import { execFile } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { promisify } from 'node:util'
import { startProcess, type ManagedProcess } from './processes.ts'
import { freePort, PROSODY_BIN, prosodyConfig, waitForPorts } from './prosody-config.ts'

export { PROSODY_BIN } from './prosody-config.ts'

const run = promisify(execFile)

export interface ProsodyOptions {
  dir: string
  /** The users' domain (VirtualHost). */
  domain: string
  /** External components (XEP-0114): domain → secret. */
  components: Record<string, string>
}

export class Prosody {
  readonly dir: string
  readonly config: string
  readonly domain: string
  c2sPort = 0
  componentPort = 0
  proc: ManagedProcess | null = null

  private constructor (opts: ProsodyOptions) {
    this.dir = opts.dir
    this.domain = opts.domain
    this.config = path.join(opts.dir, 'prosody.cfg.lua')
  }

  static async create (opts: ProsodyOptions): Promise<Prosody> {
    if (PROSODY_BIN === null) throw new Error('prosody is not installed (apt-get install prosody)')
    const p = new Prosody(opts)
    fs.mkdirSync(path.join(opts.dir, 'data'), { recursive: true })
    fs.mkdirSync(path.join(opts.dir, 'certs'), { recursive: true })
    p.c2sPort = await freePort()
    p.componentPort = await freePort()
    fs.writeFileSync(p.config, prosodyConfig({
      dir: opts.dir, domain: opts.domain, c2sPort: p.c2sPort, componentPort: p.componentPort, components: opts.components, log: 'warn'
    }))
    return p
  }

  get running (): boolean { return this.proc !== null && this.proc.running }

  /** Starts Prosody in the foreground and waits until both ports accept connections. */
  async start (): Promise<void> {
    if (this.running) throw new Error('prosody is already running')
    const proc = startProcess(PROSODY_BIN!, ['--config', this.config, '-F'], { name: 'prosody' })
    this.proc = proc
    await waitForPorts([this.c2sPort, this.componentPort], () => proc.running, async () => {
      await proc.stop(2000)
      return proc.describe()
    })
  }

  async stop (): Promise<void> {
    if (this.proc !== null) await this.proc.stop(5000)
  }

  async register (user: string, password: string): Promise<void> {
    await run('prosodyctl', ['--config', this.config, 'register', user, this.domain, password], { timeout: 30_000 })
  }

  describe (): string { return this.proc?.describe() ?? 'prosody (never started)' }
}
