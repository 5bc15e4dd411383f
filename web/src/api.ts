/**
 * The node's local API as the web app uses it. The token arrives once in the address the
 * node prints (`http://127.0.0.1:PORT/#token=…`); it is kept in sessionStorage (this tab
 * only, gone when the tab closes), removed from the address bar, and sent as a bearer
 * token. The event WebSocket carries it as `?token=` (browsers cannot set headers there).
 */
import type {
  CatchUp, DeliveryState, GroupSummary, InviteResult, InviteView, MemberView, MessageView, PadExport, PadHistory, PadPresence, PadSummary, DmSummary,
  Role, RoomView, SolidarEvent, WhoAmI
} from './types.ts'
import type { IceServer, NetworkChoice, NodeSettings, RepairState } from '@solidar/core/local-api-types'

export type { IceServer, NetworkChoice, NodeSettings, RepairState }

const TOKEN_KEY = 'solidar.token'

export class ApiError extends Error {
  readonly status: number
  readonly code: string
  constructor (status: number, code: string, message: string) {
    super(message)
    this.status = status
    this.code = code
  }
}

/** Takes the token from the fragment (and strips it), else from sessionStorage. */
export function takeToken (): string | null {
  const params = new URLSearchParams(location.hash.slice(1))
  const fromHash = params.get('token')
  if (fromHash !== null && fromHash !== '') {
    sessionStorage.setItem(TOKEN_KEY, fromHash)
    history.replaceState(null, '', location.pathname + location.search)
    return fromHash
  }
  return sessionStorage.getItem(TOKEN_KEY)
}

let token: string | null = null
export const setToken = (t: string | null): void => { token = t }
export const hasToken = (): boolean => token !== null

const enc = encodeURIComponent

/** Waits before each new try of a read while the node does not answer (then UNREACHABLE). */
const READ_RETRIES_MS = [500, 1500, 3000]

/**
 * One request to the node. A node that does not answer (stopped, restarting) is the coded
 * error UNREACHABLE, never the browser's "Failed to fetch"; a read (GET) is tried again a few
 * times first, a write is not (it may have reached the node: the user decides).
 * `keepalive`: the request outlives the page (a closing tab's last word, e.g. leaving a pad).
 */
export async function request<T> (method: string, path: string, body?: unknown, opts: { keepalive?: boolean } = {}): Promise<T> {
  const headers: Record<string, string> = {}
  if (token !== null) headers.Authorization = `Bearer ${token}`
  if (body !== undefined) headers['Content-Type'] = 'application/json'
  const init: RequestInit = { method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: 'no-store', ...(opts.keepalive === true ? { keepalive: true } : {}) }
  let res: Response | null = null
  for (let attempt = 0; res === null; attempt++) {
    try {
      res = await fetch(path, init)
    } catch (err) {
      // fetch rejects only when no answer came (TypeError); anything else is a bug to surface.
      if (!(err instanceof TypeError)) throw err
      if (method !== 'GET' || attempt >= READ_RETRIES_MS.length) throw new ApiError(0, 'UNREACHABLE', `The Solidar node does not answer (${err.message})`)
      await new Promise((resolve) => setTimeout(resolve, READ_RETRIES_MS[attempt]))
    }
  }
  const data = await res.json().catch(() => null)
  if (!res.ok) {
    const err = data?.error
    throw new ApiError(res.status, typeof err?.code === 'string' ? err.code : 'HTTP', typeof err?.message === 'string' ? err.message : `HTTP ${res.status}`)
  }
  return data as T
}

export interface NodeStatus {
  id: string
  name: string
  network: {
    mode: NetworkChoice['mode'], bootstrap: string[], connections: number
    /** Per transport; a private DHT's says whether its bootstrap nodes answer. */
    transports?: Array<{ name: string, connections: number, bootstrap?: { nodes: number, answering: number, checked: boolean, silent: string[] } }>
  }
  groups: Array<{ id: string, name: string, peers: number, length: number, catchUp?: CatchUp, upgradeRequired?: { rules: number, known: number } }>
  /** Groups left whose leave no member's device has taken yet. */
  leaving: Array<{ id: string, name: string, since: number }>
  /** Present when the node started read-only on a full disk (writable false until space returns). */
  storage?: { writable: boolean, path: string, free: number, needed: number }
}
export interface Verification {
  member: string
  name: string
  safetyNumber: string
  verified: boolean
  [more: string]: unknown
}

const g = (group: string): string => `/api/groups/${enc(group)}`
const p = (group: string, pad: string): string => `${g(group)}/pads/${enc(pad)}`

/** A page of history (see the node's GET …/messages). */
export interface Page { before?: string, limit?: number }
/** How many messages the chat loads at a time: the node's default page. */
export const PAGE_SIZE = 100

