/**
 * Live chat: a message goes at once to the members' nodes over the group's encrypted channel
 * (`solidar/chat-live/v1`, live-wire.ts), in parallel with its durable `message/post` append,
 * which `send` still waits for. The receiving node shows it at once as a `message-live` (or
 * `dm-live`) event; the `message` (`dm`) event for the same id follows when the log has the
 * entry, and clients put it in its place (upsert by id). Nothing on the channel is stored.
 *
 * Who gets it: each side of a connection proves its device with a hello bound to the
 * connection's transport key; a message goes only to connections whose device this node's view
 * holds as an active device of a current member, checked again after every update of the log.
 * A removed member or a revoked device is dropped from that set as soon as the removal is
 * applied here, and the epoch rotation that follows a removal keeps the rest sealed from them.
 *
 * What is shown: a message that opens under a key of the group, whose signature checks, from an
 * active device of a current member who may write, in a room that exists, not seen before
 * (id), within the replay window, and within its device's rate. Members relay what they
 * take to their other proven peers (bounded hops, each message taken once: ../live-relay.ts),
 * so a member not directly connected to the sender gets it through one that is.
 * If the sender's append fails, a `withdraw` follows and receivers emit `message-withdrawn`
 * (`dm-withdrawn`).
 */
import b4a from 'b4a'
import { DM_ROOM } from '../apply.ts'
import { isSolidarError } from '../errors.ts'
import { deviceMember, GroupChannels, type Channel, type ChannelTopic } from '../group-channel.ts'
import { groupIdOf } from '../ids.ts'
import type { Identity } from '../identity.ts'
import { encode } from '../codec.ts'
import { forwardEnvelope, frameEnvelope, MAX_REACHED, openEnvelope, REACHED_PREFIX, Rejected, signEnvelope, verifyEnvelope, type Envelope, type EnvelopeReject } from '../live-envelope.ts'
import { Relay, type RelayReject } from '../live-relay.ts'
import { StampedCache } from '../stamped-cache.ts'
import type { MessageId, MessageView, SolidarEvent } from '../types.ts'
import type { MemberRecord } from '../view.ts'
import { announcedNew } from './messages.ts'
import { parsePayload, postPayload, sealLive, SPEC, type LivePayload, type LivePost } from './live-wire.ts'
import { z32OfHex, type LogService, type OpenLog } from './shared.ts'

/** A message passes at most this many relaying members (a group's swarm has short paths). */
export const MAX_HOPS = 4
/** A message whose sender's clock is further than this from ours is dropped as stale (a replay). */
export const REPLAY_WINDOW_MS = 120_000
/** Message ids remembered per group (each until its timestamp leaves the window). */
const MAX_SEEN = 16_384
/** Messages one device may originate per group: a burst, then this many per second (the log takes the rest). */
const RATE_BURST = 1_000
const RATE_PER_SECOND = 500
/** Messages kept per connection from devices the view does not know yet (it is still catching up). */
const MAX_PENDING = 32
/** Live messages remembered as shown and not yet withdrawn (per group). */
const MAX_SHOWN = 1_024

export interface LiveMessageHost {
  identity: Identity
  /** This device's key (hex). */
  device (): string
  now (): number
  emit (event: SolidarEvent): void
  /** The current epoch, or NOT_PERMITTED without its key. */
  currentEpoch (log: OpenLog): Promise<number>
  /** A failure of this device's side (reading the view, sealing), never a peer's bad input. */
  reportError (err: Error): void
}

type Membership = Awaited<ReturnType<typeof deviceMember>>

interface Topic extends ChannelTopic {
  log: OpenLog
  /** The device each connection proved with its hello. */
  peers: Map<Channel, string>
  /** Connections this node could not greet yet (it lacked the current key): greeted after the next update. */
  ungreeted: Set<Channel>
  /** Devices looked up, kept while membership stays as it was (Group.membershipStamp). */
  members: StampedCache<string, Membership>
  relay: Relay
  /** Live messages shown and not logged or withdrawn yet: id → sending device. */
  shown: Map<string, string>
}

/** What became of a message from a peer. */
export type LiveChatOutcome = 'shown' | 'hello' | 'withdrawn' | 'logged' | 'own' | 'held' | 'not-member' | 'observer' | 'not-peer' | 'no-room' | 'not-shown' |
  EnvelopeReject | RelayReject

