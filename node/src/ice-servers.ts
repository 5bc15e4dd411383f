/**
 * STUN/TURN servers for video meetings (what `RTCPeerConnection({ iceServers })` takes), from
 * `serve --ice-server URL` or the web app's network page, remembered in config.json (mode
 * 0600: TURN credentials are secrets, never logged and never shown by `status`).
 *
 * A URL is `stun:HOST[:PORT]`, `turn:USER:PASSWORD@HOST[:PORT][?transport=udp|tcp]` or
 * `turns:…` (RFC 7064/7065 URIs; the TURN credentials before the `@` are taken out of the URL,
 * percent-encoded if they hold `:`, `@`, `/` or `?`).
 */
import { errors } from '@solidar/core/errors'

export type { IceServer } from '@solidar/core/local-api-types'
import type { IceServer } from '@solidar/core/local-api-types'

/** Most servers in one list (a browser tries them all for every connection). */
export const MAX_ICE_SERVERS = 8
/** Longest username or credential accepted (coturn's limit is 512 bytes). */
const MAX_SECRET = 256

const URL_RE = /^(stun|turns?):([A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::(\d{1,5}))?(\?transport=(?:udp|tcp))?$/
const CRED_RE = /^(stun|turns?):(?:([^:@/?\s]+):([^@/?\s]+)@)?(.*)$/

const decode = (part: string, value: string): string => {
  try {
    return decodeURIComponent(part)
  } catch {
    throw new Error(`bad percent-encoding in the credentials of "${redact(value)}"`)
  }
}

/** The URL with any password replaced by `***` (for messages). */
export function redact (value: string): string {
  return value.replace(/^([a-z]+:[^:@/?\s]+:)[^@/?\s]+@/i, '$1***@')
}

/** Checks a bare URL (no credentials); returns the reason it is bad, or null. */
function checkUrl (urls: string): string | null {
  const m = URL_RE.exec(urls)
  if (m === null) return `"${urls}" is not a STUN or TURN URL (stun:HOST:PORT, turn:USER:PASSWORD@HOST:PORT, turns:…)`
  const [, scheme, , port, query] = m
  if (port !== undefined && (Number(port) < 1 || Number(port) > 65535)) return `bad port in "${urls}"`
  if (scheme === 'stun' && query !== undefined) return `"?transport=" is for TURN servers only: "${urls}"`
  return null
}

/** Parses one `--ice-server` value; throws an Error saying what is wrong (never echoing a password). */
export function parseIceServer (value: string): IceServer {
  const m = CRED_RE.exec(value.trim())
  if (m === null) throw new Error(`"${redact(value)}" is not a STUN or TURN URL (only stun:, turn: and turns: are accepted; e.g. turn:USER:PASSWORD@HOST:3478)`)
  const [, scheme, user, pass, rest] = m
  const urls = `${scheme}:${rest}`
  const bad = checkUrl(urls)
  if (bad !== null) throw new Error(bad)
  const turn = scheme.startsWith('turn')
  if (turn && user === undefined) throw new Error(`a TURN server needs credentials: ${scheme}:USER:PASSWORD@${rest}`)
  if (!turn && user !== undefined) throw new Error(`a STUN server takes no credentials: "${redact(value)}"`)
  if (!turn) return { urls }
  const server = { urls, username: decode(user!, value), credential: decode(pass!, value) }
  checkSecrets(server)
  return server
}

function checkSecrets (s: IceServer): void {
  for (const [what, v] of [['username', s.username], ['credential', s.credential]] as const) {
    if (v === undefined || v === '' || v.length > MAX_SECRET || /[\u0000-\u001f\u007f]/.test(v)) {
      throw new Error(`the TURN ${what} of ${s.urls} must be 1 to ${MAX_SECRET} characters without control characters`)
    }
  }
}

/** Checks one server object (web app, config.json); returns it normalised or throws an Error. */
export function checkIceServer (raw: unknown): IceServer {
  if (typeof raw !== 'object' || raw === null) throw new Error('an ICE server is an object { urls, username?, credential? }')
  const { urls, username, credential, ...extra } = raw as Record<string, unknown>
  if (Object.keys(extra).length > 0) throw new Error(`unknown ICE server field "${Object.keys(extra)[0]}"`)
  if (typeof urls !== 'string') throw new Error('an ICE server needs "urls", one STUN or TURN URL')
  const bad = checkUrl(urls.trim())
  if (bad !== null) throw new Error(bad)
  const url = urls.trim()
  const hasUser = username !== undefined && username !== ''
  const hasCred = credential !== undefined && credential !== ''
  if (url.startsWith('stun:')) {
    if (hasUser || hasCred) throw new Error(`a STUN server takes no username or password: ${url}`)
    return { urls: url }
  }
  if (typeof username !== 'string' || typeof credential !== 'string') throw new Error(`a TURN server needs a username and a password: ${url}`)
  const server = { urls: url, username, credential }
  checkSecrets(server)
  return server
}

/** Checks a whole list (at most MAX_ICE_SERVERS, no duplicate URL); throws an Error. */
export function checkIceServers (raw: unknown): IceServer[] {
  if (!Array.isArray(raw)) throw new Error('the ICE servers are a list')
  if (raw.length > MAX_ICE_SERVERS) throw new Error(`at most ${MAX_ICE_SERVERS} ICE servers`)
  const list = raw.map(checkIceServer)
  const seen = new Set<string>()
  for (const s of list) {
    if (seen.has(s.urls)) throw new Error(`${s.urls} is listed twice`)
    seen.add(s.urls)
  }
  return list
}

/** Like checkIceServers, as a BAD_REQUEST for the API. */
export function normalizeIceServers (raw: unknown): IceServer[] {
  try {
    return checkIceServers(raw)
  } catch (err) {
    throw errors.badRequest((err as Error).message)
  }
}
