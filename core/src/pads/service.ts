/**
 * The pad service of a node (`Solidar.pads`): pads of every group this device belongs to,
 * opened on demand as Y.Docs built from the group's log, local edits group-committed into
 * sealed `pad/update` entries, remote changes surfaced as events, a snapshot cache so long
 * histories open fast, and presence over an ephemeral channel (presence.ts).
 * It knows the rest of the node only through `PadHost`.
 */
import * as Y from 'yjs'
import b4a from 'b4a'
import type { Command } from '../commands.ts'
import { isMessageId, MAX_PAD_TITLE } from '../commands.ts'
import type { Keyring } from '../content.ts'
import { errors } from '../errors.ts'
import { resolveOne, nameKey } from '../resolve.ts'
import type { Group } from '../group.ts'
import type { Identity } from '../identity.ts'
import { encodeKey, newRecordId } from '../ids.ts'
import type { LocalStore } from '../registry.ts'
import type { GroupId, MemberId, PadExport, PresentMember, PadFormat, PadHistory, PadId, PadPresence, PadSummary, SolidarEvent } from '../types.ts'
import type { PadApi, PadCreateOptions } from './api.ts'
import { IMPORT_BLOCKS_PER_UPDATE, MAX_OPEN_PADS, SNAPSHOT_DELAY_MS, SNAPSHOT_EVERY } from './constants.ts'
import { OpenPad, type Handover, type LoadStats, type PadSource } from './doc.ts'
import { authorship, versions } from './history.ts'
import { blocksToHtml, blocksToMarkdown, blocksToText, markdownToBlocks, textToBlocks } from './markdown.ts'
import { Presence } from './presence.ts'
import { LiveEdits } from './live.ts'
import { PK, feedCount, readFeed, readPad, readPads, readUpdates, type PadRecord } from './records.ts'
import { checkClientUpdate } from './limits.ts'
import { appendBlocks, appendInline, FRAGMENT, paragraph, readBlocks, type Block } from './schema.ts'
import { SnapshotStore } from './snapshot.ts'
import { isoDate, minutes, TEMPLATES, TEMPLATE_LANGUAGES } from './template.ts'

/** One group's log as the pad service sees it. */
export interface PadLog {
  id: GroupId
  group: Group
  keyring: Keyring
  /** The log (Autobase encryption) key: derives the snapshot key. */
  logKey: Buffer
  /** The current epoch, or NOT_PERMITTED when this device does not hold its key. */
  currentEpoch (): Promise<number>
  /** Appends and throws NOT_PERMITTED when apply refused the entry. */
  append (cmd: Command): Promise<void>
}

export interface PadHost {
  resolve (ref: string): Promise<PadLog>
  emit (event: SolidarEvent): void
  onError (err: Error): void
  now (): number
  /** This device's identity (signs presence). */
  identity: Identity
  /** The member this device acts for (hex; with multi-device not the device key). */
  self (): string
  local: LocalStore
  /** How long the local tab's presence lasts without a renewal (presence.ts LOCAL_PRESENCE_TTL_MS unless set). */
  presenceTtlMs?: number
}

interface GroupPads {
  log: PadLog
  snapshots: SnapshotStore
  open: Map<string, Promise<OpenPad>>
  feedCursor: number
  snapshotTimer: NodeJS.Timeout | null
  /** Known to be a group, not a DM (a log's kind never changes): checked once, not on every edit. */
  isGroup?: true
}

const hex = (b: Uint8Array) => b4a.toString(b, 'hex') as string
/** Bounds `#live`: reloads in a row before an edit gives up with a clear error. */
const LIVE_ATTEMPTS = 10
const memberIdOfHex = (h: string) => encodeKey(b4a.from(h, 'hex')) as MemberId
const FORMATS: PadFormat[] = ['md', 'txt', 'html']

export class Pads implements PadApi {
  readonly #host: PadHost
  readonly #groups = new Map<string, GroupPads>()
  readonly presenceChannel: Presence
  /** Local edits to the directly connected peers at once, theirs into open pads (live.ts). */
  readonly liveEdits: LiveEdits
  #closing = false

