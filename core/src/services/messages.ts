/**
 * Messages of a node's logs: rooms, posting (text sealed under the current epoch key),
 * editing and deleting one's own messages, reading pages of history, read markers, and the
 * `message`/`dm` events for what changed in a log. Direct messages (direct-messages.ts) post,
 * edit and read through this service too.
 * It knows the rest of the node only through `MessageHost`.
 */
import { SentMarks, type DeliveryState } from '../delivery.ts'
import { StampedCache } from '../stamped-cache.ts'
import b4a from 'b4a'
import { DEFAULT_ROOM } from '../apply.ts'
import { checkText, isMessageId, isRoomName } from '../commands.ts'
import type { Keyring } from '../content.ts'
import { ownPostRecord } from '../consistent-read.ts'
import { errors } from '../errors.ts'
import type { Group } from '../group.ts'
import { checkBefore, readPage, type PageOptions } from '../history.ts'
import { groupIdOf, newRecordId } from '../ids.ts'
import { countUnread, type ReadMarkers } from '../read-markers.ts'
import { revealBridged } from '../sealed-meta.ts'
import { checkReaction, groupReactions } from '../reactions.ts'
import { REACTION_RULES } from '../apply-messages.ts'
import { rulesOf } from '../rules.ts'
import type { MessageId, MessageView, RoomView, SolidarEvent } from '../types.ts'
import { activeDevices, type MessageRecord } from '../view.ts'
import type { LiveMessages } from './live-messages.ts'
import type { Resealable } from './reseal.ts'
import { appendChecked, z32OfHex, type OpenLog } from './shared.ts'
import { describe } from '../describe.ts'

export interface MessageHost {
  /** The group `ref` names, reopened if its storage had failed. */
  resolveGroup (ref: string): Promise<OpenLog>
  /** Opens the epoch keys of `log` this device was given since the last look. */
  refreshKeys (log: OpenLog): Promise<void>
  /** The current epoch, or NOT_PERMITTED without its key. */
  currentEpoch (log: OpenLog): Promise<number>
  /** Read markers of this device (read-markers.ts). */
  read: ReadMarkers
  emit (event: SolidarEvent): void
  /** A failure no request waits for (the live send of a message whose append goes on). */
  reportError (err: Error): void
  /** The member this device acts for (hex). */
  self (): string
  now (): number
  /** Remembers a sealed entry until the log settles its key (reseal.ts); never throws. */
  noteSealed (log: OpenLog, cmd: Resealable): Promise<void>
  /** The message was deleted: it is not sealed again. */
  forgetSealed (log: OpenLog, id: string): void
  /** This device's key (hex). */
  device (): string
  /** Which member is behind each connection of a group (remote key hex → member hex), from its presence. */
  membersByPeer (discoveryKey: Buffer): Map<string, string>
  /** The live channel (live-messages.ts): a new message goes to the connected members at once, and is withdrawn if its append fails. */
  live: Pick<LiveMessages, 'post' | 'withdraw' | 'shows'>
}

/** How long a reply or reaction to a message shown live waits for that message's entry. */
const LIVE_ENTRY_WAIT_MS = 10_000

/** How many message versions a log remembers having announced (a reorder deeper than this may announce some twice). */
const EMITTED_MEMORY = 10_000
const versionOf = (m: Pick<MessageRecord, 'id' | 'editedTs' | 'deleted' | 'rx'>) => `${m.id}|${m.editedTs ?? 0}|${m.deleted === true ? 1 : 0}|${m.rx ?? 0}`

/** Whether a `message`/`dm` event for message `id` as first posted went out from this log lately (no view read). */
export const announcedNew = (log: OpenLog, id: string): boolean => log.emitted.has(versionOf({ id }))

export class Messages {
  readonly #host: MessageHost
  /** This device's messages since it started: for their delivery state (delivery.ts). */
  readonly #sent = new SentMarks()
  readonly #names = new WeakMap<OpenLog, StampedCache<'names', Map<string, string>>>()
  constructor (host: MessageHost) { this.#host = host }

  /**
   * Whether this device's messages `ids` of group `ref` have reached a connected peer, and on
   * how many of the group's other devices they are (those sent since this node started; see
   * delivery.ts `SentMarks.states`).
   */
  async delivery (ref: string, ids: string[]): Promise<DeliveryState[]> {
    const log = await this.#host.resolveGroup(ref)
    const me = this.#host.device()
    const devices = (await log.group.members()).flatMap(m => activeDevices(m)).filter(d => d.device !== me).length
    return this.#sent.states(ids, { byPeer: this.#host.membersByPeer(log.group.discoveryKey), devices })
  }

  /** The view's change counter was rewritten after a reorder: go back to where both orders meet. */
  async rewind (log: OpenLog, cut: number): Promise<void> {
    log.lastChange = Math.min(log.lastChange, await log.group.counterAt(cut, 'change'))
  }

  /** After each update: a `message` (or `dm`) event for every message version not announced yet. */
  onUpdate (log: OpenLog): Promise<void> { return this.#emitChanges(log) }

  async #emitChanges (log: OpenLog) {
    const { last, messages: changed } = await log.group.changedMessages(log.lastChange)
    const fresh = changed.filter(m => !log.emitted.has(versionOf(m)))
    if (fresh.length > 0) {
      const views = await this.views(log, fresh)
      for (const [i, rec] of fresh.entries()) {
        const message = views[i]
        const event: SolidarEvent = log.record.kind === 'dm'
          ? { type: 'dm', peer: z32OfHex(log.record.peer!), message }
          : { type: 'message', group: groupIdOf(log.group.key), message }
        this.#host.emit(event) // isolated listeners: never throws
        log.emitted.add(versionOf(rec))
        if (log.emitted.size > EMITTED_MEMORY) log.emitted.delete(log.emitted.values().next().value!)
      }
    }
    // The cursor moves only once the batch was delivered: a failure above retries it on the next update.
    log.lastChange = last
  }

  /** Members' names by id (everyone who ever was a member), read again only once membership may have changed. */
  #namesOf (log: OpenLog): Promise<Map<string, string>> {
    let cache = this.#names.get(log)
    if (cache === undefined) this.#names.set(log, cache = new StampedCache(() => log.group.membershipStamp))
    return cache.get('names', async () => new Map((await log.group.allMembers()).map(m => [m.id, m.name])))
  }

