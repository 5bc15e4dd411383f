/**
 * Live pad edits: a local edit goes at once to every directly connected member's node that
 * has the pad open, beside its durable `pad/update` entry (which still waits for the group
 * commit, BATCH_MS). An ephemeral protomux channel `solidar/pad-live/v1` per group on every
 * peer connection (group-channel.ts); nothing on it is written to a log or to disk. Each
 * message is
 *
 *   Sealed('pad-live', current epoch) of CBOR {p: pad, u: Yjs update, d: device key, s: sig}
 *   sig = Ed25519(device, "solidar/pad-live/v1" ‖ discoveryKey ‖ p ‖ u)
 *
 * Senders send it only on connections that proved an active device of a current member (the
 * live chat channel's hello, services/live-messages.ts). Receivers accept it only from an active
 * device of a current member who may write (not an observer), whose signature checks, and pass it to the pad service, which applies it to the
 * open document with the same content checks as an edit from a local tab. Yjs makes the rest
 * safe: the same update arriving again through the log (or replayed) changes nothing, and
 * updates in any order converge. Not relayed: a member's node that is not directly connected
 * gets the edit through the log, as before. An update larger than MAX_LIVE_UPDATE (a big
 * paste) travels only through the log.
 */
import b4a from 'b4a'
import sodium from 'sodium-universal'
import { decode, encode } from '../codec.ts'
import { isMessageId } from '../commands.ts'
import { isSealed } from '../content.ts'
import type { Identity } from '../identity.ts'
import { deviceMember, GroupChannels, type Channel } from '../group-channel.ts'
import type { PadLog } from './service.ts'

const PROTOCOL = 'solidar/pad-live/v1'
/** Updates up to this size go live; typing makes ~20–100 bytes per update. */
export const MAX_LIVE_UPDATE = 32 * 1024
const MAX_MESSAGE = MAX_LIVE_UPDATE + 1024
/** Bounds the messages kept per connection for a retry (only holders of the group key get here). */
const MAX_PENDING = 32
const hex = (b: Uint8Array) => b4a.toString(b, 'hex') as string

interface Topic {
  log: PadLog, channels: Set<Channel>
  /** Messages from devices our view does not know yet (it is still catching up), retried on the next update. */
  pending: Map<Channel, Buffer[]>
}

/** What became of a live message from a peer. */
export type LiveOutcome = 'applied' | 'not-open' | 'content' | 'too-large' | 'unreadable' | 'malformed' | 'signature' | 'not-member' | 'observer' | 'held'

export interface LiveOptions {
  identity: Identity
  /** A checked live update from `member` (hex) for `pad`: applied if the pad is open here and its content passes. */
  onUpdate: (log: PadLog, pad: string, update: Uint8Array, member: string) => Promise<'applied' | 'not-open' | 'content'>
  /** A failure of this device's side (reading the view, sealing), never a peer's bad input. */
  onError: (err: Error) => void
  /**
   * Whether the peer connection `stream` proved a device that is an active device of a current
   * member of the group (the live chat channel's hello, services/live-messages.ts): edits go only
   * to such connections, so a removed member's or revoked device's node gets none.
   */
  mayReceive: (log: PadLog, stream: unknown) => Promise<boolean>
}

export class LiveEdits {
  readonly #opts: LiveOptions
  readonly #channels: GroupChannels<Topic>
  /** How many peer messages ended how (diagnostics; the security tests check refusals by reason). */
  readonly outcomes = new Map<LiveOutcome, number>()
  /** Edits not sent to a connection because it proved no current member's device (the tests check a removed member's). */
  withheld = 0
  #closed = false
  readonly #fail: (err: Error) => void

