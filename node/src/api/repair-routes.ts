/**
 * The API while the data store waits for a repair (`serve` could not open it: damaged, or an
 * earlier repair is not finished). Registered inside the same token scope as the node's API
 * (server.ts `startServer`); nothing else of the node exists then.
 * - GET  /api/repair                      → RepairState (node/src/repair-session.ts)
 * - POST /api/repair { finish?: boolean } → 202 RepairState; starts a run (finish: give up on
 *   the logs no peer had), 503 BUSY while one runs, 503 NO_NETWORK without a network
 * - GET  /api/whoami                      → 503 REPAIR_NEEDED, so that the web app (and any
 *   client) learns why the node is not there and shows the repair
 */
import type { FastifyInstance } from 'fastify'
import type { RepairSession } from '../repair-session.ts'
import { errorBody } from './errors.ts'

const startBody = {
  type: 'object',
  additionalProperties: false,
  properties: { finish: { type: 'boolean' } }
} as const

export function registerRepairRoutes (app: FastifyInstance, session: RepairSession): void {
  app.get('/api/repair', async () => session.state())
  app.post<{ Body: { finish?: boolean } | null }>('/api/repair', { schema: { body: startBody } }, async (request, reply) => {
    const state = session.start(request.body?.finish === true)
    return reply.code(202).send(state)
  })
  app.get('/api/whoami', async (_request, reply) => {
    const { reason } = session.state()
    return reply.code(503).send(errorBody('REPAIR_NEEDED', `The data store needs a repair before Solidar can start (${reason})`))
  })
}