  constructor (host: PadHost) {
    this.#host = host
    this.presenceChannel = new Presence({
      identity: host.identity,
      self: () => host.self(),
      onChange: (log, pad, presence) => host.emit({ type: 'pad-presence', group: log.id, pad: pad as PadId, presence }),
      memberName: async (log, member) => (await log.group.member(member))?.name ?? null,
      onError: (err) => host.onError(err),
      ...(host.presenceTtlMs !== undefined ? { localTtlMs: host.presenceTtlMs } : {})
    })
    this.liveEdits = new LiveEdits({
      identity: host.identity,
      onUpdate: (log, pad, update, member) => this.#onLive(log, pad, update, member),
      onError: (err) => host.onError(err)
    })
  }

  // ---------------------------------------------------------------- wiring (called by Solidar)

  /** Every new peer connection: the presence channel rides on it. */
  attach (stream: any): void {
    this.presenceChannel.attach(stream)
    this.liveEdits.attach(stream)
  }

  /**
   * After each update of a group's log: emit events for new pad changes and bring open
   * pads up to date. The first call for a group only sets the cursor (no events for history).
   */
  async refresh (log: PadLog): Promise<void> {
    if (this.#closing) return
    const g = this.#group(log)
    this.presenceChannel.serve(log)
    this.liveEdits.serve(log)
    if (g.feedCursor < 0) { g.feedCursor = await feedCount(log.group.view); return }
    const changes = await readFeed(log.group.view, g.feedCursor)
    if (changes.length === 0) return
    g.feedCursor = changes[changes.length - 1].n
    const touched = new Set<string>()
    for (const c of changes) {
      if (c.change === 'updated') touched.add(c.pad)
      this.#host.emit({ type: 'pad', group: log.id, pad: c.pad as PadId, change: c.change, author: memberIdOfHex(c.by), ...(c.seq !== undefined ? { seq: c.seq } : {}) })
    }
    for (const id of touched) if (g.open.has(id)) await this.#open(g, id)
  }

  /**
   * Autobase reordered the log's tail and kept its first `length` view blocks: the change
   * feed was rewritten after that point, so read it again from there (open pads that it
   * touched then catch up; an update seen twice changes nothing).
   */
  async rewind (log: PadLog, length: number): Promise<void> {
    const g = this.#groups.get(hex(log.group.key))
    if (!g || g.feedCursor < 0) return
    g.feedCursor = Math.min(g.feedCursor, await log.group.numberAt(length, PK.feedCounter))
  }

  /** The group is gone from this device (left, closed). */
  async forget (groupKeyHex: string): Promise<void> {
    const g = this.#groups.get(groupKeyHex)
    if (!g) return
    this.#groups.delete(groupKeyHex)
    this.presenceChannel.unserve(g.log.group.discoveryKey)
    this.liveEdits.unserve(g.log.group.discoveryKey)
    await this.#closeGroup(g, false)
  }

  /** This device left the group: the pad snapshots it kept (pad plaintext, sealed) go from its disk. */
  async dropSnapshots (group: GroupId): Promise<void> {
    await SnapshotStore.clear(this.#host.local, group)
  }

  async close (): Promise<void> {
    this.#closing = true
    this.presenceChannel.close()
    this.liveEdits.close()
    for (const g of this.#groups.values()) await this.#closeGroup(g, true)
    this.#groups.clear()
  }

  async #closeGroup (g: GroupPads, save: boolean) {
    if (g.snapshotTimer) clearTimeout(g.snapshotTimer)
    for (const [id, p] of g.open) {
      const pad = await p.catch(() => null)
      if (!pad) continue
      // Edits that cannot be appended now are reported (the log failed or closes); the pad closes anyway.
      await pad.flush().catch(err => this.#host.onError(err))
      if (save) await this.#saveSnapshot(g, pad).catch(err => this.#host.onError(err)) // a cache: the log stays the truth
      pad.destroy()
      g.open.delete(id)
    }
  }

  #group (log: PadLog): GroupPads {
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

  async #resolve (groupRef: string): Promise<GroupPads> {
    if (this.#closing) throw errors.closed()
    const log = await this.#host.resolve(groupRef)
    const g = this.#group(log)
    if (g.isGroup) return g
    if ((await log.group.meta())?.kind !== 'group') throw errors.badRequest('Pads live in groups, not in direct conversations')
    g.isGroup = true
    return g
  }

  #source (g: GroupPads): PadSource {
    return { view: g.log.group.view, keyring: g.log.keyring, snapshots: g.snapshots }
  }

  // ---------------------------------------------------------------- pad lookup

  async #pad (g: GroupPads, ref: string): Promise<PadRecord> {
    if (typeof ref !== 'string' || ref.trim() === '') throw errors.badRequest('missing pad')
    const text = ref.trim()
    if (isMessageId(text)) {
      const byId = await readPad(g.log.group.view, text)
      if (byId) return byId
    }
    return resolveOne(await readPads(g.log.group.view), text, {
      name: (p) => this.#title(g, p),
      prefer: (p) => !p.archived,
      missing: () => errors.badRequest('missing pad'),
      notFound: (ref) => errors.padNotFound(ref),
      ambiguous: (ref, matches) => errors.padAmbiguous(ref, matches.map(p => p.id))
    })
  }

  #title (g: GroupPads, p: PadRecord): string {
    const plain = g.log.keyring.open(p.title, 'pad-title')
    return plain ? b4a.toString(plain) : ''
  }

