/**
 * The Node.js runtime of one Solidar node: opens the identity, the on-disk corestore
 * and the chosen network, and hands back the node's `SolidarApi`.
 */
import path from 'node:path'
import HyperDHT from 'hyperdht'
import crypto from 'hypercore-crypto'
import { MultiTransport, Solidar, SolidarError, encodeIdentity, errors, type NodeStorage, type SolidarApi, type Transport } from '@solidar/core'
import { FileStore } from './file-store.ts'
import { assertNoPendingRepair, closeDiskStore, corruptStoreError, foreignStoreError, isCorruption, openDiskStore, rememberStoreKey, walSyncBarrier } from './disk-store.ts'
import { IDENTITY_FILE, readIdentity, writeFileAtomic } from './home.ts'
import { HyperswarmTransport, parseHostPort } from './hyperswarm-transport.ts'
import { MirrorManager, type MirrorApi } from './mirrors.ts'
import { isDiskFull } from './read-only.ts'
import { startReadOnlyNode } from './read-only-node.ts'
import { parseLanAddress, type LanAddress } from './lan/addresses.ts'
import { Teardown } from './teardown.ts'

export type { NetworkChoice } from '@solidar/core/local-api-types'
import type { NetworkChoice } from '@solidar/core/local-api-types'

/**
 * LAN mode (libp2p). Off unless mDNS is on or an address is given. `listen` and `peers`
 * are HOST:PORT; mDNS listens on 0.0.0.0 with a free port unless `listen` says otherwise.
 */
export interface LanChoice {
  mdns: boolean
  listen: string[]
  peers: string[]
}

export const lanEnabled = (lan: LanChoice | undefined): lan is LanChoice =>
  lan !== undefined && (lan.mdns || lan.listen.length > 0 || lan.peers.length > 0)

/** Parses LAN addresses; a bad one is a BAD_REQUEST naming the option. */
export function parseLanChoice (lan: LanChoice): { listen: LanAddress[], peers: LanAddress[] } {
  const parse = (list: string[], option: string, allowAnyPort: boolean) => list.map(a => {
    try { return parseLanAddress(a, { allowAnyPort }) } catch (err: any) { throw errors.badRequest(`${option}: ${err.message}`) }
  })
  return { listen: parse(lan.listen, '--listen', true), peers: parse(lan.peers, '--peer', false) }
}

export interface RunningNode {
  api: SolidarApi
  /** The full node, for callers that need more than the API (tests, relay). */
  solidar: Solidar
  /** The group mirrors of this node (`mirrors.json`; used only with a hyperswarm transport). */
  mirrors: MirrorApi
  /** Set when the node started read-only on a full disk (read-only.ts): writable or not, free and needed space. */
  readonly storage?: NodeStorage
  /** A read-only node: checks the free space now (as every 10 s) and reopens for writing if there is enough. */
  checkStorage?: () => Promise<NodeStorage>
  close (): Promise<void>
}

export interface StartNodeOptions {
  home: string
  network: NetworkChoice
  /** LAN mode over libp2p, beside (or instead of) the DHT. */
  lan?: LanChoice
  /** The IP address the DHT's UDP sockets bind to (default: 127.0.0.1 for a loopback DHT, else any). */
  dhtHost?: string
  /** Called with errors no request is waiting for (replication, storage). */
  onError?: (err: Error) => void
  /** Notes about peers worth a log line (failed dials, malformed matching messages). */
  onWarning?: (message: string, err?: unknown) => void
  /**
   * On a disk too full to open the store for writing, start read-only (reads and exports
   * work, writes get DISK_FULL) and become writable once space returns (default true).
   * False: fail as before (the XMPP bridge, which only writes).
   */
  readOnlyWhenFull?: boolean
  /** How often a read-only node checks the free space (default WRITABLE_CHECK_MS, 10 s). */
  writableCheckMs?: number
}

/** The transports of one run (hyperswarm and/or libp2p) as one, or null for a local-only node. */
export interface OpenedTransport {
  transport: MultiTransport | null
  /** The hyperswarm part, if any (mirrors dial over its DHT). */
  swarm: HyperswarmTransport | null
}

/** Opens the network of a run: the DHT (private or public) and LAN mode, as chosen. */
export async function openTransport (opts: Pick<StartNodeOptions, 'network' | 'lan' | 'onWarning' | 'dhtHost'>): Promise<OpenedTransport> {
  // One transport key pair per run, shared by all transports: a peer reached over both is
  // recognised as one (MultiTransport) and never linked to this device's identity key.
  const keyPair = crypto.keyPair()
  const lan = lanEnabled(opts.lan) ? { ...parseLanChoice(opts.lan), mdns: opts.lan.mdns } : null
  let swarm: HyperswarmTransport | null = null
  if (opts.network.mode === 'bootstrap') {
    if (opts.network.bootstrap.length === 0) throw errors.badRequest('--bootstrap needs at least one HOST:PORT')
    const bootstrap = opts.network.bootstrap.map(b => {
      try { return parseHostPort(b) } catch (err: any) { throw errors.badRequest(err.message) }
    })
    swarm = new HyperswarmTransport({ mode: 'bootstrap', bootstrap }, { keyPair, ...(opts.dhtHost !== undefined ? { host: opts.dhtHost } : {}) })
  } else if (opts.network.mode === 'public') {
    swarm = new HyperswarmTransport({ mode: 'public' }, { keyPair, ...(opts.dhtHost !== undefined ? { host: opts.dhtHost } : {}) })
  }
  const parts: Transport[] = swarm ? [swarm] : []
  if (lan) {
    try {
      // Loaded only in LAN mode: libp2p is large and needs its Node 20 polyfill first.
      const { Libp2pTransport } = await import('./lan/libp2p-transport.ts')
      parts.push(await Libp2pTransport.create({ keyPair, ...lan, onWarning: opts.onWarning }))
    } catch (err: any) {
      await swarm?.close().catch((closeErr: Error) => opts.onWarning?.('closing hyperswarm after LAN mode failed to start failed', closeErr))
      if (err?.code === 'EADDRINUSE') throw errors.badRequest(`--listen: the address is already in use (${err.message})`)
      if (err?.code === 'EADDRNOTAVAIL') throw errors.badRequest(`--listen: this machine has no such address (${err.message})`)
      throw err
    }
  }
  // Hyperswarm first: of two connections to one peer, replication uses the hyperswarm one
  // (hyperswarm reconnects on its own schedule; a libp2p session is ours to reopen at once).
  return { transport: parts.length > 0 ? new MultiTransport(parts) : null, swarm }
}

