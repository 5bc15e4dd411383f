/**
 * Serves the web app's files (web/dist, built by Vite) at `/`. Only regular files inside the folder,
 * no dotfiles, no directory listings; strict headers so the page loads nothing foreign.
 */
import fs from 'node:fs/promises'
import path from 'node:path'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { errorBody } from './errors.ts'

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8'
}

/** Content-Security-Policy of the web app: own files and own API only. */
export const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'"
].join('; ')

/** Maps a URL path to a file inside `root`, or null if it would leave it or names a dotfile. */
export function resolveStaticPath (root: string, urlPath: string): string | null {
  let decoded: string
  try { decoded = decodeURIComponent(urlPath.split('?')[0]) } catch { return null }
  if (decoded.includes('\0')) return null
  const relative = decoded === '/' || decoded === '' ? 'index.html' : decoded.replace(/^\/+/, '')
  if (relative.split(/[\\/]/).some((part) => part.startsWith('.'))) return null
  const file = path.resolve(root, relative)
  const inside = path.relative(root, file)
  if (inside === '' || inside.startsWith('..') || path.isAbsolute(inside)) return null
  return file
}

function notFound (reply: FastifyReply, url = ''): FastifyReply {
  const what = url.startsWith('/api/') ? `No route GET ${url.split('?')[0]}` : 'Not found'
  return reply.code(404).send(errorBody('NOT_FOUND', what))
}

/** The start page when the web app was never built (a fresh clone run without `npm start`). */
function notBuilt (reply: FastifyReply, root: string): FastifyReply {
  return reply.code(503)
    .header('Content-Type', 'text/plain; charset=utf-8')
    .header('Content-Security-Policy', CSP)
    .send(`The Solidar web app is not built yet (no ${path.join(root, 'index.html')}).\n` +
      'Run `npm run build` in the Solidar folder (`npm start` does this) and reload this page.\n')
}

/** Registers GET / and GET /* for the files in `staticDir`. */
export function registerStatic (app: FastifyInstance, staticDir: string): void {
  const root = path.resolve(staticDir)
  const handler = async (url: string, reply: FastifyReply): Promise<FastifyReply> => {
    if (url.startsWith('/api/')) return notFound(reply, url)
    const file = resolveStaticPath(root, url)
    if (file === null) return notFound(reply)
    let data: Buffer
    try {
      const stat = await fs.stat(file)
      if (!stat.isFile()) return notFound(reply)
      data = await fs.readFile(file)
    } catch {
      if (path.basename(file) === 'index.html' && path.dirname(file) === root) return notBuilt(reply, root)
      return notFound(reply)
    }
    return reply
      .header('Content-Type', TYPES[path.extname(file).toLowerCase()] ?? 'application/octet-stream')
      .header('Content-Security-Policy', CSP)
      .header('X-Content-Type-Options', 'nosniff')
      .header('Referrer-Policy', 'no-referrer')
      .header('X-Frame-Options', 'DENY')
      .header('Cache-Control', 'no-cache')
      .send(data)
  }
  // A WebSocket handshake on a file path is refused here; @fastify/websocket would otherwise
  // accept it (101) and close it at once.
  const refuseUpgrade = async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    if (request.headers.upgrade !== undefined) {
      reply.header('Connection', 'close')
      await reply.code(404).send(errorBody('NOT_FOUND', 'Not found'))
    }
  }
  app.get('/', { onRequest: refuseUpgrade }, async (req, reply) => handler('/', reply))
  app.get('/*', { onRequest: refuseUpgrade }, async (req, reply) => handler(req.url, reply))
}