const hex = (b: Uint8Array) => b4a.toString(b, 'hex') as string

/** Whether the reached list names `device` (hex). */
function names (reached: Uint8Array, device: string): boolean {
  const prefix = b4a.from(device.slice(0, REACHED_PREFIX * 2), 'hex')
  for (let i = 0; i < reached.byteLength; i += REACHED_PREFIX) if (b4a.equals(reached.subarray(i, i + REACHED_PREFIX), prefix)) return true
  return false
}

/** `reached` and the devices of `targets`, as far as MAX_REACHED allows (a relay past it may send some twice). */
function reachedWith (reached: Uint8Array, targets: Array<[Channel, string]>): Uint8Array {
  const room = Math.max(0, MAX_REACHED - reached.byteLength / REACHED_PREFIX)
  const added = targets.slice(0, room).map(([, device]) => b4a.from(device.slice(0, REACHED_PREFIX * 2), 'hex'))
  return b4a.concat([reached, ...added])
}
const remoteKeyOf = (ch: Channel): Uint8Array | undefined => ch?._mux?.stream?.remotePublicKey ?? undefined
const localKeyOf = (ch: Channel): Uint8Array | undefined => ch?._mux?.stream?.publicKey ?? undefined

export class LiveMessages implements LogService {
  readonly #host: LiveMessageHost
  readonly #channels: GroupChannels<Topic>
  /** How many peer messages ended how (diagnostics; the security tests check refusals by reason). */
  readonly outcomes = new Map<LiveChatOutcome, number>()
  /** Messages this node sent or relayed, by receiving device (hex): the tests check who got none. */
  readonly sent = new Map<string, number>()
  #closed = false

