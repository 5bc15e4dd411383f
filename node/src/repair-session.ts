/**
 * A repair offered in the web app: when `serve` finds the data store damaged (or a repair not
 * finished), it serves the repair routes instead of the node (api/repair-routes.ts), and this
 * session runs `repairStore` (repair.ts) when the user asks for it, with the network `serve`
 * was started with, keeping what the page shows: why, what a repair does and may lose, and
 * each log's progress. `done` resolves once the store is whole again, and `serve` then starts
 * the node.
 */
import { errors, SolidarError } from '@solidar/core/errors'
import { lanEnabled, type StartNodeOptions } from './runtime.ts'
import { repairStore, type RepairReport } from './repair.ts'

export type { RepairCause, RepairLogState, RepairState } from '@solidar/core/local-api-types'
import type { RepairCause, RepairState } from '@solidar/core/local-api-types'

export interface RepairSessionOptions extends Pick<StartNodeOptions, 'home' | 'network' | 'lan'> {
  cause: RepairCause
  reason: string
  /** How long each run waits for peers of each log. */
  timeoutMs: number
}

export class RepairSession {
  readonly #opts: RepairSessionOptions
  #state: RepairState
  #resolve!: () => void
  /** Resolves when the store is repaired (or the rest given up): the node may start. */
  readonly done: Promise<void>

  constructor (opts: RepairSessionOptions) {
    this.#opts = opts
    this.#state = {
      cause: opts.cause,
      reason: opts.reason,
      phase: 'offered',
      networked: opts.network.mode !== 'none' || lanEnabled(opts.lan),
      damaged: null,
      logs: [],
      error: null
    }
    this.done = new Promise((resolve) => { this.#resolve = resolve })
  }

  state (): RepairState {
    return structuredClone(this.#state)
  }

  /**
   * Starts a run in the background and returns the state at once. `finish`: give up on the logs
   * an earlier run found no peer for (only after such a run).
   */
  start (finish = false): RepairState {
    const s = this.#state
    if (s.phase === 'running') throw errors.busy('The repair is already running')
    if (s.phase === 'repaired' || s.phase === 'finished') throw errors.badRequest('The store is repaired; Solidar is starting')
    if (finish && s.phase !== 'incomplete' && s.cause !== 'pending') throw errors.badRequest('Nothing to finish: run the repair first')
    if (!finish && !s.networked) throw new SolidarError('NO_NETWORK', 'A repair fetches this device\'s entries from the other members: start Solidar with a network (--bootstrap, --public-dht or --lan)')
    s.phase = 'running'
    s.error = null
    void this.#run(finish)
    return this.state()
  }

  async #run (finish: boolean): Promise<void> {
    const s = this.#state
    try {
      const report = await repairStore({
        home: this.#opts.home,
        network: this.#opts.network,
        lan: this.#opts.lan,
        timeoutMs: this.#opts.timeoutMs,
        finish,
        onProgress: (p) => {
          const entry = { id: p.id, kind: p.kind, phase: p.phase, have: p.have, length: p.length }
          const at = s.logs.findIndex(l => l.id === p.id)
          if (at === -1) s.logs.push(entry)
          else s.logs[at] = entry
        }
      })
      this.#finish(report)
    } catch (err) {
      s.phase = 'failed'
      s.error = (err as Error).message
    }
  }

  #finish (report: RepairReport): void {
    const s = this.#state
    s.damaged = report.damaged ?? s.damaged
    if (report.logs.length > 0) {
      s.logs = report.logs.map(l => ({
        id: l.id, kind: l.kind, phase: l.state, have: l.entries, length: l.entries
      }))
    }
    // 'healthy': another process repaired it meanwhile, or it reads back whole now: start.
    s.phase = report.status === 'healthy' ? 'repaired' : report.status
    if (s.phase === 'repaired' || s.phase === 'finished') this.#resolve()
  }
}
