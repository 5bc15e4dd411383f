/**
 * Replication state of one log for `solidar status`: who replicates it over which
 * transport, and whether this node and its peers hold the same blocks. Read from the
 * hypercore replication sessions (each peer announces the length it has of every core).
 */
import type { TransportInfo } from './transport.ts'

export type SyncPhase = 'offline' | 'syncing' | 'synced'

export interface GroupSync {
  /** 'offline': no peer replicates this log now; 'syncing': blocks are still on their way (either way); 'synced'. */
  state: SyncPhase
  /** Blocks peers have that this node has not downloaded yet. */
  missing: number
  /** Blocks of this device's writer that some connected peer does not have yet. */
  unsent: number
  /** Blocks downloaded but not yet taken into this node's view (Autobase is still applying them). */
  unapplied: number
}

export interface NetworkStatusDetail {
  /** The transports that are up, with their connections (see TransportInfo). */
  transports: TransportInfo[]
}

/** What a log's Autobase exposes that this reads: its system core, writers and local writer. */
interface BaseLike {
  core?: { peers?: PeerLike[] } | null
  local?: CoreLike | null
  activeWriters?: Iterable<WriterLike>
}
interface CoreLike { length: number, contiguousLength?: number, peers?: PeerLike[] }
/** An Autobase writer: its core, and how many of its nodes the base has taken in so far. */
interface WriterLike { core: CoreLike, length?: number }
interface PeerLike { remotePublicKey?: Uint8Array, remoteLength?: number }

export function groupSync (base: BaseLike, carrier: (remotePublicKey: Uint8Array) => string): { peers: number, peersByTransport: Record<string, number>, sync: GroupSync } {
  const peers = base.core?.peers ?? []
  const peersByTransport: Record<string, number> = {}
  for (const p of peers) {
    if (!p.remotePublicKey) continue
    const name = carrier(p.remotePublicKey)
    peersByTransport[name] = (peersByTransport[name] ?? 0) + 1
  }
  let missing = 0
  let unapplied = 0
  for (const w of base.activeWriters ?? []) {
    const have = w.core.contiguousLength ?? w.core.length
    const best = Math.max(0, ...(w.core.peers ?? []).map(p => p.remoteLength ?? 0))
    missing += Math.max(0, best - have)
    if (w.length !== undefined) unapplied += Math.max(0, have - w.length)
  }
  let unsent = 0
  const local = base.local
  if (local && local.length > 0) {
    const lengths = (local.peers ?? []).map(p => p.remoteLength ?? 0)
    if (lengths.length > 0) unsent = Math.max(0, local.length - Math.min(...lengths))
  }
  const state: SyncPhase = peers.length === 0 ? 'offline' : (missing > 0 || unsent > 0 || unapplied > 0 ? 'syncing' : 'synced')
  return { peers: peers.length, peersByTransport, sync: { state, missing, unsent, unapplied } }
}
