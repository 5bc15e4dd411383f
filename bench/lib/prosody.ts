/**
 * The run's own Prosody (the XMPP baseline): config, data and port in a temp folder,
 * bound to 127.0.0.1, no s2s, no rate limits, a MUC component with instant rooms. Started
 * in the foreground (`prosody --config FILE -F`) as a child of the run, users registered with
 * `prosodyctl`. A system Prosody, if any, is never used or touched.
 */
import { execFile } from 'node:child_process'
import fs from 'node:fs'
import net from 'node:net'
import path from 'node:path'
import { promisify } from 'node:util'
import { sleep } from './clock.ts'
import { spawnManaged, type Managed } from './procs.ts'

const run = promisify(execFile)

export const DOMAIN = 'localhost'
export const MUC = 'conference.localhost'

export function prosodyInstalled (): boolean {
  return ['/usr/bin/prosody', '/usr/local/bin/prosody'].some(p => fs.existsSync(p))
}

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

export interface Prosody { port: number, proc: Managed, users: Array<{ username: string, password: string }>, stop (): Promise<void> }

export async function startProsody (dir: string, userCount: number): Promise<Prosody> {
  fs.mkdirSync(path.join(dir, 'data'), { recursive: true })
  fs.mkdirSync(path.join(dir, 'certs'), { recursive: true })
  const port = await freePort()
  const root = process.getuid?.() === 0
  const config = path.join(dir, 'prosody.cfg.lua')
  fs.writeFileSync(config, `-- Benchmark-only Prosody: loopback, no TLS, plain auth allowed, cheap password hashing.
${root ? 'run_as_root = true\nprosody_user = "root"' : ''}
pidfile = "${dir}/prosody.pid"
data_path = "${dir}/data"
certificates = "${dir}/certs"
interfaces = { "127.0.0.1" }
c2s_interfaces = { "127.0.0.1" }
c2s_ports = { ${port} }
s2s_ports = { }
component_ports = { }
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
log = { error = "*console" }
-- Tuned for latency (Prosody's defaults keep Nagle on and queue writes to the next loop turn).
network_settings = { nagle = false; opportunistic_writes = true; }
daemonize = false

VirtualHost "${DOMAIN}"

Component "${MUC}" "muc"
  muc_room_locking = false
  muc_room_default_history_length = 0
  max_history_messages = 0
`)
  const proc = spawnManaged('prosody', 'prosody', ['--config', config, '-F'])
  const deadline = Date.now() + 20_000
  while (!(await portOpen(port))) {
    if (!proc.running || Date.now() > deadline) {
      await proc.stop()
      throw new Error(`prosody did not listen on ${port}\n${proc.output.slice(-3000)}`)
    }
    await sleep(50)
  }
  const users: Prosody['users'] = []
  for (let i = 0; i < userCount; i++) users.push({ username: `u${i}`, password: `pw${i}` })
  // prosodyctl starts Lua each time (~0.2 s): register a few at a time.
  for (let i = 0; i < users.length; i += 4) {
    await Promise.all(users.slice(i, i + 4).map(u => run('prosodyctl', ['--config', config, 'register', u.username, DOMAIN, u.password], { timeout: 30_000 })))
  }
  return { port, proc, users, stop: () => proc.stop(5000) }
}
