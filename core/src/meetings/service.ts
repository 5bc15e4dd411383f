/**
 * Video meetings of a node (`Solidar.meetings`): signalling only. Browsers send each other
 * audio and video directly (WebRTC, DTLS-SRTP); what they need to find each other travels
 * browser → local node (API) → the group's meeting channel → the peer's node → its browser.
 *
 * The channel is an ephemeral protomux channel `solidar/meeting/v1` per group on every peer
 * connection (group-channel.ts), like pad presence: never written to a log or to disk.
 * Every message is signed by the sending device and sealed under the group's
 * current epoch key (wire.ts); a receiver accepts it only from an active device of a current
 * member. So only members see which meetings run, and an offer or answer, with the DTLS
 * fingerprint in its SDP, reaches a browser only with the member it is signed by.
 *
 * Each node announces its own participants (browser sessions) every 5 s; a remote participant
 * not heard of for 16 s is gone, a local one whose tab stopped renewing for 20 s leaves.
 * Signals are addressed to one device and session; they go to every directly connected
 * peer of the group (sealed) and only the addressee's node passes them to its browser.
 *
 * Members relay: a node that takes a message (it opens, the signature checks, the signer is a
 * current member, its timestamp is within the replay window and its id is new: ../live-relay.ts)
 * forwards the sealed body unchanged, hop counter + 1, to its other connections of the group,
 * up to MAX_HOPS. So two members the swarm never connected meet through any common member.
 */
import b4a from 'b4a'
import crypto from 'hypercore-crypto'
import type { Keyring } from '../content.ts'
import { errors, isSolidarError } from '../errors.ts'
import type { Group } from '../group.ts'
import type { Identity } from '../identity.ts'
import { decodeKey } from '../ids.ts'
import { isRoomName } from '../commands.ts'
import type { GroupId, MeetingId, MeetingView, MemberId, SolidarEvent } from '../types.ts'
import { deviceMember, GroupChannels, type Channel } from '../group-channel.ts'
import type { MeetingApi, MeetingJoinOptions, MeetingSignalOptions } from './api.ts'
import {
  ANNOUNCE_INTERVAL_MS, MAX_HOPS, MAX_PARTICIPANTS, MAX_PENDING, MAX_SEEN, PARTICIPANT_TTL_MS, RATE_BURST, RATE_PER_SECOND,
  REPLAY_WINDOW_MS, SESSION_TTL_MS, SWEEP_INTERVAL_MS
} from './constants.ts'
import { hex, keyOf, meetingView, z32, type Participant } from './participants.ts'
import { Relay } from '../live-relay.ts'
import {
  checkSignal, forwardMessage, isMediaState, isMeetingId, isSessionId, openEnvelope, parseSignal, PROTOCOL, Rejected, sealMessage,
  verifyEnvelope, wireMedia, type Envelope, type MeetingPayload, type Opened, type RejectReason
} from './wire.ts'
import { describe } from '../describe.ts'

/** One group's log as the meeting service sees it (Solidar hands in the same object as to pads). */
export interface MeetingLog {
  id: GroupId
  group: Group
  keyring: Keyring
  /** The current epoch, or NOT_PERMITTED when this device does not hold its key. */
  currentEpoch (): Promise<number>
}

export interface MeetingHost {
  resolve (ref: string): Promise<MeetingLog>
  emit (event: SolidarEvent): void
  now (): number
  identity: Identity
  /** The member this device acts for (hex). */
  self (): string
  /** A failure of this device's side (reading the view, sealing), never a peer's bad input. */
  onError (err: Error): void
}

interface Topic {
  log: MeetingLog
  channels: Set<Channel>
  /** meeting id → `${device}/${session}` → participant */
  meetings: Map<string, Map<string, Participant>>
  pending: Map<Channel, Buffer[]>
  relay: Relay
}

const RELAY_LIMITS = { windowMs: REPLAY_WINDOW_MS, maxSeen: MAX_SEEN, burst: RATE_BURST, perSecond: RATE_PER_SECOND }

