/**
 * Which network `solidar serve` joins. An explicit choice (--bootstrap or --public-dht)
 * is remembered in config.json; without one the remembered choice applies, else the
 * node stays local (mode "none") and contacts nobody. --no-dht forces "none" for one run.
 */
import { InvalidArgumentError, type Command } from 'commander'
import type { LanChoice, NetworkChoice } from '@solidar/node/runtime'
import type { HomeConfig } from '@solidar/node/home'
import type { BootstrapHealth } from '@solidar/core'
import { parseLanAddress } from '@solidar/node/lan/addresses'
import { bootstrapArg } from './parsers.ts'

export interface NetworkFlags {
  bootstrap?: string[]
  publicDht?: boolean
  /** false when --no-dht was given. */
  dht?: boolean
}

/** The options `addNetworkOptions` declares: the DHT choice and LAN mode of a run. */
export interface NetworkOptionFlags extends NetworkFlags {
  lan?: boolean
  listen?: string[]
  peer?: string[]
}

export interface NetworkDecision {
  choice: NetworkChoice
  /** Where the choice came from. */
  source: 'flag' | 'config' | 'default' | 'no-dht'
  /** True if the choice should be saved to config.json. */
  remember: boolean
}

/** Returns the usage problem with these flags, or null if they are consistent. */
export function networkFlagConflict (flags: NetworkFlags): string | null {
  const bootstrap = flags.bootstrap !== undefined
  const publicDht = flags.publicDht === true
  if (bootstrap && publicDht) return 'choose either --bootstrap (a private DHT) or --public-dht, not both'
  if (flags.dht === false && (bootstrap || publicDht)) return '--no-dht cannot be combined with --bootstrap or --public-dht'
  return null
}

/** Decides the network of this run from the flags and the remembered config (flags must be consistent). */
export function chooseNetwork (flags: NetworkFlags, config: HomeConfig): NetworkDecision {
  if (flags.dht === false) return { choice: { mode: 'none', bootstrap: [] }, source: 'no-dht', remember: false }
  if (flags.bootstrap !== undefined) {
    return { choice: { mode: 'bootstrap', bootstrap: [...new Set(flags.bootstrap)] }, source: 'flag', remember: true }
  }
  if (flags.publicDht === true) return { choice: { mode: 'public', bootstrap: [] }, source: 'flag', remember: true }
  if (config.network !== undefined) return { choice: config.network, source: 'config', remember: false }
  return { choice: { mode: 'none', bootstrap: [] }, source: 'default', remember: false }
}

/** LAN mode of this run: --lan or --no-lan, else the choice remembered from the web app (config.json `lan`). */
export function chooseLan (flags: { lan?: boolean, listen?: string[], peer?: string[] }, config: HomeConfig): LanChoice {
  return { mdns: flags.lan ?? config.lan === true, listen: flags.listen ?? [], peers: flags.peer ?? [] }
}

/** One-line human description of a network choice. */
export function describeNetwork (choice: NetworkChoice): string {
  switch (choice.mode) {
    case 'none': return 'local only (no network)'
    case 'bootstrap': return `private DHT via ${choice.bootstrap.join(', ')}`
    case 'public': return 'public DHT'
  }
}

/** `--listen HOST:PORT` (repeatable; port 0 picks a free one): a usage error when malformed. */
export function listenArg (value: string, previous: string[] = []): string[] {
  try { parseLanAddress(value, { allowAnyPort: true }) } catch (err) { throw new InvalidArgumentError((err as Error).message + '.') }
  return [...previous, value.trim()]
}

/** `--peer HOST:PORT` (repeatable): a usage error when malformed. */
export function peerArg (value: string, previous: string[] = []): string[] {
  try { parseLanAddress(value) } catch (err) { throw new InvalidArgumentError((err as Error).message + '.') }
  return [...previous, value.trim()]
}

/** One-line description of LAN mode, or null when it is off. */
export function describeLan (lan: LanChoice): string | null {
  const parts = [
    ...(lan.mdns ? ['mDNS discovery'] : []),
    ...(lan.peers.length > 0 ? [`peers ${lan.peers.join(', ')}`] : []),
    ...(lan.listen.length > 0 ? [`listening on ${lan.listen.join(', ')}`] : [])
  ]
  return parts.length > 0 ? `LAN over libp2p (${parts.join('; ')})` : null
}

/**
 * The network options of `serve` and `repair`. `remembered`: --bootstrap and --public-dht are
 * saved to config.json (serve); otherwise they apply to this run only (repair).
 */
export function addNetworkOptions (cmd: Command, { remembered }: { remembered: boolean }): Command {
  const scope = remembered ? 'remembered' : 'this run'
  return cmd
    .option('--bootstrap <host:port,...>', `join a private network through these DHT bootstrap nodes (${scope})`, bootstrapArg)
    .option('--public-dht', `join through the public DHT (${scope})`)
    .option('--no-dht', 'no DHT for this run, whatever was remembered (with --lan: LAN only)')
    .option('--lan', 'find peers on the local network by mDNS and sync with them over libp2p (this run)')
    .option('--no-lan', 'no LAN mode for this run, even if it was chosen in the web app')
    .option('--listen <host:port>', 'libp2p listen address, repeatable; port 0 picks a free one (default with --lan: 0.0.0.0:0)', listenArg)
    .option('--peer <host:port>', 'dial this peer over libp2p and keep dialling while not connected; repeatable (for networks that block multicast)', peerArg)
}

/**
 * What to say about a private DHT's bootstrap nodes when not all of them answer (null when
 * all do, or before the first check): the same words in `status` and the `serve` terminal.
 */
export function bootstrapProblem (health: BootstrapHealth | undefined): string | null {
  if (health === undefined || !health.checked || health.answering === health.nodes) return null
  const which = health.silent.join(', ')
  return health.answering === 0
    ? `the bootstrap node${health.nodes === 1 ? '' : 's'} ${which} ${health.nodes === 1 ? 'does' : 'do'} not answer: this node finds no one. Check the address (--bootstrap HOST:PORT) and that \`solidar dht\` runs there; Solidar keeps trying.`
    : `${health.answering} of ${health.nodes} bootstrap nodes answer; ${which} ${health.silent.length === 1 ? 'does' : 'do'} not.`
}