/**
 * Starts the node. On a disk too full to open the store for writing it starts read-only
 * instead (node/src/read-only-node.ts), unless `readOnlyWhenFull` is false.
 */
export async function startNode (opts: StartNodeOptions): Promise<RunningNode> {
  try {
    return await startWritableNode(opts)
  } catch (err) {
    if (opts.readOnlyWhenFull === false || !isDiskFull(err)) throw err
    return startReadOnlyNode(opts, err, startWritableNode)
  }
}

async function startWritableNode (opts: StartNodeOptions): Promise<RunningNode> {
  const identity = readIdentity(opts.home)
  if (!identity) throw errors.notInitialized()
  assertNoPendingRepair(opts.home)
  const { transport, swarm } = await openTransport(opts)
  const teardown = new Teardown()
  const store = openDiskStore(opts.home)
  // closeDiskStore also releases RocksDB's lock of a store whose open failed.
  teardown.add('the data store', () => closeDiskStore(store))
  if (transport) teardown.add('the network', () => transport.close()) // closed before the store
  let solidar: Solidar
  try {
    solidar = await Solidar.open({
      identity, store, transport, local: new FileStore(opts.home),
      networkMode: opts.network.mode, bootstrap: opts.network.bootstrap,
      durable: walSyncBarrier(store),
      // A linked device learns its member key and certificate: keep them (0600, atomic).
      onIdentityChange: async (changed) => writeFileAtomic(path.join(opts.home, IDENTITY_FILE), encodeIdentity(changed))
    })
  } catch (err) {
    if (isCorruption(err)) return teardown.abort(corruptStoreError(opts.home, err), opts.onWarning)
    if (/Another corestore is stored here/.test(String((err as Error)?.message))) return teardown.abort(foreignStoreError(opts.home), opts.onWarning)
    return teardown.abort(err, opts.onWarning)
  }
  teardown.add('the node', () => solidar.close())
  const stopErrors = opts.onError ? solidar.onError(opts.onError) : () => {}
  teardown.add('the error listener', stopErrors)
  // Mirrors ride on the transport's DHT: blind-peering dials each mirror by its public key.
  const mirrors = new MirrorManager({ home: opts.home, node: solidar, store, dht: swarm?.dht ?? null, onError: opts.onError })
  teardown.add('the mirrors', () => mirrors.close())
  try {
    rememberStoreKey(opts.home, store.primaryKey)
    await mirrors.start()
  } catch (err) {
    return teardown.abort(err, opts.onWarning)
  }
  let closing: Promise<void> | null = null
  return {
    api: solidar,
    solidar,
    mirrors,
    close () {
      closing ??= (async () => {
        // Every step runs; the first failure is the answer, once everything is closed.
        const failures = await teardown.run()
        if (failures.length > 0) throw failures[0].error
      })()
      return closing
    }
  }
}

export interface DhtBootstrap {
  host: string
  port: number
  close (): Promise<void>
}

/**
 * Runs a small DHT bootstrap network in this process (for a union's private network,
 * demos, tests): one node on host:port plus two helpers, enough for announces and
 * lookups to find each other.
 */
export async function runDhtBootstrap ({ host, port }: { host: string, port: number }): Promise<DhtBootstrap> {
  // hyperdht turns port 0 into its default 49737 (then 49738…); a one-element range [0, 0]
  // is how to ask dht-rpc for a port the kernel picks, so parallel networks never collide.
  const anyPort = [0, 0]
  const first = new HyperDHT({ bootstrap: [], port: port === 0 ? anyPort : port, host, ephemeral: false, firewalled: false })
  await first.fullyBootstrapped()
  const address = first.address()
  // dht-rpc binds the next free port when the one asked for is taken: the address given to
  // every member would then lead nowhere. A fixed port is that port or an error.
  if (port !== 0 && address.port !== port) {
    await first.destroy()
    throw new SolidarError('BUSY', `UDP port ${port} on ${host} is in use (another \`solidar dht\`?): stop that, or choose another --port`)
  }
  const bootstrap = [{ host, port: address.port }]
  const nodes = [first]
  for (let i = 0; i < 2; i++) {
    const node = new HyperDHT({ bootstrap, host, port: anyPort, ephemeral: false, firewalled: false })
    await node.fullyBootstrapped()
    nodes.push(node)
  }
  return {
    host,
    port: address.port,
    async close () {
      for (const node of nodes.reverse()) await node.destroy()
    }
  }
}
