/**
 * A LAN made of Linux network namespaces: one namespace per host, joined by a bridge that
 * lives in a namespace of its own (the root namespace is never touched), with no route to
 * anywhere else. Multicast (mDNS) goes out on each host's veth. Solidar processes run in
 * a host with `ip netns exec` (which execs, so the PID we hold is the node's own).
 * Needs root; `netnsUnavailable()` says why not when it cannot run.
 */
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { REPO_ROOT, solidarArgv, type CliResult } from './cli.ts'
import { childEnv, startProcess, type ManagedProcess } from './processes.ts'
import { withTimeout } from './wait.ts'

/** Null when namespaces can be made here, else the reason the tests are skipped. */
export function netnsUnavailable (): string | null {
  if (process.getuid?.() !== 0) return 'not running as root (network namespaces need root; CI runs as root)'
  try {
    execFileSync('ip', ['netns', 'list'], { stdio: 'pipe' })
  } catch (err: any) {
    return `\`ip netns\` is unavailable (${String(err.message).split('\n')[0]}); install iproute2`
  }
  return null
}

/** As netnsUnavailable, and nftables too (the partition schedules cut with it). */
export function nftUnavailable (): string | null {
  const why = netnsUnavailable()
  if (why !== null) return why
  try { execFileSync('nft', ['--version'], { stdio: 'pipe' }) } catch { return '`nft` is unavailable; install nftables' }
  return null
}

/** Packets the `counter` rules of nftables table `family table` in `ns` have counted (0 if there is none). */
export function nftCounted (ns: string, family: 'inet' | 'bridge', table: string): number {
  let out = ''
  try { out = execFileSync('ip', ['netns', 'exec', ns, 'nft', 'list', 'table', family, table], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }) } catch { return 0 }
  return [...out.matchAll(/packets (\d+)/g)].reduce((sum, m) => sum + Number(m[1]), 0)
}

export function ip (args: string[]): string {
  try {
    return execFileSync('ip', args, { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' })
  } catch (err: any) {
    throw new Error(`ip ${args.join(' ')} failed: ${String(err.stderr ?? err.message).trim()}`)
  }
}

export interface LanHost { ns: string, veth: string, bridgePort: string, address: string }

export class Lan {
  readonly bridgeNs: string
  readonly hosts: LanHost[] = []
  readonly #created: string[] = []

  /** `tag`: a short unique word for this run (namespace names carry it). */
  constructor (readonly tag: string) {
    this.bridgeNs = `${tag}-br`
  }

  /** Creates the bridge namespace and `count` hosts 10.77.0.1…N/24. */
  create (count: number): this {
    this.#add(this.bridgeNs)
    ip(['-n', this.bridgeNs, 'link', 'add', 'br0', 'type', 'bridge'])
    ip(['-n', this.bridgeNs, 'link', 'set', 'br0', 'up'])
    for (let i = 1; i <= count; i++) this.addHost(i)
    return this
  }

  addHost (i: number): LanHost {
    const host: LanHost = { ns: `${this.tag}-h${i}`, veth: 'veth0', bridgePort: `vbr${i}`, address: `10.77.0.${i}` }
    this.#add(host.ns)
    ip(['link', 'add', host.veth, 'netns', host.ns, 'type', 'veth', 'peer', 'name', host.bridgePort, 'netns', this.bridgeNs])
    ip(['-n', this.bridgeNs, 'link', 'set', host.bridgePort, 'master', 'br0', 'up'])
    ip(['-n', host.ns, 'addr', 'add', `${host.address}/24`, 'dev', host.veth])
    ip(['-n', host.ns, 'link', 'set', host.veth, 'up'])
    ip(['-n', host.ns, 'link', 'set', 'lo', 'up'])
    // mDNS: multicast leaves on the LAN link (there is no default route at all).
    ip(['-n', host.ns, 'route', 'add', '224.0.0.0/4', 'dev', host.veth])
    this.hosts.push(host)
    return host
  }

  /** A namespace with nothing but its own loopback (for loopback-only networks that must be cut at will). */
  isolated (name: string): string {
    const ns = `${this.tag}-${name}`
    this.#add(ns)
    ip(['-n', ns, 'link', 'set', 'lo', 'up'])
    return ns
  }

  #add (ns: string) {
    ip(['netns', 'add', ns])
    this.#created.push(ns)
  }

  /** Cuts a host off the LAN (its bridge port down: silent loss both ways, routes kept). */
  cut (host: LanHost) { ip(['-n', this.bridgeNs, 'link', 'set', host.bridgePort, 'down']) }
  heal (host: LanHost) { ip(['-n', this.bridgeNs, 'link', 'set', host.bridgePort, 'up']) }

  /** Deletes every namespace this Lan made (their veths and bridge go with them). */
  destroy (): string[] {
    const problems: string[] = []
    for (const ns of this.#created.reverse()) {
      try { ip(['netns', 'del', ns]) } catch (err: any) { problems.push(err.message) }
    }
    this.#created.length = 0
    return problems
  }
}

/** Runs an nft script inside a namespace. */
export function nft (ns: string, script: string): void {
  try {
    execFileSync('ip', ['netns', 'exec', ns, 'nft', '-f', '-'], { input: script, stdio: ['pipe', 'pipe', 'pipe'] })
  } catch (err: any) {
    throw new Error(`nft in ${ns} failed: ${String(err.stderr ?? err.message).trim()}`)
  }
}

/** Starts a long-running `solidar …` (serve, dht) inside namespace `ns`. */
export function startInNs (ns: string, home: string, args: string[], name: string, env: NodeJS.ProcessEnv = {}): ManagedProcess {
  return startProcess('ip', ['netns', 'exec', ns, process.execPath, ...solidarArgv(home, args)], {
    name, cwd: REPO_ROOT, env: childEnv(env)
  })
}

/** Runs one `solidar …` command inside namespace `ns` to completion (bounded). */
export async function cliInNs (ns: string, home: string, args: string[], timeout = 60_000): Promise<CliResult> {
  const started = Date.now()
  const proc = startInNs(ns, home, args, `solidar ${args.join(' ')}`.slice(0, 100))
  let stdout = ''
  let stderr = ''
  proc.child.stdout?.on('data', (c: string) => { stdout += c })
  proc.child.stderr?.on('data', (c: string) => { stderr += c })
  try {
    const exit = await withTimeout(proc.exited, timeout, () => `\`solidar ${args.join(' ')}\` in ${ns} did not finish`)
    return { args, code: exit.code, signal: exit.signal, stdout, stderr, ms: Date.now() - started }
  } catch (err: any) {
    await proc.kill9().catch(() => {})
    throw new Error(`${err.message}\n--- stdout ---\n${stdout}\n--- stderr ---\n${stderr}`)
  }
}

/** PIDs of the processes in namespace `ns` (none if it is gone). */
export function pidsIn (ns: string): number[] {
  let out = ''
  try { out = execFileSync('ip', ['netns', 'pids', ns], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }) } catch { return [] } // the namespace is gone: no processes
  return out.split(/\s+/).filter((x) => /^\d+$/.test(x)).map(Number)
}

