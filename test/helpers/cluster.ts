/**
 * A small Solidar network on loopback: one private DHT bootstrap node (`solidar dht`) and
 * N daemons (`solidar serve --port 0 --bootstrap …`), each with its own home in one temp
 * dir. Never the public DHT; everything on 127.0.0.1.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { REPO_ROOT, solidar, solidarArgv, solidarJson, solidarOk, type CliOptions, type CliResult } from './cli.ts'
import { KEEP_TEMP, registerTempDir, startProcess, unregisterTempDir, type ExitInfo, type ManagedProcess } from './processes.ts'
import { apiRequest, type ApiRequest, type ApiResponse } from '@solidar/node/testing/api'
import { waitFor } from './wait.ts'

/** A chat message as `log --json` prints it. */
export interface LogEntry {
  id: string
  author: string
  authorName: string
  room: string
  text: string
  ts: number
  seq: number
  [more: string]: unknown
}

export interface GroupRef { id: string, name: string }

const URL_LINE = /^http:\/\/127\.0\.0\.1:(\d+)\/#token=(\S+)$/
const HOST_PORT_LINE = /^127\.0\.0\.1:(\d+)$/

/** Makes a temp dir that is removed at the end (also if the test process exits early). */
export async function makeTempDir (prefix = 'solidar-it-'): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix))
  registerTempDir(dir)
  return dir
}

export async function removeTempDir (dir: string): Promise<void> {
  if (!KEEP_TEMP) await rm(dir, { recursive: true, force: true, maxRetries: 3 })
  unregisterTempDir(dir)
}

/** Starts `solidar dht --host 127.0.0.1 --port 0` and returns it with its HOST:PORT. */
export async function startDht (home: string): Promise<{ proc: ManagedProcess, bootstrap: string, port: number }> {
  const proc = startProcess(process.execPath, solidarArgv(home, ['dht', '--host', '127.0.0.1', '--port', '0']), {
    name: 'solidar dht',
    cwd: REPO_ROOT
  })
  const line = (await proc.firstLine(30_000)).trim()
  const m = HOST_PORT_LINE.exec(line)
  if (m === null) {
    await proc.stop()
    throw new Error(`solidar dht printed "${line}" where HOST:PORT (127.0.0.1:N) was expected\n${proc.describe()}`)
  }
  return { proc, bootstrap: line, port: Number(m[1]) }
}

export class SolidarNode {
  readonly name: string
  readonly home: string
  readonly bootstrap: string
  /** Member id and fingerprint (known after init). */
  id = ''
  fingerprint = ''
  proc: ManagedProcess | null = null
  /** More options for `serve` (e.g. `--dht-host 127.0.0.2`). */
  serveArgs: string[] = []
  url = ''
  port = 0
  token = ''

  constructor (name: string, home: string, bootstrap: string) {
    this.name = name
    this.home = home
    this.bootstrap = bootstrap
  }

  get running (): boolean { return this.proc !== null && this.proc.running }

  /** Runs `solidar --home HOME …`; never throws for a non-zero exit. */
  run (args: string[], opts?: CliOptions): Promise<CliResult> { return solidar(this.home, args, opts) }
  /** Runs a command that must succeed; returns trimmed stdout. */
  ok (args: string[], opts?: CliOptions): Promise<string> { return solidarOk(this.home, args, opts) }
  /** Runs a command with --json that must succeed; returns the parsed output. */
  json<T = any> (args: string[], opts?: CliOptions): Promise<T> { return solidarJson<T>(this.home, args, opts) }

  async init (): Promise<void> {
    await this.ok(['init', '--name', this.name])
    const me = await this.json<{ id: string, name: string, fingerprint: string }>(['whoami'])
    if (typeof me.id !== 'string' || me.id.length === 0) throw new Error(`${this.name}: whoami gave no id: ${JSON.stringify(me)}`)
    this.id = me.id
    this.fingerprint = me.fingerprint
  }