function pageQuery (q: Page & { room?: string }): string {
  const params = new URLSearchParams()
  if (q.room !== undefined) params.set('room', q.room)
  if (q.before !== undefined) params.set('before', q.before)
  if (q.limit !== undefined) params.set('limit', String(q.limit))
  const text = params.toString()
  return text === '' ? '' : `?${text}`
}

export const api = {
  whoami: () => request<WhoAmI>('GET', '/api/whoami'),
  repairState: () => request<RepairState>('GET', '/api/repair'),
  startRepair: (finish: boolean) => request<RepairState>('POST', '/api/repair', { finish }),
  status: () => request<NodeStatus>('GET', '/api/status'),
  settings: () => request<NodeSettings>('GET', '/api/settings'),
  setName: (name: string) => request<NodeSettings>('PUT', '/api/settings/name', { name }),
  setNetwork: (choice: NetworkChoice & { lan: boolean }) => request<NodeSettings>('PUT', '/api/settings/network', choice),
  setIceServers: (servers: IceServer[]) => request<NodeSettings>('PUT', '/api/settings/ice-servers', { servers }),

  groups: () => request<GroupSummary[]>('GET', '/api/groups'),
  createGroup: (name: string) => request<{ id: string, name: string }>('POST', '/api/groups', { name }),
  renameGroup: (group: string, name: string) => request<{ id: string, name: string }>('PATCH', g(group), { name }),
  leaveGroup: (group: string) => request<{ id: string, name: string, pending: boolean }>('POST', `${g(group)}/leave`),
  members: (group: string) => request<MemberView[]>('GET', `${g(group)}/members`),
  removeMember: (group: string, member: string) => request<MemberView>('DELETE', `${g(group)}/members/${enc(member)}`),
  setRole: (group: string, member: string, role: Role) => request<MemberView>('PUT', `${g(group)}/members/${enc(member)}/role`, { role }),
  rooms: (group: string) => request<RoomView[]>('GET', `${g(group)}/rooms`),
  createRoom: (group: string, name: string) => request<RoomView>('POST', `${g(group)}/rooms`, { name }),
  invite: (group: string, opts: { role: Role, expiresMs: number, uses: number }) => request<InviteResult>('POST', `${g(group)}/invites`, opts),
  invites: (group: string) => request<InviteView[]>('GET', `${g(group)}/invites`),
  revokeInvite: (group: string, invite: string) => request<InviteView>('POST', `${g(group)}/invites/revoke`, { invite }),
  join: (code: string) => request<{ id: string, name: string, writable: boolean }>('POST', '/api/join', { code: code.trim(), timeoutMs: 120_000 }),

  /** A page of history, oldest first: the newest `limit` before message `before` (fewer than `limit`: the start). */
  messages: (group: string, room?: string, page: Page = {}) => request<MessageView[]>('GET', `${g(group)}/messages${pageQuery({ room, ...page })}`),
  /** Marks the group read up to message `id` on the node; answers how many stay unread. */
  markRead: (group: string, id: string) => request<{ unread: number }>('POST', `${g(group)}/read`, { id }),
  send: (group: string, text: string, opts: { room?: string, replyTo?: string }) => request<MessageView>('POST', `${g(group)}/messages`, { text, ...opts }),
  edit: (group: string, id: string, text: string) => request<MessageView>('PATCH', `${g(group)}/messages/${enc(id)}`, { text }),
  remove: (group: string, id: string) => request<MessageView>('DELETE', `${g(group)}/messages/${enc(id)}`),
  /** This member's reaction to a message (one emoji), or null to take it back. */
  react: (group: string, id: string, emoji: string | null) => emoji === null
    ? request<MessageView>('DELETE', `${g(group)}/messages/${enc(id)}/reaction`)
    : request<MessageView>('PUT', `${g(group)}/messages/${enc(id)}/reaction`, { emoji }),
  /** The direct conversations the node holds, with unread counts. */
  dms: () => request<DmSummary[]>('GET', '/api/dms'),
  markDmRead: (member: string, id: string) => request<{ unread: number }>('POST', `/api/dms/${enc(member)}/read`, { id }),
  dmMessages: (member: string, page: Page = {}) => request<MessageView[]>('GET', `/api/dms/${enc(member)}/messages${pageQuery(page)}`),
  dm: (member: string, text: string, replyTo?: string) => request<MessageView>('POST', `/api/dms/${enc(member)}/messages`, { text, ...(replyTo !== undefined ? { replyTo } : {}) }),
  dmEdit: (member: string, id: string, text: string) => request<MessageView>('PATCH', `/api/dms/${enc(member)}/messages/${enc(id)}`, { text }),
  dmDelete: (member: string, id: string) => request<MessageView>('DELETE', `/api/dms/${enc(member)}/messages/${enc(id)}`),
  dmReact: (member: string, id: string, emoji: string | null) => emoji === null
    ? request<MessageView>('DELETE', `/api/dms/${enc(member)}/messages/${enc(id)}/reaction`)
    : request<MessageView>('PUT', `/api/dms/${enc(member)}/messages/${enc(id)}/reaction`, { emoji }),

  verification: (member: string) => request<Verification>('GET', `/api/members/${enc(member)}/verification`),
  markVerified: (member: string, mark: boolean) => request<Verification>('POST', `/api/members/${enc(member)}/verification`, { mark }),

  deviceLink: () => request<{ code: string, expires: number }>('POST', '/api/devices/link', {}),
  deviceAdd: (code: string) => request<{ member: string | null, name: string | null, device: string, linked: boolean }>('POST', '/api/devices/add', { code: code.trim(), timeoutMs: 120_000 }),

  pads: (group: string, archived = false) => request<PadSummary[]>('GET', `${g(group)}/pads${archived ? '?archived=true' : ''}`),
  /** `language`: of a template's headings (the creator's UI language). */
  createPad: (group: string, title: string, template?: 'minutes', language?: 'en' | 'de') => request<PadSummary>('POST', `${g(group)}/pads`, { title, ...(template ? { template, ...(language ? { language } : {}) } : {}) }),
  /** A new pad whose text is `content`, read as Markdown or plain text. */
  importPad: (group: string, title: string, content: string, format: 'md' | 'txt') => request<PadSummary>('POST', `${g(group)}/pads`, { title, content, format }),
  pad: (group: string, pad: string) => request<PadSummary>('GET', p(group, pad)),
  renamePad: (group: string, pad: string, title: string) => request<PadSummary>('PATCH', p(group, pad), { title }),
  archivePad: (group: string, pad: string, archived: boolean) => request<PadSummary>('PATCH', p(group, pad), { archived }),
  /** The pad as it is, or (with `at`) as it was after its first `at` edits. */
  padExport: (group: string, pad: string, format: 'md' | 'txt' | 'html', at?: number) =>
    request<PadExport>('GET', `${p(group, pad)}/export?format=${format}${at !== undefined ? `&at=${at}` : ''}`),
  padHistory: (group: string, pad: string) => request<PadHistory>('GET', `${p(group, pad)}/history`),
  /** The pad as one Yjs update; with `since` (the tab's state vector) only what the tab lacks. */
  padState: (group: string, pad: string, since?: Uint8Array) => request<{ id: string, update: string, updates: number }>('GET', `${p(group, pad)}/state${since !== undefined ? `?since=${enc(base64.encode(since))}` : ''}`),
  padUpdate: (group: string, pad: string, update: string) => request<{ accepted: true }>('POST', `${p(group, pad)}/updates`, { update }),
  /** Of this device's messages (sent since the node started): whether a connected peer holds each. */
  delivery: (group: string, ids: string[]) => request<DeliveryState[]>('GET', `${g(group)}/delivery?ids=${ids.map(enc).join(',')}`),
  /** Members of the group online now (connected to this node; this device's own member as self). */
  present: (group: string) => request<Array<{ member: string, name: string, self: boolean }>>('GET', `${g(group)}/present`),
  setPresence: (group: string, pad: string, state: Record<string, unknown> | null, opts: { keepalive?: boolean } = {}) => request<PadPresence>('PUT', `${p(group, pad)}/presence`, { state }, opts),
  presence: (group: string, pad: string) => request<PadPresence>('GET', `${p(group, pad)}/presence`)
}

