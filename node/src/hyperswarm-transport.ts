/**
 * The Transport over Hyperswarm/HyperDHT. The bootstrap list is always explicit:
 * a private DHT (`--bootstrap`), or HyperDHT's public nodes only when the user chose
 * `--public-dht`. With loopback-only bootstrap nodes the DHT node binds 127.0.0.1,
 * so a local test network never reaches for another interface.
 */
import { EventEmitter } from 'node:events'
import Hyperswarm from 'hyperswarm'
import HyperDHT from 'hyperdht'
import b4a from 'b4a'
import type { PeerConnection, Transport, TransportEvents, TransportInfo } from '@solidar/core'
import { BootstrapProbe, type ProbeOptions } from './bootstrap-probe.ts'

/** A connection with no bytes (keep-alives included) for this long is closed. */
const CONNECTION_TIMEOUT_MS = 15_000

export interface HostPort { host: string, port: number }

export type HyperswarmNetwork = { mode: 'bootstrap', bootstrap: HostPort[] } | { mode: 'public' }

export function parseHostPort (text: string): HostPort {
  const m = /^\[?([^\]]+?)\]?:(\d{1,5})$/.exec(text.trim())
  const port = m ? Number(m[2]) : NaN
  if (!m || port < 1 || port > 65535) throw new Error(`"${text}" is not HOST:PORT`)
  return { host: m[1], port }
}

export const isLoopback = (host: string) => host === 'localhost' || host === '::1' || /^127\./.test(host)

/**
 * A HyperDHT node for `network`: the public bootstrap nodes only for mode 'public' (the
 * user's explicit choice); with loopback-only bootstrap nodes it binds 127.0.0.1.
 * `host` and `port` pin the UDP socket (e.g. a mirror behind a firewall rule).
 */
export function createDht (network: HyperswarmNetwork, bind: { host?: string, port?: number } = {}): any {
  const socket = {
    ...(bind.host !== undefined ? { host: bind.host } : {}),
    ...(bind.port !== undefined && bind.port !== 0 ? { port: bind.port } : {})
  }
  if (network.mode === 'public') return new HyperDHT(socket) // the public bootstrap nodes
  return new HyperDHT({
    bootstrap: network.bootstrap,
    // On loopback every node is reachable: saying so (firewalled: false) avoids a ~15 s
    // half-open first connection seen here when a third peer joins a topic.
    ...(network.bootstrap.every(b => isLoopback(b.host)) ? { host: '127.0.0.1', firewalled: false } : {}),
    ...socket
  })
}

export class HyperswarmTransport extends EventEmitter<TransportEvents> implements Transport {
  readonly name = 'hyperswarm'
  readonly swarm: any
  #topics = new Map<string, any>()
  /** Only for a private DHT (see bootstrap-probe.ts). */
  readonly #probe: BootstrapProbe | null

  /**
   * `keyPair`: this node's transport key pair, shared with its other transports so that
   * connections to one peer over several transports carry the same key (MultiTransport).
   * `host`: the address the DHT's sockets bind to (see createDht).
   */
  constructor (network: HyperswarmNetwork, opts: { keyPair?: { publicKey: Buffer, secretKey: Buffer }, host?: string, probe?: ProbeOptions } = {}) {
    super()
    this.swarm = new Hyperswarm({ dht: createDht(network, opts.host !== undefined ? { host: opts.host } : {}), ...(opts.keyPair ? { keyPair: opts.keyPair } : {}) })
    this.#probe = network.mode === 'bootstrap' ? new BootstrapProbe(this.swarm.dht, network.bootstrap, opts.probe) : null
    this.swarm.on('connection', (stream: any) => {
      // HyperDHT sends keep-alives every 5 s; a connection silent for longer is dead. Noticing it
      // lets another transport's connection to the same peer take over (MultiTransport).
      stream.setTimeout?.(CONNECTION_TIMEOUT_MS)
      const conn: PeerConnection = { stream, remotePublicKey: stream.remotePublicKey, transport: this.name }
      this.emit('connection', conn)
    })
  }

  async join (topic: Buffer, opts: { server?: boolean, client?: boolean } = {}): Promise<void> {
    const key = b4a.toString(topic, 'hex')
    if (this.#topics.has(key)) return
    this.#topics.set(key, this.swarm.join(topic, { server: opts.server ?? true, client: opts.client ?? true }))
  }

  async leave (topic: Buffer): Promise<void> {
    const key = b4a.toString(topic, 'hex')
    if (!this.#topics.delete(key)) return
    await this.swarm.leave(topic)
  }

  async flush (): Promise<void> { await this.swarm.flush() }

  get connectionCount (): number { return this.swarm.connections.size }

  info (): TransportInfo[] {
    return [{ name: this.name, connections: this.connectionCount, discovery: ['dht'], ...(this.#probe !== null ? { bootstrap: this.#probe.health } : {}) }]
  }

  /** The swarm's HyperDHT node (blind-peering dials mirrors through it). */
  get dht (): any { return this.swarm.dht }

  async close (): Promise<void> {
    this.#probe?.close()
    await this.swarm.destroy()
    await this.#probe?.done
  }
}
