/**
 * Keeps a browser Y.Doc in step with a pad on the local node, and shares presence.
 *
 * - Load: GET …/state (the whole document as one Yjs update) → applied with origin REMOTE.
 * - Local edits: every Y.Doc update not from REMOTE is queued; the queue is merged
 *   (Y.mergeUpdates) and POSTed to …/updates, one request at a time. The node appends it
 *   to the group's log with its next group commit (core/src/pads/outbox.ts).
 * - Remote edits: a `pad` event for this pad (from the event WebSocket) makes the doc fetch
 *   what it lacks (GET …/state?since=<its state vector>) and apply it; Yjs ignores what it
 *   already has, so repeats are harmless.
 * - Presence: the local awareness state (TipTap's caret: user name and colour, cursor as
 *   relative positions) is PUT to …/presence when it changes and every 15 s (the node ends
 *   it after 40 s without one, and at once when the tab closes: `pagehide`); `pad-presence`
 *   events fill in the other members' states, named by the node (the member the signing
 *   device belongs to), not by what they claim, and coloured here: every member present gets
 *   a colour of their own (by the order of member ids, the same in every tab that sees the
 *   same people).
 */
import * as Y from 'yjs'
import { Awareness } from 'y-protocols/awareness'
import { deleteDeepestFirst, gcKeepingTypes, tooDeep } from '@solidar/core/pads/limits'
import { ApiError, api, base64, onConnection, onEvent } from '../api.ts'
import type { PadPresence } from '../types.ts'
import { colourClass, coloursOf } from './colours.ts'

const REMOTE = Symbol('solidar-remote')
/** The Y.XmlFragment the editor binds (core/src/pads/schema.ts FRAGMENT). */
export const FIELD = 'default'
const FLUSH_DELAY_MS = 40
const PRESENCE_DELAY_MS = 120
const PRESENCE_RENEW_MS = 15_000
const PRESENCE_POLL_MS = 10_000
const RETRY_MS = 1_000

export type SyncState = 'loading' | 'saved' | 'saving' | 'offline' | 'error' | 'refused'

export class PadSync {
  // Deleted elements stay as tombstones: see gcKeepingTypes.
  readonly doc = new Y.Doc({ gcFilter: gcKeepingTypes })
  readonly awareness = new Awareness(this.doc)
  readonly group: string
  readonly pad: string
  /** Parts of the document left out here because they lie too deep to show (see #applyRemote). */
  hidden = 0
  #pending: Uint8Array[] = []
  #sending = false
  #flushTimer: ReturnType<typeof setTimeout> | null = null
  #fetching = false
  #refetch = false
  #presenceTimer: ReturnType<typeof setTimeout> | null = null
  #intervals: Array<ReturnType<typeof setInterval>> = []
  #stops: Array<() => void> = []
  #closed = false
  #state: SyncState = 'loading'
  #onState: (state: SyncState, detail?: string) => void
  readonly #self: string | undefined

  /** `self`: this tab's member id, which counts among the people present for the colours. */
  constructor (group: string, pad: string, onState: (state: SyncState, detail?: string) => void, self?: string) {
    this.group = group
    this.pad = pad
    this.#onState = onState
    this.#self = self
  }

