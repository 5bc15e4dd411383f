/**
 * The open pads of a node: per group the pads opened as Y.Docs (doc.ts), loaded on demand
 * from the group's log and snapshot cache, brought up to date (or loaded again when the log's
 * prefix changed, their unsent edits kept), their local edits appended as sealed `pad/update`
 * entries and sent live, other members' live edits applied, the least recently used closed
 * beyond MAX_OPEN_PADS, and snapshots written after SNAPSHOT_EVERY updates and on close.
 * It knows the rest of the node only through `OpenPadsHost`.
 */
import * as Y from 'yjs'
import b4a from 'b4a'
import { errors } from '../errors.ts'
import type { LocalStore } from '../registry.ts'
import type { PadId, SolidarEvent } from '../types.ts'
import { MAX_OPEN_PADS, SNAPSHOT_DELAY_MS, SNAPSHOT_EVERY } from './constants.ts'
import { OpenPad, type Handover, type LoadStats, type PadSource } from './doc.ts'
import { checkClientUpdate } from './limits.ts'
import { memberIdOfHex } from './lookup.ts'
import { FRAGMENT } from './schema.ts'
import type { PadLog } from './service.ts'
import { SnapshotStore } from './snapshot.ts'

export interface OpenPadsHost {
  emit (event: SolidarEvent): void
  onError (err: Error): void
  now (): number
  local: LocalStore
  /** Sends a local edit at once to the group's directly connected nodes (live.ts). */
  sendLive (log: PadLog, pad: string, update: Uint8Array): Promise<void>
  /** The pad service is closing: no snapshot is scheduled and no live edit taken any more. */
  closing (): boolean
}

/** One group's pads as this node has them open. */
export interface GroupPads {
  log: PadLog
  snapshots: SnapshotStore
  open: Map<string, Promise<OpenPad>>
  feedCursor: number
  snapshotTimer: NodeJS.Timeout | null
  /** Known to be a group, not a DM (a log's kind never changes): checked once, not on every edit. */
  isGroup?: true
}

export interface LoadOptions { useSnapshot?: boolean, upTo?: number }

const hex = (b: Uint8Array) => b4a.toString(b, 'hex') as string
/** Bounds `live`: reloads in a row before an edit gives up with a clear error. */
const LIVE_ATTEMPTS = 10

export class OpenPads {
  readonly #host: OpenPadsHost
  readonly #groups = new Map<string, GroupPads>()

  constructor (host: OpenPadsHost) {
    this.#host = host
  }

  // ---------------------------------------------------------------- groups

