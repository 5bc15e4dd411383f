/**
 * `mirror serve|add|list`: blind mirrors that keep a group's encrypted data available
 * while members are offline (server: relay/src/mirror.ts; client: node/src/mirrors.ts).
 */
import path from 'node:path'
import type { Command } from 'commander'
import type { GroupMirrors, MirrorAddResult } from '@solidar/node/mirrors'
import { clientOf, homeOf } from '../context.ts'
import { seg } from '../client.ts'
import { CliError, EXIT } from '../errors.ts'
import { networkFlagConflict } from '../network.ts'
import { bootstrapArg, portArg } from '../parsers.ts'
import { note, print, printJson, printTable } from '../output.ts'
import { untilSignal } from '../signals.ts'

const TRANSPORT_NOTE = 'Mirrors work over the hyperswarm transport (a private DHT with --bootstrap, or --public-dht); a node without a network remembers its mirrors and uses them once it has one.'

interface ServeOptions {
  storage?: string
  bootstrap?: string[]
  publicDht?: boolean
  host?: string
  port?: number
  verbose?: boolean
}

function mirrorLine (m: GroupMirrors['mirrors'][number]): string[] {
  const state = !m.connected ? 'not connected' : m.mirroredLength === m.localLength ? 'up to date' : 'syncing'
  const blocks = m.mirroredLength === null ? `-/${m.localLength}` : `${m.mirroredLength}/${m.localLength}`
  return [m.key, state, blocks]
}

/** Registers `mirror serve`, `mirror add` and `mirror list`. */
export function registerMirror (program: Command): void {
  const mirror = program.command('mirror')
    .description('blind mirrors: keep a group\'s encrypted data available while members are offline (see: mirror serve --help)')
    .addHelpText('after', `
A mirror (say, a small always-on box in the union office) stores and serves the
encrypted data of the groups whose members added it, without any key to read it.

  $ solidar mirror serve --bootstrap 192.0.2.10:49737     # on the mirror box; prints its key
  $ solidar mirror add "Betriebsrat Nord" MIRROR_KEY       # on each member's device

${TRANSPORT_NOTE}`)

  mirror.command('serve')
    .description('run a blind mirror until Ctrl+C; prints its key (give it to members for `mirror add`)')
    .option('--storage <dir>', 'folder of the mirror\'s key pair and data (default: <home>/mirror)')
    .option('--bootstrap <host:port,...>', 'DHT bootstrap nodes of your private network', bootstrapArg)
    .option('--public-dht', 'use the public DHT instead of a private one')
    .option('--host <host>', 'address of the mirror\'s UDP socket (default: 127.0.0.1 for loopback bootstrap nodes, else all)')
    .option('--port <port>', 'UDP port of the mirror (default: any free port; fix one for firewall rules)', portArg)
    .option('--verbose', 'log connections and stored cores as JSON lines on stderr')
    .addHelpText('after', `
Prints the mirror key (52 characters) alone as the first line on stdout, notes on
stderr, then runs until Ctrl+C (SIGINT) or SIGTERM. The key pair is kept in
<storage>/mirror-key.json (mode 0600): keep that file to keep the key.

The mirror never receives a group key: it learns the keys and lengths of the
encrypted cores it stores, when they grow, and which devices connect; no content.
${TRANSPORT_NOTE}

Example:
  $ solidar mirror serve --storage /var/lib/solidar-mirror --bootstrap 192.0.2.10:49737
  8a3p…q9yo`)
    .action(async (opts: ServeOptions, cmd: Command) => {
      const conflict = networkFlagConflict(opts)
      if (conflict !== null) cmd.error(`error: ${conflict}`, { exitCode: EXIT.USAGE, code: 'solidar.usage' })
      if (opts.bootstrap === undefined && opts.publicDht !== true) {
        cmd.error('error: choose a network: --bootstrap HOST:PORT (a private DHT) or --public-dht', { exitCode: EXIT.USAGE, code: 'solidar.usage' })
      }
      const storage = path.resolve(opts.storage ?? path.join(homeOf(cmd), 'mirror'))
      // Loaded here: blind-peer (RocksDB, hyperdb) is only needed by this command.
      const { startMirror } = await import('@solidar/relay/mirror')
      let running
      try {
        running = await startMirror({
          storage, bootstrap: opts.bootstrap, publicDht: opts.publicDht === true, host: opts.host, port: opts.port,
          ...(opts.verbose === true ? { onEvent: (event, fields) => note(JSON.stringify({ time: new Date().toISOString(), event, ...fields })) } : {})
        })
      } catch (err) {
        throw new CliError(`Cannot start the mirror: ${(err as Error).message}`)
      }
      print(running.key)
      note(`Blind mirror running; storage ${storage}; network: ${opts.publicDht === true ? 'public DHT' : `private DHT via ${opts.bootstrap!.join(', ')}`}.`)
      note(`Members add it with: solidar mirror add GROUP ${running.key}`)
      note('Press Ctrl+C to stop.')
      await untilSignal()
      note('Stopping the mirror…')
      const timer = setTimeout(() => { note('solidar: shutdown takes too long; exiting anyway'); process.exit(EXIT.ERROR) }, 15_000)
      await running.close()
      clearTimeout(timer)
      process.exit(EXIT.OK)
    })

  mirror.command('add')
    .description('let a blind mirror keep a group\'s encrypted data (remembered for this device)')
    .argument('<group>', 'group id or unambiguous name')
    .argument('<key>', 'the mirror key that `solidar mirror serve` printed')
    .option('--json', 'print {group, key, added, active, mirrors} as JSON')
    .addHelpText('after', `
This device then keeps the mirror up to date with the group, also after restarts.
Every member who wants to catch up from the mirror adds it on their own device.
${TRANSPORT_NOTE}

Example:
  $ solidar mirror add "Betriebsrat Nord" 8a3p…q9yo`)
    .action(async (ref: string, key: string, opts: { json?: boolean }, cmd: Command) => {
      const result = await clientOf(cmd).post<MirrorAddResult>(`/api/groups/${seg(ref)}/mirrors`, { key })
      if (opts.json === true) return printJson(result)
      print(result.added ? `This device now uses mirror ${result.key} for group ${result.group}` : `Mirror ${result.key} was already used for group ${result.group}`)
      if (!result.active) note('This node has no network yet: the mirror is used once it runs with --bootstrap or --public-dht.')
    })

  mirror.command('list')
    .description('list the mirrors this device uses for a group, and whether they hold what it wrote')
    .argument('<group>', 'group id or unambiguous name')
    .option('--json', 'print {group, active, mirrors: [{key, connected, localLength, mirroredLength}]} as JSON')
    .action(async (ref: string, opts: { json?: boolean }, cmd: Command) => {
      const result = await clientOf(cmd).get<GroupMirrors>(`/api/groups/${seg(ref)}/mirrors`)
      if (opts.json === true) return printJson(result)
      if (result.mirrors.length === 0) return print('This device uses no mirror for this group: add one with `solidar mirror add GROUP KEY`.')
      printTable(['MIRROR', 'STATE', 'BLOCKS'], result.mirrors.map(mirrorLine))
      if (!result.active) note('This node has no network: mirrors are not used until it runs with --bootstrap or --public-dht.')
    })
}
