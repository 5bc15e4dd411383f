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
  /** Position in the group's (or DM's) linearized order, 1-based; 0 in a `message-live` event (not in the log yet). */
  seq: number
  /** Written by a Jabber user through the XMPP bridge: their bare JID and room nickname; `author` is the bridge member. */
  bridged?: { jid: string, nick?: string }
  /** Members' reactions (one emoji each), most given first; absent when there are none. */
  reactions?: Array<{ emoji: string, members: MemberId[] }>
}

/** An entry of a group's XMPP bridge allowlist: a bare JID (`user@domain`) or a whole domain. */
export interface BridgeAllowEntry {
  entry: string
  addedBy: MemberId
  ts: number
}

/** A member registered as a group's XMPP bridge (`bridge/register`): only its devices post bridged messages. */
export interface BridgeRegistration {
  member: MemberId
  addedBy: MemberId
  ts: number
}

export interface MemberView {
  id: MemberId
  name: string
  role: Role
  joinedTs: number
  /** Set by `members()`: you marked this member's key verified (`solidar verify --mark`). */
  verified?: boolean
  /** Set when this member is not verified but uses the name of a member you verified with another key (or a name that looks the same: names.ts). */
  keyChanged?: true
  /** Set by `members()`: the other members of the group whose names look the same as this one (names.ts), verified or not. */
  lookAlike?: MemberId[]
  /** Set by `members()` for the group's registered XMPP bridge (`relay register`): it decrypts the group and hands the text to an XMPP server. */
  bridge?: true
}

/** A direct conversation this device holds: the peer, its name as the conversation shows it, and the messages unread. */
export interface DmSummary {
  member: MemberId
  name: string
  /** Messages by the peer after this device's read marker (`markDmRead`), as for groups. */
  unread: number
}

export interface GroupSummary {
  id: GroupId
  name: string
  role: Role | null
  members: number
  /**
   * Messages by others after this device's read marker (`markRead`), counted over at most the
   * 1,000 messages after it (read-markers.ts); absent while the log cannot be read.
   */
  unread?: number
  /** The id of the newest message read on this device (the read marker), if any: where the unread ones start. */
  lastRead?: string
  /**
   * Present while the group has not fully reached this device (not admitted yet, or history still
   * arriving): how far it is, from which peers, and whether an admin is online (catch-up.ts).
   */
  catchUp?: CatchUp
  /**
   * Present when a newer Solidar moved the group to apply rules this one does not know: the log
   * stopped at that entry here (core/src/upgrade.ts). What came before reads; writes get UPGRADE_REQUIRED.
   */
  upgradeRequired?: UpgradeRequiredInfo
}

/** The apply rules a group needs (`rules`) and the newest this Solidar knows (`known`). */
export interface UpgradeRequiredInfo { rules: number, known: number }

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
  /** The invite's id (z-base-32): `invite list` shows it and `invite revoke` takes it. */
  id: string
  group: GroupId
  expires: number
  uses: number
  role: Role
}

/**
 * open: admits people; used: no uses left; expired; revoked: an admin revoked it;
 * orphaned: its issuer is no longer an admin (removed, left or demoted) or revoked the issuing device.
 */
export type InviteStatus = 'open' | 'used' | 'expired' | 'revoked' | 'orphaned'

