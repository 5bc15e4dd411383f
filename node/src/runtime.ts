/**
 * The Node.js runtime of one Solidar node: opens the identity, the on-disk corestore
 * and the chosen network, and hands back the node's `SolidarApi`.
 */
import path from 'node:path'
import Corestore from 'corestore'
import HyperDHT from 'hyperdht'
import { Solidar, encodeIdentity, errors, type SolidarApi } from '@solidar/core'
import { FileStore } from './file-store.ts'
import { IDENTITY_FILE, readIdentity, writeFileAtomic } from './home.ts'
import { HyperswarmTransport, parseHostPort } from './hyperswarm-transport.ts'
import { MirrorManager } from './mirrors.ts'

/** How this node reaches other peers. Nothing beyond 127.0.0.1 is contacted for 'none'. */
export interface NetworkChoice {
  mode: 'none' | 'bootstrap' | 'public'
  /** HOST:PORT entries of a private DHT (mode 'bootstrap'). */
  bootstrap: string[]
}

export interface RunningNode {
  api: SolidarApi
  /** The full node, for callers that need more than the API (tests, relay). */
  solidar: Solidar
  /** The group mirrors of this node (`mirrors.json`; used only with a hyperswarm transport). */
  mirrors: MirrorManager
  close (): Promise<void>
}

export interface StartNodeOptions {
  home: string
  network: NetworkChoice
  /** Called with errors no request is waiting for (replication, storage). */
  onError?: (err: Error) => void
}

export async function startNode (opts: StartNodeOptions): Promise<RunningNode> {
  const identity = readIdentity(opts.home)
  if (!identity) throw errors.notInitialized()
  let transport: HyperswarmTransport | null = null
  if (opts.network.mode === 'bootstrap') {
    if (opts.network.bootstrap.length === 0) throw errors.badRequest('--bootstrap needs at least one HOST:PORT')
    const bootstrap = opts.network.bootstrap.map(b => {
      try { return parseHostPort(b) } catch (err: any) { throw errors.badRequest(err.message) }
    })
    transport = new HyperswarmTransport({ mode: 'bootstrap', bootstrap })
  } else if (opts.network.mode === 'public') {
    transport = new HyperswarmTransport({ mode: 'public' })
  }
  const store = new Corestore(path.join(opts.home, 'store'))
  let solidar: Solidar
  try {
    solidar = await Solidar.open({
      identity, store, transport, local: new FileStore(opts.home),
      networkMode: opts.network.mode, bootstrap: opts.network.bootstrap,
      // A linked device learns its member key and certificate: keep them (0600, atomic).
      onIdentityChange: async (changed) => writeFileAtomic(path.join(opts.home, IDENTITY_FILE), encodeIdentity(changed))
    })
  } catch (err) {
    await transport?.close().catch(() => {})
    await store.close().catch(() => {})
    throw err
  }
  const stopErrors = opts.onError ? solidar.onError(opts.onError) : () => {}
  // Mirrors ride on the transport's DHT: blind-peering dials each mirror by its public key.
  const mirrors = new MirrorManager({ home: opts.home, node: solidar, store, dht: transport?.dht ?? null, onError: opts.onError })
  try {
    await mirrors.start()
  } catch (err) {
    stopErrors()
    await mirrors.close().catch(() => {})
    await solidar.close().catch(() => {})
    await transport?.close().catch(() => {})
    await store.close().catch(() => {})
    throw err
  }
  let closing: Promise<void> | null = null
  return {
    api: solidar,
    solidar,
    mirrors,
    close () {
      closing ??= (async () => {
        stopErrors()
        await mirrors.close().catch(() => {})
        await solidar.close()
        await transport?.close().catch(() => {})
        await store.close()
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
