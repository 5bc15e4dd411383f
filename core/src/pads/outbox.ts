/**
 * The outbox of an open pad: local edits, as the bytes of their Yjs updates, from the moment
 * they are made until an append has put them in the log — the group commit.
 *
 * It holds bytes, not document state: an edit whose Yjs dependencies this device lacks yet
 * (a browser tab sends its keystrokes before the other members' ones it builds on have
 * reached this node) is held back by Yjs as a pending struct and makes no 'update' event,
 * neither when it arrives nor when the pad is loaded again after a reorder of the log. Its
 * bytes are queued as they are, and a reload hands the bytes and their waiters to the new
 * pad (`take`, `adopt`): nothing acknowledged depends on a document noticing a change.
 *
 * Acknowledgement: `appended` resolves once every update queued so far is appended to the
 * log (on a node with a durability barrier, also on disk).
 */
import * as Y from 'yjs'
import { MAX_PAD_UPDATE } from '../commands.ts'
import { errors } from '../errors.ts'
import { BATCH_MS } from './constants.ts'

/** Appends one update (the caller seals it and appends `pad/update`). */
export type AppendUpdate = (update: Uint8Array) => Promise<void>

/** Someone waiting for queued updates to be appended: resolved with the append that carries them. */
export interface Waiter { resolve: (p: Promise<void>) => void }

/** What a pad being replaced hands to its successor: updates not yet known to be in the log, and who waits for them. */
export interface Handover { updates: Uint8Array[], waiters: Waiter[] }

export class Outbox {
  readonly #pending: Uint8Array[] = []
  /** Being appended right now: handed over too (the log may not hold them yet; one that lands twice changes nothing). */
  readonly #sending = new Set<Uint8Array>()
  #waiters: Waiter[] = []
  #timer: NodeJS.Timeout | null = null
  #flushing: Promise<void> = Promise.resolve()
  #inflight = 0
  readonly #append: AppendUpdate
  readonly #onError: (err: Error) => void
  readonly #onRefused: () => void

  /** `onRefused`: an append failed, so the document holds what the log does not. */
  constructor (append: AppendUpdate, onError: (err: Error) => void, onRefused: () => void) {
    this.#append = append
    this.#onError = onError
    this.#onRefused = onRefused
  }

  /** Nothing queued, nothing being appended. */
  get idle (): boolean { return this.#pending.length === 0 && this.#inflight === 0 }

  /** Queues an update's bytes; appended within BATCH_MS (or by `flush`). */
  push (update: Uint8Array): void {
    this.#pending.push(update)
    this.#schedule()
  }

  #schedule () {
    if (this.#timer) return
    this.#timer = setTimeout(() => {
      this.#timer = null
      this.flush().catch(err => this.#onError(err))
    }, BATCH_MS)
    this.#timer.unref?.()
  }

  /** Appends queued updates now (merged; split only where one entry would exceed MAX_PAD_UPDATE). */
  flush (): Promise<void> {
    if (this.#timer) { clearTimeout(this.#timer); this.#timer = null }
    const updates = this.#pending.splice(0)
    const waiters = this.#waiters.splice(0)
    if (updates.length === 0) {
      for (const w of waiters) w.resolve(this.#flushing)
      return this.#flushing
    }
    this.#inflight++
    for (const u of updates) this.#sending.add(u)
    const run = async () => {
      try {
        for (const chunk of groups(updates)) await this.#append(chunk)
        for (const u of updates) this.#sending.delete(u)
      } catch (err) {
        this.#onRefused()
        throw err
      } finally {
        this.#inflight--
      }
    }
    this.#flushing = this.#flushing.catch(() => { /* the earlier call got its own error; this one runs regardless */ }).then(run)
    for (const w of waiters) w.resolve(this.#flushing)
    return this.#flushing
  }

  /**
   * Resolves once every update queued so far is appended to the log: at most BATCH_MS plus
   * one append from now. Rejects if that append fails.
   */
  appended (): Promise<void> {
    if (this.#pending.length === 0) return this.#flushing.then(() => {})
    return new Promise<void>((resolve, reject) => {
      this.#waiters.push({ resolve: (p) => { p.then(resolve, reject) } })
    })
  }

  /** Everything not known to be in the log, for the pad that replaces this one; this outbox sends no more of it. */
  take (): Handover {
    if (this.#timer) { clearTimeout(this.#timer); this.#timer = null }
    const updates = [...this.#sending, ...this.#pending.splice(0)]
    this.#sending.clear()
    return { updates, waiters: this.#waiters.splice(0) }
  }

  /** Queues what a replaced pad handed over; its waiters now wait for this outbox's append. */
  adopt (h: Handover): void {
    if (h.updates.length === 0) {
      for (const w of h.waiters) w.resolve(this.#flushing)
      return
    }
    this.#pending.push(...h.updates)
    this.#waiters.push(...h.waiters)
    this.#schedule()
  }

  /** Stops: whoever still waits hears `why` (a reload hands its waiters on first, with `take`). */
  close (why: Error): void {
    for (const w of this.#waiters.splice(0)) w.resolve(Promise.reject(why))
    if (this.#timer) { clearTimeout(this.#timer); this.#timer = null }
  }
}

/** Merges updates into as few entries as fit MAX_PAD_UPDATE each. */
function * groups (updates: Uint8Array[]): Iterable<Uint8Array> {
  let group: Uint8Array[] = []
  let size = 0
  for (const u of updates) {
    if (u.byteLength > MAX_PAD_UPDATE) throw errors.badRequest(`One edit is ${Math.ceil(u.byteLength / 1024)} KiB; the most is ${MAX_PAD_UPDATE / 1024} KiB: split it into smaller edits`)
    if (size + u.byteLength > MAX_PAD_UPDATE && group.length) {
      yield merge(group)
      group = []
      size = 0
    }
    group.push(u)
    size += u.byteLength
  }
  if (group.length) yield merge(group)
}

const merge = (group: Uint8Array[]) => group.length === 1 ? group[0] : Y.mergeUpdates(group)
