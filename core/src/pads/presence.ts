/**
 * Presence in pads (who is here, their cursor): Yjs awareness (y-protocols) carried over
 * an ephemeral protomux channel `solidar/presence/v1` per group on every peer connection
 * (group-channel.ts). Never written to any log or disk. Each message is
 *
 *   Sealed('pad-presence', current epoch) of CBOR {p: pad, u: awareness update, d: device key, s: sig}
 *   sig = Ed25519(device, "solidar/presence/v1" ‖ discoveryKey ‖ p ‖ u)
 *
 * so only holders of the group's current epoch key read it, and receivers accept it only
 * from an active device of a current member whose signature checks; the awareness client ids in it become
 * bound to that member (another member cannot move someone else's cursor). A node sends
 * only its own state, to directly connected peers; states time out after 30 s without
 * renewal (y-protocols renews every 15 s) and are dropped when the connection closes.
 * This node's own state in a pad is the local tab's (`set`, renewed by the tab every 15 s):
 * it goes when the tab says so (a closing tab sends null) or, for a tab that went away
 * without a word (crashed, a sleeping laptop), after `localTtlMs` (40 s) without a renewal —
 * y-protocols would otherwise renew a closed tab's cursor for as long as the node runs.
 *
 * Besides one awareness per pad there is one for the group itself, under the pad id ''
 * (pad ids are never empty): every node that serves a group is present in it with the
 * state {online: true} for as long as it runs. `present` lists the members online right
 * now (this node's own and directly connected ones), e.g. for the attendees of a minutes pad.
 */
import b4a from 'b4a'
import sodium from 'sodium-universal'
import * as Y from 'yjs'
import * as decoding from 'lib0/decoding'
import { Awareness, applyAwarenessUpdate, encodeAwarenessUpdate, removeAwarenessStates } from 'y-protocols/awareness'
import { decode, encode } from '../codec.ts'
import { isSealed } from '../content.ts'
import type { Identity } from '../identity.ts'
import { encodeKey } from '../ids.ts'
import type { MemberId, PadId, PadPresence } from '../types.ts'
import { deviceMember, GroupChannels, type Channel } from '../group-channel.ts'
import type { PadLog } from './service.ts'

const PROTOCOL = 'solidar/presence/v1'
/** The awareness of the group itself (who is online), beside one per pad. */
const GROUP = ''
const MAX_MESSAGE = 16 * 1024
const hex = (b: Uint8Array) => b4a.toString(b, 'hex') as string

interface PadAwareness {
  awareness: Awareness, fromChannel: Map<Channel, Set<number>>
  /** Ends this node's state in the pad if the local tab does not renew it. */
  expiry?: ReturnType<typeof setTimeout>
}
/** How long the local tab's state in a pad lasts without a renewal (the tab renews every 15 s). */
export const LOCAL_PRESENCE_TTL_MS = 40_000
interface Topic {
  log: PadLog, channels: Set<Channel>, pads: Map<string, PadAwareness>, owners: Map<number, string>, heard: WeakSet<Channel>
  /** Messages from devices our view does not know yet (it is still catching up), retried on the next update. */
  pending: Map<Channel, Buffer[]>
}
/** Bounds the messages kept per connection for a retry (only holders of the group key get here). */
const MAX_PENDING = 8

export interface PresenceOptions {
  identity: Identity
  /** The member this device acts for (hex). */
  self: () => string
  onChange: (log: PadLog, pad: string, presence: PadPresence) => void
  memberName: (log: PadLog, memberHex: string) => Promise<string | null>
  /** A failure of this device's side (reading the view, sealing), never a peer's bad input. */
  onError: (err: Error) => void
  /** How long the local tab's state lasts without a renewal; LOCAL_PRESENCE_TTL_MS unless a test says otherwise. */
  localTtlMs?: number
}

export class Presence {
  readonly #opts: PresenceOptions
  readonly #channels: GroupChannels<Topic>
  readonly #names = new Map<string, string>()
  #closed = false
  readonly #fail: (err: Error) => void

