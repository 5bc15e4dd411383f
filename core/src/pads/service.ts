/**
 * The pad service of a node (`Solidar.pads`): pads of every group this device belongs to,
 * opened on demand as Y.Docs built from the group's log, local edits group-committed into
 * sealed `pad/update` entries, remote changes surfaced as events, a snapshot cache so long
 * histories open fast, and presence over an ephemeral channel (presence.ts).
 * The open documents are kept by open-pads.ts, pads are found by id or title in lookup.ts;
 * here are the wiring, the checks and the `PadApi` methods.
 * It knows the rest of the node only through `PadHost`.
 */
import * as Y from 'yjs'
import b4a from 'b4a'
import type { Command } from '../commands.ts'
import type { Keyring } from '../content.ts'
import { errors } from '../errors.ts'
import type { Group } from '../group.ts'
import type { Identity } from '../identity.ts'
import { newRecordId } from '../ids.ts'
import type { LocalStore } from '../registry.ts'
import type { GroupId, PadExport, PresentMember, PadFormat, PadHistory, PadId, PadPresence, PadSummary, SolidarEvent } from '../types.ts'
import type { PadApi, PadCreateOptions } from './api.ts'
import { IMPORT_BLOCKS_PER_UPDATE } from './constants.ts'
import type { LoadStats } from './doc.ts'
import { authorship, readHistory, versions } from './history.ts'
import { checkTitle, findPad, freeTitle, memberIdOfHex, memberNames, padSummary, padTitle } from './lookup.ts'
import { blocksToHtml, blocksToMarkdown, blocksToText, importBlocks } from './markdown.ts'
import { OpenPads, type GroupPads } from './open-pads.ts'
import { Presence } from './presence.ts'
import { LiveEdits } from './live.ts'
import { PK, feedCount, readFeed, readPad, readPads, readUpdates, type PadRecord } from './records.ts'
import { checkClientUpdate } from './limits.ts'
import { appendBlocks, appendInline, FRAGMENT, paragraph, readBlocks, type Block } from './schema.ts'
import { SnapshotStore } from './snapshot.ts'
import { isoDate, minutes, TEMPLATES, TEMPLATE_LANGUAGES } from './template.ts'
import { describe } from '../describe.ts'

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
  /** Whether a peer connection proved a current member's device (live.ts sends edits only to those). */
  mayReceive (log: PadLog, stream: unknown): Promise<boolean>
}

const FORMATS: PadFormat[] = ['md', 'txt', 'html']

export class Pads implements PadApi {
  readonly #host: PadHost
  /** Per group the open documents, loaded, reloaded, evicted and snapshotted (open-pads.ts). */
  readonly #pads: OpenPads
  readonly presenceChannel: Presence
  /** Local edits to the directly connected peers at once, theirs into open pads (live.ts). */
  readonly liveEdits: LiveEdits
  #closing = false

