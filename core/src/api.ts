import type { GroupSync } from './sync-state.ts'
import type { CatchUp, DeliveryState, UpgradeRequiredInfo } from './types.ts'
import type { TransportInfo } from './transport.ts'
import type {
  Role, BridgeAllowEntry, BridgeRegistration, DmSummary, GroupId, GroupSummary, InviteOptions, InviteResult, InviteView, MemberId, MemberView, MessageId,
  MessageView, RoomView, SolidarEvent, WhoAmI, AuditEntry
} from './types.ts'
import type { VerificationResult, VerifyOptions } from './verification.ts'
import type { PadApi } from './pads/api.ts'
import type { MeetingApi } from './meetings/api.ts'

/**
 * What a running Solidar node offers to its owner. The daemon's local HTTP/WebSocket
 * API is a thin, authenticated mapping of this interface; the CLI talks to that API.
 * Group and member references are resolved by the implementation: a group may be given
 * by id or by an unambiguous name, a member by id (or unambiguous display name).
 * Every method throws `SolidarError` with a code on bad input.
 */
export interface SolidarApi {
  whoami (): WhoAmI
  status (): Promise<NodeStatus>

  /** The id of the group `ref` names: an id, else a unique name (case and Unicode form do not matter; core/src/resolve.ts). */
  resolveGroupId (ref: string): Promise<GroupId>
  /** The id of the member `ref` names among the members of this device's groups, or any member id. */
  resolveMemberId (ref: string): Promise<MemberId>

  createGroup (name: string): Promise<{ id: GroupId, name: string, sameName?: GroupId[] }>
  listGroups (): Promise<GroupSummary[]>
  members (group: string): Promise<MemberView[]>
  rooms (group: string): Promise<RoomView[]>
  createRoom (group: string, name: string): Promise<RoomView>

  /**
   * Admin only: removes a member and starts a new key epoch without them. `delivered`: a
   * connected peer has taken the removal (false: it goes out when one connects).
   */
  removeMember (group: string, member: string): Promise<MemberView & { delivered: boolean }>
  /**
   * Leaves the group; this device forgets it once a peer has taken the leave. `pending`: none
   * has within `timeoutMs` (default 10 s); the group is gone from the lists, and the leave goes
   * out, and the group is forgotten, when a member's device is next reachable (also after a restart).
   */
  leaveGroup (group: string, opts?: { timeoutMs?: number, signal?: AbortSignal }): Promise<{ id: GroupId, name: string, pending: boolean }>
  /** Admin only: 'admin' | 'member' | 'observer'; a group keeps at least one admin. `delivered` as for removeMember. */
  setRole (group: string, member: string, role: Role): Promise<MemberView & { delivered: boolean }>
  renameGroup (group: string, name: string): Promise<{ id: GroupId, name: string }>

  /** First device only: a one-time code (10 min) for linking another device of yours. */
  deviceLink (opts?: { expiresMs?: number }): Promise<{ code: string, expires: number }>
  /**
   * Fresh device: become a device of the member who made `code`; gets all their groups. Once
   * admitted it succeeds: `linked` false (member null) means the first device's vault has not
   * reached this device yet; the link then completes by itself when it has.
   */
  deviceAdd (code: string, opts?: { timeoutMs?: number, signal?: AbortSignal }): Promise<{ member: MemberId | null, name: string | null, device: string, linked: boolean }>
  devices (): Promise<Array<{ id: string, name: string, current: boolean, revoked?: number }>>
  /**
   * Revokes another of your devices in every log: it reads and writes nothing new. `pending`:
   * logs whose revocation no peer has taken yet (it goes out when one connects).
   */
  revokeDevice (device: string): Promise<{ id: string, logs: number, pending: number }>

  createInvite (group: string, opts?: InviteOptions): Promise<InviteResult>
  /** Every invite of the group, newest first, with its status (admins only). */
  listInvites (group: string): Promise<InviteView[]>
  /** Revokes an invite by its id or its code (admins only); the code then admits nobody. */
  revokeInvite (group: string, ref: string): Promise<InviteView>
  /** Waits until a member admits us (or `timeoutMs` passes, default 60 s). */
  /** Resolves once admitted; `writable` false: admitted, but this device cannot write until it has caught up (it goes on syncing). */
  join (code: string, opts?: { timeoutMs?: number, signal?: AbortSignal }): Promise<{ id: GroupId, name: string, writable: boolean }>

  send (group: string, text: string, opts?: { room?: string, replyTo?: string }): Promise<MessageView>
  /** Of this device's messages `ids` (sent since the node started): whether a connected peer holds each (delivery.ts). */
  /** Whether this device's messages reached other devices: `devices` of `of` (delivery.ts). */
  messageDelivery (group: string, ids: string[]): Promise<DeliveryState[]>
  edit (group: string, id: string, text: string): Promise<MessageView>
  deleteMessage (group: string, id: string): Promise<MessageView>
  /** This member's reaction to a message (one emoji), or null to take it back. */
  react (group: string, id: string, emoji: string | null): Promise<MessageView>
  /**
   * One page of messages in linearized order, oldest first: the newest `limit` (default 100,
   * at most 500) strictly before message `before` (an id; absent: the newest); `room`
   * undefined means all rooms (history.ts). Fewer than `limit`: the start of the history.
   */
  messages (group: string, opts?: { room?: string, before?: string, limit?: number }): Promise<MessageView[]>
  /**
   * Marks the group read up to message `id` on this device (a marker that only moves forward);
   * `listGroups` counts the messages by others after it. Returns the count left.
   */
  markRead (group: string, id: string): Promise<{ unread: number }>
  audit (group: string): Promise<AuditEntry[]>

