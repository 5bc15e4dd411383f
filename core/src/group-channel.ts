/**
 * An ephemeral protomux channel per group on every peer connection: pad presence
 * (`solidar/presence/v1`) and meeting signalling (`solidar/meeting/v1`) each ride on one.
 * The channel id is the group's discovery key; it opens on every connection for every group
 * this node serves, and again when the remote side opens it later (protomux `pair`). Nothing
 * on it is written to a log or to disk.
 *
 * This keeps the channels and the plumbing both users share: broadcast to every open channel
 * of a group, and messages from devices the group's view does not know yet (the log is still
 * catching up) kept per connection for a retry after the next update. What travels on the
 * channel, how it is sealed and checked, is the user's (presence.ts, meetings/service.ts).
 */
import Protomux from 'protomux'
import c from 'compact-encoding'
import b4a from 'b4a'
import type { Group } from './group.ts'
import { activeDevices, getRecord, K, type MemberRecord } from './view.ts'

/** A protomux channel (protomux has no types). */
export type Channel = any

/** What the user's per-group state must hold (it may hold more). */
export interface ChannelTopic {
  log: { group: Pick<Group, 'discoveryKey'> }
  /** Open and opening channels of this group, one per connection. */
  channels: Set<Channel>
  /** Messages kept per connection until the view knows their sender. */
  pending: Map<Channel, Buffer[]>
}

export interface ChannelHandlers<T extends ChannelTopic> {
  /** The channel opened on a connection (e.g. greet the peer with our state). */
  onopen?: (topic: T, ch: Channel) => void
  onmessage: (topic: T, ch: Channel, buf: Buffer) => Promise<void>
  /** A handler failed (not a peer's bad input, which handlers drop themselves): report it. */
  onerror: (err: Error) => void
  /** After the channel left `topic.channels` and its kept messages were dropped. */
  onclose?: (topic: T, ch: Channel) => void
}

const hex = (b: Uint8Array) => b4a.toString(b, 'hex') as string

export class GroupChannels<T extends ChannelTopic> {
  readonly #protocol: string
  readonly #maxPending: number
  readonly #handlers: ChannelHandlers<T>
  readonly #topics = new Map<string, T>()
  readonly #muxes = new Set<any>()
  #closed = false

  constructor (protocol: string, opts: { maxPending: number } & ChannelHandlers<T>) {
    this.#protocol = protocol
    this.#maxPending = opts.maxPending
    this.#handlers = opts
  }

  /** Every new peer connection: each served group's channel opens on it. */
  attach (stream: any): void {
    if (this.#closed) return
    const mux = Protomux.from(stream)
    stream.userData = mux
    this.#muxes.add(mux)
    stream.once('close', () => this.#muxes.delete(mux))
    for (const topic of this.#topics.values()) this.#open(mux, topic)
  }

  get (discoveryKey: Uint8Array): T | undefined {
    return this.#topics.get(hex(discoveryKey))
  }

  topics (): IterableIterator<T> {
    return this.#topics.values()
  }

  /**
   * Serves a group after an update of its log (idempotent): the first time, `make` builds its
   * state and the channel opens on every connection (`fresh`); after that the state takes the
   * log as it is now and messages kept from senders the view did not know are tried again.
   * Null once closed.
   */
  serve (log: T['log'], make: () => T): { topic: T, fresh: boolean } | null {
    if (this.#closed) return null
    const topic = this.get(log.group.discoveryKey)
    if (!topic) {
      const made = make()
      this.add(made)
      return { topic: made, fresh: true }
    }
    topic.log = log
    this.retry(topic)
    return { topic, fresh: false }
  }

  /** Serves a group: its channel opens on every connection. */
  add (topic: T): void {
    if (this.#closed) return
    this.#topics.set(hex(topic.log.group.discoveryKey), topic)
    for (const mux of this.#muxes) this.#open(mux, topic)
  }

  /** Stops serving a group: closes its channels; returns its state (if it was served). */
  remove (discoveryKey: Uint8Array): T | undefined {
    const key = hex(discoveryKey)
    const topic = this.#topics.get(key)
    if (!topic) return undefined
    this.#topics.delete(key)
    for (const ch of topic.channels) ch.close()
    for (const mux of this.#muxes) mux.unpair({ protocol: this.#protocol, id: discoveryKey })
    return topic
  }

  /** Sends one message on every open channel of the group (but `except`, the one a relayed message came on). */
  broadcast (topic: T, msg: Buffer, except?: Channel): void {
    for (const ch of topic.channels) if (ch.opened && ch !== except) ch.messages[0].send(msg)
  }

  /** Keeps a message whose sender the view does not know yet (bounded per connection). */
  hold (topic: T, ch: Channel, buf: Buffer): void {
    if (!ch.opened) return
    const queue = topic.pending.get(ch) ?? []
    if (queue.length < this.#maxPending) queue.push(buf)
    topic.pending.set(ch, queue)
  }

  /** Processes the kept messages again (after an update of the log); still unknown: kept again. */
  retry (topic: T): void {
    if (topic.pending.size === 0) return
    const pending = [...topic.pending]
    topic.pending.clear()
    for (const [ch, queue] of pending) for (const buf of queue) this.#handlers.onmessage(topic, ch, buf).catch(this.#handlers.onerror)
  }

  close (): T[] {
    this.#closed = true
    return [...this.#topics.values()].map(topic => this.remove(topic.log.group.discoveryKey)!)
  }

  #open (mux: any, topic: T): void {
    const id = topic.log.group.discoveryKey
    mux.pair({ protocol: this.#protocol, id }, () => {
      if (this.#topics.get(hex(id)) === topic) this.#open(mux, topic)
    })
    const ch: Channel = mux.createChannel({
      protocol: this.#protocol,
      id,
      messages: [{ encoding: c.buffer, onmessage: (buf: Buffer) => { this.#handlers.onmessage(topic, ch, buf).catch(this.#handlers.onerror) } }],
      onopen: () => { this.#handlers.onopen?.(topic, ch) },
      onclose: () => {
        topic.channels.delete(ch)
        topic.pending.delete(ch)
        this.#handlers.onclose?.(topic, ch)
      }
    })
    if (ch === null) return // already open on this connection
    topic.channels.add(ch)
    ch.open()
  }
}

/**
 * The member whose active device `device` (hex) is in the group's view: `member` null when
 * the device is unknown, revoked, or its member left; `known` false when the view has no
 * such member at all (maybe it is still catching up: worth keeping the message for a retry).
 * `record` is the member's record when `member` is set (its role, say), read once here.
 */
export async function deviceMember (group: Pick<Group, 'view' | 'member'>, device: string): Promise<{ member: string | null, known: boolean, record?: MemberRecord }> {
  // A member's first device is the member key itself; others are linked by a device record.
  const link = await getRecord<{ member: string }>(group.view, K.device(device))
  const member = link?.member ?? device
  const record = await group.member(member)
  if (!record) return { member: null, known: false }
  if (record.left || !activeDevices(record).some(d => d.device === device)) return { member: null, known: true }
  return { member, known: true, record }
}
