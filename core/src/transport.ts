/**
 * What Solidar needs from a network: authenticated, encrypted duplex connections to
 * peers, found by topic. Hyperswarm (node/), libp2p (later) and the in-memory pair
 * below all implement this; replication and pairing code never know which one it is.
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
  close (): Promise<void>
}