  constructor (host: PadHost) {
    this.#host = host
    this.#pads = new OpenPads({
      emit: (event) => host.emit(event),
      onError: (err) => host.onError(err),
      now: () => host.now(),
      local: host.local,
      sendLive: (log, pad, update) => this.liveEdits.send(log, pad, update),
      closing: () => this.#closing
    })
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
      onUpdate: (log, pad, update, member) => this.#pads.onLive(log, pad, update, member),
      onError: (err) => host.onError(err),
      mayReceive: (log, stream) => host.mayReceive(log, stream)
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
    const g = this.#pads.group(log)
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
    for (const id of touched) if (g.open.has(id)) await this.#pads.open(g, id)
  }

  /**
   * Autobase reordered the log's tail and kept its first `length` view blocks: the change
   * feed was rewritten after that point, so read it again from there (open pads that it
   * touched then catch up; an update seen twice changes nothing).
   */
  async rewind (log: PadLog, length: number): Promise<void> {
    const g = this.#pads.get(log)
    if (!g || g.feedCursor < 0) return
    g.feedCursor = Math.min(g.feedCursor, await log.group.numberAt(length, PK.feedCounter))
  }

  /** The group is gone from this device (left, closed). */
  async forget (groupKeyHex: string): Promise<void> {
    const g = this.#pads.take(groupKeyHex)
    if (!g) return
    this.presenceChannel.unserve(g.log.group.discoveryKey)
    this.liveEdits.unserve(g.log.group.discoveryKey)
    await this.#pads.closeGroup(g, false)
  }

  /** This device left the group: the pad snapshots it kept (pad plaintext, sealed) go from its disk. */
  async dropSnapshots (group: GroupId): Promise<void> {
    await SnapshotStore.clear(this.#host.local, group)
  }

  async close (): Promise<void> {
    this.#closing = true
    this.presenceChannel.close()
    this.liveEdits.close()
    await this.#pads.close()
  }

  async #resolve (groupRef: string): Promise<GroupPads> {
    if (this.#closing) throw errors.closed()
    const log = await this.#host.resolve(groupRef)
    const g = this.#pads.group(log)
    if (g.isGroup) return g
    if ((await log.group.meta())?.kind !== 'group') throw errors.badRequest('Pads live in groups, not in direct conversations')
    g.isGroup = true
    return g
  }

  /** Edits a pad as this device and waits until the edit is in the log. */
  async #edit (g: GroupPads, p: PadRecord, fn: (doc: Y.Doc) => void): Promise<void> {
    await g.log.currentEpoch() // NOT_PERMITTED early for a removed device
    const pad = await this.#pads.live(g, p.id)
    pad.change(fn)
    await pad.flush()
    await this.#pads.open(g, p.id) // catch up with our own entries
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
    const asked = checkTitle(title)
    // A title another pad of the group has (as names compare: case and Unicode form aside) would
    // make every command by title ambiguous: the new pad gets "Title (2)", and the answer says so.
    const clean = await freeTitle(g.log, asked)
    let blocks: Block[] = []
    if (opts.template !== undefined) {
      if (!TEMPLATES.includes(opts.template)) throw errors.badRequest(`unknown template "${describe(opts.template)}"; there is: ${TEMPLATES.join(', ')}`)
      const attendees = (await this.present(groupRef)).map(m => m.name)
      if (opts.language !== undefined && !TEMPLATE_LANGUAGES.includes(opts.language)) throw errors.badRequest(`unknown template language "${describe(opts.language)}"; there is: ${TEMPLATE_LANGUAGES.join(', ')}`)
      blocks = minutes({ title: clean, date: isoDate(this.#host.now()), attendees, ...(opts.language !== undefined ? { language: opts.language } : {}) })
    }
    if (opts.content !== undefined) blocks.push(...importBlocks(opts.content, opts.format ?? 'md'))
    const epoch = await this.#writable(g)
    const id = newRecordId()
    await g.log.append({ t: 'pad/create', id, title: g.log.keyring.seal(epoch, 'pad-title', b4a.from(clean)), ts: this.#host.now() })
    const rec = await readPad(g.log.group.view, id)
    if (!rec) throw errors.padNotFound(id)
    if (blocks.length) {
      // One transaction per slice of blocks: each becomes an update, merged by the group commit up to MAX_PAD_UPDATE.
      const pad = await this.#pads.live(g, id)
      for (let i = 0; i < blocks.length; i += IMPORT_BLOCKS_PER_UPDATE) pad.change(doc => appendBlocks(doc, blocks.slice(i, i + IMPORT_BLOCKS_PER_UPDATE)))
      await pad.flush()
      await this.#pads.open(g, id)
    }
    const summary = await padSummary(g.log, (await readPad(g.log.group.view, id))!)
    return clean === asked ? summary : { ...summary, requestedTitle: asked }
  }

  async list (groupRef: string, opts: { archived?: boolean } = {}): Promise<PadSummary[]> {
    const g = await this.#resolve(groupRef)
    const names = await memberNames(g.log)
    const pads = (await readPads(g.log.group.view)).filter(p => opts.archived === true || !p.archived)
    const out = await Promise.all(pads.map(p => padSummary(g.log, p, names)))
    return out.sort((a, b) => b.changedTs - a.changedTs || a.id.localeCompare(b.id))
  }

  async get (groupRef: string, padRef: string): Promise<PadSummary> {
    const g = await this.#resolve(groupRef)
    return padSummary(g.log, await findPad(g.log, padRef))
  }

  async export (groupRef: string, padRef: string, opts: { format?: PadFormat, at?: number } = {}): Promise<PadExport> {
    const g = await this.#resolve(groupRef)
    const format = opts.format ?? 'md'
    if (!FORMATS.includes(format)) throw errors.badRequest(`format must be one of ${FORMATS.join(', ')}`)
    const p = await findPad(g.log, padRef)
    let blocks: Block[]
    let at = p.updates
    if (opts.at !== undefined && opts.at < p.updates) {
      if (!Number.isSafeInteger(opts.at) || opts.at < 0) throw errors.badRequest('at must be a whole number of updates (see pad history)')
      const { pad } = await this.#pads.loadWithStats(g, p.id, { useSnapshot: true, upTo: opts.at })
      blocks = readBlocks(pad.doc)
      at = pad.applied
      pad.destroy()
    } else {
      const pad = await this.#pads.open(g, p.id)
      blocks = readBlocks(pad.doc)
      at = pad.applied
    }
    const title = padTitle(g.log, p)
    const content = format === 'md' ? blocksToMarkdown(blocks) : format === 'txt' ? blocksToText(blocks) : blocksToHtml(blocks, title)
    return { pad: p.id as PadId, title, format, at, updates: p.updates, content }
  }

  async append (groupRef: string, padRef: string, text: string, opts: { inline?: boolean } = {}): Promise<PadSummary> {
    const g = await this.#resolve(groupRef)
    if (typeof text !== 'string' || text.trim() === '') throw errors.badRequest('text to append must not be empty')
    const p = await findPad(g.log, padRef)
    if (p.archived) throw errors.notPermitted('This pad is archived; unarchive it to edit')
    await this.#writable(g)
    const lines = text.replace(/\r\n?/g, '\n').split('\n')
    await this.#edit(g, p, doc => {
      if (opts.inline === true) appendInline(doc, lines.join(' '))
      else appendBlocks(doc, lines.map(line => paragraph(line)))
    })
    return padSummary(g.log, (await readPad(g.log.group.view, p.id))!)
  }

  async rename (groupRef: string, padRef: string, title: string): Promise<PadSummary> {
    const g = await this.#resolve(groupRef)
    const clean = checkTitle(title)
    const p = await findPad(g.log, padRef)
    const epoch = await this.#writable(g)
    await g.log.append({ t: 'pad/rename', pad: p.id, title: g.log.keyring.seal(epoch, 'pad-title', b4a.from(clean)), ts: this.#host.now() })
    return padSummary(g.log, (await readPad(g.log.group.view, p.id))!)
  }

  async archive (groupRef: string, padRef: string, archived: boolean): Promise<PadSummary> {
    const g = await this.#resolve(groupRef)
    const p = await findPad(g.log, padRef)
    if (p.archived === archived) return padSummary(g.log, p)
    await this.#writable(g)
    await g.log.append({ t: 'pad/archive', pad: p.id, archived, ts: this.#host.now() })
    return padSummary(g.log, (await readPad(g.log.group.view, p.id))!)
  }

  async history (groupRef: string, padRef: string): Promise<PadHistory> {
    const g = await this.#resolve(groupRef)
    const p = await findPad(g.log, padRef)
    const names = await memberNames(g.log)
    const { records, clients, skipped } = await readHistory(readUpdates(g.log.group.view, p.id), body => g.log.keyring.open(body, 'pad'))
    const pad = await this.#pads.open(g, p.id)
    const name = (m: string) => names.get(m) ?? '?'
    return {
      pad: await padSummary(g.log, p, names),
      versions: versions(records).map(v => ({ ...v, author: memberIdOfHex(v.author), authorName: name(v.author) })),
      authors: authorship(pad.doc, clients).map(a => ({ member: memberIdOfHex(a.member), name: name(a.member), chars: a.chars })),
      ...(skipped.length > 0 ? { skipped: skipped.map(s => ({ seq: s.seq, author: memberIdOfHex(s.author), authorName: name(s.author), reason: s.reason })) } : {})
    }
  }

  async applyUpdate (groupRef: string, padRef: string, update: Uint8Array): Promise<void> {
    const g = await this.#resolve(groupRef)
    const p = await findPad(g.log, padRef)
    await this.#writable(g)
    // Not Yjs, too deep, too many nodes at once: refused here (PAD_CONTENT_REJECTED), and
    // readers cope with whatever reaches the log anyway (schema.ts, doc.ts).
    const pad = await this.#pads.live(g, p.id)
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
    const p = await findPad(g.log, padRef)
    const pad = await this.#pads.open(g, p.id)
    return { id: p.id, update: Y.encodeStateAsUpdate(pad.doc, since), updates: pad.applied }
  }

  async setPresence (groupRef: string, padRef: string, state: Record<string, unknown> | null): Promise<PadPresence> {
    const g = await this.#resolve(groupRef)
    const p = await findPad(g.log, padRef)
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
    const p = await findPad(g.log, padRef)
    return this.presenceChannel.get(g.log, p.id)
  }

  // ---------------------------------------------------------------- for tests and benchmarks

  /**
   * Sends a Yjs update of a pad over the live channel only, never to the log (tests: what
   * arrives live). `forge` makes the bytes instead (security tests: forged and replayed messages).
   */
  async sendLive (groupRef: string, padRef: string, update: Uint8Array, forge?: (log: PadLog, epoch: number) => Buffer): Promise<void> {
    const g = await this.#resolve(groupRef)
    const p = await findPad(g.log, padRef)
    this.liveEdits.serve(g.log)
    if (forge) this.liveEdits.sendRaw(g.log, forge(g.log, await g.log.currentEpoch()))
    else await this.liveEdits.send(g.log, p.id, update)
  }

  /** How many live edits of others the open pad holds that the log has not brought yet (tests). */
  async unconfirmedLive (groupRef: string, padRef: string): Promise<number> {
    const g = await this.#resolve(groupRef)
    const p = await findPad(g.log, padRef)
    return (await this.#pads.open(g, p.id)).unconfirmed
  }

  /** Pending local edits of an open pad appended now (tests drive the group commit with this). */
  async flush (groupRef: string, padRef: string): Promise<void> {
    const g = await this.#resolve(groupRef)
    const p = await findPad(g.log, padRef)
    const pad = await this.#pads.open(g, p.id)
    await pad.flush()
    await this.#pads.open(g, p.id)
  }

  /** Edits the live document (as the web editor would); appended within BATCH_MS or by `flush`. */
  async change (groupRef: string, padRef: string, fn: (doc: Y.Doc) => void): Promise<void> {
    const g = await this.#resolve(groupRef)
    const p = await findPad(g.log, padRef)
    await this.#writable(g)
    const pad = await this.#pads.live(g, p.id)
    pad.change(fn)
  }

  /** A fresh, independent copy of the document (not the live one), and how it was loaded. */
  async load (groupRef: string, padRef: string, opts: { useSnapshot?: boolean, upTo?: number } = {}): Promise<{ doc: Y.Doc, stats: LoadStats }> {
    const g = await this.#resolve(groupRef)
    const p = await findPad(g.log, padRef)
    const { pad, stats } = await this.#pads.loadWithStats(g, p.id, opts)
    return { doc: pad.doc, stats }
  }

  /** Writes the live pad's snapshot now (normally after SNAPSHOT_EVERY updates, SNAPSHOT_DELAY_MS later). */
  async saveSnapshot (groupRef: string, padRef: string): Promise<boolean> {
    const g = await this.#resolve(groupRef)
    const p = await findPad(g.log, padRef)
    return this.#pads.saveSnapshot(g, await this.#pads.open(g, p.id))
  }
}
