/**
 * Has what this device wrote to a log reached another device yet? A leave, a removal, a role
 * change or a revocation that never left this device changes nothing for the others; a device
 * that stops syncing right after writing one (a leave) would lose it for good.
 *
 * "Reached" means: a connected peer holds this device's writer core of the log up to its
 * current length (the peer says so itself: hypercore's `remoteContiguousLength`, which a peer
 * announces once it has verified and stored the blocks).
 */

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
  readonly #sent = new Map<string, { base: any, length: number }>()

  /** Right after the append of message `id` to `base`. */
  mark (id: string, base: any): void {
    this.#sent.set(id, { base, length: base?.local?.length ?? 0 })
    if (this.#sent.size > SENT_MEMORY) this.#sent.delete(this.#sent.keys().next().value!)
  }

  /**
   * For each of `ids` this device sent since it started: whether a connected peer holds it now
   * (`reached`), and with how many connected peers (`peers`). Ids it did not send, or sent
   * before a restart, are left out.
   */
  states (ids: string[]): Array<{ id: string, reached: boolean, peers: number }> {
    const out: Array<{ id: string, reached: boolean, peers: number }> = []
    for (const id of ids) {
      const s = this.#sent.get(id)
      if (s === undefined) continue
      const holding = (s.base?.local?.peers ?? []).filter((p: any) => (p.remoteContiguousLength ?? 0) >= s.length).length
      out.push({ id, reached: holding > 0, peers: holding })
    }
    return out
  }
}
