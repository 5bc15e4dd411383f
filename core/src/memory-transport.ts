/**
 * An in-process network for tests: transports that join the same topic get connected
 * by a pair of real secret-stream handshakes over in-memory pipes.
 */
import { EventEmitter } from 'node:events'
import NoiseSecretStream from '@hyperswarm/secret-stream'
import b4a from 'b4a'
import type { PeerConnection, Transport, TransportEvents } from './transport.ts'

export class MemoryNetwork {
  #topics = new Map<string, Set<MemoryTransport>>()
  #pairs = new Set<string>()
  #blocked = new Set<string>()

  /** `name` and `keyPair` let tests stand in for two transports of one node (MultiTransport). */
  transport (opts: { name?: string, keyPair?: { publicKey: Buffer, secretKey: Buffer } } = {}): MemoryTransport {
    return new MemoryTransport(this, opts)
  }

  /**
   * The network never connects `a` and `b` (and drops their connection if they have one), as
   * when no route or hole punch works between two peers: they reach each other only through others.
   */
  block (a: MemoryTransport, b: MemoryTransport) {
    this.#blocked.add(pairId(a, b))
    a.disconnect(b)
  }

  /** Lifts a `block`: the two connect again on every topic both have joined (a healed partition). */
  unblock (a: MemoryTransport, b: MemoryTransport) {
    this.#blocked.delete(pairId(a, b))
    for (const peers of this.#topics.values()) if (peers.has(a) && peers.has(b)) this.#connect(a, b)
  }

  join (t: MemoryTransport, topic: Buffer) {
    const hex = b4a.toString(topic, 'hex')
    let peers = this.#topics.get(hex)
    if (!peers) this.#topics.set(hex, peers = new Set())
    for (const other of peers) if (other !== t) this.#connect(t, other)
    peers.add(t)
  }

  leave (t: MemoryTransport, topic?: Buffer) {
    for (const [hex, peers] of this.#topics) if (!topic || hex === b4a.toString(topic, 'hex')) peers.delete(t)
  }

  #connect (a: MemoryTransport, b: MemoryTransport) {
    const id = pairId(a, b)
    if (this.#pairs.has(id) || this.#blocked.has(id) || a.closed || b.closed) return
    this.#pairs.add(id)
    const sa = new NoiseSecretStream(true, null, a.keyPair ? { keyPair: a.keyPair } : {})
    const sb = new NoiseSecretStream(false, null, b.keyPair ? { keyPair: b.keyPair } : {})
    sa.rawStream.pipe(sb.rawStream).pipe(sa.rawStream)
    const cleanup = () => this.#pairs.delete(id)
    sa.on('close', cleanup)
    sa.on('error', () => {}); sb.on('error', () => {})
    a.add(sa, b); b.add(sb, a)
  }
}

const pairId = (a: MemoryTransport, b: MemoryTransport) => a.id < b.id ? `${a.id}-${b.id}` : `${b.id}-${a.id}`

let nextId = 0

export class MemoryTransport extends EventEmitter<TransportEvents> implements Transport {
  readonly name: string
  readonly keyPair: { publicKey: Buffer, secretKey: Buffer } | null
  readonly id = nextId++
  closed = false
  #network: MemoryNetwork
  #streams = new Set<any>()
  /** The transport at the other end of each stream. */
  #remotes = new Map<any, MemoryTransport>()

  constructor (network: MemoryNetwork, opts: { name?: string, keyPair?: { publicKey: Buffer, secretKey: Buffer } } = {}) {
    super()
    this.#network = network
    this.name = opts.name ?? 'memory'
    this.keyPair = opts.keyPair ?? null
  }

  add (stream: any, remote: MemoryTransport) {
    this.#streams.add(stream)
    this.#remotes.set(stream, remote)
    stream.on('close', () => { this.#streams.delete(stream); this.#remotes.delete(stream) })
    stream.opened.then((ok: boolean) => {
      if (!ok || this.closed) return
      const conn: PeerConnection = { stream, remotePublicKey: stream.remotePublicKey, transport: this.name }
      this.emit('connection', conn)
    })
  }

  async join (topic: Buffer) { this.#network.join(this, topic) }
  async leave (topic: Buffer) { this.#network.leave(this, topic) }
  async flush () {}
  get connectionCount () { return this.#streams.size }

  /** Drops the connection to `remote`, if any. */
  disconnect (remote: MemoryTransport) { for (const [s, r] of this.#remotes) if (r === remote) s.destroy() }

  /** Drops every connection (simulates going offline); the transport stays usable. */
  disconnectAll () { for (const s of this.#streams) s.destroy() }

  async close () {
    this.closed = true
    this.#network.leave(this)
    for (const s of this.#streams) s.destroy()
  }
}
