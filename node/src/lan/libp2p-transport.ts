/**
 * The Transport over libp2p (TCP, Noise, Yamux; mDNS for discovery on a LAN, or peers
 * dialled by address). Per remote libp2p peer there is at most one Solidar session, a
 * libp2p stream on protocol /solidar/lan/1.0.0 that starts with private matching
 * (@solidar/core lan-matching: only peers that prove a shared topic go further) and then
 * carries a @hyperswarm/secret-stream handshake with this node's transport key, so what
 * Solidar gets is the same kind of connection hyperswarm hands out (corestore replication
 * and protomux channels run on it unchanged). See docs/PROTOCOL.md, "LAN".
 *
 * Who opens a session: on a new libp2p connection the peer with the smaller peer id; after
 * `join` of a new topic, either side towards peers it has no session with. If both open one
 * at once, the session opened by the smaller peer id is kept.
 */
import './promise-polyfill.ts'
import { EventEmitter } from 'node:events'
import { createLibp2p, type Libp2p } from 'libp2p'
import { tcp } from '@libp2p/tcp'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify } from '@libp2p/identify'
import { mdns } from '@libp2p/mdns'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import type { Connection, PeerId, Stream } from '@libp2p/interface'
import NoiseSecretStream from '@hyperswarm/secret-stream'
import b4a from 'b4a'
import { FrameReader, MatchError, runMatch, type MatchChannel, type MatchRole, type PeerConnection, type Transport, type TransportEvents, type TransportInfo } from '@solidar/core'
import { formatLanAddress, type LanAddress } from './addresses.ts'

export const LAN_PROTOCOL = '/solidar/lan/1.0.0'
/** mDNS service name: only Solidar nodes answer each other's queries. */
export const MDNS_SERVICE = '_solidar._udp.local'
/** Matching is a few small frames; a peer that needs longer is gone or hostile. */
const MATCH_TIMEOUT_MS = 10_000
/** mDNS query interval: a laptop that joins the meeting is found within this. */
const MDNS_INTERVAL_MS = 2_000
/** Secret-stream keep-alive and idle timeout: a silently dropped link is noticed in ~8 s. */
const KEEP_ALIVE_MS = 2_000
const SESSION_TIMEOUT_MS = 8_000
/** After a session closes while libp2p stays connected, open a new one after this. */
const RESESSION_DELAY_MS = 1_000
/**
 * Every so often, peers libp2p is connected to but we have no session with get one (both
 * sides try; the collision rule keeps one). Heals what events miss: a link that came back
 * after a partition, a dead connection libp2p still counts (the attempt fails and hangs up).
 * Peers that matched nothing are retried only after our topics change.
 */
const SWEEP_MS = 3_000
/**
 * Peers found by mDNS are redialled by the sweep while not connected (libp2p announces a
 * peer it already has in its peer store only once, so after a partition no new discovery
 * event comes): first after SWEEP_MS, doubling to DIAL_BACKOFF_MAX_MS while dials fail.
 */
/** Dial backoff for --peer addresses: 0.5 s doubling to 30 s; reset on success. */
const DIAL_BACKOFF_MIN_MS = 500
const DIAL_BACKOFF_MAX_MS = 30_000
const DIAL_TIMEOUT_MS = 10_000

export interface Libp2pTransportOptions {
  /** This node's transport key pair (the same one hyperswarm uses), for the secret stream. */
  keyPair: { publicKey: Buffer, secretKey: Buffer }
  /** TCP addresses to listen on; default none, or 0.0.0.0:0 when mDNS is on. */
  listen?: LanAddress[]
  /** Peers to dial directly and keep dialling (with backoff) while not connected. */
  peers?: LanAddress[]
  /** Discover peers by mDNS (multicast on the local network). */
  mdns?: boolean
  /** Problems worth a log line (bad peers, failed dials); never thrown. */
  onWarning?: (message: string, err?: unknown) => void
}

interface Session { peer: string, initiator: string, secret: any, stream: Stream }

export class Libp2pTransport extends EventEmitter<TransportEvents> implements Transport {
  readonly name = 'libp2p'
  readonly node: Libp2p
  #opts: Libp2pTransportOptions
  #self: string
  #topics = new Map<string, Buffer>()
  #sessions = new Map<string, Session>()
  #attempts = new Set<string>()
  #timers = new Set<NodeJS.Timeout>()
  #connectionWaiters = new Map<string, () => void>()
  #closed = false
  /** Matching exchanges completed (with or without a shared topic), for status. */
  #matchings = 0
  /** Bumped on join: peers that shared nothing with an older topic set are worth another try. */
  #topicsVersion = 0
  #unmatched = new Map<string, number>()
  /** Peers met by mDNS, redialled after they drop (see the sweep); bounded by the LAN's size. */
  #lanPeers = new Map<string, { id: PeerId, delay: number, next: number }>()

