/**
 * The daemon's local HTTP + WebSocket API (fastify).
 *
 * Security model (the API is reachable by every program and web page on this machine):
 * - every route that is not a static file needs `Authorization: Bearer <token>`; the
 *   WebSocket `/api/events` also accepts `?token=<token>` because browsers cannot set
 *   headers on WebSockets. Tokens are compared in constant time.
 *   This holds by construction: all API and WebSocket routes are registered inside one
 *   encapsulated plugin scope (`registerApiScope`) whose `onRequest` hook checks the token
 *   on the route the router matched, whatever spelling of the path reached it. Only the
 *   static files live outside that scope. Nothing inspects the URL text to decide.
 * - the `Host` header must be `127.0.0.1:PORT`, `localhost:PORT`, `[::1]:PORT` or the
 *   bound host:port, else 403 (DNS rebinding).
 * - an `Origin` header, if present, must be `http://` plus one of those, else 403.
 * Errors are JSON `{ error: { code, message } }`; see errors.ts for the statuses.
 */
import { MAX_TEXT_LENGTH } from '@solidar/core/commands'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import Fastify, { LogController } from 'fastify'
import type { FastifyBaseLogger, FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import websocket from '@fastify/websocket'
import pino from 'pino'
import { isSolidarError } from '@solidar/core'
import type { SolidarApi } from '@solidar/core'
import { deny, send } from './errors.ts'
import { allowedHosts, bearerToken, hostPort, isAllowedHost, isAllowedOrigin, tokenMatches } from './security.ts'
import { registerRoutes } from './routes.ts'
import { registerMembershipRoutes } from './membership-routes.ts'
import { registerPadRoutes } from './pad-routes.ts'
import { registerMirrorRoutes } from './mirror-routes.ts'
import { registerMeetingRoutes, type IceServerSource } from './meeting-routes.ts'
import { registerBridgeRoutes } from './bridge-routes.ts'
import type { MirrorApi } from '../mirrors.ts'
import { registerSettingsRoutes } from './settings-routes.ts'
import type { SettingsApi } from '../settings.ts'
import { registerEvents } from './events.ts'
import { registerStatic } from './static.ts'

/** The web app of this repository as Vite builds it (`npm run build`; `npm start` builds it first). */
export const DEFAULT_STATIC_DIR = path.resolve(fileURLToPath(new URL('../../../web/dist/', import.meta.url)))

export interface ApiServerOptions extends ServerBase {
  api: SolidarApi
  /** The node's group mirrors; without it the /mirrors routes do not exist (404). */
  mirrors?: MirrorApi
  /** Name and network settings (web onboarding); without it the /settings routes do not exist (404). */
  settings?: SettingsApi
  /** STUN/TURN servers the web app's meetings may use (`serve --ice-server`); none by default. */
  iceServers?: IceServerSource
}

/** What every server of the daemon shares: address, token, files, log. */
export interface ServerBase {
  /** Interface to bind; default 127.0.0.1. */
  host?: string
  /** Port to bind; 0 picks a free one. */
  port: number
  /** Bearer token clients must present. */
  token: string
  /** Folder served at `/`; default web/dist of this repository. */
  staticDir?: string
  /** Where errors are logged; default pino on stderr at level "warn". */
  logger?: FastifyBaseLogger
}

export interface ApiServer {
  /** Base URL without token, e.g. `http://127.0.0.1:7420`. */
  url: string
  host: string
  port: number
  close (): Promise<void>
}

const BODY_LIMIT = 1024 * 1024

/** The host to put in URLs for a bound address (wildcards become loopback). */
export function connectHost (host: string): string {
  if (host === '0.0.0.0' || host === '') return '127.0.0.1'
  if (host === '::' || host === '[::]') return '[::1]'
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host
}

function queryToken (request: FastifyRequest): string | undefined {
  const query = request.query as Record<string, unknown> | undefined
  const value = query?.token
  return typeof value === 'string' ? value : undefined
}

/** True for a WebSocket handshake on the route marked QUERY_TOKEN_ROUTE (security.ts). */
function acceptsQueryToken (request: FastifyRequest): boolean {
  const config = request.routeOptions.config as { queryToken?: unknown } | undefined
  return config?.queryToken === true && request.headers.upgrade?.toLowerCase() === 'websocket'
}

/** Host and Origin checks for every request, static files included. */
function installGuards (app: FastifyInstance, opts: { allowed: () => Set<string> }): void {
  app.addHook('onRequest', async (request, reply) => {
    const allowed = opts.allowed()
    if (!isAllowedHost(request.headers.host, allowed)) {
      return deny(request, reply, 'FORBIDDEN', 'Unexpected Host header')
    }
    if (!isAllowedOrigin(request.headers.origin, allowed)) {
      return deny(request, reply, 'FORBIDDEN', 'Requests from other web sites are not allowed')
    }
  })
}

/**
 * Registers every API and WebSocket route inside one encapsulated scope whose `onRequest`
 * hook demands the token. A route registered through `register` cannot exist outside the
 * check, and the check runs on the route the router matched, so no spelling of a path
 * (percent-encoding, dot segments, doubled slashes) reaches a handler without the token.
 */
async function registerApiScope (app: FastifyInstance, token: string, register: (scope: FastifyInstance) => void): Promise<void> {
  await app.register(async (scope) => {
    scope.addHook('onRequest', async (request, reply) => {
      let presented = bearerToken(request.headers.authorization)
      if (presented === undefined && acceptsQueryToken(request)) presented = queryToken(request)
      if (!tokenMatches(presented, token)) {
        return deny(request, reply, 'UNAUTHORIZED', 'Missing or wrong API token')
      }
    })
    register(scope)
  })
}

interface ValidationProblem { keyword: string, instancePath: string, params: Record<string, any>, message?: string }

/**
 * A schema refusal in words a user reads ("text is too long (at most 100,000 characters)"),
 * not the validator's ("body/text must NOT have more than 100000 characters").
 */
export function describeValidation (problems: ValidationProblem[]): string {
  const parts = problems.slice(0, 3).map((p) => {
    const field = p.instancePath.replace(/^\//, '').replace(/\//g, '.') || (p.params.missingProperty as string | undefined) || 'the request'
    const n = (x: unknown): string => typeof x === 'number' ? x.toLocaleString('en-US') : String(x)
    switch (p.keyword) {
      case 'required': return `${p.params.missingProperty as string} is missing`
      case 'maxLength': return `${field} is too long (at most ${n(p.params.limit)} characters)`
      case 'minLength': return p.params.limit === 1 ? `${field} must not be empty` : `${field} is too short (at least ${n(p.params.limit)} characters)`
      case 'maximum': return `${field} must be at most ${n(p.params.limit)}`
      case 'minimum': return `${field} must be at least ${n(p.params.limit)}`
      case 'maxItems': return `${field} has too many entries (at most ${n(p.params.limit)})`
      case 'type': return `${field} must be ${p.params.type === 'string' ? 'text' : p.params.type === 'integer' ? 'a whole number' : `a ${String(p.params.type)}`}`
      case 'enum': return `${field} must be one of: ${(p.params.allowedValues as unknown[]).join(', ')}`
      case 'additionalProperties': return `${p.params.additionalProperty as string} is not a field this request takes`
      default: return `${field} is not valid`
    }
  })
  return `Invalid request: ${parts.join('; ')}`
}

function installErrorHandlers (app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError, request, reply) => {
    if (isSolidarError(err)) return send(reply, err.code, err.message)
    if (err.validation !== undefined) return send(reply, 'BAD_REQUEST', describeValidation(err.validation))
    const status = err.statusCode ?? 500
    if (status === 413) return send(reply, 'PAYLOAD_TOO_LARGE', `Request body is too large: the node takes at most ${BODY_LIMIT / 1024 / 1024} MB per request (a message holds at most ${MAX_TEXT_LENGTH.toLocaleString('en-US')} characters)`, 413)
    if (status === 415) return send(reply, 'UNSUPPORTED_MEDIA_TYPE', 'Send JSON (Content-Type: application/json)', 415)
    if (status >= 400 && status < 500) return send(reply, 'BAD_REQUEST', err.message, 400)
    request.log.error({ err, method: request.method, route: request.routeOptions.url }, 'unexpected error in API request')
    return send(reply, 'INTERNAL', 'Internal error; see the daemon log', 500)
  })
  app.setNotFoundHandler((request, reply) => send(reply, 'NOT_FOUND', `No route ${request.method} ${request.url.split('?')[0]}`))
}


