/**
 * Has what this device wrote to a log reached another device yet? A leave, a removal, a role
 * change or a revocation that never left this device changes nothing for the others; a device
 * that stops syncing right after writing one (a leave) would lose it for good.
 *
 * "Reached" means: a connected peer holds this device's writer core of the log up to its
 * current length (the peer says so itself: hypercore's `remoteContiguousLength`, which a peer
 * announces once it has verified and stored the blocks).
 */
import b4a from 'b4a'
import type { DeliveryState } from './types.ts'

export type { DeliveryState }

/** How long `leave` waits for a peer to take the leave before it reports it as pending. */
export const LEAVE_DELIVERY_MS = 10_000
/** How long an admin action waits for a connected peer to take it before answering. */
export const ACTION_DELIVERY_MS = 3_000
const POLL_MS = 50
const BACKGROUND_POLL_MS = 250

/** True once a connected peer holds every entry this device has written to the log of `base`. */
export function deliveredToPeer (base: any): boolean {
  const local = base?.local
  if (!local) return false
  const length: number = local.length
  if (length === 0) return true
  return (local.peers ?? []).some((peer: any) => (peer.remoteContiguousLength ?? 0) >= length)
}

/** Number of peers replicating this device's writer core of the log right now. */
export function writerPeers (base: any): number {
  return base?.local?.peers?.length ?? 0
}

/**
 * Waits until a peer holds this device's entries of `base`; false after `timeoutMs` (Infinity:
 * until then). Rejects with the signal's reason when it aborts.
 */
export async function waitForDelivery (base: any, timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
  const until = Date.now() + timeoutMs
  const interval = Number.isFinite(timeoutMs) ? POLL_MS : BACKGROUND_POLL_MS
  for (;;) {
    signal?.throwIfAborted()
    if (deliveredToPeer(base)) return true
    if (Date.now() >= until) return false
    await new Promise<void>((resolve) => {
      const done = (): void => { clearTimeout(timer); signal?.removeEventListener('abort', done); resolve() }
      const timer = setTimeout(done, Math.min(interval, Math.max(0, until - Date.now())))
      signal?.addEventListener('abort', done, { once: true })
    })
  }
}

/**
 * For an admin action just written: waits a little for a connected peer to take it, and says
 * whether one has. With no peer connected, answers at once: the entry stays in this device's
 * log and reaches the others when one connects.
 */
export async function deliveredSoon (base: any, signal?: AbortSignal): Promise<boolean> {
  if (writerPeers(base) === 0 && (base?.core?.peers?.length ?? 0) === 0) return false
  return waitForDelivery(base, ACTION_DELIVERY_MS, signal)
}

/** How many sent messages a log set remembers the writer length of (the newest). */
const SENT_MEMORY = 5_000

/**
 * What this device sent since it started, by message id: how long its writer core of the log
 * was once the message was in it. A message has reached another device once a connected peer
 * holds the writer core up to that length (the same evidence as `deliveredToPeer`). Kept in
 * memory only: after a restart the earlier messages are simply "sent" (on disk), no more.
 */
export class SentMarks {
  /** Per message: the writer length that holds it, and the connections (remote keys) seen holding it. */
  readonly #sent = new Map<string, { base: any, length: number, seen: Set<string> }>()

  /** Right after the append of message `id` to `base`. */
  mark (id: string, base: any): void {
    this.#sent.set(id, { base, length: base?.local?.length ?? 0, seen: new Set() })
    if (this.#sent.size > SENT_MEMORY) this.#sent.delete(this.#sent.keys().next().value!)
  }

  /**
   * For each of `ids` this device sent since it started: whether a connected peer holds it now
   * (`reached`), with how many connected peers (`peers`), and on how many of the group's other
   * devices (`devices` of `of`): a connected peer holding it counts as a device when the
   * group's presence names the member behind that connection (`byPeer`: the connection's remote
   * key → member), and stays counted once seen; `of` counts every current device of every
   * current member but this one. A device that got it only through another member is not seen
   * here, so `devices` is a lower bound. Ids it did not send, or sent before a restart, are left out.
   */
  states (ids: string[], group: { byPeer: Map<string, string>, devices: number } = { byPeer: new Map(), devices: 0 }): DeliveryState[] {
    const out: DeliveryState[] = []
    for (const id of ids) {
      const s = this.#sent.get(id)
      if (s === undefined) continue
      const holding = (s.base?.local?.peers ?? []).filter((p: any) => (p.remoteContiguousLength ?? 0) >= s.length)
      // A device that held it once still does (it verified and stored the blocks): remembered.
      for (const p of holding) {
        const key: unknown = p.stream?.remotePublicKey
        const hex = key instanceof Uint8Array ? b4a.toString(key, 'hex') : null
        if (hex !== null && group.byPeer.has(hex)) s.seen.add(hex)
      }
      out.push({ id, reached: holding.length > 0 || s.seen.size > 0, peers: holding.length, devices: Math.min(s.seen.size, group.devices), of: group.devices })
    }
    return out
  }
}