  constructor (opts: PresenceOptions) {
    this.#opts = opts
    // A log that closes (left, node closing) ends its reads with an error: nothing to report then.
    this.#fail = (err: Error) => { if (!this.#closed) opts.onError(err) }
    this.#channels = new GroupChannels<Topic>(PROTOCOL, {
      maxPending: MAX_PENDING,
      onopen: (topic, ch) => { this.#greet(topic, ch).catch(this.#fail) },
      onmessage: (topic, ch, buf) => this.#onmessage(topic, ch, buf),
      onerror: (err) => this.#fail(err),
      onclose: (topic, ch) => {
        for (const entry of topic.pads.values()) {
          const clients = entry.fromChannel.get(ch)
          entry.fromChannel.delete(ch)
          if (clients?.size) removeAwarenessStates(entry.awareness, [...clients], 'disconnect')
        }
      }
    })
  }

  attach (stream: any): void {
    if (!this.#closed) this.#channels.attach(stream)
  }

  /** Starts the channel of a group on every connection (idempotent). */
  serve (log: PadLog): void {
    if (this.#closed) return
    this.#channels.serve(log, () => {
      const fresh: Topic = { log, channels: new Set(), pads: new Map(), owners: new Map(), heard: new WeakSet(), pending: new Map() }
      this.#pad(fresh, GROUP).awareness.setLocalState({ online: true })
      return fresh
    })
  }

  /**
   * Members online in the group now, as hex member keys: this node's member and every
   * member with a device directly connected to this node whose presence checked out.
   */
  present (log: PadLog): string[] {
    const topic = this.#channels.get(log.group.discoveryKey)
    const out = new Set<string>([this.#opts.self()])
    const entry = topic?.pads.get(GROUP)
    if (topic && entry) {
      for (const clientId of entry.awareness.getStates().keys()) {
        const member = topic.owners.get(clientId)
        if (member && clientId !== entry.awareness.clientID) out.add(member)
      }
    }
    return [...out]
  }

  /**
   * The member (hex) behind each directly connected peer whose group presence checked out, by
   * the peer's transport key (hex): how a replication peer of the log gets a name (catch-up.ts).
   */
  membersByPeer (discoveryKey: Buffer): Map<string, string> {
    const out = new Map<string, string>()
    const topic = this.#channels.get(discoveryKey)
    const entry = topic?.pads.get(GROUP)
    if (!topic || !entry) return out
    for (const [ch, clients] of entry.fromChannel) {
      const key: Uint8Array | undefined = ch?._mux?.stream?.remotePublicKey
      const member = [...clients].map(id => topic.owners.get(id)).find(m => m !== undefined)
      if (key && member) out.set(b4a.toString(key, 'hex'), member)
    }
    return out
  }

  unserve (discoveryKey: Buffer): void {
    const topic = this.#channels.remove(discoveryKey)
    if (topic) for (const p of topic.pads.values()) destroy(p)
  }

  async set (log: PadLog, pad: string, state: Record<string, unknown> | null): Promise<PadPresence> {
    const topic = this.#channels.get(log.group.discoveryKey)!
    const entry = this.#pad(topic, pad)
    const { awareness } = entry
    if (state !== null) await log.currentEpoch() // NOT_PERMITTED for a device without the current key
    if (entry.expiry !== undefined) clearTimeout(entry.expiry)
    entry.expiry = undefined
    if (state !== null) {
      entry.expiry = setTimeout(() => {
        entry.expiry = undefined
        if (!this.#closed) awareness.setLocalState(null)
      }, this.#opts.localTtlMs ?? LOCAL_PRESENCE_TTL_MS)
      entry.expiry.unref?.()
    }
    awareness.setLocalState(state)
    return this.get(log, pad)
  }

  async get (log: PadLog, pad: string): Promise<PadPresence> {
    const topic = this.#channels.get(log.group.discoveryKey)
    const entry = topic?.pads.get(pad)
    const peers: PadPresence['peers'] = []
    if (topic && entry) {
      const self = this.#opts.self()
      for (const [clientId, state] of entry.awareness.getStates()) {
        const member = clientId === entry.awareness.clientID ? self : topic.owners.get(clientId)
        if (!member) continue
        const name = member === self ? this.#opts.identity.name : (this.#names.get(member) ?? await this.#opts.memberName(topic.log, member) ?? '?')
        this.#names.set(member, name)
        peers.push({ clientId, member: encodeKey(b4a.from(member, 'hex')) as MemberId, name, self: clientId === entry.awareness.clientID, state: state as Record<string, unknown> })
      }
    }
    return { pad: pad as PadId, peers }
  }

  close (): void {
    this.#closed = true
    for (const topic of this.#channels.close()) for (const p of topic.pads.values()) destroy(p)
  }

  #pad (topic: Topic, pad: string): PadAwareness {
    let entry = topic.pads.get(pad)
    if (entry) return entry
    const awareness = new Awareness(new Y.Doc())
    awareness.setLocalState(null) // present only once `set` says so
    entry = { awareness, fromChannel: new Map() }
    topic.pads.set(pad, entry)
    awareness.on('update', ({ added, updated, removed }: Record<string, number[]>, origin: unknown) => {
      if (origin !== 'local') return
      if (![...added, ...updated, ...removed].includes(awareness.clientID)) return
      const update = encodeAwarenessUpdate(awareness, [awareness.clientID])
      this.#broadcast(topic, pad, update).catch(this.#fail)
    })
    awareness.on('change', async () => {
      if (this.#closed || pad === GROUP) return
      this.#opts.onChange(topic.log, pad, await this.get(topic.log, pad))
    })
    return entry
  }

  async #seal (topic: Topic, pad: string, update: Uint8Array): Promise<Buffer> {
    const { identity } = this.#opts
    const epoch = await topic.log.currentEpoch()
    const sig = b4a.alloc(64)
    sodium.crypto_sign_detached(sig, signed(topic.log.group.discoveryKey, pad, update), identity.secretKey)
    const body = topic.log.keyring.seal(epoch, 'pad-presence', encode({ p: pad, u: update, d: identity.publicKey, s: sig }))
    return encode(body)
  }

  async #broadcast (topic: Topic, pad: string, update: Uint8Array) {
    if (topic.channels.size === 0) return
    this.#channels.broadcast(topic, await this.#seal(topic, pad, update))
  }

  /** A new peer gets our state in every pad we are present in. */
  async #greet (topic: Topic, ch: Channel) {
    for (const [pad, { awareness }] of topic.pads) {
      if (awareness.getLocalState() === null) continue
      ch.messages[0].send(await this.#seal(topic, pad, encodeAwarenessUpdate(awareness, [awareness.clientID])))
    }
  }

  async #onmessage (topic: Topic, ch: Channel, buf: Buffer) {
    if (buf.byteLength > MAX_MESSAGE || this.#closed) return
    const body = decode(buf)
    if (!isSealed(body, MAX_MESSAGE)) return
    const plain = topic.log.keyring.open({ e: body.e, n: b4a.from(body.n), c: b4a.from(body.c) }, 'pad-presence')
    if (!plain) return // not a member's, or sealed under an epoch we do not hold
    const msg = decode(plain) as any
    if (!msg || typeof msg.p !== 'string' || !(msg.u instanceof Uint8Array) || !(msg.d instanceof Uint8Array) || msg.d.byteLength !== 32 || !(msg.s instanceof Uint8Array) || msg.s.byteLength !== 64) return
    if (!sodium.crypto_sign_verify_detached(msg.s, signed(topic.log.group.discoveryKey, msg.p, msg.u), msg.d)) return
    const device = hex(msg.d)
    if (device === hex(this.#opts.identity.publicKey)) return
    // Only active devices of current members.
    const { member, known } = await deviceMember(topic.log.group, device)
    if (member === null) {
      // Unknown so far: maybe a member our view has not caught up with yet. Keep it for the next update.
      if (!known) this.#channels.hold(topic, ch, buf)
      return
    }
    const clients = clientIds(msg.u)
    if (clients === null || clients.some(id => (topic.owners.get(id) ?? member) !== member)) return
    for (const id of clients) topic.owners.set(id, member)
    const entry = this.#pad(topic, msg.p)
    let mine = entry.fromChannel.get(ch)
    if (!mine) entry.fromChannel.set(ch, mine = new Set())
    for (const id of clients) mine.add(id)
    applyAwarenessUpdate(entry.awareness, msg.u, 'remote')
    // Our greeting may have reached this peer before it could open it (e.g. while it was
    // still joining): the first valid message on a channel is answered with our states.
    if (!topic.heard.has(ch)) {
      topic.heard.add(ch)
      await this.#greet(topic, ch)
    }
  }
}

function destroy (entry: PadAwareness): void {
  if (entry.expiry !== undefined) clearTimeout(entry.expiry)
  entry.awareness.destroy()
}

function signed (discoveryKey: Uint8Array, pad: string, update: Uint8Array): Buffer {
  return b4a.concat([b4a.from(PROTOCOL), discoveryKey, b4a.from(pad), update])
}

/** The client ids an awareness update speaks for, or null if it does not parse. */
function clientIds (update: Uint8Array): number[] | null {
  try {
    const d = decoding.createDecoder(update)
    const n = decoding.readVarUint(d)
    if (n > 64) return null
    const out: number[] = []
    for (let i = 0; i < n; i++) {
      out.push(decoding.readVarUint(d))
      decoding.readVarUint(d)
      JSON.parse(decoding.readVarString(d))
    }
    return out
  } catch {
    return null
  }
}
