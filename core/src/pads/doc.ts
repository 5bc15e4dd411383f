/**
 * One pad open on this device: its Y.Doc, built from the log (after a snapshot, if a
 * valid one exists), kept current by `catchUp`, and the group commit of local edits.
 *
 * Invariant: `applied` updates of the log (a prefix, checked by the chain hash `head`) are
 * in the doc; every other change in the doc (and every update Yjs holds back for missing
 * dependencies) is a local edit whose bytes are in the outbox (outbox.ts) or already in the
 * log. When the prefix no longer matches (the tail of the log was reordered) or an append
 * was refused, the service drops this object and loads the pad again; the outbox's bytes and
 * waiters move to the new one (`takePending`, `adopt`).
 */
import * as Y from 'yjs'
import b4a from 'b4a'
import type { Keyring } from '../content.ts'
import type { Bee } from '../view.ts'
import { errors } from '../errors.ts'
import { gcKeepingTypes, padContentRejected } from './limits.ts'
import { Outbox, type AppendUpdate, type Handover } from './outbox.ts'
import { chain, readPad, readUpdate, readUpdates, ZERO_HEAD } from './records.ts'
import type { SnapshotStore } from './snapshot.ts'

/** Reads of a pad that found the log reordered under them before giving up. */
const LOAD_ATTEMPTS = 5

/** Transaction origin of updates that came from the log. */
export const FROM_LOG = Symbol('solidar/pad/log')
/** Transaction origins whose updates the outbox gets as bytes, not from the 'update' event. */
const CLIENT = Symbol('solidar/pad/client')
const ADOPTED = Symbol('solidar/pad/adopted')
/** Transaction origin of other members' edits that came over the live channel (live.ts). */
const LIVE = Symbol('solidar/pad/live')

export interface PadSource {
  view: Bee
  keyring: Keyring
  snapshots: SnapshotStore
}

export interface LoadStats {
  /** Updates covered by the snapshot used (0: none used). */
  fromSnapshot: number
  /** Updates read from the log and applied after it. */
  replayed: number
  ms: number
}

export type { AppendUpdate, Handover }

export class OpenPad {
  readonly id: string
  // Deleted elements stay as tombstones (gcKeepingTypes): collecting a deep one would overflow the stack.
  readonly doc = new Y.Doc({ gcFilter: gcKeepingTypes })
  applied = 0
  head: Uint8Array = ZERO_HEAD
  /** Log updates this device could not open (sealed under an epoch it lacks). */
  readonly skipped = new Set<number>()
  /**
   * Log updates that opened but are not Yjs (a member's client wrote garbage under the right
   * key): skipped for good, so one bad entry cannot make the pad unreadable. `pad history`
   * lists them with their authors.
   */
  readonly invalid = new Set<number>()
  /** Log updates covered by the newest snapshot on disk. */
  snapshotAt = 0
  /** True once a local edit was refused by the log: the doc holds what the log does not. */
  dirty = false
  /**
   * True once another member's live edit was applied (live.ts): the doc may hold edits the
   * log has not brought yet, so it is no snapshot of a log prefix (see `clean`).
   */
  live = false
  /**
   * Live edits of others that added something here and that the log has not brought yet, with
   * the end clock per Yjs client of what each holds. A local edit may build on them, and a peer
   * that never gets them live would hold that edit back for good if their author's append never
   * came (a refused or failed append): so the next local edit carries them into this device's own
   * entry (the same bytes; Yjs takes them once, whoever brings them).
   */
  readonly #unconfirmed: Array<{ update: Uint8Array, to: Map<number, number> }> = []
  /**
   * True once replaced by a reload (the log was reordered under it): its doc no longer
   * listens, so an edit applied to it would be lost. Callers take the pad again (see
   * `OpenPads.live`); `change` refuses.
   */
  destroyed = false
  lastUsed = Date.now()
  /** Local edits until the log has them (the group commit). */
  readonly #outbox: Outbox
  /** Each local edit as it is made (before its group commit): the live channel sends it on. */
  readonly #onLocal: ((update: Uint8Array) => void) | undefined
  #catching: Promise<number> = Promise.resolve(0)

  private constructor (id: string, append: AppendUpdate, onError: (err: Error) => void, onLocal?: (update: Uint8Array) => void) {
    this.id = id
    this.#onLocal = onLocal
    // A refused append: the doc now holds edits the log refused, reload before the next use.
    this.#outbox = new Outbox(append, onError, () => { this.dirty = true })
    this.doc.on('update', (update: Uint8Array, origin: unknown) => {
      if (origin === FROM_LOG || origin === CLIENT || origin === ADOPTED || origin === LIVE) return
      this.#carryUnconfirmed()
      this.#outbox.push(update)
      this.#onLocal?.(update)
    })
  }