  constructor (opts: LiveOptions) {
    this.#opts = opts
    // A log that closes (left, node closing) ends its reads with an error: nothing to report then.
    this.#fail = (err: Error) => { if (!this.#closed) opts.onError(err) }
    this.#channels = new GroupChannels<Topic>(PROTOCOL, {
      maxPending: MAX_PENDING,
      onmessage: async (topic, ch, buf) => {
        const outcome = await this.#onmessage(topic, ch, buf)
        if (outcome !== null) this.outcomes.set(outcome, (this.outcomes.get(outcome) ?? 0) + 1)
      },
      onerror: (err) => this.#fail(err)
    })
  }

  attach (stream: any): void {
    if (!this.#closed) this.#channels.attach(stream)
  }

  /** Starts the channel of a group on every connection (idempotent); retries kept messages. */
  serve (log: PadLog): void {
    if (!this.#closed) this.#channels.serve(log, () => ({ log, channels: new Set(), pending: new Map() }))
  }

  unserve (discoveryKey: Buffer): void {
    this.#channels.remove(discoveryKey)
  }

  /**
   * Sends this device's edit of `pad` to every directly connected peer of the group that proved
   * a current member's device (mayReceive), sealed under the current epoch (throws NOT_PERMITTED
   * when this device does not hold it).
   */
  async send (log: PadLog, pad: string, update: Uint8Array): Promise<void> {
    if (this.#closed || update.byteLength > MAX_LIVE_UPDATE) return
    const topic = this.#channels.get(log.group.discoveryKey)
    if (!topic || topic.channels.size === 0) return
    const bytes = sealLive(log, await log.currentEpoch(), this.#opts.identity, pad, update)
    for (const ch of [...topic.channels]) {
      if (!(await this.#opts.mayReceive(log, ch?._mux?.stream))) { this.withheld++; continue }
      if (ch.opened) ch.messages[0].send(bytes)
    }
  }

  /** Sends bytes as they are to the group's directly connected peers (tests: forged and replayed messages). */
  sendRaw (log: PadLog, bytes: Buffer): void {
    const topic = this.#channels.get(log.group.discoveryKey)
    if (topic) this.#channels.broadcast(topic, bytes)
  }

  close (): void {
    this.#closed = true
    this.#channels.close()
  }

  async #onmessage (topic: Topic, ch: Channel, buf: Buffer): Promise<LiveOutcome | null> {
    if (this.#closed) return null
    if (buf.byteLength > MAX_MESSAGE) return 'too-large'
    const body = decode(buf)
    if (!isSealed(body, MAX_MESSAGE)) return 'malformed'
    const plain = topic.log.keyring.open({ e: body.e, n: b4a.from(body.n), c: b4a.from(body.c) }, 'pad-live')
    if (!plain) return 'unreadable' // not a member's, or sealed under an epoch we do not hold
    const msg = decode(plain) as any
    if (!msg || typeof msg.p !== 'string' || !isMessageId(msg.p) || !(msg.u instanceof Uint8Array) || msg.u.byteLength > MAX_LIVE_UPDATE) return 'malformed'
    if (!(msg.d instanceof Uint8Array) || msg.d.byteLength !== 32 || !(msg.s instanceof Uint8Array) || msg.s.byteLength !== 64) return 'malformed'
    if (!sodium.crypto_sign_verify_detached(msg.s, signed(topic.log.group.discoveryKey, msg.p, msg.u), msg.d)) return 'signature'
    const device = hex(msg.d)
    if (device === hex(this.#opts.identity.publicKey)) return null // our own, come back through a peer
    // Only active devices of current members who may write.
    const { member, known, record } = await deviceMember(topic.log.group, device)
    if (member === null || record === undefined) {
      if (known) return 'not-member'
      // Unknown so far: maybe a member our view has not caught up with yet. Keep it for the next update.
      this.#channels.hold(topic, ch, buf)
      return 'held'
    }
    if (record.role === 'observer') return 'observer'
    return await this.#opts.onUpdate(topic.log, msg.p, b4a.from(msg.u), member)
  }
}

/** The bytes of one live edit (exported for the security tests, which forge and replay them). */
export function sealLive (log: Pick<PadLog, 'keyring' | 'group'>, epoch: number, identity: Pick<Identity, 'publicKey' | 'secretKey'>, pad: string, update: Uint8Array): Buffer {
  const sig = b4a.alloc(64)
  sodium.crypto_sign_detached(sig, signed(log.group.discoveryKey, pad, update), identity.secretKey)
  return encode(log.keyring.seal(epoch, 'pad-live', encode({ p: pad, u: update, d: identity.publicKey, s: sig })))
}

function signed (discoveryKey: Uint8Array, pad: string, update: Uint8Array): Buffer {
  return b4a.concat([b4a.from(PROTOCOL), discoveryKey, b4a.from(pad), update])
}
