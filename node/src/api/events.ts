/**
 * WS /api/events: streams every `SolidarEvent` of the node as one JSON text frame.
 * Clients only listen; anything they send is ignored. A client that cannot keep up
 * (more than 4 MiB queued) is disconnected rather than letting the daemon's memory grow.
 */
import type { FastifyInstance } from 'fastify'
import type { SolidarApi, SolidarEvent } from '@solidar/core'
import { QUERY_TOKEN_ROUTE } from './security.ts'

const MAX_BUFFERED = 4 * 1024 * 1024
const PING_INTERVAL_MS = 30_000

/** Registers the event stream route (needs @fastify/websocket registered first). */
export function registerEvents (app: FastifyInstance, api: SolidarApi): void {
  app.get('/api/events', { websocket: true, config: QUERY_TOKEN_ROUTE }, (socket) => {
    let alive = true
    const unsubscribe = api.subscribe((event: SolidarEvent) => {
      if (socket.readyState !== socket.OPEN) return
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