  dm (member: string, text: string, opts?: { replyTo?: string }): Promise<MessageView>
  /** The direct conversations this device holds, with unread counts. */
  listDms (): Promise<DmSummary[]>
  /** Marks the conversation with `member` read up to message `id` (as `markRead`). */
  markDmRead (member: string, id: string): Promise<{ unread: number }>
  /** One page of the direct messages with `member`, as `messages` (several conversation logs merged). */
  dmMessages (member: string, opts?: { before?: string, limit?: number }): Promise<MessageView[]>
  /** Edits one of your own direct messages with `member` (MESSAGE_NOT_FOUND, NOT_PERMITTED). */
  dmEdit (member: string, id: string, text: string): Promise<MessageView>
  /** Deletes one of your own direct messages with `member`; the other side sees it deleted. */
  dmDelete (member: string, id: string): Promise<MessageView>
  dmReact (member: string, id: string, emoji: string | null): Promise<MessageView>

  /** Fingerprints and safety number with a member; marks or unmarks the member verified. */
  verify (member: string, opts?: VerifyOptions): Promise<VerificationResult>

  /** The group's XMPP bridge allowlist (bare JIDs and domains). */
  bridgeAllowlist (group: string): Promise<BridgeAllowEntry[]>
  /** Admin only: allow a bare JID or a whole domain to use the group's XMPP bridge; returns the new list. */
  bridgeAllow (group: string, entry: string): Promise<BridgeAllowEntry[]>
  /** Admin only: take an entry off the bridge allowlist; returns the new list. */
  bridgeRevoke (group: string, entry: string): Promise<BridgeAllowEntry[]>
  /** The members registered as the group's XMPP bridge: only they post bridged messages. */
  bridgeMembers (group: string): Promise<BridgeRegistration[]>
  /** Admin only: register (or, with `register: false`, unregister) a member id as the group's bridge; returns the new list. */
  bridgeRegister (group: string, member: string, register?: boolean): Promise<BridgeRegistration[]>

  /** Collaborative documents (pads) of the groups: see core/src/pads/api.ts. */
  readonly pads: PadApi

  /** Video meeting signalling (WebRTC between browsers): see core/src/meetings/api.ts. */
  readonly meetings: MeetingApi

  /** Subscribe to events; returns an unsubscribe function. */
  subscribe (listener: (event: SolidarEvent) => void): () => void
}

export interface NodeStatus {
  id: MemberId
  name: string
  network: {
    mode: 'none' | 'bootstrap' | 'public'
    bootstrap: string[]
    connections: number
    /** The transports that are up (hyperswarm, libp2p) and their connections. */
    transports: TransportInfo[]
  }
  /**
   * Per group: peers currently replicating its log (in all and per transport), messages
   * in this node's view, and whether this node and its peers hold the same blocks.
   */
  groups: Array<{ id: GroupId, name: string, peers: number, peersByTransport: Record<string, number>, length: number, sync: GroupSync, catchUp?: CatchUp, upgradeRequired?: UpgradeRequiredInfo }>
  /** Groups this device left whose leave no peer has taken yet (it goes out when one is reachable). */
  leaving: Array<{ id: GroupId, name: string, since: number }>
  /**
   * The process's memory in bytes (Node's `process.memoryUsage()`), added by the platform
   * layer that serves the API (core itself stays platform-independent): resident set, V8
   * heap used and reserved, memory of C++ objects bound to JS (`external`, which includes
   * `arrayBuffers`: Buffers and typed arrays). Native memory outside these (RocksDB, malloc
   * arenas) is RSS minus heapTotal minus external, roughly.
   */
  memory?: NodeMemory
  /**
   * Whether the store takes writes, added by the platform layer: `writable` false while the
   * node runs read-only because its disk was too full to open the store for writing.
   */
  storage?: NodeStorage
}

/** The store's state (node/src/read-only.ts): free and needed bytes on the store's file system. */
export interface NodeStorage {
  writable: boolean
  /** Why not writable ('disk-full'), null when writable. */
  reason: 'disk-full' | null
  /** The store folder and the free bytes on its file system when last checked. */
  path: string
  free: number
  /** Free bytes the node waits for before it reopens the store for writing. */
  needed: number
}

/** Bytes, as `process.memoryUsage()` reports them. */
export interface NodeMemory { rss: number, heapUsed: number, heapTotal: number, external: number, arrayBuffers: number }

export type { MessageId }