  /** Starts `serve` and waits for its URL line, daemon.json and token file. */
  async start (): Promise<void> {
    if (this.running) throw new Error(`${this.name} is already running`)
    const proc = startProcess(process.execPath, solidarArgv(this.home, [
      'serve', '--host', '127.0.0.1', '--port', '0', '--bootstrap', this.bootstrap, ...this.serveArgs
    ]), { name: `${this.name} serve`, cwd: REPO_ROOT })
    this.proc = proc
    const line = (await proc.firstLine(60_000)).trim()
    const m = URL_LINE.exec(line)
    if (m === null) {
      throw new Error(`${this.name}: serve's first line "${line}" is not http://127.0.0.1:PORT/#token=TOKEN\n${proc.describe()}`)
    }
    this.url = line
    this.port = Number(m[1])
    this.token = decodeURIComponent(m[2])
    const daemonFile = path.join(this.home, 'daemon.json')
    const daemon = await waitFor(async () => {
      const info = JSON.parse(await readFile(daemonFile, 'utf8'))
      return info.port === this.port ? info : null
    }, { timeout: 10_000, interval: 100, what: `${this.name}: ${daemonFile} naming port ${this.port}` })
    if (typeof daemon.pid !== 'number') throw new Error(`${this.name}: daemon.json has no pid: ${JSON.stringify(daemon)}`)
    await waitFor(async () => (await readFile(path.join(this.home, 'token'), 'utf8')).trim() === this.token,
      { timeout: 10_000, interval: 100, what: `${this.name}: <home>/token to hold the token from the URL` })
  }

  /** SIGTERM (SIGKILL after the grace period). */
  async stop (graceMs = 15_000): Promise<ExitInfo & { forced: boolean }> {
    if (this.proc === null) throw new Error(`${this.name} was never started`)
    return this.proc.stop(graceMs)
  }

  /** SIGKILL: the daemon gets no chance to flush or clean up. */
  async kill9 (): Promise<ExitInfo> {
    if (this.proc === null) throw new Error(`${this.name} was never started`)
    return this.proc.kill9()
  }

  async restart (): Promise<void> {
    if (this.running) await this.stop()
    await this.start()
  }

  /** A request to this daemon's local API, authorised and with a proper Host by default. */
  api (req: Omit<ApiRequest, 'port' | 'token'> & { token?: string | null }): Promise<ApiResponse> {
    return apiRequest({ ...req, port: this.port, token: req.token === undefined ? this.token : req.token })
  }

  /** `log GROUP --all --json [--room ROOM]`: the whole history. */
  log (group: string, opts: { room?: string } = {}): Promise<LogEntry[]> {
    return this.json<LogEntry[]>(['log', group, '--all', ...(opts.room !== undefined ? ['--room', opts.room] : [])])
  }

  /** `log --dm MEMBER --all --json`. */
  dmLog (member: string): Promise<LogEntry[]> {
    return this.json<LogEntry[]>(['log', '--dm', member, '--all'])
  }

  /**
   * The whole history at a messages path of the API (`/api/groups/G/messages[?room=R]`,
   * `/api/dms/M/messages`), read page by page (the API answers one page, at most 500).
   */
  async history<T extends { id: string } = LogEntry> (messagesPath: string): Promise<T[]> {
    const pages: T[][] = []
    let before: string | undefined
    for (;;) {
      const sep = messagesPath.includes('?') ? '&' : '?'
      const page = await this.apiList<T>(`${messagesPath}${sep}limit=500${before !== undefined ? `&before=${encodeURIComponent(before)}` : ''}`)
      pages.unshift(page)
      if (page.length < 500) return pages.flat()
      before = page[0].id
    }
  }

  async send (group: string, text: string, opts: { room?: string } = {}): Promise<LogEntry> {
    return this.json<LogEntry>(['send', group, text, ...(opts.room !== undefined ? ['--room', opts.room] : [])])
  }

  /** GET a JSON array from this daemon's API (a fast way to poll; the CLI takes ~1 s a call). */
  async apiList<T> (apiPath: string): Promise<T[]> {
    const r = await this.api({ path: apiPath })
    if (r.status !== 200 || !Array.isArray(r.json)) throw new Error(`${this.name}: GET ${apiPath} → ${r.status} ${r.text.slice(0, 300)}`)
    return r.json as T[]
  }

