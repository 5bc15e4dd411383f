/**
 * Whether the bootstrap nodes of a private DHT answer. A wrong `--bootstrap` address (or a
 * `solidar dht` that is not running) otherwise looks like "hyperswarm up, 0 peers" for ever.
 * The probe pings each bootstrap node through the node's own DHT socket: every 5 s while one
 * does not answer, every 30 s once all do; `health` says how many answer and which do not
 * (status, the web app's Network page and the `serve` terminal show it). Never used for the
 * public DHT: its nodes are HyperDHT's, not the user's to check.
 */
import { lookup } from 'node:dns/promises'
import { setTimeout as delay } from 'node:timers/promises'
import type { BootstrapHealth } from '@solidar/core'
import type { HostPort } from './hyperswarm-transport.ts'

export interface ProbeOptions {
  /** Between rounds while a node does not answer. */
  retryMs?: number
  /** Between rounds once all answer. */
  intervalMs?: number
}

export class BootstrapProbe {
  readonly #dht: any
  readonly #nodes: HostPort[]
  readonly #opts: Required<ProbeOptions>
  readonly #stop = new AbortController()
  #health: BootstrapHealth
  #running: Promise<void>

  constructor (dht: any, nodes: HostPort[], opts: ProbeOptions = {}) {
    this.#dht = dht
    this.#nodes = nodes
    this.#opts = { retryMs: opts.retryMs ?? 5_000, intervalMs: opts.intervalMs ?? 30_000 }
    this.#health = { nodes: nodes.length, answering: 0, checked: false, silent: [] }
    this.#running = this.#loop()
  }

  get health (): BootstrapHealth { return this.#health }

  async #loop (): Promise<void> {
    const signal = this.#stop.signal
    // The DHT binds its socket while it bootstraps (which also tries these nodes).
    await this.#dht.fullyBootstrapped().catch(() => { /* destroyed while starting: the loop ends below */ })
    while (!signal.aborted && !this.#dht.destroyed) {
      const silent: string[] = []
      for (const node of this.#nodes) {
        if (!await this.#answers(node)) silent.push(`${node.host}:${node.port}`)
        if (signal.aborted) return
      }
      this.#health = { nodes: this.#nodes.length, answering: this.#nodes.length - silent.length, checked: true, silent }
      // Unref'd: the probe never keeps a process alive; an abort (close) ends the wait and the loop.
      await delay(silent.length > 0 ? this.#opts.retryMs : this.#opts.intervalMs, undefined, { signal, ref: false }).catch(() => { /* aborted by close: the loop condition ends it */ })
    }
  }

  async #answers (node: HostPort): Promise<boolean> {
    try {
      const host = /^[\d.]+$/.test(node.host) || node.host.includes(':') ? node.host : (await lookup(node.host, { family: 4 })).address
      await this.#dht.ping({ host, port: node.port })
      return true
    } catch {
      // No answer, a name that does not resolve, or the DHT closing: all "does not answer".
      return false
    }
  }

  /** Stops probing; `done` settles once a ping in flight is over (destroying the DHT ends it). */
  close (): void { this.#stop.abort() }

  get done (): Promise<void> { return this.#running }
}
