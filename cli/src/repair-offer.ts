/**
 * `serve` on a store that needs a repair: instead of exiting, it serves the web app with the
 * repair routes only (api/repair-routes.ts) at the address the node would have, says so, and
 * waits until the repair is done in the web app (then the node starts) or Ctrl+C.
 */
import type { FastifyBaseLogger } from 'fastify'
import { RepairSession, type RepairCause } from '@solidar/node/repair-session'
import type { StartNodeOptions } from '@solidar/node/runtime'
import { removeDaemonInfo, writeDaemonInfo } from '@solidar/node/home'
import { CliError } from './errors.ts'
import { note, print } from './output.ts'
import { untilSignal } from './signals.ts'

/** The repair a failed `startNode` asks for, or null if its error is of another kind. */
export function repairCause (err: unknown): { cause: RepairCause, reason: string } | null {
  const e = err as { code?: unknown, damage?: unknown, message?: unknown } | null
  if (e?.code === 'REPAIR_PENDING') return { cause: 'pending', reason: String(e.message) }
  if (e?.code === 'STORAGE_CORRUPT' && typeof e.damage === 'string') return { cause: 'damaged', reason: e.damage }
  return null
}

export interface RepairOffer extends Pick<StartNodeOptions, 'home' | 'network' | 'lan'> {
  host: string
  port: number
  token: string
  logger: FastifyBaseLogger
  cause: RepairCause
  reason: string
  timeoutMs: number
}

/** Resolves with the port it served on once the store is repaired, or null after Ctrl+C. */
export async function offerRepair (opts: RepairOffer): Promise<number | null> {
  const session = new RepairSession({ home: opts.home, network: opts.network, lan: opts.lan, cause: opts.cause, reason: opts.reason, timeoutMs: opts.timeoutMs })
  const { startServer } = await import('@solidar/node/api/server')
  const { registerRepairRoutes } = await import('@solidar/node/api/repair-routes')
  const server = await startServer({ host: opts.host, port: opts.port, token: opts.token, logger: opts.logger }, (scope) => registerRepairRoutes(scope, session))
  try {
    if (!writeDaemonInfo(opts.home, { pid: process.pid, host: opts.host, port: server.port, url: server.url })) {
      throw new CliError(`Another Solidar node started for home ${opts.home} at the same time; stopping this one`)
    }
    print(`${server.url}/#token=${opts.token}`)
    note(opts.cause === 'damaged'
      ? `The data store of ${opts.home} is damaged (${opts.reason}). Solidar changed nothing.`
      : opts.reason)
    note('Open the address above to repair it from the other members\' devices (or stop with Ctrl+C and run `solidar repair`).')
    const stop = new AbortController()
    try {
      const repaired = await Promise.race([session.done.then(() => server.port), untilSignal(stop.signal).then(() => null)])
      if (repaired !== null) note('Repaired; starting Solidar.')
      return repaired
    } finally {
      stop.abort()
    }
  } finally {
    await server.close()
    removeDaemonInfo(opts.home)
  }
}
