/**
 * What a node remembers to relay live messages (meeting signals, chat) through the group's
 * swarm (one `Relay` per group and channel): the ids of messages it already took (each message
 * is taken once, however many paths bring it), the replay window on the sender's timestamp,
 * and a rate limit per sending device. Pure bookkeeping with bounded memory; the services
 * (meetings/service.ts, services/live-messages.ts) open, check and forward the messages.
 *
 * A replayed message is either still remembered (dropped as a duplicate) or its timestamp is
 * outside the window (dropped as stale): an id is kept until its timestamp leaves the window.
 */
/** Why a relay does not take a message. */
export type RelayReject = 'duplicate' | 'stale' | 'rate-limited' | 'overloaded'

export interface RelayLimits {
  /** Accepted distance between the sender's timestamp and this node's clock (ms, both ways). */
  windowMs: number
  /** Ids remembered at most; when all are live, new messages are dropped ('overloaded'). */
  maxSeen: number
  /** Messages one device may originate: burst, then this many per second. */
  burst: number
  perSecond: number
}

interface Bucket { tokens: number, at: number }

export class Relay {
  readonly #limits: RelayLimits
  readonly #now: () => number
  /** Message id → when it may be forgotten (this node's clock). */
  readonly #seen = new Map<string, number>()
  /** Sending device (hex) → its token bucket. */
  readonly #buckets = new Map<string, Bucket>()

  constructor (limits: RelayLimits, now: () => number) {
    this.#limits = limits
    this.#now = now
  }

  /** True when this message id was taken before (and is still remembered). */
  seen (id: string): boolean {
    return this.#seen.has(id)
  }

  /** Why a message with this sender timestamp may not be taken, or null. */
  stale (ts: number): RelayReject | null {
    return Math.abs(this.#now() - ts) > this.#limits.windowMs ? 'stale' : null
  }

  /**
   * Takes a checked message (signature and membership are the caller's): remembers its id and
   * charges its device. Returns why it may not be taken instead (nothing is remembered then).
   */
  take (id: string, device: string, ts: number): RelayReject | null {
    if (this.#seen.has(id)) return 'duplicate'
    const stale = this.stale(ts)
    if (stale !== null) return stale
    const now = this.#now()
    if (this.#seen.size >= this.#limits.maxSeen) {
      this.sweep()
      if (this.#seen.size >= this.#limits.maxSeen) return 'overloaded'
    }
    if (!this.#charge(device, now)) return 'rate-limited'
    this.#seen.set(id, Math.max(now, ts) + this.#limits.windowMs)
    return null
  }

  /** Forgets ids whose timestamp left the window, and full buckets. */
  sweep (): void {
    const now = this.#now()
    for (const [id, until] of this.#seen) if (until < now) this.#seen.delete(id)
    for (const [device, b] of this.#buckets) if (this.#refill(b, now) >= this.#limits.burst) this.#buckets.delete(device)
  }

  get size (): number { return this.#seen.size }

  #charge (device: string, now: number): boolean {
    let b = this.#buckets.get(device)
    if (!b) this.#buckets.set(device, b = { tokens: this.#limits.burst, at: now })
    this.#refill(b, now)
    if (b.tokens < 1) return false
    b.tokens -= 1
    return true
  }

  #refill (b: Bucket, now: number): number {
    b.tokens = Math.min(this.#limits.burst, b.tokens + Math.max(0, now - b.at) * this.#limits.perSecond / 1000)
    b.at = now
    return b.tokens
  }
}