  /**
   * Waits until the group's log holds every id in `ids` (polling the API), then returns
   * `log --json` from the CLI, which must hold them too.
   */
  async waitForLog (group: string, ids: string[], opts: { room?: string, timeout?: number } = {}): Promise<LogEntry[]> {
    const query = opts.room !== undefined ? `?room=${encodeURIComponent(opts.room)}` : ''
    let last: LogEntry[] = []
    const what = `${this.name} to see ${ids.length} messages in ${group}${opts.room !== undefined ? ` room ${opts.room}` : ''}`
    try {
      await waitFor(async () => {
        last = await this.history(`/api/groups/${encodeURIComponent(group)}/messages${query}`)
        const have = new Set(last.map((m) => m.id))
        return ids.every((id) => have.has(id))
      }, { timeout: opts.timeout ?? 45_000, interval: 150, what })
    } catch (err: any) {
      const have = new Set(last.map((m) => m.id))
      throw new Error(`${err.message}\nmissing: ${ids.filter((id) => !have.has(id)).join(', ')}\n${this.name}'s log: ${JSON.stringify(last.map((m) => [m.seq, m.id, m.authorName, m.text]))}`)
    }
    const log = await this.log(group, opts)
    const have = new Set(log.map((m) => m.id))
    const missing = ids.filter((id) => !have.has(id))
    if (missing.length > 0) throw new Error(`${this.name}: the API has ${missing.join(', ')} but \`log --json\` does not: ${JSON.stringify(log)}`)
    return log
  }

  /** Waits (polling the API) until the group lists every id in `ids`; returns `members --json`. */
  async waitForMembers (group: string, ids: string[], timeout = 45_000): Promise<Array<{ id: string, name: string, role: string }>> {
    await waitFor(async () => {
      const members = await this.apiList<{ id: string }>(`/api/groups/${encodeURIComponent(group)}/members`)
      const have = new Set(members.map((m) => m.id))
      return ids.every((id) => have.has(id))
    }, { timeout, interval: 150, what: `${this.name} to list ${ids.length} members of ${group}` })
    return this.json<Array<{ id: string, name: string, role: string }>>(['members', group])
  }
}

export interface ClusterOptions {
  /** Node names (default alice, bob, carol). */
  names?: string[]
  /** Start a daemon for each node (default true). */
  start?: boolean
  /** More `serve` options per node name. */
  serveArgs?: Record<string, string[]>
}

export class Cluster {
  readonly dir: string
  readonly dht: ManagedProcess
  readonly bootstrap: string
  readonly nodes: SolidarNode[]
  #closed = false

  private constructor (dir: string, dht: ManagedProcess, bootstrap: string, nodes: SolidarNode[]) {
    this.dir = dir
    this.dht = dht
    this.bootstrap = bootstrap
    this.nodes = nodes
  }

  /** A private DHT plus initialised (and by default running) nodes. */
  static async start (opts: ClusterOptions = {}): Promise<Cluster> {
    const names = opts.names ?? ['alice', 'bob', 'carol']
    const dir = await makeTempDir()
    let dht: ManagedProcess | null = null
    try {
      const started = await startDht(path.join(dir, 'dht'))
      dht = started.proc
      const nodes = names.map((name) => new SolidarNode(name, path.join(dir, name), started.bootstrap))
      for (const n of nodes) n.serveArgs = opts.serveArgs?.[n.name] ?? []
      const cluster = new Cluster(dir, dht, started.bootstrap, nodes)
      try {
        await Promise.all(nodes.map((n) => n.init()))
        if (opts.start !== false) await Promise.all(nodes.map((n) => n.start()))
      } catch (err) {
        await cluster.close()
        throw err
      }
      return cluster
    } catch (err) {
      if (dht !== null) await dht.stop().catch(() => {})
      await removeTempDir(dir).catch(() => {})
      throw err
    }
  }

  node (name: string): SolidarNode {
    const node = this.nodes.find((n) => n.name === name)
    if (node === undefined) throw new Error(`no node named ${name}`)
    return node
  }

  /**
   * `admin` creates a group; each joiner gets its own single-use invite and joins with it
   * (all at once). Waits until every member lists every member.
   */
  async createGroup (admin: SolidarNode, name: string, joiners: SolidarNode[]): Promise<GroupRef> {
    const group = await admin.json<GroupRef>(['group', 'create', name])
    if (typeof group.id !== 'string' || group.name !== name) {
      throw new Error(`group create printed ${JSON.stringify(group)}, expected {id, name: "${name}"}`)
    }
    const codes: string[] = []
    for (const _ of joiners) codes.push(await admin.ok(['invite', group.id, '--uses', '1']))
    // Joins run side by side: each can take a while on the loopback DHT.
    await Promise.all(joiners.map(async (joiner, i) => {
      const joined = await joiner.json<GroupRef>(['join', codes[i], '--timeout', '60s'], { timeout: 90_000 })
      if (joined.id !== group.id) {
        throw new Error(`${joiner.name} joined ${JSON.stringify(joined)}, expected group ${group.id}`)
      }
    }))
    const everyone = [admin, ...joiners]
    await Promise.all(everyone.map((n) => n.waitForMembers(group.id, everyone.map((m) => m.id))))
    return group
  }

