/**
 * Invite pairing over any transport connection. A protomux channel
 * `solidar/pairing/v2` with the group's discovery key as id carries two messages:
 * [0] a candidate's blind-pairing request, [1] a member's (encrypted) reply, wrapped in an
 * envelope signed by the device that made the invite (pairing-reply.ts).
 * The crypto is blind-pairing-core's: the request is readable only with the invite's
 * key pair, the reply (group key or refusal) only by the candidate, so the group key
 * never crosses the wire in a form an eavesdropper or a non-member could read. Since
 * every member can read the invite's public key in the log, the signature (not the
 * encryption) is what tells the candidate the reply comes from the issuer.
 */
import Protomux from 'protomux'
import c from 'compact-encoding'
import b4a from 'b4a'
import { MemberRequest } from 'blind-pairing-core'

const PROTOCOL = 'solidar/pairing/v2'

/** Member side: answers a request with reply bytes, or null to stay silent. */
export type RequestHandler = (request: any) => Promise<Buffer | null>
/** Candidate side: receives reply bytes from some member. */
export type ReplyHandler = (reply: Buffer) => void

interface Topic { discoveryKey: Buffer, serve: RequestHandler | null, candidate: { request: Buffer, onreply: ReplyHandler } | null, channels: Set<any> }

export class Pairing {
  #topics = new Map<string, Topic>()
  #muxes = new Set<any>()

  /** Call for every new peer connection. */
  attach (stream: any): void {
    const mux = stream.userData ?? Protomux.from(stream)
    stream.userData = mux
    this.#muxes.add(mux)
    stream.once('close', () => this.#muxes.delete(mux))
    for (const topic of this.#topics.values()) this.#open(mux, topic)
  }

  serve (discoveryKey: Buffer, handler: RequestHandler): void {
    const topic = this.#topic(discoveryKey)
    topic.serve = handler
  }

  unserve (discoveryKey: Buffer): void {
    const topic = this.#topics.get(b4a.toString(discoveryKey, 'hex'))
    if (!topic) return
    topic.serve = null
    this.#gc(topic)
  }

  /** Sends `request` to every peer on this topic, now and as they connect, until cancelled. */
  request (discoveryKey: Buffer, request: Buffer, onreply: ReplyHandler): () => void {
    const topic = this.#topic(discoveryKey)
    topic.candidate = { request, onreply }
    for (const ch of topic.channels) if (ch.opened) ch.messages[0].send(request)
    return () => {
      if (topic.candidate?.request === request) topic.candidate = null
      this.#gc(topic)
    }
  }

  #topic (discoveryKey: Buffer): Topic {
    const hex = b4a.toString(discoveryKey, 'hex')
    let topic = this.#topics.get(hex)
    if (!topic) {
      topic = { discoveryKey, serve: null, candidate: null, channels: new Set() }
      this.#topics.set(hex, topic)
      for (const mux of this.#muxes) this.#open(mux, topic)
    }
    return topic
  }

  #gc (topic: Topic) {
    if (topic.serve || topic.candidate) return
    this.#topics.delete(b4a.toString(topic.discoveryKey, 'hex'))
    for (const ch of topic.channels) ch.close()
    for (const mux of this.#muxes) mux.unpair({ protocol: PROTOCOL, id: topic.discoveryKey })
  }

  #open (mux: any, topic: Topic) {
    // When the peer closes its side and opens again later (a second join attempt), protomux
    // calls this pairing hook: answer with a fresh channel of our own.
    mux.pair({ protocol: PROTOCOL, id: topic.discoveryKey }, () => {
      if (this.#topics.get(b4a.toString(topic.discoveryKey, 'hex')) === topic) this.#open(mux, topic)
    })
    const ch: any = mux.createChannel({
      protocol: PROTOCOL,
      id: topic.discoveryKey,
      messages: [
        { encoding: c.buffer, onmessage: (buf: Buffer) => this.#onrequest(ch, topic, buf) },
        { encoding: c.buffer, onmessage: (buf: Buffer) => topic.candidate?.onreply(buf) }
      ],
      onopen: () => { if (topic.candidate) ch.messages[0].send(topic.candidate.request) },
      onclose: () => topic.channels.delete(ch)
    })
    if (ch === null) return // already open on this mux
    topic.channels.add(ch)
    ch.open()
  }

  async #onrequest (ch: any, topic: Topic, buf: Buffer) {
    if (!topic.serve) return
    let request: any
    try {
      request = MemberRequest.from(buf)
    } catch {
      return // malformed request from a peer: ignore, keep the connection
    }
    request.discoveryKey = topic.discoveryKey
    try {
      const reply = await topic.serve(request)
      if (reply && !ch.closed) ch.messages[1].send(reply)
    } catch {
      // the handler reports its own errors; a failed request must not break the channel
    }
  }
}