  constructor (host: LiveMessageHost) {
    this.#host = host
    this.#channels = new GroupChannels<Topic>(SPEC.protocol, {
      maxPending: MAX_PENDING,
      onopen: (topic, ch) => { this.#greet(topic, ch).catch(err => this.#fail(err)) },
      onmessage: async (topic, ch, buf) => {
        const outcome = await this.#onmessage(topic, ch, buf)
        if (outcome !== null) this.outcomes.set(outcome, (this.outcomes.get(outcome) ?? 0) + 1)
      },
      onerror: (err) => this.#fail(err),
      onclose: (topic, ch) => { topic.peers.delete(ch); topic.ungreeted.delete(ch) }
    })
  }

  attach (stream: any): void {
    if (!this.#closed) this.#channels.attach(stream)
  }

  /** After each update of a group or DM log: serve its channel, forget shown messages the log now has, greet who is still ungreeted. */
  async onUpdate (log: OpenLog): Promise<void> {
    if (this.#closed || (log.record.kind !== 'group' && log.record.kind !== 'dm')) return
    const served = this.#channels.serve(log, () => ({
      log, channels: new Set(), pending: new Map(), peers: new Map(), ungreeted: new Set(), members: new StampedCache(() => log.group.membershipStamp), shown: new Map(),
      relay: new Relay({ windowMs: REPLAY_WINDOW_MS, maxSeen: MAX_SEEN, burst: RATE_BURST, perSecond: RATE_PER_SECOND }, () => this.#host.now())
    }))
    if (served === null || served.fresh) return
    const { topic } = served
    for (const id of [...topic.shown.keys()]) {
      // Logged since it was shown: the `message` event took over.
      if (announcedNew(topic.log, id)) topic.shown.delete(id)
    }
    for (const ch of [...topic.ungreeted]) await this.#greet(topic, ch)
  }

  /** The log closed (left, forgotten): its channel closes. */
  forget (discoveryKey: Buffer): void {
    this.#channels.remove(discoveryKey)
  }

  /**
   * Sends this device's new message to the group's proven peers at once (sealed under `epoch`,
   * the epoch its body is sealed under). Never throws: the log still carries the message.
   */
  async post (log: OpenLog, epoch: number, post: LivePost): Promise<void> {
    await this.#send(log, epoch, `post:${post.id}`, postPayload(post), post.ts)
  }

  /** The append of `id` failed: the peers that showed it take it away. */
  async withdraw (log: OpenLog, id: string): Promise<void> {
    let epoch: number
    try { epoch = await this.#host.currentEpoch(log) } catch (err) {
      if (isSolidarError(err) && err.code === 'NOT_PERMITTED') return // no key: nothing was sent live either
      throw err
    }
    const ts = this.#host.now()
    await this.#send(log, epoch, `withdraw:${id}`, { k: 'withdraw', id, ts }, ts)
  }

  /**
   * Whether the peer connection `stream` proved (with its hello on this channel) a device that
   * is, in the view now, an active device of a current member of the group: the other live
   * channels (pads/live.ts) send only to such connections too.
   */
  async mayReceive (discoveryKey: Uint8Array, stream: unknown): Promise<boolean> {
    const topic = this.#channels.get(discoveryKey)
    if (!topic || this.#closed) return false
    for (const [ch, device] of topic.peers) {
      if (ch?._mux?.stream === stream) return (await this.#memberOf(topic, device)).member !== null
    }
    return false
  }

  /** Whether this node shows message `id` of `log` live and the log has not announced it yet. */
  shows (log: OpenLog, id: string): boolean {
    return this.#channels.get(log.group.discoveryKey)?.shown.has(id) === true && !announcedNew(log, id)
  }

  /** Sends bytes as they are to the group's proven peers (tests: forged and replayed messages). */
  async sendRaw (log: OpenLog, bytes: Buffer): Promise<void> {
    const topic = this.#channels.get(log.group.discoveryKey)
    if (topic) this.#sendTo(await this.#targets(topic), bytes)
  }

  close (): void {
    this.#closed = true
    this.#channels.close()
  }

  #fail (err: Error): void {
    if (!this.#closed) this.#host.reportError(err)
  }

  async #send (log: OpenLog, epoch: number, key: string, payload: LivePayload, ts: number): Promise<void> {
    const topic = this.#channels.get(log.group.discoveryKey)
    if (this.#closed || !topic || topic.peers.size === 0) return
    const env = signEnvelope(SPEC, log.keyring, epoch, this.#host.identity, encode(payload))
    const targets = await this.#targets(topic)
    let buf: Buffer
    try { buf = frameEnvelope(SPEC, env, 0, reachedWith(b4a.from(this.#host.device(), 'hex').subarray(0, REACHED_PREFIX), targets)) } catch (err) {
      if (err instanceof Rejected) return // too large to go live: the log carries it
      throw err
    }
    // Our own message coming back over another path is then a duplicate.
    topic.relay.take(key, this.#host.device(), ts)
    this.#sendTo(targets, buf)
  }

  /**
   * The connections to send to: those whose proven device is an active device of a current
   * member, but `except` (where the message came from) and devices `reached` names already.
   */
  async #targets (topic: Topic, except?: Channel, reached?: Uint8Array): Promise<Array<[Channel, string]>> {
    const out: Array<[Channel, string]> = []
    for (const [ch, device] of [...topic.peers]) {
      if (ch === except || (reached !== undefined && names(reached, device))) continue
      if ((await this.#memberOf(topic, device)).member !== null) out.push([ch, device])
    }
    return out
  }

  #sendTo (targets: Array<[Channel, string]>, buf: Buffer): void {
    for (const [ch, device] of targets) {
      if (!ch.opened) continue
      ch.messages[0].send(buf)
      this.sent.set(device, (this.sent.get(device) ?? 0) + 1)
    }
  }

  /** Passes a taken message on to the proven peers it has not reached yet, naming them too. */
  async #relay (topic: Topic, env: Envelope, from: Channel): Promise<void> {
    const targets = await this.#targets(topic, from, env.reached)
    if (targets.length > 0) this.#sendTo(targets, forwardEnvelope(SPEC, env, reachedWith(env.reached, targets)))
  }

  async #greet (topic: Topic, ch: Channel): Promise<void> {
    const own = localKeyOf(ch)
    // Called from onopen (where protomux has not set `opened` yet) or for an ungreeted channel still open (onclose drops it).
    if (this.#closed || ch.closed === true || own === undefined) return
    let epoch: number
    try { epoch = await this.#host.currentEpoch(topic.log) } catch (err) {
      // Not holding the current key yet (just joined): greet after the next update.
      if (isSolidarError(err) && err.code === 'NOT_PERMITTED') { topic.ungreeted.add(ch); return }
      throw err
    }
    topic.ungreeted.delete(ch)
    ch.messages[0].send(sealLive(topic.log.keyring, epoch, this.#host.identity, { k: 'hello', t: own }))
  }

  /** The member behind `device` as the view says now (read again once membership may have changed). */
  #memberOf (topic: Topic, device: string): Promise<Membership> {
    return topic.members.get(device, () => deviceMember(topic.log.group, device))
  }

  async #onmessage (topic: Topic, ch: Channel, buf: Buffer): Promise<LiveChatOutcome | null> {
    if (this.#closed) return null
    let env: Envelope
    let payload: LivePayload
    try {
      env = openEnvelope(SPEC, topic.log.keyring, buf, MAX_HOPS)
      // Duplicates (the same message over another path) are dropped before the costly signature check.
      if (topic.relay.seen(env.id)) return 'duplicate'
      payload = parsePayload(verifyEnvelope(SPEC, topic.log.keyring.discoveryKey, env))
    } catch (err) {
      if (!(err instanceof Rejected)) throw err
      // Sealed under a key we may not hold yet (a new epoch, or we just joined): tried again after the next update.
      if (err.reason === 'unreadable') this.#channels.hold(topic, ch, buf)
      return err.reason as EnvelopeReject
    }
    const device = hex(env.d)
    if (device === this.#host.device()) return 'own'
    const m = await this.#memberOf(topic, device)
    if (m.member === null || m.record === undefined) {
      if (m.known) return 'not-member'
      // Maybe a member our view has not caught up with yet: kept for the next update.
      this.#channels.hold(topic, ch, buf)
      return 'held'
    }
    if (payload.k === 'hello') {
      const remote = remoteKeyOf(ch)
      if (env.hops !== 0 || remote === undefined || !b4a.equals(remote, payload.t)) return 'not-peer'
      topic.peers.set(ch, device)
      return 'hello'
    }
    if (m.record.role === 'observer') return 'observer'
    const refused = topic.relay.take(env.id, device, payload.ts)
    if (refused !== null) return refused
    if (env.hops < MAX_HOPS) await this.#relay(topic, env, ch)
    return payload.k === 'post' ? await this.#show(topic, payload, device, m.member, m.record) : await this.#withdrawn(topic, payload.id, device)
  }

  async #show (topic: Topic, p: Extract<LivePayload, { k: 'post' }>, device: string, member: string, record: MemberRecord): Promise<LiveChatOutcome> {
    const { log } = topic
    if (topic.shown.has(p.id)) return 'duplicate'
    // No view reads on this path but a room's first (Group.room keeps it): reading Autobase's view while it applies costs milliseconds.
    if (announcedNew(log, p.id)) return 'logged'
    const dm = log.record.kind === 'dm'
    if (dm ? p.r !== DM_ROOM : (await log.group.room(p.r)) === null) return 'no-room'
    const plain = log.keyring.open(p.b, 'message')
    const message: MessageView = {
      id: p.id as MessageId, author: z32OfHex(member), authorName: record.name, room: p.r,
      text: plain ? b4a.toString(plain) : '', ts: p.ts, seq: 0,
      ...(plain ? {} : { unreadable: true as const }),
      ...(p.rt !== undefined ? { replyTo: p.rt as MessageId } : {})
    }
    topic.shown.set(p.id, device)
    if (topic.shown.size > MAX_SHOWN) topic.shown.delete(topic.shown.keys().next().value!)
    this.#host.emit(dm ? { type: 'dm-live', peer: z32OfHex(log.record.peer!), message } : { type: 'message-live', group: groupIdOf(log.group.key), message })
    return 'shown'
  }

  async #withdrawn (topic: Topic, id: string, device: string): Promise<LiveChatOutcome> {
    const { log } = topic
    // Only what this node showed, and only its sender takes it back.
    if (topic.shown.get(id) !== device) return 'not-shown'
    topic.shown.delete(id)
    if (announcedNew(log, id)) return 'logged'
    this.#host.emit(log.record.kind === 'dm'
      ? { type: 'dm-withdrawn', peer: z32OfHex(log.record.peer!), id: id as MessageId }
      : { type: 'message-withdrawn', group: groupIdOf(log.group.key), id: id as MessageId })
    return 'withdrawn'
  }
}
