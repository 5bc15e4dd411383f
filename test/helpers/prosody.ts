/**
 * A Prosody of the test's own (Debian's prosody package): its config, data and pid file in a
 * temp folder, c2s and component ports picked free on 127.0.0.1, no s2s, no TLS (loopback
 * only, test-only settings). Started in the foreground as a child of the test, stopped by its
 * PID (SIGKILL to its process group if needed, also when the test process dies). A system
 * Prosody, if one runs, is never used or touched.
 */
import { execFile } from 'node:child_process'
import fs from 'node:fs'
import net from 'node:net'
import path from 'node:path'
import { promisify } from 'node:util'
import { startProcess, type ManagedProcess } from './processes.ts'
import { sleep } from './wait.ts'

const run = promisify(execFile)

export const PROSODY_BIN = ['/usr/bin/prosody', '/usr/local/bin/prosody'].find(p => fs.existsSync(p)) ?? null

export async function freePort (): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo
      server.close(() => resolve(port))
    })
  })
}

async function portOpen (port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port })
    s.once('connect', () => { s.destroy(); resolve(true) })
    s.once('error', () => resolve(false))
  })
}

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
    const root = process.getuid?.() === 0
    const components = Object.entries(opts.components)
      .map(([domain, secret]) => `Component "${domain}"\n  component_secret = "${secret}"\n`).join('\n')
    fs.writeFileSync(p.config, `-- Test-only Prosody: loopback, no TLS, plain auth allowed, cheap password hashing.
${root ? 'run_as_root = true\nprosody_user = "root"' : ''}
pidfile = "${opts.dir}/prosody.pid"
data_path = "${opts.dir}/data"
certificates = "${opts.dir}/certs"
interfaces = { "127.0.0.1" }
c2s_interfaces = { "127.0.0.1" }
component_interfaces = { "127.0.0.1" }
c2s_ports = { ${p.c2sPort} }
component_ports = { ${p.componentPort} }
s2s_ports = { }
http_ports = { }
https_ports = { }
c2s_direct_tls_ports = { }
legacy_ssl_ports = { }
modules_enabled = { "roster", "saslauth", "disco", "ping", "posix" }
modules_disabled = { "s2s", "offline", "tls" }
c2s_require_encryption = false
s2s_require_encryption = false
allow_unencrypted_plain_auth = true
authentication = "internal_hashed"
default_iteration_count = 500
storage = "internal"
log = { warn = "*console" }
daemonize = false

VirtualHost "${opts.domain}"

${components}`)
    return p
  }

  get running (): boolean { return this.proc !== null && this.proc.running }

  /** Starts Prosody in the foreground and waits until both ports accept connections. */
  async start (): Promise<void> {
    if (this.running) throw new Error('prosody is already running')
    const proc = startProcess(PROSODY_BIN!, ['--config', this.config, '-F'], { name: 'prosody' })
    this.proc = proc
    const deadline = Date.now() + 20_000
    while (!(await portOpen(this.c2sPort)) || !(await portOpen(this.componentPort))) {
      if (!proc.running || Date.now() > deadline) {
        await proc.stop(2000)
        throw new Error(`prosody did not listen on ${this.c2sPort} and ${this.componentPort}\n${proc.describe()}`)
      }
      await sleep(50)
    }
  }

  async stop (): Promise<void> {
    if (this.proc !== null) await this.proc.stop(5000)
  }

  async register (user: string, password: string): Promise<void> {
    await run('prosodyctl', ['--config', this.config, 'register', user, this.domain, password], { timeout: 30_000 })
  }

  describe (): string { return this.proc?.describe() ?? 'prosody (never started)' }
}
