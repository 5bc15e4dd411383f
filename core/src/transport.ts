/**
 * What Solidar needs from a network: authenticated, encrypted duplex connections to
 * peers, found by topic. Hyperswarm and libp2p (node/) and the in-memory pair all
 * implement this; replication and pairing code never know which one it is.
 * `MultiTransport` (multi-transport.ts) runs several at once, one connection per peer.
 */
import { EventEmitter } from 'node:events'

/**
 * A connection to one peer. `stream` is a framed, encrypted duplex compatible with
 * @hyperswarm/secret-stream (what corestore's `replicate` and `Protomux.from` accept);
 * `remotePublicKey` is the peer's transport key, authenticated by the handshake.
 */
export interface PeerConnection {
  stream: any
  remotePublicKey: Buffer
  transport: string
}

/** What `solidar status` shows of one transport. */
export interface TransportInfo {
  name: string
  /** Open connections of this transport (including standbys of a MultiTransport). */
  connections: number
  /** Connections replication runs over (MultiTransport only). */
  active?: number
  /** Connections kept for failover (MultiTransport only). */
  standby?: number
  /** Addresses the transport listens on, where it has any (libp2p). */
  listening?: string[]
  /** Peers met on the network, shared topic or not (libp2p connections). */
  lanPeers?: number
  /** Private-matching exchanges completed, with or without a shared topic (libp2p). */
  matchings?: number
  /** Discovery in use (e.g. 'mdns', 'dht'), and peers dialled by address. */
  discovery?: string[]
  /** A private DHT's bootstrap nodes: whether they answer (hyperswarm with --bootstrap). */
  bootstrap?: BootstrapHealth
}

/** Whether the bootstrap nodes of a private DHT answer pings. */
export interface BootstrapHealth {
  /** Bootstrap nodes configured. */
  nodes: number
  /** Of them, answering at the last check. */
  answering: number
  /** False until the first check is done (a few seconds after the start). */
  checked: boolean
  /** HOST:PORT of those that did not answer. */
  silent: string[]
}

export interface TransportEvents {
  connection: [PeerConnection]
}

export interface Transport extends EventEmitter<TransportEvents> {
  readonly name: string
  /** Announce and look up `topic` (a 32-byte discovery key, never a secret). */
  join (topic: Buffer, opts?: { server?: boolean, client?: boolean }): Promise<void>
  leave (topic: Buffer): Promise<void>
  /** Resolves once pending announces/lookups have been flushed (best effort). */
  flush (): Promise<void>
  readonly connectionCount: number
  /** Details for status; a transport made of several lists each. */
  info? (): TransportInfo[]
  /** The transport name carrying replication with this peer (MultiTransport), or null. */
  carrier? (remotePublicKey: Uint8Array): string | null
  close (): Promise<void>
}
