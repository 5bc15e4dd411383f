/** `solidar serve`: run this home's node with its local API and web UI until stopped. */
import os from 'node:os'
import { Option } from 'commander'
import type { Command } from 'commander'
import type { FastifyBaseLogger } from 'fastify'
import { errors, isSolidarError } from '@solidar/core/errors'
import { createIdentity, memberId, validateName } from '@solidar/core/identity'
import type { Identity } from '@solidar/core'
import type { RunningNode } from '@solidar/node/runtime'
import type { ApiServer } from '@solidar/node/api/server'
import { checkIceServers, type IceServer } from '@solidar/node/ice-servers'
import type { SettingsApi } from '@solidar/node/settings'
import {
  ensureHome, homeWarning, loadOrCreateToken, readConfig, readDaemonInfo, readIdentity, removeDaemonInfo,
  writeConfig, writeDaemonInfo, writeIdentity
} from '@solidar/node/home'
import { CliError, EXIT } from '../errors.ts'
import { homeOf } from '../context.ts'
import { durationArg, iceServerArg, ipArg, portArg } from '../parsers.ts'
import { formatDuration } from '../duration.ts'
import { addNetworkOptions, bootstrapProblem, chooseLan, chooseNetwork, describeLan, describeNetwork, networkFlagConflict, type NetworkOptionFlags } from '../network.ts'
import { note, print } from '../output.ts'
import { untilSignal } from '../signals.ts'
import { REPAIR_TIMEOUT_MS } from '../repair-defaults.ts'

/** Port of `solidar serve` when --port is not given (npm start relies on a stable address). */
export const DEFAULT_PORT = 7420
const SHUTDOWN_TIMEOUT_MS = 15_000

interface ServeOptions extends NetworkOptionFlags {
  host: string
  port?: number
  openHint?: boolean
  /** The `--ice-server` list; false for `--no-ice-server` (forget the remembered list). */
  iceServer?: IceServer[] | false
  dhtHost?: string
  repairTimeout: number
}

/** The OS user name as a display name, or "Solidar user" if there is none usable. */
export function defaultUserName (): string {
  try {
    return validateName(os.userInfo().username)
  } catch {
    return 'Solidar user'
  }
}

function loadOrCreateIdentity (home: string, create: boolean): Identity {
  const existing = readIdentity(home)
  if (existing !== null) return existing
  if (!create) throw errors.notInitialized()
  const identity = createIdentity(defaultUserName())
  try {
    writeIdentity(home, identity)
  } catch (err) {
    if (isSolidarError(err) && err.code === 'ALREADY_INITIALIZED') return readIdentity(home) ?? identity
    throw err
  }
  note(`No identity yet: created one named "${identity.name}" (id ${memberId(identity)}).`)
  note('You can choose another name in the web app when you first open it (until you create or join a group).')
  return identity
}

/** The daemon's log: JSON lines on stderr, level from $SOLIDAR_LOG_LEVEL (default: warn). */
// (Wrapped in an object: a pino logger has a `then`-like shape TypeScript refuses as a promise value.)
async function createLogger (): Promise<{ logger: FastifyBaseLogger }> {
  const { default: pino } = await import('pino') // loaded lazily like fastify, for a fast CLI
  return { logger: pino({ level: process.env.SOLIDAR_LOG_LEVEL ?? 'warn' }, pino.destination(2)) }
}

async function listen (node: RunningNode, opts: ServeOptions, port: number, token: string, logger: FastifyBaseLogger, settings: SettingsApi): Promise<ApiServer> {
  // Loaded here, not at the top: the other commands start faster without fastify.
  const { startApiServer } = await import('@solidar/node/api/server')
  try {
    // Read from config.json at every request: a list changed in the web app applies at the next join.
    return await startApiServer({ api: node.api, mirrors: node.mirrors, settings, host: opts.host, port, token, logger, iceServers: () => settings.iceServers() })
  } catch (err) {
    await node.close().catch(() => { /* closing: the other resources must still close, and a failed close has no caller left to tell */ })
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'EADDRINUSE') throw portInUse(opts.host, port)
    if (code === 'EADDRNOTAVAIL') throw new CliError(`Cannot listen on ${opts.host}: this machine has no such address`)
    if (code === 'EACCES') throw new CliError(`Not allowed to listen on port ${port}; use a port above 1023 or --port 0`)
    throw err
  }
}