type Listener = (event: SolidarEvent) => void
const listeners = new Set<Listener>()
const connectionListeners = new Set<(up: boolean) => void>()
let socket: WebSocket | null = null
let retry = 500

/** Subscribes to the node's events; one WebSocket for the whole app, reconnecting with backoff. */
export function onEvent (listener: Listener): () => void {
  listeners.add(listener)
  return () => { listeners.delete(listener) }
}

/** Called with true when the event stream (re)connects and false when it drops: views reload then. */
export function onConnection (listener: (up: boolean) => void): () => void {
  connectionListeners.add(listener)
  return () => { connectionListeners.delete(listener) }
}

export function connectEvents (): void {
  if (socket !== null || token === null) return
  const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/api/events?token=${enc(token)}`
  const ws = new WebSocket(url)
  socket = ws
  ws.onopen = () => {
    retry = 500
    for (const l of connectionListeners) l(true)
  }
  ws.onmessage = (msg) => {
    let event: SolidarEvent
    try { event = JSON.parse(String(msg.data)) } catch { return }
    for (const l of [...listeners]) {
      try { l(event) } catch (err) { console.error('event listener failed', err) }
    }
  }
  ws.onclose = () => {
    socket = null
    for (const l of connectionListeners) l(false)
    setTimeout(connectEvents, retry)
    retry = Math.min(retry * 2, 10_000)
  }
}

export const base64 = {
  encode (bytes: Uint8Array): string {
    let s = ''
    for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000))
    return btoa(s)
  },
  decode (text: string): Uint8Array {
    const s = atob(text)
    const out = new Uint8Array(s.length)
    for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i)
    return out
  }
}
