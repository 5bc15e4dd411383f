/**
 * The Yjs baselines inside a worker process:
 * - `replay`: the editing trace applied to a plain in-memory Y.Doc (same shape and same
 *   transactions as the pad ingest, no log, no encryption, no network);
 * - a y-websocket server (@y/websocket-server 0.1.1, in-memory) and y-websocket clients
 *   (`disableBc`, so Node's BroadcastChannel never short-cuts the server), for keystroke latency.
 */
import http from 'node:http'
import * as Y from 'yjs'
import { WebSocketServer, WebSocket } from 'ws'
import { WebsocketProvider } from 'y-websocket'
import { setupWSConnection } from '@y/websocket-server/utils'
import { now } from './clock.ts'
import { loadTrace, replayPlain } from './trace.ts'

interface Client { doc: Y.Doc, provider: WebsocketProvider, text: Y.Text }
const clients = new Map<string, Client>()
let server: { http: http.Server, wss: WebSocketServer } | null = null

type Emit = (event: string, data: unknown) => void

export const ops = {
  replay ({ limit }: { limit: number }) {
    const trace = loadTrace(limit)
    const { doc, text, ms } = replayPlain(trace)
    const stateBytes = Y.encodeStateAsUpdate(doc).byteLength
    const t0 = performance.now()
    const copy = new Y.Doc()
    Y.applyUpdate(copy, Y.encodeStateAsUpdate(doc))
    const loadMs = performance.now() - t0
    doc.destroy()
    copy.destroy()
    return { ms, edits: trace.txns.length, text, endContent: trace.endContent, stateBytes, loadMs }
  },

  async server () {
    if (server) throw new Error('a y-websocket server already runs here')
    const wss = new WebSocketServer({ noServer: true })
    const h = http.createServer((_req, res) => { res.writeHead(200); res.end('y-websocket') })
    wss.on('connection', (conn: any, req: any) => setupWSConnection(conn, req, { gc: true }))
    h.on('upgrade', (req, socket, head) => wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req)))
    await new Promise<void>((resolve) => h.listen(0, '127.0.0.1', resolve))
    server = { http: h, wss }
    return { url: `ws://127.0.0.1:${(h.address() as any).port}` }
  },

  /** A client in `room`; reports (`recv`, tag `<prefix><length>`) each time its text grows by a remote update. */
  async client ({ id, url, room, prefix }: { id: string, url: string, room: string, prefix: string }, emit: Emit) {
    const doc = new Y.Doc()
    const provider = new WebsocketProvider(url, room, doc, { WebSocketPolyfill: WebSocket as any, disableBc: true })
    const text = doc.getText('t')
    let last = text.length
    doc.on('update', (_u: Uint8Array, origin: unknown) => {
      if (origin === null) return // our own keystrokes
      const len = text.length
      const t = now()
      for (let l = last + 1; l <= len; l++) emit('recv', { node: id, tag: `${prefix}${l}`, t })
      if (len > last) last = len
    })
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${id}: y-websocket did not sync within 20 s`)), 20_000)
      provider.once('sync', () => { clearTimeout(timer); resolve() })
    })
    clients.set(id, { doc, provider, text })
    return text.length
  },

  key ({ id }: { id: string }) {
    const c = clients.get(id)
    if (!c) throw new Error(`no y-websocket client ${id}`)
    const t0 = now()
    c.doc.transact(() => c.text.insert(c.text.length, 'x'), null)
    return { t0, t1: now(), length: c.text.length }
  },

  shutdownServer: () => stopServer(),

  close ({ id }: { id: string }) {
    const c = clients.get(id)
    if (!c) return
    clients.delete(id)
    c.provider.destroy()
    c.doc.destroy()
  }
}

async function stopServer () {
  if (!server) return
  const s = server
  server = null
  for (const ws of s.wss.clients) ws.terminate()
  s.wss.close()
  await new Promise<void>((resolve) => s.http.close(() => resolve()))
}

export async function shutdown () {
  for (const id of [...clients.keys()]) ops.close({ id })
  await stopServer()
}
