/**
 * The XMPP bridge: an XEP-0114 external component of an existing XMPP server (Prosody,
 * ejabberd) that links one Solidar group to Jabber users. The bridge is an ordinary group
 * member (its own identity and home, admitted by invite); it reads the group like any member
 * and therefore decrypts it (see docs/SECURITY.md).
 *
 *   ROOM@DOMAIN           each group room as a multi-user chat (XEP-0045 basics: join with a
 *                         nickname, occupant presence, groupchat both ways, fixed subject,
 *                         recent history on join, leave). Solidar members are occupants under
 *                         their display names; Jabber users' messages are posted to Solidar as
 *                         `bridge/post` with their JID (shown as bridged).
 *   NAME@DOMAIN           a member for direct messages: the display name, lower case, XEP-0106
 *                         escaped ("Maria Schmidt" → maria\20schmidt@DOMAIN), or the member id.
 *                         A member's DM to the bridge goes to the JID of the message it replies
 *                         to, else to the JID that last wrote to that member.
 *
 * Only JIDs on the group's allowlist (`bridge/allow`, group state) may join, write or query;
 * others get `registration-required` (joins) or `forbidden`. Every stanza is handled in one
 * queue; a stanza that cannot be handled gets an XMPP error, nothing throws out of the queue.
 * The connection is re-established with exponential backoff; what Solidar members wrote while
 * the server was away is passed on after reconnecting (state.ts remembers what was sent).
 */
import crypto from 'node:crypto'
import xmppComponent from '@xmpp/component'
import { bridgeAllows, bridgedMessageId, isSolidarError, MAX_PAGE, nameMatches, normalizeBareJid, type MemberView, type MessageView, type Solidar, type SolidarEvent } from '@solidar/core'
import { BridgeState, type Occupant } from './state.ts'
import { membersNeedingIds, nickHolder } from './nicks.ts'
import {
  NS, StanzaError, clientMessageId, errorElement, errorReply, groupchat, jid, memberLocal, occupantPresence, parseJid, retraction, xml,
  type Affiliation, type Condition, type Element, type Jid
} from './stanzas.ts'

const { component } = xmppComponent as unknown as { component: (opts: { service: string, domain: string, password: string }) => any }

/** Reconnect delays: first retry after 0.5 s, doubling up to 30 s (a restarting server is back in seconds; a long outage is not hammered). */
export const MIN_RECONNECT_MS = 500
export const MAX_RECONNECT_MS = 30_000
/** How long one connection attempt (TCP, stream, handshake) may take. */
export const CONNECT_TIMEOUT_MS = 20_000
/** History sent on join when the client asks for none in particular, and the most it may ask for. */
export const DEFAULT_HISTORY = 20
export const MAX_HISTORY = 100
/** Messages per room (and per DM) re-checked after a (re)connect for anything not yet passed on. */
export const CATCHUP_WINDOW = 200
/** How often membership is re-read, so members who joined or left elsewhere show up as occupants. */
export const MEMBERS_REFRESH_MS = 3000
/** Characters of a room nickname. */
export const MAX_NICK = 64

export interface XmppBridgeOptions {
  solidar: Solidar
  /** Group id or unambiguous name. */
  group: string
  /** The component's domain, e.g. bridge.example.org (configured on the server with the same secret). */
  domain: string
  /** HOST:PORT of the server's component port (Prosody: component_ports, default 5347). */
  server: string
  secret: string
  /** Folder for the bridge's state file. */
  stateDir: string
  onEvent?: (event: string, fields: Record<string, unknown>) => void
  minReconnectMs?: number
  maxReconnectMs?: number
  connectTimeoutMs?: number
}

export interface RunningBridge {
  /** Resolves when the component is connected the first time; rejects if the server refuses the secret or the domain. */
  readonly online: Promise<void>
  readonly group: { id: string, name: string }
  close (): Promise<void>
}

interface MemberOccupant { member: MemberView, nick: string, local: string }

const FATAL = new Set(['not-authorized', 'conflict', 'host-unknown', 'improper-addressing'])
const sleep = (ms: number, signal: AbortSignal) => new Promise<void>(resolve => {
  const timer = setTimeout(done, ms)
  function done () { clearTimeout(timer); signal.removeEventListener('abort', done); resolve() }
  signal.addEventListener('abort', done, { once: true })
})

export async function startXmppBridge (opts: XmppBridgeOptions): Promise<RunningBridge> {
  const bridge = new XmppBridge(opts)
  await bridge.open()
  return bridge
}

class XmppBridge implements RunningBridge {
  readonly #o: XmppBridgeOptions
  readonly #solidar: Solidar
  readonly #domain: string
  readonly #self: string
  /** See #admittedAt (null until known). */
  #admitted: number | null = null
  #group!: { id: string, name: string }
  #state!: BridgeState
  #xmpp: any = null
  #queue: Promise<void> = Promise.resolve()
  #members = new Map<string, MemberOccupant>() // lower-case nick → member
  #rooms = new Set<string>()
  #stop = new AbortController()
  #unsubscribe = () => {}
  #timer: NodeJS.Timeout | null = null
  #loop: Promise<void> = Promise.resolve()
  #resolveOnline!: () => void
  #rejectOnline!: (err: Error) => void
  #everOnline = false
  readonly online: Promise<void>

