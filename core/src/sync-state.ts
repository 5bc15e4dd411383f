/**
 * Replication state of one log for `solidar status`: who replicates it over which
 * transport, and whether this node and its peers hold the same blocks. Read from the
 * hypercore replication sessions (each peer announces the length it has of every core).
 */
import type { TransportInfo } from './transport.ts'

export type SyncPhase = 'offline' | 'syncing' | 'synced' | 'diverged'

export interface GroupSync {
  /**
   * 'offline': no peer replicates this log now; 'syncing': blocks are still on their way (either
   * way); 'synced'; 'diverged': this node's view differs from the one the group's admins signed
   * (Autobase could not commit their signatures to it, see `diverged`): what it shows may be in
   * another order or lack entries, whatever else this says.
   */
  state: SyncPhase
  /** Autobase's warning when the view diverged; absent otherwise. */
  diverged?: string
  /** View blocks this node derived that the admins' signatures do not cover yet (normal while they settle). */
  unsigned: number
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
  view?: { core?: { length: number, signedLength?: number } | null } | null
  local?: CoreLike | null
  activeWriters?: Iterable<WriterLike>
}
interface CoreLike { length: number, contiguousLength?: number, peers?: PeerLike[] }
/** An Autobase writer: its core, and how many of its nodes the base has taken in so far. */
interface WriterLike { core: CoreLike, length?: number }
interface PeerLike { remotePublicKey?: Uint8Array, remoteLength?: number }

export function groupSync (base: BaseLike, carrier: (remotePublicKey: Uint8Array) => string, warning: Error | null = null): { peers: number, peersByTransport: Record<string, number>, sync: GroupSync } {
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
  const view = base.view?.core
  const unsigned = view ? Math.max(0, view.length - (view.signedLength ?? view.length)) : 0
  // A warning alone may be passing; with view blocks the signatures never came to cover, the
  // view is not the group's (seen after a SIGKILL early in a log's life: docs/RELIABILITY.md §1).
  if (warning !== null && unsigned > 0) {
    return { peers: peers.length, peersByTransport, sync: { state: 'diverged', diverged: warning.message, missing, unsent, unapplied, unsigned } }
  }
  const state: SyncPhase = peers.length === 0 ? 'offline' : (missing > 0 || unsent > 0 || unapplied > 0 ? 'syncing' : 'synced')
  return { peers: peers.length, peersByTransport, sync: { state, missing, unsent, unapplied, unsigned } }
}
