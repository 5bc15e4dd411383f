/**
 * What the test's and the benchmark's own Prosody share: where the binary is, free loopback
 * ports, waiting for a port, and the config file (loopback only, no TLS, no s2s, plain auth,
 * cheap password hashing: settings for a Prosody that lives in a temp folder for one run). Each
 * side starts and stops the process with its own process helper (test/helpers/prosody.ts,
 * bench/lib/prosody.ts). A system Prosody, if any, is never used or touched.
 */
import fs from 'node:fs'
import net from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'

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

export async function portOpen (port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port })
    s.once('connect', () => { s.destroy(); resolve(true) })
    s.once('error', () => resolve(false))
  })
}

/**
 * Waits until every port accepts connections; throws (after `onFail`, e.g. stopping the
 * process) if `alive` turns false or 20 s pass.
 */
export async function waitForPorts (ports: number[], alive: () => boolean, onFail: () => Promise<string>): Promise<void> {
  const deadline = Date.now() + 20_000
  for (;;) {
    const open = await Promise.all(ports.map(portOpen))
    if (open.every(Boolean)) return
    if (!alive() || Date.now() > deadline) throw new Error(`prosody did not listen on ${ports.join(' and ')}\n${await onFail()}`)
    await sleep(50)
  }
}

export interface ProsodyConfigOptions {
  /** Temp folder: config, pid file, data and certs live here. */
  dir: string
  /** The users' domain (VirtualHost). */
  domain: string
  c2sPort: number
  /** External components (XEP-0114) on this port: domain → secret. */
  componentPort?: number
  components?: Record<string, string>
  /** A MUC component at this domain, with instant rooms and no history (the benchmark's rooms). */
  muc?: string
  /** Nagle off and opportunistic writes (Prosody's defaults favour throughput): for latency runs. */
  lowLatency?: boolean
  /** What Prosody logs to the console. */
  log: 'error' | 'warn'
}

export function prosodyConfig (o: ProsodyConfigOptions): string {
  const root = process.getuid?.() === 0
  const components = Object.entries(o.components ?? {})
    .map(([domain, secret]) => `Component "${domain}"\n  component_secret = "${secret}"\n`).join('\n')
  const muc = o.muc === undefined
    ? ''
    : `Component "${o.muc}" "muc"
  muc_room_locking = false
  muc_room_default_history_length = 0
  max_history_messages = 0
`
  return `-- Prosody for one test or benchmark run: loopback, no TLS, plain auth allowed, cheap password hashing.
${root ? 'run_as_root = true\nprosody_user = "root"' : ''}
pidfile = "${o.dir}/prosody.pid"
data_path = "${o.dir}/data"
certificates = "${o.dir}/certs"
interfaces = { "127.0.0.1" }
c2s_interfaces = { "127.0.0.1" }
component_interfaces = { "127.0.0.1" }
c2s_ports = { ${o.c2sPort} }
component_ports = { ${o.componentPort ?? ''} }
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
log = { ${o.log} = "*console" }
${o.lowLatency === true ? '-- Tuned for latency (Prosody\'s defaults keep Nagle on and queue writes to the next loop turn).\nnetwork_settings = { nagle = false; opportunistic_writes = true; }\n' : ''}daemonize = false

VirtualHost "${o.domain}"

${muc}${components}`
}