/** Port taken: said in the words of the command the user typed (`npm start` passes options after `--`). */
function portInUse (host: string, port: number): CliError {
  const how = process.env.npm_lifecycle_event === 'start' ? '`npm start -- --port N`, or `npm start -- --port 0`' : '--port N, or --port 0'
  return new CliError(`Port ${port} on ${host} is already in use (another program, or another Solidar node?). Choose another with ${how} for any free port.`)
}

/** Whether a TCP port can be listened on now (checked before anything is created in the home). */
async function portFree (host: string, port: number): Promise<boolean> {
  const { createServer } = await import('node:net')
  return await new Promise((resolve) => {
    const server = createServer()
    // Only "in use" is answered here; any other failure (no such address, no permission) is the
    // real listen's to report, with its own message.
    server.once('error', (err: NodeJS.ErrnoException) => resolve(err.code !== 'EADDRINUSE'))
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(true)))
  })
}

async function shutdown (home: string, server: ApiServer, node: RunningNode): Promise<void> {
  const timer = setTimeout(() => {
    note('solidar: shutdown takes too long; exiting anyway')
    removeDaemonInfo(home)
    process.exit(EXIT.ERROR)
  }, SHUTDOWN_TIMEOUT_MS)
  try {
    await server.close()
    await node.close()
  } finally {
    removeDaemonInfo(home)
    clearTimeout(timer)
  }
}

/**
 * Diagnostics for memory investigations (docs/RELIABILITY.md, soak): with
 * $SOLIDAR_HEAP_SNAPSHOT_DIR set, SIGUSR2 makes the daemon collect garbage (if run with
 * --expose-gc) and write a V8 heap snapshot into that folder. Off unless the variable is set.
 */
function heapSnapshotsOnSignal (): void {
  const dir = process.env.SOLIDAR_HEAP_SNAPSHOT_DIR
  if (dir === undefined || dir === '') return
  process.on('SIGUSR2', () => {
    void (async () => {
      const [{ writeHeapSnapshot }, path] = await Promise.all([import('node:v8'), import('node:path')])
      const gc = (globalThis as { gc?: () => void }).gc
      if (gc !== undefined) gc()
      const file = writeHeapSnapshot(path.join(dir, `solidar-${process.pid}-${Date.now()}.heapsnapshot`))
      note(`heap snapshot written to ${file}`)
    })().catch((err: Error) => note(`heap snapshot failed: ${err.message}`))
  })
}

/** The `--ice-server` list to remember: checked as a whole (count, duplicates), a usage error if bad. */
function rememberedIceServers (list: IceServer[]): IceServer[] {
  try {
    return checkIceServers(list)
  } catch (err) {
    throw new CliError(`--ice-server: ${(err as Error).message}`, EXIT.USAGE)
  }
}

