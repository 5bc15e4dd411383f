/**
 * Bounded waiting, the one implementation for every test (core, node, the cross-package suite;
 * `@solidar/core/testing/wait`), so no test can hang: each wait has a timeout and says what it
 * was waiting for when it gives up.
 */
import { setTimeout as delay } from 'node:timers/promises'

export const sleep = (ms: number): Promise<void> => delay(ms)

export interface WaitOptions {
  /** Give up after this many ms (default 30 s). */
  timeout?: number
  /** Pause between two tries in ms (default 250). */
  interval?: number
  /** What we are waiting for, for the failure message ("bob sees 3 messages"). */
  what: string
}

/**
 * Calls `fn` until it returns a truthy value and returns that value. An exception thrown
 * by `fn` counts as "not yet"; the last one (or the last falsy value) is quoted in the
 * timeout error so the failure says what was still missing.
 */
export async function waitFor<T> (fn: () => T | Promise<T>, what: string | WaitOptions, timeoutMs?: number): Promise<NonNullable<T>> {
  // A bare description is the in-process form (cheap checks, polled every 25 ms); options poll
  // a process's API every 250 ms unless they say otherwise.
  const opts: WaitOptions = typeof what === 'string' ? { what, interval: 25, ...(timeoutMs !== undefined ? { timeout: timeoutMs } : {}) } : what
  const timeout = opts.timeout ?? 30_000
  const interval = opts.interval ?? 250
  const start = Date.now()
  let last: unknown
  let lastError: unknown
  for (;;) {
    try {
      const value = await fn()
      if (value) return value as NonNullable<T>
      last = value
      lastError = undefined
    } catch (err) {
      lastError = err
    }
    if (Date.now() - start >= timeout) {
      const detail = lastError !== undefined
        ? `last error: ${lastError instanceof Error ? lastError.message : String(lastError)}`
        : `last value: ${describe(last)}`
      throw new Error(`Timed out after ${timeout} ms waiting for ${opts.what} (${detail})`)
    }
    await delay(Math.min(interval, Math.max(0, timeout - (Date.now() - start))))
  }
}

/**
 * Rejects with a clear message when `promise` does not settle within `ms`. `what` may be a
 * function, to describe the state at the moment of the timeout (e.g. a process's output).
 */
export async function withTimeout<T> (promise: Promise<T>, ms: number, what: string | (() => string)): Promise<T> {
  const ac = new AbortController()
  try {
    return await Promise.race([
      promise,
      delay(ms, undefined, { signal: ac.signal, ref: false }).then(() => {
        throw new Error(`Timed out after ${ms} ms: ${typeof what === 'function' ? what() : what}`)
      })
    ])
  } finally {
    ac.abort()
  }
}

function describe (value: unknown): string {
  try {
    const text = JSON.stringify(value)
    return text === undefined ? String(value) : text.length > 300 ? text.slice(0, 300) + '…' : text
  } catch {
    return String(value)
  }
}
