/**
 * The CLI's client of a running daemon: finds it through `<home>/daemon.json`, authenticates
 * with `<home>/token`, speaks JSON over HTTP (node:http, so long requests such as `join`
 * are never cut off by a client-side default timeout) and opens the event WebSocket.
 */
import http from 'node:http'
import WebSocket from 'ws'
import type { SolidarEvent } from '@solidar/core'
import { readDaemonInfo, readToken } from '@solidar/node/home'
import type { DaemonInfo } from '@solidar/node/home'
import { isApiErrorBody } from '@solidar/node/api/errors'
import { ApiError, CliError, NoDaemonError } from './errors.ts'

/** Idle time after which an ordinary request is given up. */
const DEFAULT_TIMEOUT_MS = 120_000

export interface RequestOptions {
  /** Give up if the daemon sends nothing for this long (default 2 minutes). */
  timeoutMs?: number
}

/** A connection to the daemon of one home. */
export class ApiClient {
  readonly home: string
  readonly info: DaemonInfo
  readonly #token: string

  constructor (home: string, info: DaemonInfo, token: string) {
    this.home = home
    this.info = info
    this.#token = token
  }

  /** Finds the daemon of `home`; throws `NoDaemonError` (exit 2) if none runs. */
  static connect (home: string): ApiClient {
    const info = readDaemonInfo(home)
    if (info === null) throw new NoDaemonError(home)
    const token = readToken(home)
    if (token === null) throw new CliError(`The node of ${home} runs, but its API token file is missing or damaged; restart the node`)
    return new ApiClient(home, info, token)
  }

  /** GET a JSON resource. */
  get<T> (path: string, opts?: RequestOptions): Promise<T> {
    return this.request<T>('GET', path, undefined, opts)
  }

  /** POST a JSON body. */
  post<T> (path: string, body: unknown, opts?: RequestOptions): Promise<T> {
    return this.request<T>('POST', path, body, opts)
  }

  /**
   * Sends one request; resolves with the parsed JSON body of a 2xx response, throws
   * `ApiError` for an error response and `NoDaemonError` if nothing listens any more.
   */
  request<T> (method: string, path: string, body?: unknown, opts: RequestOptions = {}): Promise<T> {
    const url = new URL(path, this.info.url)
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body))
    const headers: Record<string, string> = { Authorization: `Bearer ${this.#token}`, Accept: 'application/json' }
    if (payload !== undefined) {
      headers['Content-Type'] = 'application/json'
      headers['Content-Length'] = String(payload.byteLength)
    }
    const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS
    return new Promise<T>((resolve, reject) => {
      const req = http.request(url, { method, headers, agent: false }, (res) => {
        const chunks: Buffer[] = []
        res.on('data', (chunk: Buffer) => chunks.push(chunk))
        res.on('error', reject)
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8')
          let parsed: unknown
          try { parsed = text === '' ? null : JSON.parse(text) } catch { parsed = undefined }
          const status = res.statusCode ?? 0
          if (status >= 200 && status < 300) {
            if (parsed === undefined) reject(new CliError(`The node sent an unreadable answer to ${method} ${url.pathname}`))
            else resolve(parsed as T)
          } else if (isApiErrorBody(parsed)) {
            reject(new ApiError(parsed.error.code, parsed.error.message, status))
          } else {
            reject(new ApiError('HTTP_' + status, `The node answered ${method} ${url.pathname} with HTTP ${status}`, status))
          }
        })
      })
      req.setTimeout(timeoutMs, () => {
        req.destroy(new CliError(`The node did not answer within ${Math.round(timeoutMs / 1000)} s`))
      })
      req.on('error', (err: NodeJS.ErrnoException) => {
        if (err instanceof CliError) reject(err)
        else if (err.code === 'ECONNREFUSED') reject(new NoDaemonError(this.home))
        else reject(new CliError(`Lost the connection to the node (${err.code ?? err.message})`))
      })
      req.end(payload)
    })
  }

  /**
   * Opens the event stream; resolves once connected. Each text frame is one `SolidarEvent`.
   * `group` or `dm` (a reference, resolved by the node) keeps only that conversation's events.
   */
  openEvents (filter: { group?: string, dm?: string } = {}): Promise<EventStream> {
    const url = new URL('/api/events', this.info.url)
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:'
    if (filter.group !== undefined) url.searchParams.set('group', filter.group)
    if (filter.dm !== undefined) url.searchParams.set('dm', filter.dm)
    const ws = new WebSocket(url, { headers: { Authorization: `Bearer ${this.#token}` } })
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(new EventStream(ws)))
      ws.once('unexpected-response', (_req, res) => {
        const chunks: Buffer[] = []
        res.on('data', (chunk: Buffer) => chunks.push(chunk))
        res.on('error', () => { /* 'end' or 'close' follows; the status alone is reported then */ })
        res.on('close', () => {
          ws.terminate()
          let parsed: unknown
          try { parsed = JSON.parse(Buffer.concat(chunks).toString('utf8')) } catch { parsed = undefined }
          const status = res.statusCode ?? 0
          reject(isApiErrorBody(parsed)
            ? new ApiError(parsed.error.code, parsed.error.message, status)
            : new CliError(`The node refused the event stream (HTTP ${status || '?'})`))
        })
      })
      ws.once('error', (err: NodeJS.ErrnoException) => {
        reject(err.code === 'ECONNREFUSED' ? new NoDaemonError(this.home) : new CliError(`Cannot open the event stream: ${err.message}`))
      })
    })
  }
}

/** A live stream of node events. */
export class EventStream {
  readonly #ws: WebSocket

  constructor (ws: WebSocket) {
    this.#ws = ws
    ws.on('error', () => { /* a 'close' event follows; closed() reports it */ })
  }

  /** Calls `listener` for every event; malformed frames are skipped. */
  onEvent (listener: (event: SolidarEvent) => void): void {
    this.#ws.on('message', (data, isBinary) => {
      if (isBinary) return
      let event: unknown
      try { event = JSON.parse(data.toString()) } catch { return }
      if (typeof event === 'object' && event !== null && typeof (event as { type?: unknown }).type === 'string') {
        listener(event as SolidarEvent)
      }
    })
  }

  /** Resolves when the stream ends (the node stopped or `close()` was called). */
  closed (): Promise<void> {
    if (this.#ws.readyState === WebSocket.CLOSED) return Promise.resolve()
    return new Promise((resolve) => this.#ws.once('close', () => resolve()))
  }

  close (): void {
    this.#ws.close()
  }
}

/** A path segment, safely encoded. */
export function seg (value: string): string {
  return encodeURIComponent(value)
}