  private constructor (node: Libp2p, opts: Libp2pTransportOptions) {
    super()
    this.node = node
    this.#opts = opts
    this.#self = node.peerId.toString()
  }

  static async create (opts: Libp2pTransportOptions): Promise<Libp2pTransport> {
    const listen = opts.listen !== undefined && opts.listen.length > 0
      ? opts.listen
      : (opts.mdns === true ? [{ host: '0.0.0.0', port: 0, multiaddr: '/ip4/0.0.0.0/tcp/0' }] : [])
    const node = await createLibp2p({
      addresses: {
        listen: listen.map(a => a.multiaddr),
        // Loopback addresses mean nothing to another machine: mDNS never announces them.
        ...(opts.mdns === true ? { announceFilter: (addrs: Multiaddr[]) => addrs.filter(a => !/^\/ip[46]\/(127\.|::1\/)/.test(a.toString())) } : {})
      },
      transports: [tcp()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      peerDiscovery: opts.mdns === true ? [mdns({ interval: MDNS_INTERVAL_MS, serviceTag: MDNS_SERVICE })] : [],
      services: { identify: identify() },
      start: false
    })
    const t = new Libp2pTransport(node as unknown as Libp2p, opts)
    try {
      await t.#start()
    } catch (err) {
      await Promise.resolve(t.node.stop()).catch(() => { /* the start failed: its error is the one thrown below */ })
      throw err
    }
    return t
  }

  async #start () {
    const node = this.node
    await node.handle(LAN_PROTOCOL, (stream, connection) => { void this.#inbound(stream, connection) }, { maxInboundStreams: 4 })
    node.addEventListener('peer:connect', (evt) => {
      const peer = evt.detail.toString()
      if (this.#self < peer) this.#trySession(evt.detail)
    })
    node.addEventListener('peer:discovery', (evt) => {
      const id = evt.detail.id
      if (this.#opts.mdns === true && !this.#lanPeers.has(id.toString())) this.#lanPeers.set(id.toString(), { id, delay: SWEEP_MS, next: 0 })
      if (this.#closed || node.getConnections(id).length > 0) return
      node.dial(id, { signal: AbortSignal.timeout(DIAL_TIMEOUT_MS) }).catch((err) => this.#warn(`could not dial a peer found by mDNS (${id.toString()})`, err))
    })
    node.addEventListener('connection:close', (evt) => {
      const done = this.#connectionWaiters.get(evt.detail.id)
      if (done) done()
    })
    await node.start()
    const sweep = setInterval(() => {
      for (const peerId of node.getPeers()) {
        const peer = peerId.toString()
        if (this.#unmatched.get(peer) !== this.#topicsVersion) this.#trySession(peerId)
      }
      this.#redialLanPeers()
    }, SWEEP_MS)
    sweep.unref()
    this.#timers.add(sweep as unknown as NodeJS.Timeout)
    for (const addr of this.#opts.peers ?? []) void this.#dialLoop(addr)
  }

  /** Dials the mDNS peers we are not connected to (a link back after a partition), with backoff. */
  #redialLanPeers () {
    const now = Date.now()
    for (const entry of this.#lanPeers.values()) {
      if (this.#closed || now < entry.next || this.node.getConnections(entry.id).length > 0) continue
      entry.next = now + entry.delay
      this.node.dial(entry.id, { signal: AbortSignal.timeout(DIAL_TIMEOUT_MS) }).then(() => {
        entry.delay = SWEEP_MS
        entry.next = 0
      }, () => {
        entry.delay = Math.min(entry.delay * 2, DIAL_BACKOFF_MAX_MS)
      })
    }
  }

  #warn (message: string, err?: unknown) {
    if (!this.#closed) this.#opts.onWarning?.(message, err)
  }

  /** Keeps a connection to a --peer address: dial, wait until it closes, dial again (backoff on failure). */
  async #dialLoop (addr: LanAddress) {
    const ma = multiaddr(addr.multiaddr)
    let delay = DIAL_BACKOFF_MIN_MS
    while (!this.#closed) {
      let conn: Connection | null = null
      try {
        conn = await this.node.dial(ma, { signal: AbortSignal.timeout(DIAL_TIMEOUT_MS) })
      } catch (err) {
        this.#warn(`could not reach peer ${formatLanAddress(addr)}; retrying in ${Math.round(delay / 1000 * 10) / 10} s`, err)
        await this.#sleep(delay)
        delay = Math.min(delay * 2, DIAL_BACKOFF_MAX_MS)
        continue
      }
      delay = DIAL_BACKOFF_MIN_MS
      if (conn.status === 'open') {
        await new Promise<void>((resolve) => {
          this.#connectionWaiters.set(conn.id, resolve)
          if (this.#closed || conn.status !== 'open') resolve()
        })
        this.#connectionWaiters.delete(conn.id)
      }
      await this.#sleep(DIAL_BACKOFF_MIN_MS)
    }
  }

  #sleep (ms: number): Promise<void> {
    return new Promise((resolve) => {
      if (this.#closed) return resolve()
      const timer = setTimeout(() => { this.#timers.delete(timer); resolve() }, ms)
      this.#timers.add(timer)
    })
  }

  #later (ms: number, fn: () => void) {
    if (this.#closed) return
    const timer = setTimeout(() => { this.#timers.delete(timer); if (!this.#closed) fn() }, ms)
    this.#timers.add(timer)
  }

  #topicList (): Buffer[] { return [...this.#topics.values()] }

  /** Opens a session to `peerId` unless one exists or is being opened. */
  #trySession (peerId: PeerId) {
    const peer = peerId.toString()
    if (this.#closed || this.#sessions.has(peer) || this.#attempts.has(peer) || this.#topics.size === 0) return
    this.#attempts.add(peer)
    void (async () => {
      let stream: Stream | null = null
      try {
        stream = await this.node.dialProtocol(peerId, LAN_PROTOCOL, { signal: AbortSignal.timeout(MATCH_TIMEOUT_MS) })
        const version = this.#topicsVersion
        const { shared, rest } = await this.#match(stream, 'initiator')
        if (shared === 0) { this.#unmatched.set(peer, version); await stream.close().catch(() => { /* closing: the other resources must still close, and a failed close has no caller left to tell */ }); return }
        this.#unmatched.delete(peer)
        this.#establish(peer, this.#self, stream, true, rest)
      } catch (err) {
        stream?.abort(err instanceof Error ? err : new Error(String(err)))
        if (err instanceof MatchError) this.#warn(`peer ${peer} sent a malformed matching message: ${err.message}`)
        else if ((err as Error)?.name === 'UnsupportedProtocolError') this.#unmatched.set(peer, this.#topicsVersion) // not a Solidar node
        else if (this.node.getConnections(peerId).length > 0) {
          // A stream we cannot open or finish on a connection libp2p thinks is open: the link is dead.
          this.#warn(`no session with peer ${peer}; closing its connections`, err)
          await this.node.hangUp(peerId).catch(() => { /* already gone: that is what we wanted */ })
        }
      } finally {
        this.#attempts.delete(peer)
      }
    })()
  }

  async #inbound (stream: Stream, connection: Connection) {
    const peer = connection.remotePeer.toString()
    try {
      const { shared, rest } = await this.#match(stream, 'responder')
      if (shared === 0) { await stream.close().catch(() => { /* closing: the other resources must still close, and a failed close has no caller left to tell */ }); return }
      this.#establish(peer, peer, stream, false, rest)
    } catch (err) {
      stream.abort(err instanceof Error ? err : new Error(String(err)))
      if (err instanceof MatchError) this.#warn(`peer ${peer} sent a malformed matching message: ${err.message}`)
    }
  }

  /** Runs private matching on a fresh stream; returns how many topics are shared and the bytes read past it. */
  async #match (stream: Stream, role: MatchRole): Promise<{ shared: number, rest: Buffer }> {
    const reader = new FrameReader()
    const frames: Buffer[] = []
    let waiting: { resolve: (f: Buffer) => void, reject: (e: Error) => void } | null = null
    let failure: Error | null = null
    const fail = (err: Error) => {
      failure ??= err
      if (waiting) { waiting.reject(failure); waiting = null }
    }
    // Matching is two frames from the peer; bytes after them belong to the secret stream.
    let taken = 0
    const onMessage = (evt: any) => {
      try {
        reader.append(evt.data.subarray())
        let f: Buffer | null
        while (taken < 2 && (f = reader.next()) !== null) {
          taken++
          if (waiting) { waiting.resolve(f); waiting = null } else frames.push(f)
        }
      } catch (err) { fail(err as Error) }
    }
    const onClose = () => fail(new Error('stream closed during matching'))
    stream.addEventListener('message', onMessage)
    stream.addEventListener('close', onClose)
    stream.addEventListener('remoteCloseWrite', onClose)
    const timer = setTimeout(() => fail(new Error('matching timed out')), MATCH_TIMEOUT_MS)
    const channel: MatchChannel = {
      write: (frame) => { stream.send(frame) },
      read: () => new Promise<Buffer>((resolve, reject) => {
        if (failure) return reject(failure)
        const next = frames.shift()
        if (next) return resolve(next)
        waiting = { resolve, reject }
      })
    }
    try {
      const shared = await runMatch(channel, role, this.#topicList())
      this.#matchings++
      // Anything after the peer's proofs (already buffered) is the start of the secret stream.
      return { shared: shared.length, rest: reader.rest() }
    } finally {
      clearTimeout(timer)
      stream.removeEventListener('message', onMessage)
      stream.removeEventListener('close', onClose)
      stream.removeEventListener('remoteCloseWrite', onClose)
    }
  }

  /** Runs the secret stream over a matched libp2p stream and hands it out once open. */
  #establish (peer: string, initiator: string, stream: Stream, isInitiator: boolean, rest: Buffer) {
    const existing = this.#sessions.get(peer)
    if (existing) {
      // Both sides opened one at once: keep the session the smaller peer id opened.
      if (existing.initiator <= initiator) { void stream.close().catch(() => { /* closing: the other resources must still close, and a failed close has no caller left to tell */ }); return }
      existing.secret.destroy()
    }
    const secret = new NoiseSecretStream(isInitiator, null, { keyPair: this.#opts.keyPair, keepAlive: KEEP_ALIVE_MS })
    secret.setTimeout(SESSION_TIMEOUT_MS)
    const session: Session = { peer, initiator, secret, stream }
    this.#sessions.set(peer, session)
    pipeSecretStream(secret, stream, rest)
    secret.on('error', () => {})
    secret.on('close', () => {
      if (this.#sessions.get(peer) === session) this.#sessions.delete(peer)
      if (stream.status === 'open') stream.abort(new Error('session closed'))
      // Still connected (the session was replaced, or our side dropped it): open another for failover.
      this.#later(RESESSION_DELAY_MS, () => {
        const conns = this.node.getConnections().filter(c => c.remotePeer.toString() === peer)
        if (conns.length > 0 && this.#self < peer) this.#trySession(conns[0].remotePeer)
      })
    })
    secret.opened.then((ok: boolean) => {
      if (!ok || this.#closed || this.#sessions.get(peer) !== session) return
      const conn: PeerConnection = { stream: secret, remotePublicKey: secret.remotePublicKey, transport: this.name }
      this.emit('connection', conn)
    }, () => {})
  }

  async join (topic: Buffer): Promise<void> {
    const key = b4a.toString(topic, 'hex')
    if (this.#topics.has(key)) return
    this.#topics.set(key, b4a.from(topic))
    this.#topicsVersion++
    // A new topic may match peers we met before without anything in common.
    for (const peerId of this.node.getPeers()) this.#trySession(peerId)
  }

  async leave (topic: Buffer): Promise<void> {
    this.#topics.delete(b4a.toString(topic, 'hex'))
  }

  async flush (): Promise<void> {}

  get connectionCount (): number { return this.#sessions.size }

  info (): TransportInfo[] {
    return [{
      name: this.name,
      connections: this.#sessions.size,
      listening: this.node.getMultiaddrs().map(String),
      lanPeers: this.node.getPeers().length,
      matchings: this.#matchings,
      discovery: [
        ...(this.#opts.mdns === true ? ['mdns'] : []),
        ...(this.#opts.peers ?? []).map(p => `peer ${formatLanAddress(p)}`)
      ]
    }]
  }

  async close (): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    for (const timer of this.#timers) { clearTimeout(timer); clearInterval(timer) }
    this.#timers.clear()
    for (const done of this.#connectionWaiters.values()) done()
    for (const s of this.#sessions.values()) s.secret.destroy()
    this.#sessions.clear()
    await this.node.stop()
  }
}

/**
 * Connects a secret stream's raw side to a libp2p stream, with backpressure both ways:
 * libp2p `send` returning false waits for `drain`; a full secret stream pauses libp2p.
 */
function pipeSecretStream (secret: any, stream: Stream, rest: Buffer) {
  const raw = secret.rawStream
  raw.on('data', (chunk: Buffer) => {
    if (stream.status !== 'open') return
    if (!stream.send(chunk)) {
      raw.pause()
      stream.onDrain().then(() => raw.resume(), () => {})
    }
  })
  raw.on('end', () => { void stream.close().catch(() => { /* closing: the other resources must still close, and a failed close has no caller left to tell */ }) })
  raw.on('close', () => { if (stream.status === 'open') stream.abort(new Error('secret stream closed')) })
  if (rest.byteLength > 0) raw.write(rest)
  stream.addEventListener('message', (evt: any) => {
    if (raw.destroyed) return
    if (!raw.write(evt.data.subarray())) {
      stream.pause()
      raw.once('drain', () => stream.resume())
    }
  })
  stream.addEventListener('remoteCloseWrite', () => { if (!raw.destroyed) raw.end() })
  stream.addEventListener('close', () => { if (!raw.destroyed) raw.destroy() })
}
