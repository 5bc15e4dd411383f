/**
 * The node's event feed and its error feed, with listeners isolated from each other: a
 * listener that throws is reported on the error feed (`LISTENER_FAILED`) and every other
 * listener still gets the event. EventEmitter would stop at the first throw and hand the
 * exception to whoever emitted, in the middle of a batch.
 */
import { SolidarError } from './errors.ts'

export class EventHub<E> {
  readonly #listeners = new Set<(event: E) => void>()
  readonly #errorListeners = new Set<(err: Error) => void>()

  subscribe (listener: (event: E) => void): () => void {
    this.#listeners.add(listener)
    return () => { this.#listeners.delete(listener) }
  }

  onError (listener: (err: Error) => void): () => void {
    this.#errorListeners.add(listener)
    return () => { this.#errorListeners.delete(listener) }
  }

  /** Delivers `event` to every listener subscribed now; never throws. */
  emit (event: E): void {
    for (const listener of [...this.#listeners]) {
      try {
        listener(event)
      } catch (err) {
        const cause = err instanceof Error ? err : new Error(String(err))
        this.reportError(Object.assign(new SolidarError('LISTENER_FAILED', `An event listener failed: ${cause.message}`), { cause }))
      }
    }
  }

  /** Delivers `err` to every error listener; never throws. */
  reportError (err: Error): void {
    for (const listener of [...this.#errorListeners]) {
      try {
        listener(err)
      } catch {
        // An error listener that throws has nowhere left to report to; the others still get it.
      }
    }
  }
}