  /**
   * Opens a pad: snapshot (if `useSnapshot` and it still matches the log) plus the rest of the log.
   * `onLocal` hears each local edit once, as it is made (not the edits a reload hands over).
   */
  static async load (src: PadSource, id: string, opts: { useSnapshot: boolean, append: AppendUpdate, onError: (err: Error) => void, upTo?: number, onLocal?: (update: Uint8Array) => void }): Promise<{ pad: OpenPad, stats: LoadStats }> {
    const started = performance.now()
    // The view can be reordered while we read it (the tail of an Autobase log is not final):
    // the chain check then fails and we read again.
    for (let attempt = 1; ; attempt++) {
      const pad = new OpenPad(id, opts.append, opts.onError, opts.onLocal)
      const upTo = opts.upTo ?? Infinity
      let fromSnapshot = 0
      const snap = opts.useSnapshot ? await src.snapshots.load(id) : null
      if (snap && snap.n <= upTo) {
        const meta = await readPad(src.view, id)
        const rec = meta && snap.n <= meta.updates ? await readUpdate(src.view, id, snap.n) : null
        if (rec && b4a.equals(rec.h, snap.h)) {
          Y.applyUpdate(pad.doc, snap.state, FROM_LOG)
          pad.applied = snap.n
          pad.head = snap.h
          pad.snapshotAt = snap.n
          fromSnapshot = snap.n
        }
      }
      const replayed = await pad.catchUp(src, upTo)
      if (replayed >= 0) return { pad, stats: { fromSnapshot, replayed, ms: performance.now() - started } }
      pad.destroy()
      if (attempt >= LOAD_ATTEMPTS) throw errors.badRequest('This pad changed too often while it was being opened; try again')
    }
  }

  /**
   * Applies log updates after `applied` (up to `upTo`); returns how many were read, or -1
   * if the log's prefix no longer is the one this doc was built from (reload the pad).
   * Serialized: concurrent calls run one after the other.
   */
  catchUp (src: PadSource, upTo = Infinity): Promise<number> {
    this.#catching = this.#catching.catch(() => 0).then(() => this.#catchUp(src, upTo))
    return this.#catching
  }