  constructor (opts: XmppBridgeOptions) {
    this.#o = opts
    this.#solidar = opts.solidar
    this.#domain = opts.domain.toLowerCase()
    this.#self = opts.solidar.whoami().id
    this.online = new Promise((resolve, reject) => { this.#resolveOnline = resolve; this.#rejectOnline = reject })
    this.online.catch(() => {}) // observed by the caller; never an unhandled rejection
  }

  get group () { return this.#group }

  async open (): Promise<void> {
    if (normalizeBareJid(`x@${this.#domain}`) === null) throw new Error(`"${this.#o.domain}" is not a valid domain`)
    this.#group = await this.#findGroup(this.#o.group)
    this.#state = BridgeState.load(this.#o.stateDir, this.#group.id)
    await this.#refreshMembers(false)
    if (!this.#state.initialized) {
      // First run: the existing history is there for joins to fetch; only new messages go out live.
      for (const m of await this.#recentMessages()) this.#state.markForwarded([m.id, `${m.id}~${m.editedTs ?? 0}`, ...(m.deleted ? [`${m.id}~deleted`] : [])])
      this.#state.save()
    }
    this.#unsubscribe = this.#solidar.subscribe((event) => this.#enqueue(() => this.#onSolidarEvent(event)))
    this.#timer = setInterval(() => this.#enqueue(() => this.#refreshMembers(true)), MEMBERS_REFRESH_MS)
    this.#loop = this.#connectLoop()
  }

  async close (): Promise<void> {
    this.#stop.abort()
    this.#unsubscribe()
    if (this.#timer) clearInterval(this.#timer)
    if (this.#xmpp !== null) await dispose(this.#xmpp)
    await this.#loop
    await this.#queue
    this.#state.save()
  }

  #emit (event: string, fields: Record<string, unknown> = {}): void {
    this.#o.onEvent?.(event, fields)
  }

  /** Runs `fn` after everything queued before it; its failure is reported, never thrown. */
  #enqueue (fn: () => Promise<void>): void {
    this.#queue = this.#queue.then(fn).catch((err) => this.#emit('error', { message: (err as Error)?.message ?? String(err) }))
  }

  async #findGroup (ref: string): Promise<{ id: string, name: string }> {
    const groups = await this.#solidar.listGroups()
    const found = groups.filter(g => g.id === ref || nameMatches(g.name, ref))
    if (found.length === 1) return { id: found[0].id, name: found[0].name }
    if (found.length > 1) throw new Error(`"${ref}" matches several groups; use the group id`)
    throw new Error(`This bridge's node is not a member of group "${ref}" (admit it with an invite: --join CODE)`)
  }

  // ------------------------------------------------------------------ connection

  async #connectLoop (): Promise<void> {
    const [host, port] = splitHostPort(this.#o.server)
    const min = this.#o.minReconnectMs ?? MIN_RECONNECT_MS
    const max = this.#o.maxReconnectMs ?? MAX_RECONNECT_MS
    let delay = min
    while (!this.#stop.signal.aborted) {
      const xmpp = component({ service: `xmpp://${host}:${port}`, domain: this.#domain, password: this.#o.secret })
      xmpp.reconnect.stop() // our own loop, with backoff, on a fresh instance each time
      let lastError: any = null
      const ended = new Promise<void>(resolve => xmpp.on('disconnect', () => resolve()))
      xmpp.on('error', (err: any) => {
        // A server's refusal (not-authorized on a wrong secret) is followed by the socket's own
        // error as it closes (Prosody): the refusal is what counts, not the error after it.
        if (lastError === null || !FATAL.has(lastError.condition)) lastError = err
        this.#emit('xmpp-error', { message: err?.message ?? String(err), condition: err?.condition })
      })
      xmpp.on('stanza', (stanza: Element) => { if (!stanza.is('iq')) this.#enqueue(() => this.#onStanza(stanza)) })
      // IQ requests go through @xmpp/component's iq middleware, which sends our answer (or its own
      // service-unavailable if none is given); queued like every other stanza.
      xmpp.middleware.use((ctx: { stanza: Element }, next: () => Promise<unknown>) => {
        if (!ctx.stanza.is('iq')) return next()
        return new Promise(resolve => this.#enqueue(async () => resolve(await this.#answerIq(ctx.stanza))))
      })
      xmpp.on('online', () => {
        this.#xmpp = xmpp
        delay = min
        this.#emit('online', { domain: this.#domain, server: this.#o.server })
        // Before any stanza that arrives now: pass on what members wrote while we were away.
        this.#enqueue(() => this.#catchUp())
        this.#enqueue(async () => { this.#everOnline = true; this.#resolveOnline() })
      })
      let started = false
      let timer: NodeJS.Timeout | undefined
      try {
        // A port that accepts TCP but never completes the handshake must not stall the loop.
        const starting = xmpp.start()
        starting.catch(() => {}) // it may fail after the timeout below gave up on it
        const limit = this.#o.connectTimeoutMs ?? CONNECT_TIMEOUT_MS
        await Promise.race([starting, new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no XEP-0114 handshake from ${this.#o.server} within ${limit} ms`)), limit)
        })])
        started = true
      } catch (err: any) {
        lastError ??= err
      } finally {
        clearTimeout(timer)
      }
      if (started) await Promise.race([ended, new Promise(resolve => this.#stop.signal.addEventListener('abort', resolve, { once: true }))])
      if (this.#xmpp === xmpp) this.#xmpp = null
      await dispose(xmpp)
      if (this.#stop.signal.aborted) break
      const condition = lastError?.condition
      if (!this.#everOnline && FATAL.has(condition)) {
        this.#rejectOnline(new Error(`The XMPP server refused the component ${this.#domain} (${condition}): check the domain and secret in its Component entry`))
        return
      }
      this.#emit('reconnecting', { inMs: delay, reason: lastError?.message ?? 'disconnected' })
      await sleep(delay + Math.floor(Math.random() * delay / 4), this.#stop.signal)
      delay = Math.min(delay * 2, max)
    }
  }

  /** Sends a stanza; false when not connected (the caller decides whether that matters). */
  async #send (stanza: Element): Promise<boolean> {
    const xmpp = this.#xmpp
    if (xmpp === null) return false
    try {
      await xmpp.send(stanza)
      return true
    } catch {
      return false
    }
  }

  // ------------------------------------------------------------------ Solidar → XMPP

  async #onSolidarEvent (event: SolidarEvent): Promise<void> {
    if (event.type === 'members' || event.type === 'group') return this.#refreshMembers(true)
    if (event.type === 'message' && event.group === this.#group.id) {
      if (await this.#forwardRoomMessage(event.message)) this.#state.saveSoon()
    } else if (event.type === 'dm') {
      if (await this.#forwardDm(event.peer, event.message)) this.#state.saveSoon()
    }
  }

  /**
   * A member's message to every occupant: new ones as groupchat, later edits as XEP-0308
   * corrections, deletions as XEP-0424 retractions (each once; the bridge's own posts never).
   */
  async #forwardRoomMessage (m: MessageView): Promise<boolean> {
    if (m.author === this.#self || m.unreadable) return false
    const editKey = `${m.id}~${m.editedTs ?? 0}`
    const deleteKey = `${m.id}~deleted`
    const isNew = !this.#state.wasForwarded(m.id)
    if (isNew && m.ts < this.#state.since) return false // history from before the bridge's first start
    if (!isNew && !m.deleted && (m.editedTs === undefined || this.#state.wasForwarded(editKey))) return false
    if (m.deleted && (isNew || this.#state.wasForwarded(deleteKey))) {
      if (isNew) this.#state.markForwarded([m.id, deleteKey])
      return isNew
    }
    if (this.#xmpp === null) return false // after reconnecting, #catchUp sends it
    const room = this.#roomJid(m.room)
    const from = `${room}/${this.#nickOf(m)}`
    for (const o of this.#occupants(m.room)) {
      if (m.deleted) await this.#send(retraction(from, o.jid, m.id, 'groupchat'))
      else if (isNew) await this.#send(groupchat(from, o.jid, m.id, m.text, { room, stanzaId: m.id }))
      else await this.#send(groupchat(from, o.jid, `${m.id}-edit-${m.editedTs}`, m.text, { room, stanzaId: m.id, replaces: m.id }))
    }
    this.#state.markForwarded(m.deleted ? [deleteKey] : [m.id, editKey])
    this.#emit('to-xmpp', { room: m.room, id: m.id, change: m.deleted ? 'deleted' : isNew ? 'new' : 'edited', occupants: this.#occupants(m.room).length })
    return true
  }

  /** A member's DM to the bridge: to the JID it replies to, else the JID that last wrote to that member. */
  async #forwardDm (peer: string, m: MessageView): Promise<boolean> {
    if (m.author === this.#self || m.deleted || m.unreadable || m.editedTs !== undefined || this.#state.wasForwarded(m.id) || m.ts < this.#state.since) return false
    if (this.#xmpp === null) return false
    let to: string | null = null
    // The replied-to message among the newest MAX_PAGE (500) of the conversation (reads are paged).
    if (m.replyTo !== undefined) to = (await this.#solidar.dmMessages(peer, { limit: MAX_PAGE })).find(x => x.id === m.replyTo)?.bridged?.jid ?? null
    to ??= this.#state.replyTo.get(peer) ?? null
    this.#state.markForwarded([m.id])
    if (to === null || !(await this.#solidar.bridgeAllowed(this.#group.id, to))) {
      const why = to === null ? 'no Jabber user has written to you through this bridge yet' : `${to} is no longer on the group's bridge allowlist`
      await this.#solidar.dm(peer, `Not delivered: ${why}. Reply to a message from a Jabber user to answer them.`)
      return true
    }
    const member = [...this.#members.values()].find(x => x.member.id === peer)
    const from = `${member?.local ?? peer.toLowerCase()}@${this.#domain}`
    // XEP-0359: `by` names who assigned the id — this bridge address, never the user's own
    // account (only the user's server may claim an id in the user's archive).
    await this.#send(xml('message', { from, to, id: m.id, type: 'chat' }, xml('body', {}, m.text), xml('stanza-id', { xmlns: NS.sid, id: m.id, by: from })))
    this.#emit('dm-to-xmpp', { id: m.id, to })
    return true
  }

  /** After every (re)connect: whatever members wrote that has not gone out yet (bounded per room and DM). */
  async #catchUp (): Promise<void> {
    await this.#refreshMembers(true)
    let sent = 0
    for (const room of this.#rooms) {
      for (const m of (await this.#solidar.messages(this.#group.id, { room, limit: CATCHUP_WINDOW }))) if (await this.#forwardRoomMessage(m)) sent++
    }
    for (const { member } of this.#members.values()) {
      for (const m of (await this.#solidar.dmMessages(member.id, { limit: CATCHUP_WINDOW }))) if (await this.#forwardDm(member.id, m)) sent++
    }
    this.#state.saveSoon()
    if (sent > 0) this.#emit('caught-up', { sent })
  }

  async #recentMessages (): Promise<MessageView[]> {
    const out: MessageView[] = []
    for (const room of this.#rooms) out.push(...(await this.#solidar.messages(this.#group.id, { room, limit: CATCHUP_WINDOW })))
    for (const { member } of this.#members.values()) out.push(...(await this.#solidar.dmMessages(member.id, { limit: CATCHUP_WINDOW })))
    return out
  }

  /** Re-reads rooms and members; occupants see members arrive and leave as presence. */
  async #refreshMembers (announce: boolean): Promise<void> {
    this.#group.name = (await this.#solidar.listGroups()).find(g => g.id === this.#group.id)?.name ?? this.#group.name
    this.#rooms = new Set((await this.#solidar.rooms(this.#group.id)).map(r => r.name))
    const next = new Map<string, MemberOccupant>()
    const members = (await this.#solidar.members(this.#group.id)).filter(m => m.id !== this.#self)
    const withIds = membersNeedingIds(members)
    for (const m of members) {
      // Two members with one name, or names that look alike (nicks.ts): both get their id in the nickname, so neither can pose as the other.
      const unique = !withIds.has(m.id)
      const nick = unique ? m.name : `${m.name} (${m.id.slice(0, 8)})`
      next.set(nick.toLowerCase(), { member: m, nick, local: unique ? memberLocal(m.name) : m.id.toLowerCase() })
    }
    const before = this.#members
    this.#members = next
    if (!announce || this.#xmpp === null) return
    await this.#removeRevoked()
    const key = (x: MemberOccupant) => `${x.nick}\n${x.member.role}`
    const gone = [...before.values()].filter(x => ![...next.values()].some(y => key(y) === key(x)))
    const came = [...next.values()].filter(x => ![...before.values()].some(y => key(y) === key(x)))
    if (gone.length === 0 && came.length === 0) return
    for (const room of this.#rooms) {
      for (const o of this.#occupants(room)) {
        for (const x of gone) await this.#send(occupantPresence(`${this.#roomJid(room)}/${x.nick}`, o.jid, memberAffiliation(x.member), { unavailable: true }))
        for (const x of came) await this.#send(occupantPresence(`${this.#roomJid(room)}/${x.nick}`, o.jid, memberAffiliation(x.member)))
      }
    }
  }

  // ------------------------------------------------------------------ XMPP → Solidar

  async #onStanza (stanza: Element): Promise<void> {
    const type = stanza.attrs.type
    try {
      if (type === 'error') return await this.#onBounce(stanza)
      if (!stanza.is('message') && !stanza.is('presence')) return
      const from = parseJid(stanza.attrs.from, 'sender')
      const to = parseJid(stanza.attrs.to, 'recipient')
      if (to.domain.toLowerCase() !== this.#domain) throw new StanzaError('item-not-found', 'not an address of this bridge')
      const bare = normalizeBareJid(from.bare().toString())
      if (bare === null) throw new StanzaError('jid-malformed', 'the sender is not a user JID')
      const allowed = await this.#solidar.bridgeAllowed(this.#group.id, bare)
      if (stanza.is('presence')) return await this.#onPresence(stanza, from, to, bare, allowed)
      return await this.#onMessage(stanza, from, to, bare, allowed)
    } catch (err) {
      if (type === 'error' || type === 'result') return // never answer an error or a result
      if (err instanceof StanzaError) {
        this.#emit('refused', { from: stanza.attrs.from, to: stanza.attrs.to, kind: stanza.name, condition: err.condition, reason: err.message })
        await this.#send(errorReply(stanza, err.condition, err.message))
        return
      }
      this.#emit('error', { message: (err as Error)?.message ?? String(err), stanza: stanza.name })
      await this.#send(errorReply(stanza, 'internal-server-error', 'the bridge could not handle this stanza'))
    }
  }

  /** An error bounced back from an occupant (its session ended, e.g. the server restarted): it leaves. */
  async #onBounce (stanza: Element): Promise<void> {
    const from = stanza.attrs.from
    if (from === undefined) return
    for (const room of this.#rooms) {
      const o = this.#occupants(room).find(x => x.jid === from)
      if (o) await this.#leave(room, o, false)
    }
  }

  async #onPresence (stanza: Element, from: Jid, to: Jid, bare: string, allowed: boolean): Promise<void> {
    const type = stanza.attrs.type
    const local = to.local.toLowerCase()
    if (local === '' || !this.#rooms.has(local)) {
      // Presence to a member's address: answer subscriptions and probes so rosters show members.
      const member = local === '' ? null : this.#memberByLocal(local)
      // A join (available presence to ROOM/NICK) of a room this group does not have: say so
      // (XEP-0045 §7.2.2), rather than leave the client waiting for an answer that never comes.
      if (member === null && local !== '' && type === undefined && (to.resource !== '' || stanza.getChild('x', NS.muc))) {
        // Someone not on the allowlist gets the answer a real room gives them: no room names learnt.
        if (!allowed) throw new StanzaError('registration-required', `Only Jabber addresses on the group's bridge allowlist may join; ask a group admin (solidar relay allow GROUP ${bare})`)
        throw new StanzaError('item-not-found', `no room ${local}@${this.#domain}: rooms are created in Solidar (solidar room create)`)
      }
      if (member === null || !allowed) return
      const self = `${member.local}@${this.#domain}`
      if (type === 'subscribe') await this.#send(xml('presence', { from: self, to: bare, type: 'subscribed' }))
      if (type === 'subscribe' || type === 'probe') await this.#send(xml('presence', { from: self, to: from.toString() }))
      return
    }
    const room = local
    const current = this.#occupants(room).find(o => o.jid === from.toString())
    if (type === 'unavailable') {
      if (current) await this.#leave(room, current, true)
      return
    }
    if (type !== undefined) return // subscriptions and probes to a room mean nothing here
    if (!allowed) throw new StanzaError('registration-required', `Only Jabber addresses on the group's bridge allowlist may join; ask a group admin (solidar relay allow GROUP ${bare})`)
    const nick = to.resource.trim()
    if (nick === '') throw new StanzaError('jid-malformed', `join with a nickname: ${room}@${this.#domain}/NICK`)
    if (nick.length > MAX_NICK || /\p{Cc}/u.test(nick)) throw new StanzaError('not-acceptable', `nicknames are 1 to ${MAX_NICK} characters without control characters`)
    const holder = nickHolder(nick, this.#members.values(), this.#occupants(room), from.toString())
    if (holder?.kind === 'member') throw new StanzaError('conflict', `"${nick}" is, or looks like, the name of the group member "${holder.nick}"; choose another nickname`)
    if (holder?.kind === 'occupant') throw new StanzaError('conflict', `"${nick}" is, or looks like, the nickname "${holder.nick}" in use in this room; choose another nickname`)

    const roomJid = this.#roomJid(room)
    if (current && current.nick !== nick) {
      // Nickname change (XEP-0045 §7.6): unavailable with 303 for the old one, then the new one.
      for (const o of this.#occupants(room)) {
        const codes = o.jid === current.jid ? ['303', '110'] : ['303']
        await this.#send(occupantPresence(`${roomJid}/${current.nick}`, o.jid, JABBER_USER, { unavailable: true, codes, newNick: nick }))
      }
      current.nick = nick
      this.#state.saveSoon()
      for (const o of this.#occupants(room)) await this.#send(occupantPresence(`${roomJid}/${nick}`, o.jid, JABBER_USER, { codes: o.jid === current.jid ? ['110'] : [] }))
      return
    }
    const joining = stanza.getChild('x', NS.muc)
    if (current && !joining) {
      // A status change: everyone sees the occupant's new presence.
      for (const o of this.#occupants(room)) await this.#send(occupantPresence(`${roomJid}/${nick}`, o.jid, JABBER_USER, { codes: o.jid === current.jid ? ['110'] : [] }))
      return
    }
    await this.#join(room, { nick, jid: from.toString() }, joining, !current)
  }

  /** XEP-0045 §7.2: occupants' presence, own presence (110), history, subject. */
  async #join (room: string, occupant: Occupant, request: Element | undefined, isNew: boolean): Promise<void> {
    const roomJid = this.#roomJid(room)
    const history = await this.#history(room, request?.getChild('history')) // a malformed request is refused before anything changes
    if (isNew) {
      this.#state.occupants.set(room, [...this.#occupants(room), occupant])
      this.#state.saveSoon()
    }
    for (const x of this.#members.values()) await this.#send(occupantPresence(`${roomJid}/${x.nick}`, occupant.jid, memberAffiliation(x.member)))
    for (const o of this.#occupants(room)) {
      if (o.jid === occupant.jid) continue
      await this.#send(occupantPresence(`${roomJid}/${o.nick}`, occupant.jid, JABBER_USER))
      if (isNew) await this.#send(occupantPresence(`${roomJid}/${occupant.nick}`, o.jid, JABBER_USER))
    }
    await this.#send(occupantPresence(`${roomJid}/${occupant.nick}`, occupant.jid, JABBER_USER, { codes: ['110'] }))
    for (const m of history) {
      await this.#send(groupchat(`${roomJid}/${this.#nickOf(m)}`, occupant.jid, m.id, m.text, { room: roomJid, stanzaId: m.id, delayed: m.ts }))
    }
    await this.#send(xml('message', { from: roomJid, to: occupant.jid, type: 'groupchat', id: `subject-${room}` }, xml('subject', {}, `${this.#group.name}: ${room}`)))
    this.#emit('joined', { room, nick: occupant.nick, jid: occupant.jid })
  }

  async #leave (room: string, occupant: Occupant, tellSelf: boolean, codes: string[] = []): Promise<void> {
    this.#state.occupants.set(room, this.#occupants(room).filter(o => o.jid !== occupant.jid))
    this.#state.saveSoon()
    const from = `${this.#roomJid(room)}/${occupant.nick}`
    for (const o of this.#occupants(room)) await this.#send(occupantPresence(from, o.jid, JABBER_USER, { unavailable: true, codes }))
    if (tellSelf) await this.#send(occupantPresence(from, occupant.jid, JABBER_USER, { unavailable: true, codes: [...codes, '110'] }))
    this.#emit('left', { room, nick: occupant.nick, jid: occupant.jid, ...(codes.length > 0 ? { codes } : {}) })
  }

  /** Occupants whose JID an admin took off the allowlist leave their rooms (status 321: affiliation change). */
  async #removeRevoked (): Promise<void> {
    const entries = (await this.#solidar.bridgeAllowlist(this.#group.id)).map(e => e.entry)
    for (const room of [...this.#state.occupants.keys()]) {
      for (const o of this.#occupants(room)) {
        const bare = normalizeBareJid(o.jid.split('/')[0])
        if (bare === null || !bridgeAllows(entries, bare)) await this.#leave(room, o, true, ['321'])
      }
    }
  }

  /** The room's recent messages as the join's <history/> asks (maxstanzas, maxchars=0, seconds, since). */
  async #history (room: string, request: Element | undefined): Promise<MessageView[]> {
    let max = DEFAULT_HISTORY
    const a = request?.attrs ?? {}
    if (a.maxchars === '0') return []
    if (a.maxstanzas !== undefined) {
      const n = Number(a.maxstanzas)
      if (!Number.isSafeInteger(n) || n < 0) throw new StanzaError('bad-request', 'maxstanzas must be a whole number')
      max = Math.min(n, MAX_HISTORY)
    }
    let after = -Infinity
    if (a.seconds !== undefined) after = Date.now() - Number(a.seconds) * 1000
    if (a.since !== undefined) {
      const t = Date.parse(a.since)
      if (Number.isNaN(t)) throw new StanzaError('bad-request', 'since must be an XEP-0082 date-time')
      after = Math.max(after, t)
    }
    if (Number.isNaN(after)) throw new StanzaError('bad-request', 'seconds must be a number')
    // Nothing written before the bridge was admitted: members wrote that for the group only, not
    // for an XMPP server (by the writers' clocks, as everything in a group's history).
    after = Math.max(after, await this.#admittedAt())
    const all = (await this.#solidar.messages(this.#group.id, { room, limit: MAX_PAGE })).filter(m => !m.deleted && !m.unreadable && m.ts > after)
    return max === 0 ? [] : all.slice(-max)
  }

  /** When this bridge's member was admitted to the group (its member record's joinedTs). */
  async #admittedAt (): Promise<number> {
    this.#admitted ??= (await this.#solidar.members(this.#group.id)).find(m => m.id === this.#self)?.joinedTs ?? null
    return this.#admitted ?? Infinity
  }

  async #onMessage (stanza: Element, from: Jid, to: Jid, bare: string, allowed: boolean): Promise<void> {
    const type = stanza.attrs.type ?? 'normal'
    const local = to.local.toLowerCase()
    const body = stanza.getChildText('body')
    if (local === '') throw new StanzaError('service-unavailable', `write to ROOM@${this.#domain} or MEMBER@${this.#domain}`)
    if (!allowed) throw new StanzaError('forbidden', `${bare} is not on the group's bridge allowlist`)
    const isRoom = this.#rooms.has(local)
    if (type === 'groupchat') {
      if (!isRoom || to.resource !== '') throw new StanzaError('item-not-found', `no room ${to.toString()}`)
      const sender = this.#occupants(local).find(o => o.jid === from.toString())
      if (!sender) throw new StanzaError('not-acceptable', `join ${this.#roomJid(local)} before writing to it`)
      if (stanza.getChild('subject')) throw new StanzaError('forbidden', 'the subject of a bridged room cannot be changed')
      const retract = stanza.getChild('retract', NS.retract)?.attrs.id
      if (retract !== undefined) return this.#retractInSolidar(stanza, local, sender, bare, retract)
      if (body === null || body.trim() === '') return // chat states and receipts: nothing for Solidar
      const replaces = stanza.getChild('replace', NS.correct)?.attrs.id
      if (replaces !== undefined) return this.#correctInSolidar(stanza, local, sender, bare, replaces, body)
      return this.#groupchatToSolidar(stanza, local, sender, bare, body)
    }
    if (body === null || body.trim() === '') return
    if (isRoom && to.resource !== '') {
      // A private message inside the room (XEP-0045 §7.5) to a member or another Jabber occupant.
      const sender = this.#occupants(local).find(o => o.jid === from.toString())
      if (!sender) throw new StanzaError('not-acceptable', `join ${this.#roomJid(local)} before writing to its occupants`)
      const member = this.#members.get(to.resource.toLowerCase())
      if (member) return this.#dmToSolidar(stanza, member, bare, body, sender.nick)
      const target = this.#occupants(local).find(o => o.nick.toLowerCase() === to.resource.toLowerCase())
      if (!target) throw new StanzaError('item-not-found', `nobody called "${to.resource}" is in this room`)
      await this.#send(xml('message', { from: `${this.#roomJid(local)}/${sender.nick}`, to: target.jid, type: 'chat', id: stanza.attrs.id }, xml('body', {}, body), xml('x', { xmlns: NS.mucUser })))
      return
    }
    const member = this.#memberByLocal(local)
    if (member === null) throw new StanzaError('item-not-found', `no member ${to.getLocal(true)} in this group`)
    return this.#dmToSolidar(stanza, member, bare, body)
  }

  async #groupchatToSolidar (stanza: Element, room: string, sender: Occupant, bare: string, body: string): Promise<void> {
    const clientId = clientMessageId(stanza)
    const id = bridgedMessageId(`room:${room}`, bare, clientId ?? crypto.randomUUID())
    const { duplicate } = await solidarCall(() => this.#solidar.sendBridged(this.#group.id, { id, room, text: body, jid: bare, nick: sender.nick }))
    this.#emit('to-solidar', { room, id, jid: bare, duplicate })
    // Reflect it (XEP-0045 §7.4) with the client's id; a repeat goes back to its sender only.
    const roomJid = this.#roomJid(room)
    const targets = duplicate ? [sender] : this.#occupants(room)
    for (const o of targets) await this.#send(groupchat(`${roomJid}/${sender.nick}`, o.jid, clientId ?? id, body, { room: roomJid, stanzaId: id }))
  }

  /** XEP-0308: a Jabber user corrects their own last message; it is edited in Solidar (the bridge is its author). */
  async #correctInSolidar (stanza: Element, room: string, sender: Occupant, bare: string, replaces: string, body: string): Promise<void> {
    // The id is derived from the sender's own JID: nobody can correct someone else's message.
    const id = bridgedMessageId(`room:${room}`, bare, replaces)
    await solidarCall(() => this.#solidar.edit(this.#group.id, id, body))
    this.#emit('to-solidar', { room, id, jid: bare, change: 'edited' })
    const roomJid = this.#roomJid(room)
    for (const o of this.#occupants(room)) {
      await this.#send(groupchat(`${roomJid}/${sender.nick}`, o.jid, stanza.attrs.id ?? `${id}-edit`, body, { room: roomJid, stanzaId: id, replaces }))
    }
  }

  /** XEP-0424: a Jabber user retracts one of their messages (by the stanza-id the bridge gave it); deleted in Solidar. */
  async #retractInSolidar (stanza: Element, room: string, sender: Occupant, bare: string, id: string): Promise<void> {
    // Among the room's newest MAX_PAGE (500) messages: reads are paged; older ones are not retracted from XMPP.
    const target = (await this.#solidar.messages(this.#group.id, { room, limit: MAX_PAGE })).find(m => m.id === id)
    if (!target || target.deleted) throw new StanzaError('item-not-found', `no message ${id} in this room`)
    if (target.author !== this.#self || target.bridged?.jid !== bare) throw new StanzaError('forbidden', 'only the author of a message retracts it')
    await solidarCall(() => this.#solidar.deleteMessage(this.#group.id, id))
    this.#emit('to-solidar', { room, id, jid: bare, change: 'deleted' })
    const roomJid = this.#roomJid(room)
    for (const o of this.#occupants(room)) await this.#send(retraction(`${roomJid}/${sender.nick}`, o.jid, id, 'groupchat'))
  }

  async #dmToSolidar (stanza: Element, member: MemberOccupant, bare: string, body: string, nick?: string): Promise<void> {
    const clientId = clientMessageId(stanza)
    const id = bridgedMessageId(`dm:${member.member.id}`, bare, clientId ?? crypto.randomUUID())
    const { duplicate } = await solidarCall(() => this.#solidar.dmBridged(member.member.id, { id, text: body, jid: bare, ...(nick !== undefined ? { nick } : {}) }))
    this.#state.replyTo.set(member.member.id, bare)
    this.#state.saveSoon()
    this.#emit('dm-to-solidar', { member: member.member.id, id, jid: bare, duplicate })
  }

  /** The answer to an IQ get/set: the result's payload (true: an empty result) or an <error/>. */
  async #answerIq (stanza: Element): Promise<Element | true> {
    try {
      const from = parseJid(stanza.attrs.from, 'sender')
      const to = parseJid(stanza.attrs.to, 'recipient')
      const bare = normalizeBareJid(from.bare().toString())
      if (bare === null) throw new StanzaError('jid-malformed', 'the sender is not a user JID')
      if (!(await this.#solidar.bridgeAllowed(this.#group.id, bare))) throw new StanzaError('forbidden', 'this bridge answers only Jabber addresses on the group\'s allowlist')
      return await this.#onIq(stanza, to)
    } catch (err) {
      const known = err instanceof StanzaError
      if (!known) this.#emit('error', { message: (err as Error)?.message ?? String(err), stanza: 'iq' })
      const condition: Condition = known ? err.condition : 'internal-server-error'
      const text = known ? err.message : 'the bridge could not handle this request'
      if (known) this.#emit('refused', { from: stanza.attrs.from, to: stanza.attrs.to, kind: 'iq', condition, reason: text })
      return errorElement(condition, text)
    }
  }

  async #onIq (stanza: Element, to: Jid): Promise<Element | true> {
    const type = stanza.attrs.type
    const payload = stanza.children.find((c): c is Element => typeof c !== 'string')
    const ns = payload?.attrs.xmlns
    const local = to.local.toLowerCase()
    if (type === 'get' && ns === NS.ping) {
      // XEP-0410: a ping to ROOM/NICK is a client asking whether it is still joined as NICK.
      if (to.resource !== '' && this.#rooms.has(local)) {
        const joined = this.#occupants(local).some(o => o.jid === stanza.attrs.from && o.nick === to.resource)
        if (!joined) throw new StanzaError('not-acceptable', `you are not in ${this.#roomJid(local)} as ${to.resource}`)
      }
      return true
    }
    if (type === 'get' && ns === NS.discoInfo && to.resource === '') {
      const features = (list: string[]) => list.map(v => xml('feature', { var: v }))
      if (local === '') {
        return xml('query', { xmlns: NS.discoInfo }, xml('identity', { category: 'conference', type: 'text', name: `Solidar: ${this.#group.name}` }),
          ...features([NS.discoInfo, NS.discoItems, NS.muc, NS.ping]))
      }
      if (this.#rooms.has(local)) {
        return xml('query', { xmlns: NS.discoInfo }, xml('identity', { category: 'conference', type: 'text', name: `${this.#group.name}: ${local}` }),
          ...features([NS.discoInfo, NS.muc, 'muc_persistent', 'muc_membersonly', 'muc_semianonymous', 'muc_unmoderated', NS.sid, NS.correct, NS.retract, NS.ping]))
      }
      const member = this.#memberByLocal(local)
      if (member) return xml('query', { xmlns: NS.discoInfo }, xml('identity', { category: 'account', type: 'registered', name: member.member.name }), ...features([NS.discoInfo]))
      throw new StanzaError('item-not-found', `no room or member ${to.toString()}`)
    }
    if (type === 'get' && ns === NS.discoItems && to.resource === '') {
      if (local !== '' && !this.#rooms.has(local) && this.#memberByLocal(local) === null) throw new StanzaError('item-not-found', `no room or member ${to.toString()}`)
      const items = local === '' ? [...this.#rooms].map(r => xml('item', { jid: this.#roomJid(r), name: r })) : []
      return xml('query', { xmlns: NS.discoItems }, ...items)
    }
    throw new StanzaError('service-unavailable', 'not supported by this bridge')
  }

  // ------------------------------------------------------------------ helpers

  #roomJid (room: string): string { return `${room}@${this.#domain}` }

  #occupants (room: string): Occupant[] { return this.#state.occupants.get(room) ?? [] }

  /** The nickname a message shows under: a Jabber user's own nick, a member's room nick. */
  #nickOf (m: MessageView): string {
    if (m.bridged) return m.bridged.nick ?? m.bridged.jid.split('@')[0]
    for (const x of this.#members.values()) if (x.member.id === m.author) return x.nick
    return m.authorName
  }

  /** A member by the local part of NAME@DOMAIN (escaped display name) or MEMBERID@DOMAIN. */
  #memberByLocal (local: string): MemberOccupant | null {
    for (const x of this.#members.values()) if (x.local === local || x.member.id.toLowerCase() === local) return x
    return null
  }
}

const JABBER_USER: Affiliation = { affiliation: 'member', role: 'participant' }

function memberAffiliation (m: MemberView): Affiliation {
  if (m.role === 'admin') return { affiliation: 'admin', role: 'moderator' }
  if (m.role === 'observer') return { affiliation: 'member', role: 'visitor' }
  return JABBER_USER
}

/** Solidar's coded errors as XMPP conditions. */
async function solidarCall<T> (fn: () => Promise<T>): Promise<T> {
  try {
    return await fn()
  } catch (err) {
    if (!isSolidarError(err)) throw err
    const map: Partial<Record<string, Condition>> = {
      NOT_PERMITTED: 'forbidden', BAD_REQUEST: 'not-acceptable', ROOM_NOT_FOUND: 'item-not-found',
      MEMBER_NOT_FOUND: 'item-not-found', NO_SHARED_GROUP: 'item-not-found', MESSAGE_NOT_FOUND: 'item-not-found'
    }
    throw new StanzaError(map[err.code] ?? 'internal-server-error', err.message)
  }
}

/** Ends a component connection: a polite close when the server answers, the socket destroyed when it does not (≤ 1 s). */
async function dispose (xmpp: any): Promise<void> {
  let timer: NodeJS.Timeout | undefined
  await Promise.race([xmpp.stop().catch(() => { /* closing: the other resources must still close, and a failed close has no caller left to tell */ }), new Promise(resolve => { timer = setTimeout(resolve, 1000) })])
  clearTimeout(timer)
  xmpp.socket?.destroy?.()
}

function splitHostPort (text: string): [string, number] {
  const m = /^\[?([^\]]+?)\]?:(\d{1,5})$/.exec(text.trim())
  const port = m ? Number(m[2]) : NaN
  if (!m || port < 1 || port > 65535) throw new Error(`--server must be HOST:PORT (the XMPP server's component port), not "${text}"`)
  return [m[1], port]
}

export { splitHostPort, jid }