export interface InviteView {
  id: string
  role: Role
  status: InviteStatus
  expires: number
  uses: number
  used: number
  /** ms; null for invites made before the time was recorded. */
  created: number | null
  createdBy: MemberId
  createdByName: string
  revoked?: number
  revokedBy?: MemberId
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
  /**
   * Another member's new message as it came over the live channel (services/live-messages.ts),
   * before its log entry: `seq` is 0. The `message` (`dm`) event with the same id follows once
   * the log has it; a client shows the live one at once and puts the logged one in its place.
   */
  | { type: 'message-live'; group: GroupId; message: MessageView }
  | { type: 'dm-live'; peer: MemberId; message: MessageView }
  /** A live message whose sender's append failed: it will not come through the log. */
  | { type: 'message-withdrawn'; group: GroupId; id: MessageId }
  | { type: 'dm-withdrawn'; peer: MemberId; id: MessageId }
  | { type: 'members'; group: GroupId }
  | { type: 'group'; group: GroupId }
  /** This device now acts for `member` (a device link completed). */
  | { type: 'identity'; member: MemberId }
  /** `live`: another member's edit that came over the live channel, before its log entry (pads/live.ts). */
  | { type: 'pad'; group: GroupId; pad: PadId; change: PadChange; author: MemberId; seq?: number; live?: true }
  | { type: 'pad-presence'; group: GroupId; pad: PadId; presence: PadPresence }
  | { type: 'meeting-update'; group: GroupId; meeting: MeetingView }
  | { type: 'meeting-signal'; group: GroupId; meeting: MeetingId; from: MeetingPeer; to: string; signal: MeetingSignal }
  /** The store became writable again (or read-only): the node's storage state changed. */
  | { type: 'storage'; writable: boolean }

// ------------------------------------------------------------------ pads (core/src/pads/)

export type PadId = string & { readonly __brand: 'PadId' }
export type PadFormat = 'md' | 'txt' | 'html'
export type PadChange = 'created' | 'updated' | 'renamed' | 'archived' | 'unarchived'

export interface PadSummary {
  id: PadId
  title: string
  createdBy: MemberId
  createdByName: string
  ts: number
  /** Author's clock of the newest change (edit, rename, archive). */
  changedTs: number
  /** Edits (log updates) so far. */
  updates: number
  archived: boolean
  /** The title is sealed under a key epoch this device does not hold. */
  unreadable?: true
}

export interface PadExport {
  pad: PadId
  title: string
  format: PadFormat
  /** The document after this many updates (all of them unless `at` was given). */
  at: number
  updates: number
  content: string
}

/** One version: consecutive updates by one member, less than 5 minutes apart. */
export interface PadVersion {
  version: number
  /** First and last update of the version; `pad export --at SEQ` shows the pad after `seq`. */
  fromSeq: number
  seq: number
  author: MemberId
  authorName: string
  startTs: number
  endTs: number
  updates: number
}

export interface PadHistory {
  pad: PadSummary
  versions: PadVersion[]
  /** Who wrote the characters the document holds now. */
  authors: Array<{ member: MemberId, name: string, chars: number }>
  /** Updates every reader skips because they are not Yjs (written by a broken or hostile client), with who wrote them. */
  skipped?: Array<{ seq: number, author: MemberId, authorName: string, reason: string }>
}

/** Who is in a pad right now (Yjs awareness, ephemeral). `state` is what their editor shares (cursor, colour…). */
/** A member online in a group right now (this node's member or one directly connected). */
export interface PresentMember { member: MemberId, name: string, self: boolean }

export interface PadPresence {
  pad: PadId
  peers: Array<{ clientId: number, member: MemberId, name: string, self: boolean, state: Record<string, unknown> }>
}

// ------------------------------------------------------------------ meetings (core/src/meetings/)

export type MeetingId = string & { readonly __brand: 'MeetingId' }

/** What a participant sends: microphone, camera, screen (false = muted / off). */
export interface MediaState { audio: boolean, video: boolean, screen: boolean }

/** One browser session of a member's device in a meeting. */
export interface MeetingPeer {
  member: MemberId
  name: string
  /** The device (z-base-32 key) whose node signed for this participant. */
  device: string
  /** A random id per join of a browser tab: a rejoin is a new session. */
  session: string
}

export interface MeetingParticipant extends MeetingPeer {
  /** This node's own participant (a browser tab on this node). */
  self: boolean
  /** When this session joined (its node's clock). */
  since: number
  media: MediaState
}

/** A running meeting of a group; no participants left means it ended. */
export interface MeetingView {
  id: MeetingId
  group: GroupId
  /** The room it was started in, if any. */
  room?: string
  started: number
  participants: MeetingParticipant[]
}

/**
 * A WebRTC signalling message as simple-peer emits it: `{type: 'offer' | 'answer', sdp}`,
 * `{type: 'candidate', candidate: {candidate, sdpMLineIndex, sdpMid}}`, `{type: 'renegotiate'}` or
 * `{type: 'transceiverRequest', transceiverRequest: {kind, init}}`.
 */
export type MeetingSignal = Record<string, unknown> & { type: string }

/** How far a group that has not fully reached this device is (see core/src/catch-up.ts). */
export interface CatchUpPeer {
  /** The peer's transport key, shortened (z-base-32). */
  peer: string
  /** The member behind the peer, once its group presence checked out; else null. */
  member: MemberId | null
  name: string | null
  /** The member is an admin of the group (can admit devices). */
  admin: boolean
  /** Blocks this peer has announced that this device has not fetched yet (0: nothing to fetch from it). */
  ahead: number
}

export interface CatchUpWriter {
  /** The writer core's key, shortened (z-base-32). */
  writer: string
  member: MemberId | null
  name: string | null
  /** Blocks of this writer this device holds; the longest length a peer announced (≥ have). */
  have: number
  known: number
}

export interface CatchUp {
  /** 'admission': this device cannot write yet (its admission has not reached it); 'history': it can, and still fetches or applies. */
  stage: 'admission' | 'history'
  /** Over all writer cores this device knows of: blocks held, blocks peers announced, entries applied to the view. */
  have: number
  known: number
  applied: number
  /** Per writer core (what this device knows of the log so far). */
  writers: CatchUpWriter[]
  /** Connected peers of this log; those with `ahead` > 0 are the ones it is fetching from. */
  peers: CatchUpPeer[]
  /** A device of an admin is connected (its presence checked out). */
  adminOnline: boolean
  /** Not admitted yet and no admin online: nothing moves until an admin's device comes online. */
  waitingForAdmin: boolean
}

/**
 * Whether one of this device's messages reached others: `reached` once a connected peer holds
 * it; `devices` of `of`: how many of the group's other current devices hold it, seen over direct
 * connections (a lower bound: a device that got it through another member is not seen).
 */
export interface DeliveryState { id: string, reached: boolean, peers: number, devices: number, of: number }
