/**
 * Several transports as one (hyperswarm and libp2p at once). Replication runs over one
 * connection per remote peer: connections are keyed by the peer's transport key (one key
 * pair per node, shared by all its transports), and of two connections to the same peer
 * the one on the transport listed first wins, on both sides alike. A losing connection
 * stays open as a standby with nothing attached; when the winner closes, the best
 * standby is handed out as a new connection (failover). A winner that arrives while a
 * worse connection is in use replaces it: the worse one is closed (its transport may
 * reconnect; the new connection then becomes a standby).
 */
import { EventEmitter } from 'node:events'
import b4a from 'b4a'
import type { PeerConnection, Transport, TransportEvents, TransportInfo } from './transport.ts'

interface PeerSlot { active: PeerConnection | null, standby: PeerConnection[] }

export class MultiTransport extends EventEmitter<TransportEvents> implements Transport {
  readonly name = 'multi'
  /** In order of preference. */
  readonly transports: readonly Transport[]
  #peers = new Map<string, PeerSlot>()
  #closed = false

  constructor (transports: Transport[]) {
    super()
    if (transports.length === 0) throw new Error('MultiTransport needs at least one transport')
    this.transports = transports
    transports.forEach((t, rank) => t.on('connection', (conn) => this.#add(conn, rank)))
  }

  #rank (conn: PeerConnection): number {
    const i = this.transports.findIndex(t => t.name === conn.transport)
    return i === -1 ? this.transports.length : i
  }

  #add (conn: PeerConnection, _rank: number) {
    if (this.#closed) { conn.stream.destroy(); return }
    const key = b4a.toString(conn.remotePublicKey, 'hex')
    let slot = this.#peers.get(key)
    if (!slot) this.#peers.set(key, slot = { active: null, standby: [] })
    if (conn.stream.destroyed) return
    conn.stream.once('close', () => this.#remove(key, conn))
    const active = slot.active
    if (active === null) {
      slot.active = conn
      this.emit('connection', conn)
    } else if (this.#rank(conn) < this.#rank(active)) {
      slot.active = conn
      this.emit('connection', conn)
      active.stream.destroy() // replication moves to the better connection
    } else {
      slot.standby.push(conn)
    }
  }

  #remove (key: string, conn: PeerConnection) {
    const slot = this.#peers.get(key)
    if (!slot) return
    slot.standby = slot.standby.filter(c => c !== conn)
    if (slot.active === conn) {
      slot.active = null
      const next = slot.standby
        .filter(c => !c.stream.destroyed)
        .sort((a, b) => this.#rank(a) - this.#rank(b))[0]
      if (next && !this.#closed) {
        slot.standby = slot.standby.filter(c => c !== next)
        slot.active = next
        this.emit('connection', next)
      }
    }
    if (slot.active === null && slot.standby.length === 0) this.#peers.delete(key)
  }

  /** The transport carrying replication with this peer right now, or null. */
  carrier (remotePublicKey: Uint8Array): string | null {
    return this.#peers.get(b4a.toString(remotePublicKey, 'hex'))?.active?.transport ?? null
  }

  async join (topic: Buffer, opts?: { server?: boolean, client?: boolean }): Promise<void> {
    await Promise.all(this.transports.map(t => t.join(topic, opts)))
  }

  async leave (topic: Buffer): Promise<void> {
    await Promise.all(this.transports.map(t => t.leave(topic)))
  }

  async flush (): Promise<void> {
    await Promise.all(this.transports.map(t => t.flush()))
  }

  /** Peers with a connection in use (standbys not counted). */
  get connectionCount (): number {
    let n = 0
    for (const slot of this.#peers.values()) if (slot.active) n++
    return n
  }

  info (): TransportInfo[] {
    return this.transports.flatMap(t => t.info?.() ?? [{ name: t.name, connections: t.connectionCount }]).map(i => {
      let active = 0
      let standby = 0
      for (const slot of this.#peers.values()) {
        if (slot.active?.transport === i.name) active++
        standby += slot.standby.filter(c => c.transport === i.name).length
      }
      return { ...i, active, standby }
    })
  }

  async close (): Promise<void> {
    this.#closed = true
    await Promise.all(this.transports.map(t => t.close().catch(() => { /* closing: the other resources must still close, and a failed close has no caller left to tell */ })))
    this.#peers.clear()
  }
}