  /** The group's pads, made on first use; `log` replaces the one held (a reopened log). */
  group (log: PadLog): GroupPads {
    const key = hex(log.group.key)
    let g = this.#groups.get(key)
    if (!g) {
      g = {
        log,
        snapshots: new SnapshotStore(this.#host.local, { logKey: log.logKey, discoveryKey: log.group.discoveryKey, groupId: log.id }),
        open: new Map(),
        feedCursor: -1,
        snapshotTimer: null
      }
      this.#groups.set(key, g)
    }
    g.log = log
    return g
  }

  /** The group's pads if there are any yet. */
  get (log: PadLog): GroupPads | undefined {
    return this.#groups.get(hex(log.group.key))
  }

  /** Removes the group's pads, which the caller then closes (`closeGroup`). */
  take (groupKeyHex: string): GroupPads | undefined {
    const g = this.#groups.get(groupKeyHex)
    if (g) this.#groups.delete(groupKeyHex)
    return g
  }

  /** Closes every group's pads, their edits flushed and snapshots saved. */
  async close (): Promise<void> {
    for (const g of this.#groups.values()) await this.closeGroup(g, true)
    this.#groups.clear()
  }

  async closeGroup (g: GroupPads, save: boolean): Promise<void> {
    if (g.snapshotTimer) clearTimeout(g.snapshotTimer)
    for (const [id, p] of g.open) {
      const pad = await p.catch(() => null)
      if (!pad) continue
      // Edits that cannot be appended now are reported (the log failed or closes); the pad closes anyway.
      await pad.flush().catch(err => this.#host.onError(err))
      if (save) await this.saveSnapshot(g, pad).catch(err => this.#host.onError(err)) // a cache: the log stays the truth
      pad.destroy()
      g.open.delete(id)
    }
  }

  #source (g: GroupPads): PadSource {
    return { view: g.log.group.view, keyring: g.log.keyring, snapshots: g.snapshots }
  }

  // ---------------------------------------------------------------- open pads

  open (g: GroupPads, id: string): Promise<OpenPad> {
    let p = g.open.get(id)
    if (!p) {
      p = this.#load(g, id)
      g.open.set(id, p)
      p.catch(() => { if (g.open.get(id) === p) g.open.delete(id) })
      this.#evict(g, id)
      return p
    }
    return p.then(async pad => {
      pad.lastUsed = Date.now()
      const read = pad.dirty ? -1 : await pad.catchUp(this.#source(g))
      if (read >= 0) {
        if (read > 0) this.#maybeSnapshot(g, pad)
        return pad
      }
      // The log's prefix changed under us, or a local edit was refused: load again, keep unsent typing.
      if (g.open.get(id) === p) g.open.delete(id)
      // A dirty pad's queued edits go with it (the log refused one of them); destroy tells their waiters.
      // Otherwise its local edits move on as bytes (see outbox.ts): re-applying them to the new
      // doc alone would lose one still missing its dependencies (no 'update' event for it).
      const pending: Handover = pad.dirty ? { updates: [], waiters: [] } : pad.takePending()
      pad.destroy()
      // Another caller may reload the fresh pad too before we get to it: take the live one.
      let reloaded: OpenPad
      try {
        reloaded = await this.live(g, id)
      } catch (err) {
        for (const w of pending.waiters) w.resolve(Promise.reject(err))
        throw err
      }
      // Whoever waits for those edits to be saved now waits for the reloaded pad's append.
      reloaded.adopt(pending)
      return reloaded
    })
  }

  /**
   * The open pad, never one a concurrent reload has just replaced: an edit applied to a
   * replaced pad's doc would be lost (its doc no longer queues edits for the log). Use the
   * result synchronously, before the next await.
   */
  async live (g: GroupPads, id: string): Promise<OpenPad> {
    for (let attempt = 1; ; attempt++) {
      const pad = await this.open(g, id)
      if (!pad.destroyed) return pad
      if (attempt >= LIVE_ATTEMPTS) throw errors.badRequest('This pad changed too often while it was being edited; try again')
    }
  }

  async #load (g: GroupPads, id: string, opts: LoadOptions = {}): Promise<OpenPad> {
    const { pad } = await this.loadWithStats(g, id, opts)
    this.#maybeSnapshot(g, pad)
    return pad
  }

  /** A pad loaded anew, not kept open here: the caller destroys it (or hands its doc on). */
  async loadWithStats (g: GroupPads, id: string, opts: LoadOptions = {}): Promise<{ pad: OpenPad, stats: LoadStats }> {
    return OpenPad.load(this.#source(g), id, {
      useSnapshot: opts.useSnapshot ?? true,
      upTo: opts.upTo,
      append: (update) => this.#appendUpdate(g, id, update),
      onError: (err) => this.#host.onError(err),
      // A device without the current key cannot send live (NOT_PERMITTED): its append says so.
      onLocal: (update) => { this.#host.sendLive(g.log, id, update).catch(() => { /* the append of the same edit reports any failure */ }) }
    })
  }

  /**
   * Another member's live edit (checked by live.ts: signed by an active device of a member who
   * may write): into the pad if it is open here, with the same content checks as a client's
   * update; announced like a change from the log. A pad nobody has open here is left alone:
   * the log brings the edit.
   */
  async onLive (log: PadLog, padId: string, update: Uint8Array, member: string): Promise<'applied' | 'not-open' | 'content'> {
    const g = this.#groups.get(hex(log.group.key))
    const opening = g?.open.get(padId)
    if (!g || !opening || this.#host.closing()) return 'not-open'
    const pad = await opening.catch(() => null)
    if (!pad || pad.destroyed || pad.dirty) return 'not-open'
    try {
      checkClientUpdate(pad.doc, FRAGMENT, update)
      pad.applyLive(update)
    } catch {
      return 'content' // hostile or broken content from a member: refused as from a tab; the log's copy is read with care (doc.ts)
    }
    this.#host.emit({ type: 'pad', group: log.id, pad: padId as PadId, change: 'updated', author: memberIdOfHex(member), live: true })
    return 'applied'
  }

  async #appendUpdate (g: GroupPads, id: string, update: Uint8Array): Promise<void> {
    const epoch = await g.log.currentEpoch()
    const body = g.log.keyring.seal(epoch, 'pad', update)
    await g.log.append({ t: 'pad/update', pad: id, body, ts: this.#host.now() })
  }

  /** Closes the least recently used pads beyond MAX_OPEN_PADS (their edits flushed, snapshot saved). */
  #evict (g: GroupPads, keep: string) {
    let total = 0
    for (const x of this.#groups.values()) total += x.open.size
    if (total <= MAX_OPEN_PADS) return
    void (async () => {
      let oldest: { g: GroupPads, id: string, pad: OpenPad } | null = null
      for (const x of this.#groups.values()) {
        for (const [id, p] of x.open) {
          if (x === g && id === keep) continue
          const pad = await p.catch(() => null)
          if (pad && (!oldest || pad.lastUsed < oldest.pad.lastUsed)) oldest = { g: x, id, pad }
        }
      }
      if (!oldest) return
      oldest.g.open.delete(oldest.id)
      await oldest.pad.flush().catch(err => this.#host.onError(err))
      await this.saveSnapshot(oldest.g, oldest.pad).catch(err => this.#host.onError(err))
      oldest.pad.destroy()
    })()
  }

  // ---------------------------------------------------------------- snapshots

  #maybeSnapshot (g: GroupPads, pad: OpenPad) {
    if (pad.applied - pad.snapshotAt < SNAPSHOT_EVERY || g.snapshotTimer || this.#host.closing()) return
    g.snapshotTimer = setTimeout(async () => {
      g.snapshotTimer = null
      for (const p of g.open.values()) {
        const open = await p.catch(() => null)
        if (open && open.applied - open.snapshotAt >= SNAPSHOT_EVERY) await this.saveSnapshot(g, open).catch(err => this.#host.onError(err))
      }
    }, SNAPSHOT_DELAY_MS)
    g.snapshotTimer.unref?.()
  }

  /** Writes a snapshot if the doc is exactly a prefix of the log (no local edits in flight). */
  async saveSnapshot (g: GroupPads, pad: OpenPad): Promise<boolean> {
    if (pad.live && !pad.dirty && pad.applied > pad.snapshotAt) return this.#saveSnapshotOfCopy(g, pad)
    if (!pad.clean || pad.applied === 0 || pad.applied === pad.snapshotAt) return false
    const n = pad.applied
    const h = pad.head
    const state = Y.encodeStateAsUpdate(pad.doc)
    if (!pad.clean || pad.applied !== n) return false
    await g.snapshots.save(pad.id, { n, h, state })
    pad.snapshotAt = n
    return true
  }

  /**
   * A pad that took live edits may hold what its log prefix does not: the snapshot is made of a
   * fresh copy of that prefix instead (from the last snapshot on, so this stays cheap).
   */
  async #saveSnapshotOfCopy (g: GroupPads, pad: OpenPad): Promise<boolean> {
    const { pad: copy } = await OpenPad.load(this.#source(g), pad.id, {
      useSnapshot: true,
      upTo: pad.applied,
      append: async () => { throw new Error('a snapshot copy is never edited') },
      onError: (err) => this.#host.onError(err)
    })
    try {
      if (!copy.clean || copy.applied === 0 || copy.applied <= pad.snapshotAt) return false
      await g.snapshots.save(pad.id, { n: copy.applied, h: copy.head, state: Y.encodeStateAsUpdate(copy.doc) })
      pad.snapshotAt = copy.applied
      return true
    } finally {
      copy.destroy()
    }
  }
}
