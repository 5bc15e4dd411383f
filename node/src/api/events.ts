/**
 * WS /api/events: streams the node's `SolidarEvent`s, one JSON text frame each.
 * `?group=REF` keeps only that group's events, `?dm=REF` only the direct conversation with
 * that member (and `members` events, which may change how the member is shown); events of
 * the node itself (`storage`, `identity`) always pass. REF is resolved by the node with the
 * same rules as every other reference (core/src/resolve.ts): an unknown or ambiguous one is
 * refused before the upgrade with its coded error (404 / 400).
 * Clients only listen; anything they send is ignored. A client that cannot keep up
 * (more than 4 MiB queued) is disconnected rather than letting the daemon's memory grow.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { errors, isSolidarError, type SolidarApi, type SolidarEvent } from '@solidar/core'
import { QUERY_TOKEN_ROUTE } from './security.ts'
import { deny } from './errors.ts'

const MAX_BUFFERED = 4 * 1024 * 1024
const PING_INTERVAL_MS = 30_000

type Filter = (event: SolidarEvent) => boolean
interface EventsQuery { group?: string, dm?: string }

/** What a stream with this query passes (resolved once, when it opens). */
async function filterFor (api: SolidarApi, query: EventsQuery): Promise<Filter> {
  if (query.group !== undefined && query.dm !== undefined) throw errors.badRequest('Give either group or dm, not both')
  if (query.group !== undefined) {
    const id = await api.resolveGroupId(query.group)
    return (e) => !('group' in e) || e.group === id
  }
  if (query.dm !== undefined) {
    const peer = await api.resolveMemberId(query.dm)
    return (e) => e.type === 'dm' ? e.peer === peer : (e.type === 'members' || !('group' in e))
  }
  return () => true
}

/** Registers the event stream route (needs @fastify/websocket registered first). */
export function registerEvents (app: FastifyInstance, api: SolidarApi): void {
  const filters = new WeakMap<FastifyRequest, Filter>()
  app.get<{ Querystring: EventsQuery }>('/api/events', {
    websocket: true,
    config: QUERY_TOKEN_ROUTE,
    schema: { querystring: { type: 'object', properties: { group: { type: 'string' }, dm: { type: 'string' }, token: { type: 'string' } } } },
    preValidation: async (request, reply) => {
      try {
        filters.set(request, await filterFor(api, request.query))
      } catch (err) {
        if (isSolidarError(err)) return deny(request, reply, err.code, err.message)
        throw err // not a coded error: the error handler answers INTERNAL and logs it
      }
    }
  }, (socket, request) => {
    const pass = filters.get(request) ?? (() => true)
    let alive = true
    const unsubscribe = api.subscribe((event: SolidarEvent) => {
      if (socket.readyState !== socket.OPEN || !pass(event)) return
      if (socket.bufferedAmount > MAX_BUFFERED) {
        socket.close(1013, 'too slow')
        return
      }
      socket.send(JSON.stringify(event))
    })
    const ping = setInterval(() => {
      if (!alive) { socket.terminate(); return }
      alive = false
      socket.ping()
    }, PING_INTERVAL_MS)
    ping.unref()
    socket.on('pong', () => { alive = true })
    socket.on('close', () => {
      clearInterval(ping)
      unsubscribe()
    })
    socket.on('error', () => socket.terminate())
  })
}