export class Meetings implements MeetingApi {
  readonly maxParticipants = MAX_PARTICIPANTS
  readonly #host: MeetingHost
  readonly #channels: GroupChannels<Topic>
  readonly #names = new Map<string, string>()
  readonly #rejected = new Map<RejectReason, number>()
  #accepted = 0
  #forwarded = 0
  #timers: NodeJS.Timeout[] = []
  #closed = false
  readonly #fail: (err: Error) => void

  constructor (host: MeetingHost) {
    this.#host = host
    // A log that closes (left, node closing) ends its reads with an error: nothing to report then.
    this.#fail = (err: Error) => { if (!this.#closed) host.onError(err) }
    this.#channels = new GroupChannels<Topic>(PROTOCOL, {
      maxPending: MAX_PENDING,
      onopen: (topic, ch) => { this.#announceAll(topic, ch).catch(this.#fail) },
      onmessage: (topic, ch, buf) => this.#onmessage(topic, ch, buf),
      onerror: (err) => this.#fail(err)
    })
    const announce = setInterval(() => { for (const t of this.#channels.topics()) this.#announceAll(t).catch(this.#fail) }, ANNOUNCE_INTERVAL_MS)
    const sweep = setInterval(() => { for (const t of this.#channels.topics()) this.#sweep(t) }, SWEEP_INTERVAL_MS)
    announce.unref()
    sweep.unref()
    this.#timers = [announce, sweep]
  }

  get #device (): string { return hex(this.#host.identity.publicKey) }

  // ---------------------------------------------------------------- wiring (called by Solidar)

  /** Every new peer connection: the meeting channel of each served group rides on it. */
  attach (stream: any): void {
    if (!this.#closed) this.#channels.attach(stream)
  }

  /**
   * After each update of a group's log (and when it opens): serve its channel, retry messages
   * from senders the view did not know, and drop participants who are no longer members.
   */
  async refresh (log: MeetingLog): Promise<void> {
    if (this.#closed) return
    const served = this.#channels.serve(log, () => ({ log, channels: new Set(), meetings: new Map(), pending: new Map(), relay: new Relay(RELAY_LIMITS, () => this.#host.now()) }))
    if (served === null || served.fresh) return
    const { topic } = served
    const changed = new Set<string>()
    for (const [meeting, parts] of topic.meetings) {
      for (const [k, p] of parts) {
        if (p.self ? await this.#selfAllowed(topic) : (await this.#memberOf(topic, p.device)) === p.member) continue
        parts.delete(k)
        changed.add(meeting)
      }
    }
    for (const meeting of changed) await this.#changed(topic, meeting)
  }

  /** The group is gone from this device (left, closed). */
  forget (discoveryKey: Buffer): void {
    this.#channels.remove(discoveryKey)
  }

  close (): void {
    this.#closed = true
    for (const t of this.#timers) clearInterval(t)
    this.#channels.close()
  }

  /** Messages accepted, forwarded to other members, and dropped per reason (malformed, not a member's, …): for tests and diagnosis. */
  stats (): { accepted: number, forwarded: number, rejected: Partial<Record<RejectReason, number>> } {
    return { accepted: this.#accepted, forwarded: this.#forwarded, rejected: Object.fromEntries(this.#rejected) }
  }

  // ---------------------------------------------------------------- MeetingApi

  async list (groupRef: string): Promise<MeetingView[]> {
    const topic = await this.#topic(groupRef)
    const out: MeetingView[] = []
    for (const id of topic.meetings.keys()) {
      const view = await this.#view(topic, id)
      if (view.participants.length > 0) out.push(view)
    }
    return out.sort((a, b) => a.started - b.started || a.id.localeCompare(b.id))
  }

  async get (groupRef: string, meeting: string): Promise<MeetingView> {
    const topic = await this.#topic(groupRef)
    if (!isMeetingId(meeting) || !(topic.meetings.get(meeting)?.size)) throw errors.meetingNotFound(describe(meeting, 64))
    return this.#view(topic, meeting)
  }

  async start (groupRef: string, opts: MeetingJoinOptions): Promise<MeetingView> {
    if (opts.room !== undefined && !isRoomName(opts.room)) throw errors.badRequest('invalid room name')
    const id = b4a.toString(crypto.randomBytes(12), 'hex')
    return this.#join(await this.#topic(groupRef), id, opts, true)
  }

  async join (groupRef: string, meeting: string, opts: MeetingJoinOptions): Promise<MeetingView> {
    if (!isMeetingId(meeting)) throw errors.badRequest('invalid meeting id')
    return this.#join(await this.#topic(groupRef), meeting, opts, false)
  }

  async leave (groupRef: string, meeting: string, session: string): Promise<void> {
    const topic = await this.#topic(groupRef)
    if (!isMeetingId(meeting) || !isSessionId(session)) throw errors.badRequest('invalid meeting or session id')
    const parts = topic.meetings.get(meeting)
    const mine = parts?.get(keyOf(this.#device, session))
    if (!parts || !mine?.self) throw errors.meetingNotFound(meeting)
    parts.delete(keyOf(this.#device, session))
    // Left locally already; a leave that cannot be sent is reported, and the others drop us at our TTL.
    await this.#broadcast(topic, { k: 'leave', m: meeting, se: session, ts: this.#host.now() }).catch(this.#fail)
    await this.#changed(topic, meeting)
  }

  async signal (groupRef: string, meeting: string, opts: MeetingSignalOptions): Promise<void> {
    const topic = await this.#topic(groupRef)
    if (!isMeetingId(meeting) || !isSessionId(opts.session) || !isSessionId(opts.to)) throw errors.badRequest('invalid meeting or session id')
    try { checkSignal(opts.signal) } catch (err) { throw errors.badRequest(`not a WebRTC signal: ${(err as Error).message}`) }
    let to: string
    try { to = hex(decodeKey(opts.device, 'device')) } catch { throw errors.badRequest('invalid device id') }
    const parts = topic.meetings.get(meeting)
    if (!parts?.get(keyOf(this.#device, opts.session))?.self) throw errors.meetingNotFound(meeting)
    if (!parts.has(keyOf(to, opts.to))) throw errors.badRequest('the addressee is not in this meeting')
    const x = JSON.stringify(opts.signal)
    const payload: MeetingPayload = { k: 'signal', m: meeting, se: opts.session, ts: this.#host.now(), to: b4a.from(to, 'hex'), tt: opts.to, x }
    if (to === this.#device) {
      // Two tabs on this node: no network involved, the same checks.
      await this.#deliver(topic, payload, this.#device)
      return
    }
    await this.#broadcast(topic, payload)
  }

  // ---------------------------------------------------------------- local participants

  async #join (topic: Topic, meeting: string, opts: MeetingJoinOptions, fresh: boolean): Promise<MeetingView> {
    if (!isSessionId(opts.session)) throw errors.badRequest('invalid session id')
    if (!isMediaState(opts.media)) throw errors.badRequest('media must be {audio, video, screen} booleans')
    await topic.log.currentEpoch() // NOT_PERMITTED for a removed member or a device without the current key
    if (!(await this.#selfAllowed(topic))) throw errors.notPermitted('Only members of the group can join its meetings')
    let parts = topic.meetings.get(meeting)
    const key = keyOf(this.#device, opts.session)
    const existing = parts?.get(key)
    if (!fresh && !existing && !(parts?.size)) throw errors.meetingNotFound(meeting)
    if (!existing && (parts?.size ?? 0) >= MAX_PARTICIPANTS) throw errors.meetingFull(MAX_PARTICIPANTS)
    if (!parts) topic.meetings.set(meeting, parts = new Map())
    const now = this.#host.now()
    const media = { audio: opts.media.audio, video: opts.media.video, screen: opts.media.screen }
    const changed = !existing || JSON.stringify(existing.media) !== JSON.stringify(media)
    const me: Participant = existing ?? { member: this.#host.self(), device: this.#device, session: opts.session, since: now, media, seen: now, self: true, ...(opts.room !== undefined ? { room: opts.room } : {}) }
    me.media = media
    me.seen = now
    parts.set(key, me)
    if (changed) {
      await this.#announce(topic, meeting, me)
      await this.#changed(topic, meeting)
    }
    return this.#view(topic, meeting)
  }

  async #selfAllowed (topic: Topic): Promise<boolean> {
    return (await this.#memberOf(topic, this.#device)) === this.#host.self()
  }

  #announce (topic: Topic, meeting: string, p: Participant): Promise<void> {
    return this.#broadcast(topic, { k: 'announce', m: meeting, se: p.session, ts: this.#host.now(), si: p.since, md: p.media, ...(p.room !== undefined ? { r: p.room } : {}) })
  }

  async #announceAll (topic: Topic, only?: Channel) {
    for (const [meeting, parts] of topic.meetings) {
      for (const p of parts.values()) {
        if (!p.self) continue
        try {
          if (only) only.messages[0].send(await this.#seal(topic, { k: 'announce', m: meeting, se: p.session, ts: this.#host.now(), si: p.since, md: p.media, ...(p.room !== undefined ? { r: p.room } : {}) }))
          else await this.#announce(topic, meeting, p)
        } catch (err) {
          // This device lost the group's current key (removed): its participants leave.
          if (isSolidarError(err) && err.code === 'NOT_PERMITTED') { parts.delete(keyOf(p.device, p.session)); await this.#changed(topic, meeting) }
        }
      }
    }
  }

  #sweep (topic: Topic) {
    const now = this.#host.now()
    topic.relay.sweep()
    for (const [meeting, parts] of topic.meetings) {
      let changed = false
      for (const [k, p] of parts) {
        if (now - p.seen <= (p.self ? SESSION_TTL_MS : PARTICIPANT_TTL_MS)) continue
        parts.delete(k)
        changed = true
        if (p.self) this.#broadcast(topic, { k: 'leave', m: meeting, se: p.session, ts: now }).catch(this.#fail)
      }
      if (changed) this.#changed(topic, meeting).catch(this.#fail)
    }
  }

  // ---------------------------------------------------------------- the channel

  async #seal (topic: Topic, payload: MeetingPayload): Promise<Buffer> {
    const epoch = await topic.log.currentEpoch()
    const wire = payload.k === 'announce' ? { ...payload, md: wireMedia(payload.md) } : payload
    return sealMessage(topic.log.keyring, epoch, this.#host.identity, wire as MeetingPayload)
  }

  async #broadcast (topic: Topic, payload: MeetingPayload) {
    if (topic.channels.size === 0) return
    this.#channels.broadcast(topic, await this.#seal(topic, payload))
  }

  #reject (reason: RejectReason) {
    this.#rejected.set(reason, (this.#rejected.get(reason) ?? 0) + 1)
  }

  async #onmessage (topic: Topic, ch: Channel, buf: Buffer) {
    if (this.#closed) return
    let env: Envelope
    let opened: Opened
    try {
      env = openEnvelope(topic.log.keyring, buf, MAX_HOPS)
      // Duplicates (the same message over another path) are dropped before the costly signature check.
      if (topic.relay.seen(env.id)) throw new Rejected('duplicate', env.id)
      opened = verifyEnvelope(topic.log.keyring.discoveryKey, env)
      const stale = topic.relay.stale(opened.payload.ts)
      if (stale !== null) throw new Rejected(stale, `sent at ${opened.payload.ts}`)
    } catch (err) {
      if (err instanceof Rejected) { this.#reject(err.reason); return }
      throw err
    }
    const { payload } = opened
    const device = hex(opened.device)
    if (device === this.#device) return // our own message, back over another path
    const { member, known } = await deviceMember(topic.log.group, device)
    if (member === null) {
      // Maybe a member our view has not caught up with yet: kept for the next update of the log.
      if (!known) this.#channels.hold(topic, ch, buf)
      this.#reject('not-member')
      return
    }
    const refused = topic.relay.take(env.id, device, payload.ts)
    if (refused !== null) { this.#reject(refused); return }
    const forMe = payload.k === 'signal' && hex(payload.to) === this.#device
    if (!forMe && env.hops < MAX_HOPS && (await this.#selfAllowed(topic))) {
      this.#channels.broadcast(topic, forwardMessage(env), ch)
      this.#forwarded++
    }
    await this.#deliver(topic, payload, device, member)
  }

  /** Applies a checked message from `device` (of `member`). */
  async #deliver (topic: Topic, payload: MeetingPayload, device: string, member = this.#host.self()) {
    const now = this.#host.now()
    const key = keyOf(device, payload.se)
    switch (payload.k) {
      case 'announce': {
        let parts = topic.meetings.get(payload.m)
        const existing = parts?.get(key)
        if (!existing && (parts?.size ?? 0) >= MAX_PARTICIPANTS) { this.#reject('meeting-full'); return }
        if (!parts) topic.meetings.set(payload.m, parts = new Map())
        const changed = !existing || JSON.stringify(existing.media) !== JSON.stringify(payload.md)
        parts.set(key, { member, device, session: payload.se, since: payload.si, media: payload.md, seen: now, self: false, ...(payload.r !== undefined ? { room: payload.r } : {}) })
        this.#accepted++
        if (changed) await this.#changed(topic, payload.m)
        return
      }
      case 'leave': {
        const parts = topic.meetings.get(payload.m)
        this.#accepted++
        if (parts?.delete(key)) await this.#changed(topic, payload.m)
        return
      }
      case 'signal': {
        if (hex(payload.to) !== this.#device || !topic.meetings.get(payload.m)?.get(keyOf(this.#device, payload.tt))?.self) {
          this.#reject('not-addressed')
          return
        }
        this.#accepted++
        this.#host.emit({
          type: 'meeting-signal',
          group: topic.log.id,
          meeting: payload.m as MeetingId,
          from: { member: z32(member) as MemberId, name: await this.#name(topic, member), device: z32(device), session: payload.se },
          to: payload.tt,
          signal: parseSignal(payload.x)
        })
      }
    }
  }

  // ---------------------------------------------------------------- membership and views

  /** The member whose active device `device` is, or null (unknown, left, revoked). */
  async #memberOf (topic: Topic, device: string): Promise<string | null> {
    return (await deviceMember(topic.log.group, device)).member
  }

  async #name (topic: Topic, member: string): Promise<string> {
    if (member === this.#host.self()) return this.#host.identity.name
    const cached = this.#names.get(member)
    if (cached !== undefined) return cached
    const name = (await topic.log.group.member(member))?.name ?? '?'
    this.#names.set(member, name)
    return name
  }

  #view (topic: Topic, meeting: string): Promise<MeetingView> {
    return meetingView(meeting, topic.log.id, topic.meetings.get(meeting)?.values() ?? [], (member) => this.#name(topic, member))
  }

  async #changed (topic: Topic, meeting: string) {
    const view = await this.#view(topic, meeting)
    if (view.participants.length === 0) topic.meetings.delete(meeting)
    if (!this.#closed) this.#host.emit({ type: 'meeting-update', group: topic.log.id, meeting: view })
  }

  async #topic (ref: string): Promise<Topic> {
    const log = await this.#host.resolve(ref)
    let topic = this.#channels.get(log.group.discoveryKey)
    if (!topic) {
      await this.refresh(log)
      topic = this.#channels.get(log.group.discoveryKey)!
    }
    return topic
  }
}