  async #summary (g: GroupPads, p: PadRecord, names?: Map<string, string>): Promise<PadSummary> {
    const plain = g.log.keyring.open(p.title, 'pad-title')
    const name = names ? names.get(p.createdBy) : (await g.log.group.member(p.createdBy))?.name
    const out: PadSummary = {
      id: p.id as PadId, title: plain ? b4a.toString(plain) : '', createdBy: memberIdOfHex(p.createdBy), createdByName: name ?? '?',
      ts: p.ts, changedTs: p.changedTs, updates: p.updates, archived: p.archived
    }
    if (!plain) out.unreadable = true
    return out
  }

  async #names (g: GroupPads): Promise<Map<string, string>> {
    return new Map((await g.log.group.allMembers()).map(m => [m.id, m.name]))
  }

  // ---------------------------------------------------------------- open pads

  #open (g: GroupPads, id: string): Promise<OpenPad> {
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
        reloaded = await this.#live(g, id)
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
  async #live (g: GroupPads, id: string): Promise<OpenPad> {
    for (let attempt = 1; ; attempt++) {
      const pad = await this.#open(g, id)
      if (!pad.destroyed) return pad
      if (attempt >= LIVE_ATTEMPTS) throw errors.badRequest('This pad changed too often while it was being edited; try again')
    }
  }

  async #load (g: GroupPads, id: string, opts: { useSnapshot?: boolean, upTo?: number } = {}): Promise<OpenPad> {
    const { pad } = await this.#loadWithStats(g, id, opts)
    this.#maybeSnapshot(g, pad)
    return pad
  }

  async #loadWithStats (g: GroupPads, id: string, opts: { useSnapshot?: boolean, upTo?: number } = {}): Promise<{ pad: OpenPad, stats: LoadStats }> {
    return OpenPad.load(this.#source(g), id, {
      useSnapshot: opts.useSnapshot ?? true,
      upTo: opts.upTo,
      append: (update) => this.#appendUpdate(g, id, update),
      onError: (err) => this.#host.onError(err),
      // A device without the current key cannot send live (NOT_PERMITTED): its append says so.
      onLocal: (update) => { this.liveEdits.send(g.log, id, update).catch(() => { /* the append of the same edit reports any failure */ }) }
    })
  }

  /**
   * Another member's live edit (checked by live.ts: signed by an active device of a member who
   * may write): into the pad if it is open here, with the same content checks as a client's
   * update; announced like a change from the log. A pad nobody has open here is left alone:
   * the log brings the edit.
   */
  async #onLive (log: PadLog, padId: string, update: Uint8Array, member: string): Promise<'applied' | 'not-open' | 'content'> {
    const g = this.#groups.get(hex(log.group.key))
    const opening = g?.open.get(padId)
    if (!g || !opening || this.#closing) return 'not-open'
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
      await this.#saveSnapshot(oldest.g, oldest.pad).catch(err => this.#host.onError(err))
      oldest.pad.destroy()
    })()
  }

  #maybeSnapshot (g: GroupPads, pad: OpenPad) {
    if (pad.applied - pad.snapshotAt < SNAPSHOT_EVERY || g.snapshotTimer || this.#closing) return
    g.snapshotTimer = setTimeout(async () => {
      g.snapshotTimer = null
      for (const p of g.open.values()) {
        const open = await p.catch(() => null)
        if (open && open.applied - open.snapshotAt >= SNAPSHOT_EVERY) await this.#saveSnapshot(g, open).catch(err => this.#host.onError(err))
      }
    }, SNAPSHOT_DELAY_MS)
    g.snapshotTimer.unref?.()
  }

  /** Writes a snapshot if the doc is exactly a prefix of the log (no local edits in flight). */
  async #saveSnapshot (g: GroupPads, pad: OpenPad): Promise<boolean> {
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

  /** Edits a pad as this device and waits until the edit is in the log. */
  async #edit (g: GroupPads, p: PadRecord, fn: (doc: Y.Doc) => void): Promise<void> {
    await g.log.currentEpoch() // NOT_PERMITTED early for a removed device
    const pad = await this.#live(g, p.id)
    pad.change(fn)
    await pad.flush()
    await this.#open(g, p.id) // catch up with our own entries
  }

  /** `title`, or the first of "title (2)", "title (3)", … that no pad of the group has (archived ones too). */
  async #freeTitle (g: GroupPads, title: string): Promise<string> {
    const taken = new Set((await readPads(g.log.group.view)).map(p => nameKey(this.#title(g, p))))
    if (!taken.has(nameKey(title))) return title
    for (let n = 2; ; n++) {
      const suffix = ` (${n})`
      const next = `${title.slice(0, MAX_PAD_TITLE - suffix.length)}${suffix}`
      if (!taken.has(nameKey(next))) return next
    }
  }

  #checkTitle (title: unknown): string {
    if (typeof title !== 'string' || title.trim() === '') throw errors.badRequest('a pad needs a title')
    const clean = title.trim()
    if (clean.length > MAX_PAD_TITLE) throw errors.badRequest(`a pad title has at most ${MAX_PAD_TITLE} characters`)
    if (/\p{Cc}/u.test(clean)) throw errors.badRequest('a pad title cannot contain control characters')
    return clean
  }

  async #writable (g: GroupPads): Promise<number> {
    const me = await g.log.group.member(this.#host.self())
    if (!me || me.left) throw errors.notPermitted('You are no longer a member of this group')
    if (me.role === 'observer') throw errors.notPermitted('Observers read pads but do not write')
    return g.log.currentEpoch()
  }

  // ---------------------------------------------------------------- PadApi

  async create (groupRef: string, title: string, opts: PadCreateOptions = {}): Promise<PadSummary & { requestedTitle?: string }> {
    const g = await this.#resolve(groupRef)
    const asked = this.#checkTitle(title)
    // A title another pad of the group has (as names compare: case and Unicode form aside) would
    // make every command by title ambiguous: the new pad gets "Title (2)", and the answer says so.
    const clean = await this.#freeTitle(g, asked)
    let blocks: Block[] = []
    if (opts.template !== undefined) {
      if (!TEMPLATES.includes(opts.template)) throw errors.badRequest(`unknown template "${String(opts.template)}"; there is: ${TEMPLATES.join(', ')}`)
      const attendees = (await this.present(groupRef)).map(m => m.name)
      if (opts.language !== undefined && !TEMPLATE_LANGUAGES.includes(opts.language)) throw errors.badRequest(`unknown template language "${String(opts.language)}"; there is: ${TEMPLATE_LANGUAGES.join(', ')}`)
      blocks = minutes({ title: clean, date: isoDate(this.#host.now()), attendees, ...(opts.language !== undefined ? { language: opts.language } : {}) })
    }
    if (opts.content !== undefined) {
      if (typeof opts.content !== 'string') throw errors.badRequest('content must be text')
      // NUL: a binary file. U+FFFD: bytes that were not UTF-8 (a photo, or text saved as
      // Windows-1252, whose umlauts would otherwise be lost without a word).
      if (/[\u0000\uFFFD]/.test(opts.content)) throw errors.badRequest('This file does not look like UTF-8 text (Markdown or plain text). If it is text, save it as UTF-8 and import it again.')
      const format = opts.format ?? 'md'
      if (format !== 'md' && format !== 'txt') throw errors.badRequest('import format must be "md" or "txt"')
      blocks.push(...(format === 'md' ? markdownToBlocks(opts.content) : textToBlocks(opts.content)))
    }
    const epoch = await this.#writable(g)
    const id = newRecordId()
    await g.log.append({ t: 'pad/create', id, title: g.log.keyring.seal(epoch, 'pad-title', b4a.from(clean)), ts: this.#host.now() })
    const rec = await readPad(g.log.group.view, id)
    if (!rec) throw errors.padNotFound(id)
    if (blocks.length) {
      // One transaction per slice of blocks: each becomes an update, merged by the group commit up to MAX_PAD_UPDATE.
      const pad = await this.#live(g, id)
      for (let i = 0; i < blocks.length; i += IMPORT_BLOCKS_PER_UPDATE) pad.change(doc => appendBlocks(doc, blocks.slice(i, i + IMPORT_BLOCKS_PER_UPDATE)))
      await pad.flush()
      await this.#open(g, id)
    }
    const summary = await this.#summary(g, (await readPad(g.log.group.view, id))!)
    return clean === asked ? summary : { ...summary, requestedTitle: asked }
  }

  async list (groupRef: string, opts: { archived?: boolean } = {}): Promise<PadSummary[]> {
    const g = await this.#resolve(groupRef)
    const names = await this.#names(g)
    const pads = (await readPads(g.log.group.view)).filter(p => opts.archived === true || !p.archived)
    const out = await Promise.all(pads.map(p => this.#summary(g, p, names)))
    return out.sort((a, b) => b.changedTs - a.changedTs || a.id.localeCompare(b.id))
  }

  async get (groupRef: string, padRef: string): Promise<PadSummary> {
    const g = await this.#resolve(groupRef)
    return this.#summary(g, await this.#pad(g, padRef))
  }

  async export (groupRef: string, padRef: string, opts: { format?: PadFormat, at?: number } = {}): Promise<PadExport> {
    const g = await this.#resolve(groupRef)
    const format = opts.format ?? 'md'
    if (!FORMATS.includes(format)) throw errors.badRequest(`format must be one of ${FORMATS.join(', ')}`)
    const p = await this.#pad(g, padRef)
    let blocks: Block[]
    let at = p.updates
    if (opts.at !== undefined && opts.at < p.updates) {
      if (!Number.isSafeInteger(opts.at) || opts.at < 0) throw errors.badRequest('at must be a whole number of updates (see pad history)')
      const { pad } = await this.#loadWithStats(g, p.id, { useSnapshot: true, upTo: opts.at })
      blocks = readBlocks(pad.doc)
      at = pad.applied
      pad.destroy()
    } else {
      const pad = await this.#open(g, p.id)
      blocks = readBlocks(pad.doc)
      at = pad.applied
    }
    const title = this.#title(g, p)
    const content = format === 'md' ? blocksToMarkdown(blocks) : format === 'txt' ? blocksToText(blocks) : blocksToHtml(blocks, title)
    return { pad: p.id as PadId, title, format, at, updates: p.updates, content }
  }

  async append (groupRef: string, padRef: string, text: string, opts: { inline?: boolean } = {}): Promise<PadSummary> {
    const g = await this.#resolve(groupRef)
    if (typeof text !== 'string' || text.trim() === '') throw errors.badRequest('text to append must not be empty')
    const p = await this.#pad(g, padRef)
    if (p.archived) throw errors.notPermitted('This pad is archived; unarchive it to edit')
    await this.#writable(g)
    const lines = text.replace(/\r\n?/g, '\n').split('\n')
    await this.#edit(g, p, doc => {
      if (opts.inline === true) appendInline(doc, lines.join(' '))
      else appendBlocks(doc, lines.map(line => paragraph(line)))
    })
    return this.#summary(g, (await readPad(g.log.group.view, p.id))!)
  }

  async rename (groupRef: string, padRef: string, title: string): Promise<PadSummary> {
    const g = await this.#resolve(groupRef)
    const clean = this.#checkTitle(title)
    const p = await this.#pad(g, padRef)
    const epoch = await this.#writable(g)
    await g.log.append({ t: 'pad/rename', pad: p.id, title: g.log.keyring.seal(epoch, 'pad-title', b4a.from(clean)), ts: this.#host.now() })
    return this.#summary(g, (await readPad(g.log.group.view, p.id))!)
  }

  async archive (groupRef: string, padRef: string, archived: boolean): Promise<PadSummary> {
    const g = await this.#resolve(groupRef)
    const p = await this.#pad(g, padRef)
    if (p.archived === archived) return this.#summary(g, p)
    await this.#writable(g)
    await g.log.append({ t: 'pad/archive', pad: p.id, archived, ts: this.#host.now() })
    return this.#summary(g, (await readPad(g.log.group.view, p.id))!)
  }

  async history (groupRef: string, padRef: string): Promise<PadHistory> {
    const g = await this.#resolve(groupRef)
    const p = await this.#pad(g, padRef)
    const names = await this.#names(g)
    const records: Array<{ seq: number, author: string, ts: number }> = []
    const clients = new Map<number, string>()
    const skipped: PadHistory['skipped'] = []
    for await (const rec of readUpdates(g.log.group.view, p.id)) {
      records.push({ seq: rec.seq, author: rec.author, ts: rec.ts })
      const plain = g.log.keyring.open(rec.body, 'pad')
      if (!plain) continue
      let meta: ReturnType<typeof Y.parseUpdateMeta>
      try {
        meta = Y.parseUpdateMeta(plain)
      } catch {
        // Readers skip it (doc.ts); here it is named with its author.
        skipped.push({ seq: rec.seq, author: memberIdOfHex(rec.author), authorName: names.get(rec.author) ?? '?', reason: 'not a Yjs update' })
        continue
      }
      // The first update carrying a Yjs client id names its author (client ids are per open doc).
      for (const client of meta.to.keys()) if (!clients.has(client)) clients.set(client, rec.author)
    }
    const pad = await this.#open(g, p.id)
    const name = (m: string) => names.get(m) ?? '?'
    return {
      pad: await this.#summary(g, p, names),
      versions: versions(records).map(v => ({ ...v, author: memberIdOfHex(v.author), authorName: name(v.author) })),
      authors: authorship(pad.doc, clients).map(a => ({ member: memberIdOfHex(a.member), name: name(a.member), chars: a.chars })),
      ...(skipped.length > 0 ? { skipped } : {})
    }
  }

  async applyUpdate (groupRef: string, padRef: string, update: Uint8Array): Promise<void> {
    const g = await this.#resolve(groupRef)
    const p = await this.#pad(g, padRef)
    await this.#writable(g)
    // Not Yjs, too deep, too many nodes at once: refused here (PAD_CONTENT_REJECTED), and
    // readers cope with whatever reaches the log anyway (schema.ts, doc.ts).
    const pad = await this.#live(g, p.id)
    checkClientUpdate(pad.doc, FRAGMENT, update)
    // Queued as these bytes, even if Yjs holds it back for dependencies that arrive later (OpenPad.applyClient).
    pad.applyClient(update)
    // Answer only once the edit is in the log (and on disk): a client that shows "saved" must
    // not lose the edit to a crash or power cut in the group commit's window.
    await pad.appended()
  }

  /**
   * The pad's document as one Yjs update; with `since` (a Yjs state vector of the caller's copy)
   * only what that copy lacks, so an open tab fetches each change, not the whole document again.
   */
  async state (groupRef: string, padRef: string, opts: { since?: Uint8Array } = {}): Promise<{ id: string, update: Uint8Array, updates: number }> {
    let since: Uint8Array | undefined
    if (opts.since !== undefined) {
      try {
        Y.decodeStateVector(opts.since)
        since = opts.since
      } catch {
        throw errors.badRequest('since must be a Yjs state vector (Y.encodeStateVector of your copy)')
      }
    }
    const g = await this.#resolve(groupRef)
    const p = await this.#pad(g, padRef)
    const pad = await this.#open(g, p.id)
    return { id: p.id, update: Y.encodeStateAsUpdate(pad.doc, since), updates: pad.applied }
  }

  async setPresence (groupRef: string, padRef: string, state: Record<string, unknown> | null): Promise<PadPresence> {
    const g = await this.#resolve(groupRef)
    const p = await this.#pad(g, padRef)
    if (state !== null && (typeof state !== 'object' || Array.isArray(state))) throw errors.badRequest('presence state must be an object or null')
    this.presenceChannel.serve(g.log)
    return this.presenceChannel.set(g.log, p.id, state)
  }

  async present (groupRef: string): Promise<PresentMember[]> {
    const g = await this.#resolve(groupRef)
    this.presenceChannel.serve(g.log)
    const here = new Set(this.presenceChannel.present(g.log))
    const self = this.#host.self()
    return (await g.log.group.members())
      .filter(m => here.has(m.id))
      .map(m => ({ member: memberIdOfHex(m.id), name: m.name, self: m.id === self }))
      .sort((a, b) => a.name.localeCompare(b.name) || a.member.localeCompare(b.member))
  }

  async presence (groupRef: string, padRef: string): Promise<PadPresence> {
    const g = await this.#resolve(groupRef)
    const p = await this.#pad(g, padRef)
    return this.presenceChannel.get(g.log, p.id)
  }

  // ---------------------------------------------------------------- for tests and benchmarks

  /**
   * Sends a Yjs update of a pad over the live channel only, never to the log (tests: what
   * arrives live). `forge` makes the bytes instead (security tests: forged and replayed messages).
   */
  async sendLive (groupRef: string, padRef: string, update: Uint8Array, forge?: (log: PadLog, epoch: number) => Buffer): Promise<void> {
    const g = await this.#resolve(groupRef)
    const p = await this.#pad(g, padRef)
    this.liveEdits.serve(g.log)
    if (forge) this.liveEdits.sendRaw(g.log, forge(g.log, await g.log.currentEpoch()))
    else await this.liveEdits.send(g.log, p.id, update)
  }

  /** How many live edits of others the open pad holds that the log has not brought yet (tests). */
  async unconfirmedLive (groupRef: string, padRef: string): Promise<number> {
    const g = await this.#resolve(groupRef)
    const p = await this.#pad(g, padRef)
    return (await this.#open(g, p.id)).unconfirmed
  }

  /** Pending local edits of an open pad appended now (tests drive the group commit with this). */
  async flush (groupRef: string, padRef: string): Promise<void> {
    const g = await this.#resolve(groupRef)
    const p = await this.#pad(g, padRef)
    const pad = await this.#open(g, p.id)
    await pad.flush()
    await this.#open(g, p.id)
  }

  /** Edits the live document (as the web editor would); appended within BATCH_MS or by `flush`. */
  async change (groupRef: string, padRef: string, fn: (doc: Y.Doc) => void): Promise<void> {
    const g = await this.#resolve(groupRef)
    const p = await this.#pad(g, padRef)
    await this.#writable(g)
    const pad = await this.#live(g, p.id)
    pad.change(fn)
  }

  /** A fresh, independent copy of the document (not the live one), and how it was loaded. */
  async load (groupRef: string, padRef: string, opts: { useSnapshot?: boolean, upTo?: number } = {}): Promise<{ doc: Y.Doc, stats: LoadStats }> {
    const g = await this.#resolve(groupRef)
    const p = await this.#pad(g, padRef)
    const { pad, stats } = await this.#loadWithStats(g, p.id, opts)
    return { doc: pad.doc, stats }
  }

  /** Writes the live pad's snapshot now (normally after SNAPSHOT_EVERY updates, SNAPSHOT_DELAY_MS later). */
  async saveSnapshot (groupRef: string, padRef: string): Promise<boolean> {
    const g = await this.#resolve(groupRef)
    const p = await this.#pad(g, padRef)
    return this.#saveSnapshot(g, await this.#open(g, p.id))
  }
}