/**
 * Ends every process in the namespaces (all started by the test that made them) and deletes
 * them, last made first. For `finally` blocks: it never throws, it returns what went wrong.
 */
export function removeNamespaces (names: string[]): string[] {
  const problems: string[] = []
  for (const ns of names) {
    for (const pid of pidsIn(ns)) {
      try { process.kill(pid, 'SIGKILL') } catch (err: any) { if (err?.code !== 'ESRCH') problems.push(`kill ${pid}: ${err.message}`) } // ESRCH: already gone
    }
  }
  for (const ns of [...names].reverse()) {
    try { ip(['netns', 'del', ns]) } catch (err: any) { problems.push(err.message) }
  }
  return problems
}

/**
 * Runs the node:test file `file` inside namespace `ns` (spec reporter) and fails unless it
 * passes within `timeoutMs`; its output is printed when it fails (always with
 * SOLIDAR_TEST_VERBOSE=1). `what` names it in the failure messages.
 */
export async function runTestFileInNs (ns: string, file: string, opts: { what: string, timeoutMs: number, env?: NodeJS.ProcessEnv }): Promise<void> {
  const inner = startProcess('ip', ['netns', 'exec', ns, process.execPath, '--import', 'tsx', '--test', '--test-reporter=spec', file],
    { name: `${opts.what} (in ${ns})`, cwd: REPO_ROOT, env: childEnv(opts.env) })
  let timer: NodeJS.Timeout | undefined
  const timedOut = new Promise<'timeout'>((resolve) => { timer = setTimeout(() => resolve('timeout'), opts.timeoutMs) })
  const result = await Promise.race([inner.exited, timedOut])
  clearTimeout(timer)
  // A process that outlives SIGKILL is reported by the timeout assertion below, after its output.
  if (result === 'timeout') await inner.kill9().catch(() => {})
  const output = `${inner.stdout}\n${inner.stderr}`
  if (process.env.SOLIDAR_TEST_VERBOSE === '1' || result === 'timeout' || result.code !== 0) console.log(output)
  assert.notEqual(result, 'timeout', `${opts.what} did not finish within ${opts.timeoutMs / 1000} s`)
  assert.equal(inner.exit?.code, 0, `${opts.what} passed (its output is above)`)
  // The spec reporter (chosen above) ends with "ℹ pass N" / "ℹ fail 0".
  assert.match(inner.stdout, /^ℹ pass [1-9]/m)
  assert.match(inner.stdout, /^ℹ fail 0$/m)
}