/** Registers `serve`. */
export function registerServe (program: Command): void {
  addNetworkOptions(program.command('serve')
    .description('run the Solidar node of this home, with the local API and web UI, until Ctrl+C')
    .option('--host <host>', 'address of the local API and web UI', '127.0.0.1')
    .option('--port <port>', `port of the local API and web UI; 0 picks a free one (default: ${DEFAULT_PORT})`, portArg), { remembered: true })
    .option('--ice-server <url>', 'STUN or TURN server for video meetings, remembered (repeatable): stun:HOST:PORT, turn:USER:PASSWORD@HOST:PORT[?transport=udp|tcp], turns:USER:PASSWORD@HOST:PORT', iceServerArg)
    .option('--no-ice-server', 'forget the remembered STUN/TURN servers (meetings: host candidates only)')
    .option('--repair-timeout <duration>', `if the data store is damaged: how long a repair from the web app waits for peers of each group (default: ${formatDuration(REPAIR_TIMEOUT_MS)})`, durationArg)
    .addOption(new Option('--open-hint', 'print a hint about opening the web UI; create an identity if needed').hideHelp())
    // Tests: nodes on different loopback addresses, so a firewall rule can keep two of them apart.
    .addOption(new Option('--dht-host <address>', 'bind the DHT\'s UDP sockets to this IP address').argParser(ipArg).hideHelp())
    .addHelpText('after', `
Prints the web UI address (with the API token) alone as the first line on stdout,
e.g. http://127.0.0.1:${DEFAULT_PORT}/#token=..., and notes on stderr. Writes
<home>/daemon.json while running so other solidar commands find the node.

A full disk: if the disk is too full to open the data store for writing, the node
starts read-only (no network): groups, messages and pads can be read and exported,
writes fail with DISK_FULL naming the folder and the space needed (72 MB), and
\`solidar status\` says so. It checks every 10 s and becomes writable by itself
(and joins the network) once that much space is free.

A damaged data store (or a repair not finished): serve prints the address as usual and
offers the repair in the web app (what it does, what may be lost, progress); once the
store is whole the node starts there. \`solidar repair\` does the same in the terminal.

Network: a choice made with --bootstrap or --public-dht (or in the web app) is remembered
for later runs. Without any, the node stays local and contacts nobody.

Video meetings: browsers connect directly. Without ICE servers they use host
candidates only (same LAN, no STUN or TURN contacted); across the internet, add a
TURN server your union runs, e.g. --ice-server turn:solidar:SECRET@turn.example.org:3478
(repeat the option for several; a STUN server alone helps only behind simple NATs;
percent-encode ":", "@", "/" or "?" in a username or password, e.g. %40 for "@").
The list is remembered in <home>/config.json (mode 0600) and replaces the one saved
before (--no-ice-server forgets it); it can also be edited in the web app (Network
page), where changes apply to the next meeting you join. Passwords are never printed
or logged.

LAN mode: --lan (this run), or "local network" chosen in the web app (remembered;
--no-lan skips it for a run), finds other Solidar nodes on the local network by mDNS
and syncs the groups you share with them over libp2p; nodes that meet learn which groups
they share and nothing about the others. --listen and --peer use libp2p without mDNS
(--peer alone also works behind a firewall that blocks multicast). LAN and DHT can run
at once: a peer reached both ways is synced over one connection.

Examples:
  $ solidar serve --bootstrap 192.0.2.10:49737   # private network of your union
  $ solidar serve --public-dht                   # public DHT
  $ solidar serve --port 0 --no-dht              # any free port, offline
  $ solidar serve --lan --no-dht                 # meeting room: local network only
  $ solidar serve --no-dht --listen 0.0.0.0:4100 --peer 192.168.1.20:4100`)
    .action(async (opts: ServeOptions, cmd: Command) => {
      const conflict = networkFlagConflict(opts)
      if (conflict !== null) cmd.error(`error: ${conflict}`, { exitCode: EXIT.USAGE, code: 'solidar.usage' })
      const home = homeOf(cmd)
      const running = readDaemonInfo(home)
      if (running !== null) {
        throw new CliError(`A Solidar node is already running for home ${home} (pid ${running.pid}, ${running.url}); stop it first, or use another --home`)
      }
      // A port in use fails before anything is written (a first `npm start` creates the identity).
      const wanted = opts.port ?? DEFAULT_PORT
      if (wanted !== 0 && !await portFree(opts.host, wanted)) throw portInUse(opts.host, wanted)
      ensureHome(home)
      const permissive = homeWarning(home)
      if (permissive !== null) note(`Warning: ${permissive}`)
      loadOrCreateIdentity(home, opts.openHint === true)

      const config = readConfig(home)
      const decision = chooseNetwork(opts, config)
      if (decision.remember || opts.iceServer !== undefined) {
        writeConfig(home, {
          ...config,
          ...(decision.remember ? { network: decision.choice } : {}),
          ...(opts.iceServer !== undefined ? { iceServers: opts.iceServer === false ? [] : rememberedIceServers(opts.iceServer) } : {})
        })
      }
      const token = loadOrCreateToken(home)
      const port = opts.port ?? DEFAULT_PORT

      const { logger } = await createLogger()
      const { startNode } = await import('@solidar/node/runtime')
      const lan = chooseLan(opts, config)
      const start = async () => await startNode({
        home,
        network: decision.choice,
        lan,
        ...(opts.dhtHost !== undefined ? { dhtHost: opts.dhtHost } : {}),
        // Replication and storage errors no request waits for: log them, keep running.
        onError: (err) => logger.error({ err }, 'background error in the node'),
        onWarning: (message, err) => logger.warn({ err }, message)
      })
      let node: RunningNode
      let nodePort = port
      try {
        node = await start()
      } catch (err) {
        // A damaged store (or a repair not finished): offer the repair in the web app, then start.
        // Loaded here: the repair machinery is not needed for a node that starts (nor for --help).
        const { offerRepair, repairCause } = await import('../repair-offer.ts')
        const needed = repairCause(err)
        if (needed === null) throw err
        const repaired = await offerRepair({ home, host: opts.host, port, token, logger, network: decision.choice, lan, timeoutMs: opts.repairTimeout ?? REPAIR_TIMEOUT_MS, ...needed })
        if (repaired === null) process.exit(EXIT.OK)
        nodePort = repaired // the page that did the repair reloads at the same address
        node = await start()
      }
      const { createSettings } = await import('@solidar/node/settings')
      // A getter: a node that started read-only on a full disk reopens itself once writable.
      const settings = createSettings({ home, solidar: () => node.solidar, running: decision.choice, runningLan: lan.mdns })
      const server = await listen(node, opts, nodePort, token, logger, settings)
      const daemonInfo = { pid: process.pid, host: opts.host, port: server.port, url: server.url }
      let published: boolean
      try {
        published = writeDaemonInfo(home, daemonInfo)
      } catch (err) {
        // Read-only on a full disk, daemon.json may not fit: the web app works, the CLI finds
        // the node once space is back (written then, below).
        if (node.storage?.writable !== false || (err as NodeJS.ErrnoException).code !== 'ENOSPC') {
          await server.close()
          await node.close()
          throw err
        }
        published = true
        note(`Warning: the disk is full, so ${home}/daemon.json could not be written: \`solidar\` commands will not find this node until space is freed (the web app works).`)
        const stop = node.api.subscribe((e) => {
          if (e.type !== 'storage' || !e.writable) return
          stop()
          try { writeDaemonInfo(home, daemonInfo) } catch (failed) { logger.error({ err: failed }, 'could not write daemon.json') }
        })
      }
      if (!published) {
        await server.close()
        await node.close()
        throw new CliError(`Another Solidar node started for home ${home} at the same time; stopping this one`)
      }
      if (node.storage?.writable === false) {
        const { describeStorage } = await import('./status.ts')
        note(`Warning: Solidar started ${describeStorage(node.storage)} It has no network until then.`)
        const stop = node.api.subscribe((e) => {
          if (e.type === 'storage' && e.writable) { stop(); note('The disk has room again: Solidar is writable and joins the network.') }
        })
      }

      const uiUrl = `${server.url}/#token=${token}`
      print(uiUrl)
      const lanText = describeLan(lan)
      note(`Solidar is running for home ${home}; network: ${describeNetwork(decision.choice)}${lanText !== null ? `; ${lanText}` : ''}.`)
      const ice = settings.iceServers()
      // URLs only: never the TURN credentials.
      if (ice.length > 0) note(`Video meetings may use: ${ice.map((s) => s.urls).join(', ')}`)
      const listening = node.solidar.transport?.info?.().find(i => i.name === 'libp2p')?.listening ?? []
      if (listening.length > 0) note(`libp2p listens on ${listening.join(', ')}`)
      if (decision.source === 'default' && lanText === null) {
        note('This node stays local until you choose a network: in the web app (then restart), or restart it with --bootstrap HOST:PORT (a private DHT of your union) or --public-dht.')
      }
      if (!['127.0.0.1', 'localhost', '::1'].includes(opts.host)) {
        note(`Warning: the API listens on ${opts.host}, so other machines can reach it over unencrypted HTTP, protected only by the token.`)
      }
      if (opts.openHint === true) {
        note('')
        note('Open the address above (the first line) in your web browser.')
        note('Keep this window open while you use Solidar; press Ctrl+C to stop it.')
      } else {
        note('Press Ctrl+C to stop.')
      }

      const stopBootstrapWatch = watchBootstrap(node)
      heapSnapshotsOnSignal()
      await untilSignal()
      stopBootstrapWatch()
      note('Stopping Solidar…')
      await shutdown(home, server, node)
      process.exit(EXIT.OK)
    })
}

/** How often `serve` looks at the bootstrap nodes' answers, and repeats a warning that still holds. */
const BOOTSTRAP_WATCH_MS = 2_000
const BOOTSTRAP_REPEAT_MS = 60_000

/**
 * Says in the terminal when a private DHT's bootstrap nodes do not answer, again every minute
 * while that lasts, and once when they answer again (bootstrap-probe.ts checks them).
 */
function watchBootstrap (node: RunningNode): () => void {
  let said: string | null = null
  let saidAt = 0
  const timer = setInterval(() => {
    const health = node.solidar.transport?.info?.().find((i) => i.bootstrap !== undefined)?.bootstrap
    const problem = bootstrapProblem(health)
    if (problem !== null && (problem !== said || Date.now() - saidAt >= BOOTSTRAP_REPEAT_MS)) {
      note(`Warning: ${problem}`)
      said = problem
      saidAt = Date.now()
    } else if (problem === null && said !== null && health?.checked === true) {
      note('The bootstrap nodes answer now.')
      said = null
    }
  }, BOOTSTRAP_WATCH_MS)
  timer.unref()
  return () => clearInterval(timer)
}