  /**
   * Waits until every node in `nodes` holds `ids` in the group and all show the same
   * messages in the same order with the same seq (polling the API), then returns each
   * node's `log --json` from the CLI.
   */
  async converge (nodes: SolidarNode[], group: string, ids: string[], opts: { timeout?: number, what?: string } = {}): Promise<LogEntry[][]> {
    const order = (log: LogEntry[]): string => JSON.stringify(log.map((m) => [m.id, m.seq]))
    let last: LogEntry[][] = []
    try {
      await waitFor(async () => {
        last = await Promise.all(nodes.map((n) => n.history(`/api/groups/${encodeURIComponent(group)}/messages`)))
        if (!last.every((log) => ids.every((id) => log.some((m) => m.id === id)))) return false
        return last.every((log) => order(log) === order(last[0]))
      }, {
        timeout: opts.timeout ?? 60_000,
        interval: 200,
        what: opts.what ?? `${nodes.map((n) => n.name).join(', ')} to show the same ${ids.length}+ messages in the same order`
      })
    } catch (err: any) {
      const views = last.map((log, i) => `${nodes[i].name}: ${JSON.stringify(log.map((m) => [m.seq, m.id, m.authorName, m.text]))}`)
      const missing = last.map((log, i) => `${nodes[i].name} lacks: ${ids.filter((id) => !log.some((m) => m.id === id)).join(', ') || '-'}`)
      throw new Error(`${err.message}\nwanted: ${ids.join(', ')}\n${views.join('\n')}\n${missing.join('\n')}\n${await this.statuses()}\n${await this.audits(group)}`)
    }
    const logs = await Promise.all(nodes.map((n) => n.log(group)))
    for (const [i, log] of logs.entries()) {
      if (order(log) !== order(last[i])) {
        throw new Error(`${nodes[i].name}: \`log --json\` differs from the API's messages:\n${JSON.stringify(log)}\n${JSON.stringify(last[i])}`)
      }
    }
    return logs
  }

  /** Every running node's audit of `group` (entries its apply refused, with the reason), for failure messages. */
  async audits (group: string): Promise<string> {
    const lines = await Promise.all(this.nodes.map(async (n) => {
      if (!n.running) return `${n.name}: not running`
      const r = await n.api({ path: `/api/groups/${encodeURIComponent(group)}/audit` }).catch((err) => ({ text: String(err) }))
      return `${n.name} audit: ${r.text.slice(0, 2000)}`
    }))
    return lines.join('\n')
  }

  /** Every running node's GET /api/status (connections, peers and length per group), for failure messages. */
  async statuses (): Promise<string> {
    const lines = await Promise.all(this.nodes.map(async (n) => {
      if (!n.running) return `${n.name}: not running`
      const r = await n.api({ path: '/api/status' }).catch((err) => ({ text: String(err) }))
      return `${n.name} status: ${r.text.slice(0, 2000)}`
    }))
    return lines.join('\n')
  }

  /** Stops every daemon and the DHT, then removes the temp dir. Safe to call twice. */
  async close (): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    await Promise.all(this.nodes.map((n) => n.running ? n.stop(10_000).catch(() => {}) : undefined))
    await this.dht.stop(5_000).catch(() => {})
    if (existsSync(this.dir)) await removeTempDir(this.dir)
  }

  /** Runs `fn`; if it fails, the error message gets every process's recent output appended. */
  async withLogs<T> (fn: () => Promise<T>): Promise<T> {
    try {
      return await fn()
    } catch (err: any) {
      if (err instanceof Error) {
        err.message += `\n\n=== process output ===\n${this.describe()}`
        throw err
      }
      throw new Error(`${String(err)}\n\n=== process output ===\n${this.describe()}`)
    }
  }

  /** Recent output of every process, for failure messages. */
  describe (): string {
    return [this.dht, ...this.nodes.map((n) => n.proc)].filter((p) => p !== null).map((p) => p!.describe()).join('\n\n')
  }
}