  async #catchUp (src: PadSource, upTo: number): Promise<number> {
    if (this.applied > 0) {
      const rec = await readUpdate(src.view, this.id, this.applied)
      if (!rec || !b4a.equals(rec.h, this.head)) return -1
    }
    // Updates sealed under an epoch whose key arrived late (e.g. a newcomer's keys) become readable.
    for (const seq of [...this.skipped]) {
      const rec = await readUpdate(src.view, this.id, seq)
      const plain = rec ? src.keyring.open(rec.body, 'pad') : null
      if (plain) { this.#integrate(seq, plain); this.skipped.delete(seq) }
    }
    // Read first, then commit: if the read fails half-way, or the records do not chain onto
    // what the doc holds (the view was reordered while we read), nothing changes here.
    const updates: Array<{ seq: number, plain: Uint8Array }> = []
    const skipped: number[] = []
    let applied = this.applied
    let head = this.head
    let read = 0
    for await (const rec of readUpdates(src.view, this.id, this.applied, upTo)) {
      if (rec.seq !== applied + 1 || !b4a.equals(chain(head, rec.body), rec.h)) return -1
      const plain = src.keyring.open(rec.body, 'pad')
      if (plain) updates.push({ seq: rec.seq, plain })
      else skipped.push(rec.seq)
      applied = rec.seq
      head = rec.h
      read++
    }
    if (updates.length) {
      // One transaction: observers (and the 'update' event) fire once for the whole tail.
      Y.transact(this.doc, () => { for (const u of updates) this.#integrate(u.seq, u.plain) }, FROM_LOG)
    }
    for (const seq of skipped) this.skipped.add(seq)
    this.applied = applied
    this.head = head
    return read
  }

  /**
   * Applies one log update; one that is not Yjs is recorded in `invalid` and skipped (a
   * reader never fails on what a member wrote). Yjs decodes an update's items before it
   * integrates any, so a malformed one changes nothing; one whose delete set alone is
   * malformed keeps its items, the same on every device.
   */
  #integrate (seq: number, plain: Uint8Array): void {
    if (this.#unconfirmed.length > 0) this.#confirm(plain)
    try {
      Y.applyUpdate(this.doc, plain, FROM_LOG)
    } catch {
      this.invalid.add(seq)
    }
  }

  /** Drops the live edits whose structs a log update holds (an author's entries come in its clock order). */
  #confirm (plain: Uint8Array): void {
    let to: Map<number, number>
    try {
      to = Y.parseUpdateMeta(plain).to
    } catch {
      return // not Yjs: #integrate records it as invalid
    }
    for (let i = this.#unconfirmed.length - 1; i >= 0; i--) {
      const live = this.#unconfirmed[i]
      if ([...live.to].every(([client, clock]) => (to.get(client) ?? -1) >= clock)) this.#unconfirmed.splice(i, 1)
    }
  }

  /** True when the doc is exactly the log's first `applied` updates (safe to snapshot). */
  get clean (): boolean {
    return !this.dirty && !this.live && this.#outbox.idle && this.skipped.size === 0
  }

  /** Edits the document as this device; the edit is appended within BATCH_MS (or by `flush`). */
  change (fn: (doc: Y.Doc) => void): void {
    if (this.dirty || this.destroyed) throw errors.badRequest('This pad is being reloaded; try again')
    this.lastUsed = Date.now()
    this.doc.transact(() => fn(this.doc), 'local')
  }

  /**
   * Applies a client's Yjs update (the web editor's) and queues its bytes as they are: Yjs
   * holds back an update whose dependencies the doc lacks (pending structs) and makes no
   * 'update' event for it, now or when the dependencies arrive from the log. Throws
   * PAD_CONTENT_REJECTED if Yjs cannot apply it.
   */
  applyClient (update: Uint8Array): void {
    if (this.dirty || this.destroyed) throw errors.badRequest('This pad is being reloaded; try again')
    this.lastUsed = Date.now()
    let integrated: Uint8Array | null = null
    const seen = (u: Uint8Array, origin: unknown) => { if (origin === CLIENT) integrated = u }
    this.doc.on('update', seen)
    try {
      Y.applyUpdate(this.doc, update, CLIENT)
    } catch {
      // Yjs decodes items before it integrates any, but a malformed delete set can fail after
      // the items went in: those are in the doc now, so they go to the log too.
      if (integrated) this.#outbox.push(integrated)
      throw padContentRejected('This Yjs update cannot be applied to the pad')
    } finally {
      this.doc.off('update', seen)
    }
    this.#carryUnconfirmed()
    this.#outbox.push(update)
    this.#onLocal?.(update)
  }

  /** Queues the live edits the log has not confirmed, ahead of a local edit that may build on them. */
  #carryUnconfirmed (): void {
    for (const { update } of this.#unconfirmed.splice(0)) this.#outbox.push(update)
  }

  /**
   * Applies another member's live edit (checked by the caller like a client's update): not
   * queued for the log, which brings the author's own entry; Yjs ignores it then, as it
   * ignores a live edit that arrives after its entry. Throws PAD_CONTENT_REJECTED if Yjs
   * cannot apply it.
   */
  applyLive (update: Uint8Array): void {
    if (this.dirty || this.destroyed) return // being reloaded: the log brings the edit
    this.live = true
    let added = false
    const seen = (_u: Uint8Array, origin: unknown) => { if (origin === LIVE) added = true }
    this.doc.on('update', seen)
    try {
      Y.applyUpdate(this.doc, update, LIVE)
    } catch {
      throw padContentRejected('This live Yjs update cannot be applied to the pad')
    } finally {
      this.doc.off('update', seen)
    }
    // Only what added structs can be built on (a deletion cannot); nothing new: the log had it.
    const to = added ? Y.parseUpdateMeta(update).to : new Map<number, number>()
    if (to.size > 0) this.#unconfirmed.push({ update, to })
  }

  /** Live edits still waiting for the log to bring them (tests). */
  get unconfirmed (): number { return this.#unconfirmed.length }

  /** Appends queued local edits now (merged; split only where one entry would exceed MAX_PAD_UPDATE). */
  flush (): Promise<void> { return this.#outbox.flush() }

  /**
   * Resolves once every edit made so far is appended to the log (and so, on a node with a
   * durability barrier, on disk): at most BATCH_MS plus one append from now. Rejects if that
   * append fails. What the API waits for before it tells a client its edit is saved.
   */
  appended (): Promise<void> { return this.#outbox.appended() }

  /**
   * Local edits not known to be in the log (queued and being appended), as bytes, with whoever
   * waits for them: for the pad loaded to replace this one (`adopt`).
   */
  takePending (): Handover { return this.#outbox.take() }

  /**
   * Takes over a replaced pad's local edits: applied to this doc (one still missing its
   * dependencies stays a pending struct here, as it was there) and queued as the same bytes,
   * whether or not the doc shows a change; their waiters wait for this pad's append. One that
   * the log holds already lands twice, which changes nothing.
   */
  adopt (h: Handover): void {
    for (const u of h.updates) {
      try {
        Y.applyUpdate(this.doc, u, ADOPTED)
      } catch {
        // It applied to the replaced doc (applyClient refuses what Yjs cannot apply): still
        // queued below, so the log gets exactly what was acknowledged or is awaited.
      }
    }
    this.#outbox.adopt(h)
  }

  destroy (): void {
    this.destroyed = true
    // Edits still queued here are not going to be appended by this pad (a reload hands its
    // waiters on before destroying it): whoever waits must hear so, not wait forever.
    this.#outbox.close(errors.badRequest('This pad was reloaded before the edit was saved; send it again'))
    this.doc.destroy()
  }
}