  /** Turns message records of `log` into views: authors' names, text opened with the epoch keys, reactions. */
  async views (log: OpenLog, records: MessageRecord[]): Promise<MessageView[]> {
    // The view may already hold a new epoch's box that the update handler has not opened yet.
    await this.#host.refreshKeys(log)
    const names = await this.#namesOf(log)
    return Promise.all(records.map(async (m) => {
      const view = toMessageView(m, names, log.keyring)
      // Only a message someone reacted to has reaction records: one range read for those.
      if ((m.rx ?? 0) > 0 && !m.deleted) {
        const reactions = groupReactions((await log.group.reactions(m.seq)).map(r => ({ ...r, member: z32OfHex(r.member) })), log.keyring)
        if (reactions.length > 0) view.reactions = reactions
      }
      return view
    }))
  }

  async rooms (ref: string): Promise<RoomView[]> {
    const { group } = await this.#host.resolveGroup(ref)
    return (await group.rooms()).map(r => ({ name: r.name, createdBy: z32OfHex(r.createdBy), ts: r.ts }))
  }

  async createRoom (ref: string, name: string): Promise<RoomView> {
    const { group } = await this.#host.resolveGroup(ref)
    const room = typeof name === 'string' ? name.trim() : ''
    if (!isRoomName(room)) throw errors.badRequest('room names are lowercase letters, digits, - and _ (up to 48), starting with a letter or digit')
    if (await group.room(room)) throw errors.roomExists(room)
    await appendChecked(group, { t: 'room/create', name: room, ts: this.#host.now() })
    const rec = await group.room(room)
    if (!rec) throw errors.roomExists(room) // created concurrently by someone else
    return { name: rec.name, createdBy: z32OfHex(rec.createdBy), ts: rec.ts }
  }

  async send (ref: string, text: string, opts: { room?: string, replyTo?: string } = {}): Promise<MessageView> {
    const log = await this.#host.resolveGroup(ref)
    const room = opts.room ?? DEFAULT_ROOM
    if (!(await log.group.room(room))) throw errors.roomNotFound(room)
    return this.post(log, text, room, opts.replyTo)
  }

  /**
   * The record of message `id` in `log`. A message this node shows live but whose entry has not
   * been applied here yet is waited for (up to LIVE_ENTRY_WAIT_MS): an entry that refers to it
   * (a reply, a reaction) must come after it in the log, or apply refuses it.
   */
  async #placed (log: OpenLog, id: unknown): Promise<MessageRecord> {
    if (!isMessageId(id)) throw errors.messageNotFound(describe(id, 64))
    let rec = await log.group.messageById(id)
    if (rec === null && this.#host.live.shows(log, id)) {
      await log.group.until(async () => (rec = await log.group.messageById(id)) !== null, LIVE_ENTRY_WAIT_MS)
    }
    if (rec === null) throw errors.messageNotFound(id)
    return rec
  }

  async post (log: OpenLog, text: string, room: string, replyTo?: string): Promise<MessageView> {
    const plain = checkText(text)
    if (replyTo !== undefined) await this.#placed(log, replyTo)
    const epoch = await this.#host.currentEpoch(log)
    const body = log.keyring.seal(epoch, 'message', b4a.from(plain))
    const id = newRecordId() as MessageId
    const entry = { id, room, body, ts: this.#host.now(), ...(replyTo ? { replyTo } : {}) }
    // Live to the connected members first (it takes microseconds; the append's work would hold
    // it back), then durable: `send` answers once the entry is on disk.
    await this.#host.live.post(log, epoch, entry).catch((err: Error) => this.#host.reportError(err))
    try {
      await appendChecked(log.group, { t: 'message/post', ...entry })
    } catch (err) {
      await this.#host.live.withdraw(log, id).catch((e: Error) => this.#host.reportError(e))
      throw err
    }
    this.#sent.mark(id, log.group.base)
    await this.#host.noteSealed(log, { t: 'message/post', ...entry })
    // The answer comes from the entry appended here; the view gives only its position.
    // Appended and applied here, so in the view; a reorder under way may hide it for a moment.
    const placed = await log.group.messageById(id) ?? await log.group.update().then(() => log.group.messageById(id))
    if (!placed) throw errors.messageNotFound(id)
    return (await this.views(log, [ownPostRecord(placed.seq, this.#host.self(), entry)]))[0]
  }

  async messageView (log: OpenLog, id: string): Promise<MessageView> {
    const rec = await log.group.messageById(id)
    if (!rec) throw errors.messageNotFound(id)
    return (await this.views(log, [rec]))[0]
  }

  async edit (ref: string, id: string, text: string): Promise<MessageView> {
    return this.editIn(await this.#host.resolveGroup(ref), id, text)
  }

  /** Sets this member's reaction to a message of group `ref` (one emoji), or takes it back (null). */
  async react (ref: string, id: string, emoji: string | null): Promise<MessageView> {
    return this.reactIn(await this.#host.resolveGroup(ref), id, emoji)
  }

  /** The same in a group or DM log: anyone who may write reacts to any message not deleted. */
  async reactIn (log: OpenLog, id: string, emoji: string | null): Promise<MessageView> {
    const reaction = emoji === null ? '' : checkReaction(emoji)
    const rec = await this.#placed(log, id)
    if (rec.deleted) throw errors.notPermitted('This message was deleted')
    if (rulesOf((await log.group.meta()) ?? {}) < REACTION_RULES) throw errors.notPermitted('Reactions come with the newer rules of this group, which an admin\'s node raises when it runs this version of Solidar; until one has, reactions cannot be stored')
    const epoch = await this.#host.currentEpoch(log)
    const body = log.keyring.seal(epoch, 'reaction', b4a.from(reaction))
    await appendChecked(log.group, { t: 'message/react', id, body, ts: this.#host.now() })
    return this.messageView(log, id)
  }

  async deleteMessage (ref: string, id: string): Promise<MessageView> {
    return this.deleteIn(await this.#host.resolveGroup(ref), id)
  }

  /** Edits one's own message in a group or DM log (apply accepts it from the author only). */
  async editIn (log: OpenLog, id: string, text: string): Promise<MessageView> {
    await this.#ownMessage(log.group, id)
    const epoch = await this.#host.currentEpoch(log)
    const body = log.keyring.seal(epoch, 'message', b4a.from(checkText(text)))
    const cmd = { t: 'message/edit' as const, id, body, ts: this.#host.now() }
    await appendChecked(log.group, cmd)
    await this.#host.noteSealed(log, cmd)
    return this.messageView(log, id)
  }

  async deleteIn (log: OpenLog, id: string): Promise<MessageView> {
    await this.#ownMessage(log.group, id)
    await appendChecked(log.group, { t: 'message/delete', id, ts: this.#host.now() })
    this.#host.forgetSealed(log, id)
    return this.messageView(log, id)
  }

  async #ownMessage (group: Group, id: string): Promise<MessageRecord> {
    const rec = isMessageId(id) ? await group.messageById(id) : null
    if (!rec) throw errors.messageNotFound(describe(id, 64))
    if (rec.author !== this.#host.self()) throw errors.notPermitted('Only the author can edit or delete a message')
    if (rec.deleted) throw errors.notPermitted('This message was deleted')
    return rec
  }

  async messages (ref: string, opts: PageOptions = {}): Promise<MessageView[]> {
    const log = await this.#host.resolveGroup(ref)
    if (opts.room !== undefined && !(await log.group.room(opts.room))) throw errors.roomNotFound(opts.room)
    const page = await readPage(log.group, opts) // history.ts
    if (page === null) throw errors.messageNotFound(describe(opts.before, 64))
    return this.views(log, page.messages)
  }

  async markRead (ref: string, id: string): Promise<{ unread: number }> {
    const log = await this.#host.resolveGroup(ref)
    const rec = await log.group.messageById(checkBefore(id) ?? '')
    if (!rec) throw errors.messageNotFound(id)
    await this.#host.read.advance(log.record.key, { id: rec.id, seq: rec.seq })
    return { unread: await countUnread(log.group, await this.#host.read.get(log.record.key), this.#host.self()) }
  }
}

function toMessageView (m: MessageRecord, names: Map<string, string>, keyring: Keyring): MessageView {
  const plain = m.body ? keyring.open(m.body, 'message') : null
  const view: MessageView = {
    id: m.id as MessageId, author: z32OfHex(m.author), authorName: names.get(m.author) ?? '?',
    room: m.room, text: plain ? b4a.toString(plain) : '', ts: m.ts, seq: m.seq
  }
  if (m.body && !plain) view.unreadable = true
  if (m.replyTo) view.replyTo = m.replyTo as MessageId
  if (m.editedTs) view.editedTs = m.editedTs
  if (m.deleted) view.deleted = true
  const bridged = revealBridged(m, keyring)
  if (bridged) view.bridged = { jid: bridged.jid, ...(bridged.nick !== undefined ? { nick: bridged.nick } : {}) }
  return view
}
