/**
 * Raw requests to a daemon's local HTTP API. Uses `http.request` rather than `fetch`
 * because the tests need to set headers fetch will not let us forge (Host).
 */
import http from 'node:http'

export interface ApiRequest {
  port: number
  method?: string
  path: string
  /** Extra or replacing headers; a value of `null` removes a default header. */
  headers?: Record<string, string | null>
  /** The bearer token; `null` sends no Authorization header. */
  token: string | null
  /** A JSON-serialisable body, or a raw string sent as is. */
  body?: unknown
  /** Default 10 s. */
  timeout?: number
}

export interface ApiResponse {
  status: number
  headers: http.IncomingHttpHeaders
  text: string
  /** The parsed body, or undefined when it is not JSON. */
  json: any
}

export function apiRequest (req: ApiRequest): Promise<ApiResponse> {
  const headers: Record<string, string> = { host: `127.0.0.1:${req.port}`, accept: 'application/json' }
  if (req.token !== null) headers.authorization = `Bearer ${req.token}`
  let payload: string | undefined
  if (req.body !== undefined) {
    payload = typeof req.body === 'string' ? req.body : JSON.stringify(req.body)
    headers['content-type'] = 'application/json'
  }
  for (const [name, value] of Object.entries(req.headers ?? {})) {
    if (value === null) delete headers[name.toLowerCase()]
    else headers[name.toLowerCase()] = value
  }
  if (payload !== undefined) headers['content-length'] = String(Buffer.byteLength(payload))
  return new Promise((resolve, reject) => {
    const request = http.request({
      host: '127.0.0.1',
      port: req.port,
      method: req.method ?? 'GET',
      path: req.path,
      headers,
      // setHost false: the Host header is exactly what we put in `headers`.
      setHost: false,
      agent: false,
      timeout: req.timeout ?? 10_000
    }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (chunk: Buffer) => chunks.push(chunk))
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8')
        let json: any
        try { json = JSON.parse(text) } catch { json = undefined }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json })
      })
      res.on('error', reject)
    })
    request.on('timeout', () => request.destroy(new Error(`${req.method ?? 'GET'} ${req.path} timed out`)))
    request.on('error', reject)
    request.end(payload)
  })
}