/**
 * Starts the local API for a running node and resolves once it listens.
 * Rejects with the listen error (e.g. `EADDRINUSE`) if the port is taken.
 */
export async function startApiServer (opts: ApiServerOptions): Promise<ApiServer> {
  return await startServer(opts, (api) => {
    registerRoutes(api, opts.api)
    registerMembershipRoutes(api, opts.api)
    registerPadRoutes(api, opts.api)
    registerMeetingRoutes(api, opts.api, { iceServers: opts.iceServers ?? [] })
    registerBridgeRoutes(api, opts.api)
    if (opts.mirrors !== undefined) registerMirrorRoutes(api, opts.mirrors)
    if (opts.settings !== undefined) registerSettingsRoutes(api, opts.settings)
    registerEvents(api, opts.api)
  })
}

/**
 * The daemon's server with the guards, the token scope and the web app's files, and `register`
 * adding the API routes inside that scope (the node's API, or the repair routes while the store
 * is damaged: api/repair-routes.ts).
 */
export async function startServer (opts: ServerBase, register: (scope: FastifyInstance) => void): Promise<ApiServer> {
  const host = opts.host ?? '127.0.0.1'
  const logger: FastifyBaseLogger = opts.logger ?? pino({ level: 'warn' }, pino.destination(2))
  const app = Fastify({
    loggerInstance: logger,
    // No per-request logs: URLs may carry the token (?token= on the event stream).
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: BODY_LIMIT,
    forceCloseConnections: true,
    // Strict bodies: unknown fields and wrong types are refused, never silently fixed.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false } }
  })
  app.removeContentTypeParser('text/plain')

  let allowed = new Set<string>()
  installGuards(app, { allowed: () => allowed })
  installErrorHandlers(app)
  await app.register(websocket, { options: { maxPayload: 64 * 1024 } })
  await registerApiScope(app, opts.token, register)
  // Outside the token scope: only the web app's files (GET / and GET /*).
  registerStatic(app, opts.staticDir ?? DEFAULT_STATIC_DIR)

  await app.listen({ host, port: opts.port })
  const address = app.server.address()
  const port = typeof address === 'object' && address !== null ? address.port : opts.port
  allowed = allowedHosts(host, port)
  return {
    url: `http://${hostPort(connectHost(host), port)}`,
    host,
    port,
    close: async () => { await app.close() }
  }
}
