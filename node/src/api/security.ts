/**
 * Request checks of the local API: bearer token (constant time), `Host` allow-list
 * (defeats DNS rebinding) and `Origin` allow-list (defeats cross-site requests and
 * cross-site WebSocket hijacking from pages the user happens to have open).
 */
import { createHash, timingSafeEqual } from 'node:crypto'

/** Formats `host:port` the way it appears in a `Host` header (IPv6 in brackets). */
export function hostPort (host: string, port: number): string {
  const h = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host
  return `${h}:${port}`.toLowerCase()
}

/** The `Host` header values accepted for a server bound to `host:port`. */
export function allowedHosts (host: string, port: number): Set<string> {
  return new Set([
    hostPort('127.0.0.1', port),
    hostPort('localhost', port),
    hostPort('::1', port),
    hostPort(host, port)
  ])
}

/** True if the `Host` header names this server (exact match, case-insensitive). */
export function isAllowedHost (header: string | undefined, allowed: Set<string>): boolean {
  return header !== undefined && allowed.has(header.trim().toLowerCase())
}

/** True if there is no `Origin` header, or it is `http://` plus an allowed host. */
export function isAllowedOrigin (header: string | undefined, allowed: Set<string>): boolean {
  if (header === undefined) return true
  const origin = header.trim().toLowerCase()
  if (!origin.startsWith('http://')) return false
  return allowed.has(origin.slice('http://'.length))
}

function digest (value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest()
}

/** Compares a presented token with the real one in time independent of where they differ. */
export function tokenMatches (presented: string | undefined, token: string): boolean {
  if (presented === undefined) return false
  // Hashing first gives equal lengths, as timingSafeEqual requires, without leaking the length.
  return timingSafeEqual(digest(presented), digest(token))
}

/** The token of an `Authorization: Bearer <token>` header, if any. */
export function bearerToken (header: string | undefined): string | undefined {
  if (header === undefined) return undefined
  const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header)
  return match?.[1]
}

/**
 * Route option of the one route that may take its token from the query (`/api/events`,
 * a WebSocket: browsers cannot set headers there). Decided by the route the router
 * matched, never by the URL text.
 */
export const QUERY_TOKEN_ROUTE = { queryToken: true } as const
