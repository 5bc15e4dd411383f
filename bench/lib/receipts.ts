/**
 * The coordinator's record of what was sent when and who received it when, from the
 * workers' `sent` and `recv` events (monotonic-clock timestamps taken in the workers).
 * A message's delivery latency is the time from the start of its send to its arrival at
 * the *last* of the other members (the message is then in every other member's state).
 */
import { now, sleep } from './clock.ts'
import type { Worker } from './procs.ts'

export class Receipts {
  sent = new Map<string, number>()
  got = new Map<string, Map<string, number>>()
  #off: Array<() => void> = []
  #waiters = new Set<() => void>()

  /**
   * `event`: 'recv' (Solidar's `message` event from the log, XMPP stanzas), 'shown' (the first of
   * Solidar's live and logged events; XMPP workers send 'recv' only) or 'state' (Solidar view watcher).
   */
  constructor (workers: Worker[], event: 'recv' | 'shown' | 'state' = 'recv') {
    for (const w of workers) {
      this.#off.push(w.on(event, ({ node, tag, t }) => {
        let m = this.got.get(tag)
        if (!m) this.got.set(tag, m = new Map())
        if (!m.has(node)) m.set(node, t)
        for (const wake of this.#waiters) wake()
      }))
      this.#off.push(w.on('sent', ({ tag, t0 }) => { this.sent.set(tag, t0) }))
    }
  }

  /** How many of `nodes` hold `tag`. */
  count (tag: string, nodes: readonly string[]): number {
    const m = this.got.get(tag)
    if (!m) return 0
    let n = 0
    for (const node of nodes) if (m.has(node)) n++
    return n
  }

  /** Waits until every one of `nodes` holds `tag`; false after `timeoutMs`. */
  async waitAll (tag: string, nodes: readonly string[], timeoutMs: number): Promise<boolean> {
    const deadline = now() + timeoutMs
    while (this.count(tag, nodes) < nodes.length) {
      const left = deadline - now()
      if (left <= 0) return false
      await new Promise<void>((resolve) => {
        const wake = () => { this.#waiters.delete(wake); clearTimeout(timer); resolve() }
        const timer = setTimeout(wake, Math.min(left, 50))
        this.#waiters.add(wake)
      })
    }
    return true
  }

  /** Latency of `tag` sent at `t0` to all of `nodes`, or Infinity if one of them lacks it. */
  latency (tag: string, t0: number, nodes: readonly string[]): number {
    const m = this.got.get(tag)
    if (!m) return Infinity
    let last = -Infinity
    for (const node of nodes) {
      const t = m.get(node)
      if (t === undefined) return Infinity
      if (t > last) last = t
    }
    return last - t0
  }

  close (): void {
    for (const off of this.#off) off()
    this.#off = []
  }
}

export { sleep }
