/**
 * Types of the local API that are not SolidarApi's (the node's settings, the repair offered in
 * the web app): types only, shared by the node that serves them (node/src), the web app and the
 * tests, so none of them re-declares a response.
 */

/** How this node reaches other peers. Nothing beyond 127.0.0.1 is contacted for 'none'. */
export interface NetworkChoice {
  mode: 'none' | 'bootstrap' | 'public'
  /** HOST:PORT entries of a private DHT (mode 'bootstrap'). */
  bootstrap: string[]
}

/** What `RTCPeerConnection({ iceServers })` takes; TURN servers with credentials. */
export interface IceServer { urls: string, username?: string, credential?: string }

export interface NodeSettings {
  name: string
  /** The name can change only before this device creates or joins a group (others have seen it then). */
  canRename: boolean
  network: {
    /** The network this running node uses. */
    running: NetworkChoice
    /** The remembered choice for the next start, or null if none was made. */
    saved: NetworkChoice | null
    /** LAN mode (mDNS discovery over libp2p): in this run, and remembered (null: never chosen). */
    lan: { running: boolean, saved: boolean | null }
    /** True when the remembered choice differs from the running one: restart `solidar serve`. */
    restartRequired: boolean
  }
  /** STUN/TURN servers for video meetings, with TURN credentials (the API is the user's own); apply at the next join. */
  meetings: { iceServers: IceServer[] }
}

/** Why the store needs a repair: it is damaged (it does not open), or an earlier repair waits for peers. */
export type RepairCause = 'damaged' | 'pending'

export interface RepairLogState {
  id: string
  kind: 'group' | 'dm' | 'vault'
  phase: 'waiting' | 'fetching' | 'done' | 'no-peer' | 'restored'
  /** This device's entries of the log fetched so far, and how many the peers have. */
  have: number
  length: number
}

export interface RepairState {
  cause: RepairCause
  /** What is wrong, as the store or the pending repair says it. */
  reason: string
  /**
   * offered: nothing done yet. running: fetching from the peers. incomplete: some logs had no
   * peer (run again, or finish without them). repaired/finished: the node starts.
   * failed: the last run stopped with `error`.
   */
  phase: 'offered' | 'running' | 'incomplete' | 'repaired' | 'finished' | 'failed'
  /** False when `serve` runs without any network: a repair needs peers. */
  networked: boolean
  /** The folder (in the home) the damaged store was moved to, once it was. */
  damaged: string | null
  logs: RepairLogState[]
  error: string | null
}
