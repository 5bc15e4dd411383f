/** Raw HTTP requests for API tests: http.request, so Host and Origin can be forged. */
import http from 'node:http'

export interface RawResponse {
  status: number
  headers: http.IncomingHttpHeaders
  text: string
  json: any
}

export interface RawRequest {
  port: number
  method?: string
  path: string
  token?: string | null
  /** Replace or (null) remove default headers. */
  headers?: Record<string, string | null>
  /** An object is sent as JSON; a string is sent as is with Content-Type application/json. */
  body?: unknown
}

export function raw (req: RawRequest): Promise<RawResponse> {
  const headers: Record<string, string> = { host: `127.0.0.1:${req.port}` }
  if (req.token != null) headers.authorization = `Bearer ${req.token}`
  let payload: string | undefined
  if (req.body !== undefined) {
    payload = typeof req.body === 'string' ? req.body : JSON.stringify(req.body)
    headers['content-type'] = 'application/json'
  }
  for (const [k, v] of Object.entries(req.headers ?? {})) {
    if (v === null) delete headers[k.toLowerCase()]
    else headers[k.toLowerCase()] = v
  }
  if (payload !== undefined) headers['content-length'] = String(Buffer.byteLength(payload))
  return new Promise((resolve, reject) => {
    const r = http.request({
      host: '127.0.0.1', port: req.port, method: req.method ?? 'GET', path: req.path,
      headers, setHost: false, agent: false, timeout: 10_000
    }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8')
        let json: any
        try { json = JSON.parse(text) } catch { json = undefined }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json })
      })
      res.on('error', reject)
    })
    r.on('timeout', () => r.destroy(new Error(`${req.method ?? 'GET'} ${req.path} timed out`)))
    r.on('error', reject)
    r.end(payload)
  })
}
