/**
 * The Node.js runtime of one Solidar node: opens the identity, the on-disk corestore
 * and the chosen network, and hands back the node's `SolidarApi`.
 * (Being implemented; signatures are stable.)
 */
import type { SolidarApi } from '@solidar/core'

/** How this node reaches other peers. Nothing beyond 127.0.0.1 is contacted for 'none'. */
export interface NetworkChoice {
  mode: 'none' | 'bootstrap' | 'public'
  /** HOST:PORT entries of a private DHT (mode 'bootstrap'). */
  bootstrap: string[]
}

export interface RunningNode {
  api: SolidarApi
  close (): Promise<void>
}

export interface StartNodeOptions {
  home: string
  network: NetworkChoice
}

export async function startNode (_opts: StartNodeOptions): Promise<RunningNode> {
  throw new Error('not implemented yet')
}

export interface DhtBootstrap {
  host: string
  port: number
  close (): Promise<void>
}

/** Runs a small DHT bootstrap network in this process (for a union's private network, demos, tests). */
export async function runDhtBootstrap (_opts: { host: string, port: number }): Promise<DhtBootstrap> {
  throw new Error('not implemented yet')
}
