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
