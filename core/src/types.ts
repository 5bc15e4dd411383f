/** Branded ids: a printable public key is not just any string. */
export type MemberId = string & { readonly __brand: 'MemberId' }
export type GroupId = string & { readonly __brand: 'GroupId' }
export type MessageId = string & { readonly __brand: 'MessageId' }

/** admin: manages members and invites; member: reads and writes; observer: reads only. */
export type Role = 'admin' | 'member' | 'observer'
export const ROLES: readonly Role[] = ['admin', 'member', 'observer']

/** A chat message as every peer derives it from the log. */
export interface MessageView {
  id: MessageId
  author: MemberId
  authorName: string
  room: string
  text: string
  /** Author's clock at send time, ms since epoch. */
  ts: number
  replyTo?: MessageId
  /** Set when the author edited the text. */
  editedTs?: number
  /** Set when the author deleted the message; `text` is then empty. */
  deleted?: boolean
  /** Sealed under a key epoch this device does not hold (it was removed before): `text` is empty. */
  unreadable?: boolean
  /** Position in the group's (or DM's) linearized order, 1-based. */
  seq: number
}

export interface MemberView {
  id: MemberId
  name: string
  role: Role
  joinedTs: number
  /** Set by `members()`: you marked this member's key verified (`solidar verify --mark`). */
  verified?: boolean
  /** Set when this member is not verified but uses the name of a member you verified with another key. */
  keyChanged?: true
}

export interface GroupSummary {
  id: GroupId
  name: string
  role: Role | null
  members: number
}

export interface RoomView {
  name: string
  createdBy: MemberId
  ts: number
}

export interface WhoAmI {
  id: MemberId
  name: string
  fingerprint: string
}

export interface InviteOptions {
  role?: Role
  /** Lifetime in ms; default 24 h. */
  expiresMs?: number
  /** How many people may join with it; default 1. */
  uses?: number
}

export interface InviteResult {
  code: string
  group: GroupId
  expires: number
  uses: number
  role: Role
}

export interface AuditEntry {
  seq: number
  writer: string
  type: string
  reason: string
}

/**
 * Events the node emits to API clients (WebSocket) and the CLI's --follow. A `message` or
 * `dm` event carries a message as it is now: new, edited or deleted (upsert by `id`).
 */
export type SolidarEvent =
  | { type: 'message'; group: GroupId; message: MessageView }
  | { type: 'dm'; peer: MemberId; message: MessageView }
  | { type: 'members'; group: GroupId }
  | { type: 'group'; group: GroupId }