  /** Loads the document; resolves once the first state is applied. */
  async start (): Promise<void> {
    const state = await api.padState(this.group, this.pad)
    this.#applyRemote(base64.decode(state.update))
    this.doc.on('update', (update: Uint8Array, origin: unknown) => {
      if (origin === REMOTE || this.#closed) return
      this.#pending.push(update)
      this.#schedule()
    })
    this.awareness.on('update', ({ added, updated, removed }: { added: number[], updated: number[], removed: number[] }, origin: unknown) => {
      if (origin === REMOTE) return
      if ([...added, ...updated, ...removed].includes(this.doc.clientID)) this.#schedulePresence()
    })
    this.#stops.push(onEvent((event) => {
      if (event.type === 'pad' && event.group === this.group && event.pad === this.pad) void this.refresh()
      if (event.type === 'pad-presence' && event.group === this.group && event.pad === this.pad) this.#applyPresence(event.presence)
    }))
    this.#stops.push(onConnection((up) => {
      if (up) { void this.refresh(); this.#schedule() } else this.#set('offline')
    }))
    // A tab being closed (or navigated away) leaves the pad at once: the others' cursors of
    // this tab go now, not when the node's time-out ends them (core/src/pads/presence.ts).
    const onHide = (): void => { api.setPresence(this.group, this.pad, null, { keepalive: true }).catch(() => { /* the node's time-out ends it */ }) }
    const onShow = (e: PageTransitionEvent): void => { if (e.persisted) this.#schedulePresence() }
    addEventListener('pagehide', onHide)
    addEventListener('pageshow', onShow)
    this.#stops.push(() => { removeEventListener('pagehide', onHide); removeEventListener('pageshow', onShow) })
    this.#intervals.push(setInterval(() => this.#schedulePresence(), PRESENCE_RENEW_MS))
    this.#intervals.push(setInterval(() => { api.presence(this.group, this.pad).then((p) => this.#applyPresence(p), () => {}) }, PRESENCE_POLL_MS))
    this.#set('saved')
    api.presence(this.group, this.pad).then((p) => this.#applyPresence(p), () => {})
  }

  get state (): SyncState { return this.#state }

  /**
   * Applies the node's document, leaving out in this tab only what lies deeper than the
   * pad model renders (a member can write 10,000 nested lists; the editor's binding and
   * ProseMirror recurse per level and would fail): in the same transaction, so the editor's
   * binding never sees it, and with origin REMOTE, so the omission is not sent back and the
   * pad itself keeps it (exports show it as text, core/src/pads/schema.ts).
   */
  #applyRemote (update: Uint8Array): void {
    this.doc.transact((tr) => {
      Y.applyUpdate(this.doc, update, REMOTE)
      // Only what others wrote: this tab's own too-deep edit is the node's to refuse (see flush).
      const hidden = tooDeep(this.doc.getXmlFragment(FIELD), undefined, this.doc.clientID)
      deleteDeepestFirst(hidden, tr)
      this.hidden += hidden.length
    }, REMOTE)
  }

  #set (state: SyncState, detail?: string): void {
    this.#state = state
    this.#onState(state, detail)
  }

  #schedule (): void {
    if (this.#flushTimer !== null || this.#pending.length === 0) return
    this.#set('saving')
    this.#flushTimer = setTimeout(() => { this.#flushTimer = null; void this.flush() }, FLUSH_DELAY_MS)
  }

  /** Sends every queued local update now (one request at a time). */
  async flush (): Promise<void> {
    if (this.#sending || this.#pending.length === 0) return
    this.#sending = true
    const batch = this.#pending.splice(0)
    const merged = batch.length === 1 ? batch[0] : Y.mergeUpdates(batch)
    try {
      await api.padUpdate(this.group, this.pad, base64.encode(merged))
      this.#sending = false
      if (this.#pending.length > 0) this.#schedule()
      else this.#set('saved')
    } catch (err) {
      this.#sending = false
      if (err instanceof ApiError && err.code === 'PAD_CONTENT_REJECTED') {
        // The node never takes this edit (too deep or too large, pads/limits.ts). Retrying would
        // block every later edit; dropping it alone would leave a gap in this tab's Yjs clock
        // that every later edit depends on. So this sync stops: the owner (the pad view) says
        // why and loads the pad afresh from the node, without the refused edit and those after it.
        this.#pending = []
        this.#closed = true
        this.#set('refused', err.message)
        return
      }
      // Keep the edits and try again: they are in this tab only until the node has them.
      this.#pending.unshift(merged)
      this.#set('error', (err as Error).message)
      if (!this.#closed) setTimeout(() => this.#schedule(), RETRY_MS)
    }
  }

  /** Fetches the node's document and merges it in (after a `pad` event). */
  async refresh (): Promise<void> {
    if (this.#closed) return
    if (this.#fetching) { this.#refetch = true; return }
    this.#fetching = true
    try {
      do {
        this.#refetch = false
        // Only what this tab lacks: a keystroke elsewhere costs its own bytes, not the document's.
        const state = await api.padState(this.group, this.pad, Y.encodeStateVector(this.doc))
        if (this.#closed) return
        this.#applyRemote(base64.decode(state.update))
      } while (this.#refetch)
      if (this.#state === 'offline' || this.#state === 'error') this.#set(this.#pending.length > 0 ? 'saving' : 'saved')
    } catch (err) {
      this.#set('error', (err as Error).message)
    } finally {
      this.#fetching = false
    }
  }

  #schedulePresence (): void {
    if (this.#presenceTimer !== null || this.#closed) return
    this.#presenceTimer = setTimeout(() => {
      this.#presenceTimer = null
      const local = this.awareness.getLocalState()
      api.setPresence(this.group, this.pad, local).then((p) => this.#applyPresence(p), () => {})
    }, PRESENCE_DELAY_MS)
  }

  #applyPresence (presence: PadPresence): void {
    if (this.#closed) return
    const now = Date.now()
    const seen = new Set<number>()
    const added: number[] = []
    const updated: number[] = []
    const colours = coloursOf([...(this.#self !== undefined ? [this.#self] : []), ...presence.peers.map((p) => p.member)])
    for (const peer of presence.peers) {
      if (peer.self || peer.clientId === this.doc.clientID) continue
      seen.add(peer.clientId)
      const claimed = typeof peer.state.user === 'object' && peer.state.user !== null ? peer.state.user as Record<string, unknown> : {}
      const state = { ...peer.state, user: { ...claimed, name: peer.name, member: peer.member, color: colours.get(peer.member) } }
      const before = this.awareness.states.get(peer.clientId)
      this.awareness.states.set(peer.clientId, state)
      const meta = this.awareness.meta.get(peer.clientId)
      this.awareness.meta.set(peer.clientId, { clock: (meta?.clock ?? 0) + 1, lastUpdated: now })
      if (before === undefined) added.push(peer.clientId)
      else if (JSON.stringify(before) !== JSON.stringify(state)) updated.push(peer.clientId)
    }
    const removed: number[] = []
    for (const id of this.awareness.states.keys()) {
      if (id !== this.doc.clientID && !seen.has(id)) removed.push(id)
    }
    for (const id of removed) { this.awareness.states.delete(id); this.awareness.meta.delete(id) }
    if (added.length + updated.length + removed.length === 0) return
    this.awareness.emit('change', [{ added, updated, removed }, REMOTE])
    this.awareness.emit('update', [{ added, updated, removed }, REMOTE])
  }

  /** Other members present in this pad (for the list of names next to the editor). */
  peers (): Array<{ clientId: number, name: string, colour: number }> {
    const out: Array<{ clientId: number, name: string, colour: number }> = []
    for (const [id, state] of this.awareness.states) {
      if (id === this.doc.clientID) continue
      const user = state.user as { name?: string, color?: string } | undefined
      out.push({ clientId: id, name: user?.name ?? '?', colour: colourClass(user?.color) })
    }
    return out
  }

  /** Sends what is still queued, leaves the pad (presence null) and stops listening. */
  async close (): Promise<void> {
    if (this.#flushTimer !== null) { clearTimeout(this.#flushTimer); this.#flushTimer = null }
    await this.flush().catch(() => { /* closing the editor: a failed send shows in the sync state until then, and the node keeps what it acknowledged */ })
    this.#closed = true
    for (const stop of this.#stops) stop()
    for (const i of this.#intervals) clearInterval(i)
    if (this.#presenceTimer !== null) clearTimeout(this.#presenceTimer)
    await api.setPresence(this.group, this.pad, null).catch(() => { /* presence expires on the peers by itself */ })
    this.awareness.destroy()
    this.doc.destroy()
  }
}
