/**
 * The typed, versioned commands that make up a group's (or DM's) log. Each entry is a
 * CBOR map `{ v: <version of this command's format>, t: '<name>', ... }`. `parseCommand` turns
 * untrusted bytes into a command or a reason for rejecting it; nothing here reads state.
 * Versioning rules (docs/PROTOCOL.md, "Versions"): `COMMAND_VERSIONS` says which format of each
 * command this code reads; a newer format or a new command is only ever written in a log whose
 * apply rules (rules.ts) a newer node raised first, so this code stops at that raise.
 */
import b4a from 'b4a'
import { decode } from './codec.ts'
import { isSealed, type Sealed } from './content.ts'
import type { Role } from './types.ts'
import { MAX_JID, MAX_NICK, normalizeBareJid, normalizeBridgeEntry } from './bridge.ts'
import { MAX_RULES } from './rules.ts'
import { errors } from './errors.ts'
import { MAX_NAME_BYTES } from './identity.ts'
import { EPOCH_KEY_ID_BYTES } from './keys.ts'
import { describe } from './describe.ts'

/** The format version of every command type that existed when versions were introduced; `v` of the entries this code writes. */
export const PROTOCOL_VERSION = 1
/** Above this an entry's `v` is malformed, not newer (a typo or hostile value cannot look like a far future). */
export const MAX_COMMAND_VERSION = 64
export const MAX_TEXT_LENGTH = 16_000
export const MAX_ROOM_NAME = 48
export const MAX_NAME = 64
export const MAX_SEALED = 4096
/** Bytes of a sealed reaction (one emoji: a few code points; the seal adds its nonce and tag). */
export const MAX_REACTION_BYTES = 128
/** UTF-8 bytes of the longest text (MAX_TEXT_LENGTH UTF-16 units, at most 3 bytes each). */
export const MAX_TEXT_BYTES = MAX_TEXT_LENGTH * 3
export const MAX_EPOCH_BOXES = 1000
/** Bytes of one pad update (a merged Yjs update) before sealing: a group commit of typing, or one block of an import. */
export const MAX_PAD_UPDATE = 256 * 1024
/** Characters of a pad title (sealed, so apply checks only the sealed size: 3 bytes per character). */
export const MAX_PAD_TITLE = 200
const MAX_KEY_BOX = 256
/** Sealed names (group, member): MAX_NAME characters, 3 bytes each at most. */
const MAX_SEALED_NAME = MAX_NAME * 3
/**
 * Rules 4: names count what a user sees. A name may have up to MAX_NAME characters (grapheme
 * clusters, checked where a user gives it: identity.ts `validateName`); apply, which must not
 * depend on a Unicode library's version, checks only its UTF-8 size, MAX_NAME_BYTES, in clear or
 * sealed. Under older rules a name in clear is at most MAX_NAME UTF-16 units and a sealed one
 * MAX_SEALED_NAME bytes, as before.
 */
/** The rules from which names are limited by MAX_NAME_BYTES (identity.ts; rules.ts). */
export const BYTE_NAME_RULES = 4
/** A sealed bridged sender: CBOR {jid, nick?} (MAX_JID + MAX_NICK characters, 3 bytes each, plus framing). */
const MAX_SEALED_SENDER = (MAX_JID + MAX_NICK) * 3 + 32
/** Bytes of a bridge allowlist tag (BLAKE2b-256). */
export const BRIDGE_TAG_BYTES = 32

export type LogKind = 'group' | 'dm' | 'vault'
/**
 * `sig` is the device binding, signed by `device` (or by `member` on a member's first device,
 * which then omits `device` and `cert`); `cert` is the member key's signature over `device`.
 */
export interface GroupCreate { t: 'group/create', kind: LogKind, name: string, member: Buffer, memberName: string, sig: Buffer, ts: number, peer?: Buffer, device?: Buffer, cert?: Buffer, rules?: number }
/** Admins: the log follows apply rules `rules` from here on (rules.ts); only ever raised. */
export interface GroupRules { t: 'group/rules', rules: number, ts: number }
/** An epoch key sealed to one member (see content.ts and keys.ts). */
/** `id` (rules 3, keys.ts `epochKeyId`) names the key inside the box: which key of epoch `e` it is. */
export interface EpochBox { e: number, box: Buffer, id?: Buffer }
export interface MemberBox { member: Buffer, box: Buffer }
/**
 * `name` is the newcomer's display name; since sealed metadata (docs/PROTOCOL.md) an admin's node
 * writes `sealedName` instead (kind 'member-name', current epoch) and `name` is then ''.
 */
export interface MemberAdd { t: 'member/add', member: Buffer, writer: Buffer, name: string, sealedName?: Sealed, role: Role, sig: Buffer, invite?: Buffer, keys?: EpochBox[], ts: number, device?: Buffer, cert?: Buffer }
/** The author (a member) adds another of its devices, with that device's writer. */
export interface MemberDevice { t: 'member/device', device: Buffer, writer: Buffer, cert: Buffer, sig: Buffer, name: string, keys?: EpochBox[], ts: number }
/** The author revokes one of its own devices: its writers go, a new epoch is due. */
export interface DeviceRevoke { t: 'member/revoke-device', device: Buffer, ts: number }
/** Vault only: a log this member belongs to, sealed under the vault's epoch key (kind 'vault'). */
export interface VaultLog { t: 'vault/log', body: Sealed, ts: number }
/** Vault only: "my device's writer for log L is W" (binding signed by the device). */
export interface VaultWriter { t: 'vault/writer', log: Buffer, device: Buffer, writer: Buffer, sig: Buffer, ts: number }
export interface MemberRemove { t: 'member/remove', member: Buffer, ts: number }
export interface MemberLeave { t: 'member/leave', ts: number }
export interface MemberRole { t: 'member/role', member: Buffer, role: Role, ts: number }
/** Either `name` in clear (older nodes) or `sealedName` (kind 'group-name', sealed under the current epoch). */
export interface GroupRename { t: 'group/rename', name?: string, sealedName?: Sealed, ts: number }
/** A new content epoch: its key sealed to every remaining member. */
/** `id` (rules 3): the key id of the new key (keys.ts `epochKeyId`). */
export interface EpochRotate { t: 'epoch/rotate', epoch: number, keys: MemberBox[], id?: Buffer, ts: number }
/**
 * Rules 3: an admin seals a key of an epoch (named by its id) to current devices that lack it
 * (admitted or linked while another admin rotated the same epoch). apply-epochs.ts.
 */
export interface EpochGrant { t: 'epoch/grant', epoch: number, id: Buffer, keys: MemberBox[], ts: number }
export interface InviteCreate { t: 'invite/create', id: Buffer, publicKey: Buffer, role: Role, expires: number, uses: number, ts: number }
/** An admin revokes an invite (`id` as in invite/create): it admits nobody from then on. */
export interface InviteRevoke { t: 'invite/revoke', id: Buffer, ts: number }
export interface RoomCreate { t: 'room/create', name: string, ts: number }
/** `body` is the UTF-8 text sealed under an epoch key (content.ts). */
export interface MessagePost { t: 'message/post', id: string, room: string, body: Sealed, ts: number, replyTo?: string }
export interface MessageEdit { t: 'message/edit', id: string, body: Sealed, ts: number }
export interface MessageDelete { t: 'message/delete', id: string, ts: number }
/** Rules 4: the author's reaction to a message, one per member (the latest counts): an emoji sealed under the epoch (kind 'reaction'), or '' sealed to take it back. */
export interface MessageReact { t: 'message/react', id: string, body: Sealed, ts: number }
/** A sealed box only the addressee can open (DM offers and accepts); see dm.ts. */
export interface DmSignal { t: 'dm/offer' | 'dm/accept', box: Buffer, ts: number }

/** Pads (core/src/pads/): titles sealed as kind 'pad-title', updates (Yjs update bytes) as kind 'pad'. */
export interface PadCreate { t: 'pad/create', id: string, title: Sealed, ts: number }
export interface PadUpdate { t: 'pad/update', pad: string, body: Sealed, ts: number }
export interface PadRename { t: 'pad/rename', pad: string, title: Sealed, ts: number }
export interface PadArchive { t: 'pad/archive', pad: string, archived: boolean, ts: number }

/**
 * XMPP bridge (core/src/bridge.ts): the allowlist in group state. Older entries name `entry` (a bare
 * JID or a domain, normalized) in clear; sealed ones carry `sealed` (kind 'bridge-entry') and `tag`,
 * a keyed hash of the entry (sealed-meta.ts `bridgeTag`); a sealed entry is revoked by its `tag`.
 */
export interface BridgeAllow { t: 'bridge/allow' | 'bridge/revoke', entry?: string, sealed?: Sealed, tag?: Buffer, ts: number }
/**
 * A message a Jabber user wrote, posted by the group's registered bridge member. Older entries
 * name the sender in clear (bare `jid`, room nickname `nick`); sealed ones carry `from` (kind
 * 'bridge-sender': CBOR {jid, nick?}) and, in a group, `allow`: the allowlist entry that lets the
 * sender in (the `tag` of a sealed entry, or the text of an entry in clear).
 */
export interface BridgePost { t: 'bridge/post', id: string, room: string, body: Sealed, jid?: string, nick?: string, from?: Sealed, allow?: Buffer | string, ts: number, replyTo?: string }
/** Admins name the member that is the group's XMPP bridge: only its devices may write `bridge/post`. */
export interface BridgeRegister { t: 'bridge/register' | 'bridge/unregister', member: Buffer, ts: number }

export type Command = GroupCreate | GroupRename | MemberAdd | MemberRemove | MemberLeave | MemberRole | EpochRotate | EpochGrant |
  MemberDevice | DeviceRevoke | VaultLog | VaultWriter | GroupRules |
  InviteCreate | InviteRevoke | RoomCreate | MessagePost | MessageEdit | MessageDelete | MessageReact | DmSignal |
  PadCreate | PadUpdate | PadRename | PadArchive | BridgeAllow | BridgePost | BridgeRegister

/**
 * The newest format of each command this code reads (all 1 so far). A change to a command's
 * fields that older code would read differently gets a new version here, and a new command type
 * starts at version 2, so that every older node tells it from a malformed entry (a type that
 * existed at version 1 is known to every node). Either comes with a new apply rules version
 * (rules.ts) that allows it.
 */
export const COMMAND_VERSIONS: Readonly<Record<Command['t'], number>> = {
  'group/create': 1, 'group/rules': 1, 'group/rename': 1, 'member/add': 1, 'member/remove': 1, 'member/leave': 1,
  'member/role': 1, 'epoch/rotate': 1, 'member/device': 1, 'member/revoke-device': 1, 'vault/log': 1, 'vault/writer': 1,
  'invite/create': 1, 'invite/revoke': 1, 'room/create': 1, 'message/post': 1, 'message/edit': 1, 'message/delete': 1,
  'dm/offer': 1, 'dm/accept': 1, 'pad/create': 1, 'pad/update': 1, 'pad/rename': 1, 'pad/archive': 1,
  'bridge/allow': 1, 'bridge/revoke': 1, 'bridge/post': 1, 'bridge/register': 1, 'bridge/unregister': 1,
  // new with rules 3 (a new type starts at format 2: an older node reads it as newer, not malformed)
  'epoch/grant': 2,
  // new with rules 4
  'message/react': 2
}

/**
 * `newer`: the entry is well formed as far as this code can tell (`v` an integer ≤
 * MAX_COMMAND_VERSION) but its format (`newer` = its `v`) is newer than this code reads, or its
 * type is unknown with `v` ≥ 2. Under rules this code knows it cannot be honest (see
 * COMMAND_VERSIONS) and is skipped like a malformed one; the reason is the same as before
 * versions were told apart, so views stay identical across versions.
 */
export type Parsed = { ok: true, cmd: Command } | { ok: false, type: string, reason: string, newer?: number }

/** The format version of an entry's `v`, or null when `v` is not a version at all. */
function versionOf (raw: Record<string, unknown>): number | null {
  const v = raw.v
  return Number.isSafeInteger(v) && (v as number) >= 1 && (v as number) <= MAX_COMMAND_VERSION ? v as number : null
}

const isObj = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x)
const isBytes = (x: unknown, len?: number): x is Buffer =>
  x instanceof Uint8Array && (len === undefined || x.byteLength === len)
const isTs = (x: unknown): x is number => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0
const isText = (x: unknown, max: number, allowEmpty = false): x is string =>
  typeof x === 'string' && x.length <= max && (allowEmpty || x.trim().length > 0)
const isRole = (x: unknown): x is Role => x === 'admin' || x === 'member' || x === 'observer'
const sealed = (x: any): Sealed => ({ e: x.e, n: Buffer.from(x.n), c: Buffer.from(x.c) })
function boxes<T> (x: unknown, item: (o: Record<string, unknown>) => T | null): T[] | null {
  if (!Array.isArray(x) || x.length > MAX_EPOCH_BOXES) return null
  const out: T[] = []
  for (const o of x) {
    const v = isObj(o) ? item(o) : null
    if (v === null) return null
    out.push(v)
  }
  return out
}
const epochBox = (o: Record<string, unknown>): EpochBox | null =>
  Number.isSafeInteger(o.e) && (o.e as number) > 0 && isBytes(o.box) && o.box.byteLength <= MAX_KEY_BOX && (o.id === undefined || isBytes(o.id, EPOCH_KEY_ID_BYTES))
    ? { e: o.e as number, box: Buffer.from(o.box), ...(o.id === undefined ? {} : { id: Buffer.from(o.id as Uint8Array) }) }
    : null
/** Either both `device` and `cert` (a linked device) or neither (a member's first device). */
const deviceCert = (raw: Record<string, unknown>): boolean =>
  (raw.device === undefined && raw.cert === undefined) || (isBytes(raw.device, 32) && isBytes(raw.cert, 64))
const deviceFields = (raw: Record<string, unknown>): { device?: Buffer, cert?: Buffer } =>
  raw.device === undefined ? {} : { device: Buffer.from(raw.device as Uint8Array), cert: Buffer.from(raw.cert as Uint8Array) }
const memberBox = (o: Record<string, unknown>): MemberBox | null =>
  isBytes(o.member, 32) && isBytes(o.box) && o.box.byteLength <= MAX_KEY_BOX ? { member: Buffer.from(o.member), box: Buffer.from(o.box) } : null
/** Message ids: 8–64 url-safe characters chosen by the author. */
export const isMessageId = (x: unknown): x is string => typeof x === 'string' && /^[A-Za-z0-9_-]{8,64}$/.test(x)
/** Room names: lowercase words with - or _, like chat channels. */
export const isRoomName = (x: unknown): x is string => typeof x === 'string' && /^[\p{Ll}\p{Lo}\p{N}][\p{Ll}\p{Lo}\p{N}_-]*$/u.test(x) && x.length <= MAX_ROOM_NAME
/** Names only (not message text): the same rule as `validateName`, so a hand-made entry cannot carry CR/LF/TAB or C1 controls. */
const noControl = (s: string) => !/\p{Cc}/u.test(s)

const isRules = (x: unknown): boolean => Number.isInteger(x) && (x as number) >= 1 && (x as number) <= MAX_RULES

/**
 * `rules`: the apply rules in force in the log (names' limits depend on them, see
 * MAX_NAME_BYTES); a `group/create` brings its own. Absent: the first rules.
 */
export function parseCommand (value: Uint8Array, opts: { rules?: number } = {}): Parsed {
  const raw = decode(value)
  if (!isObj(raw)) return { ok: false, type: '?', reason: 'not a CBOR map' }
  const type = typeof raw.t === 'string' ? raw.t.slice(0, 40) : '?'
  const bad = (reason: string): Parsed => ({ ok: false, type, reason })
  const version = versionOf(raw)
  if (version === null) return bad(`unsupported version ${describe(raw.v)}`)
  const known = typeof raw.t === 'string' && Object.hasOwn(COMMAND_VERSIONS, raw.t) ? COMMAND_VERSIONS[raw.t as Command['t']] : 0
  if (version > known && (known > 0 || version > 1)) return { ok: false, type, reason: `unsupported version ${version}`, newer: version }
  // Formats this code reads: 1 (every type's first) and each type's current one.
  if (version !== PROTOCOL_VERSION && version !== known) return bad(`unsupported version ${version}`)
  if (!isTs(raw.ts)) return bad('missing or invalid ts')
  const b = (x: unknown) => Buffer.from(x as Uint8Array)
  const rules = raw.t === 'group/create' ? (isRules(raw.rules) ? raw.rules as number : 1) : opts.rules ?? 1
  const byBytes = rules >= BYTE_NAME_RULES
  const isName = (x: unknown, allowEmpty = false): x is string => byBytes
    ? typeof x === 'string' && b4a.byteLength(x) <= MAX_NAME_BYTES && (allowEmpty || x.trim().length > 0)
    : isText(x, MAX_NAME, allowEmpty)
  const sealedName = byBytes ? MAX_NAME_BYTES : MAX_SEALED_NAME
  switch (raw.t) {
    case 'group/create':
      if (raw.kind !== 'group' && raw.kind !== 'dm' && raw.kind !== 'vault') return bad('invalid kind')
      if (!isName(raw.name, raw.kind !== 'group') || !noControl(raw.name)) return bad('invalid group name')
      if (!deviceCert(raw)) return bad('invalid device or certificate')
      if (!isBytes(raw.member, 32) || !isBytes(raw.sig, 64)) return bad('invalid creator key or signature')
      if (!isName(raw.memberName) || !noControl(raw.memberName)) return bad('invalid creator name')
      if (raw.peer !== undefined && !isBytes(raw.peer, 32)) return bad('invalid dm peer')
      if (raw.rules !== undefined && !isRules(raw.rules)) return bad('invalid rules version')
      return { ok: true, cmd: { t: raw.t, kind: raw.kind, name: raw.name, member: b(raw.member), memberName: raw.memberName, sig: b(raw.sig), ts: raw.ts, ...(raw.peer ? { peer: b(raw.peer) } : {}), ...deviceFields(raw), ...(raw.rules !== undefined ? { rules: raw.rules as number } : {}) } }
    case 'group/rules':
      if (!isRules(raw.rules)) return bad('invalid rules version')
      return { ok: true, cmd: { t: raw.t, rules: raw.rules as number, ts: raw.ts } }
    case 'member/add':
      if (!isBytes(raw.member, 32) || !isBytes(raw.writer, 32) || !isBytes(raw.sig, 64)) return bad('invalid member, writer or signature')
      if (raw.sealedName !== undefined ? !isSealed(raw.sealedName, sealedName) || raw.name !== '' : !isName(raw.name) || !noControl(raw.name)) return bad('invalid member name')
      if (!isRole(raw.role)) return bad('invalid role')
      if (raw.invite !== undefined && !isBytes(raw.invite, 32)) return bad('invalid invite id')
      const keys = raw.keys === undefined ? [] : boxes(raw.keys, epochBox)
      if (keys === null) return bad('invalid epoch keys')
      if (!deviceCert(raw)) return bad('invalid device or certificate')
      return { ok: true, cmd: { t: raw.t, member: b(raw.member), writer: b(raw.writer), name: raw.name as string, ...(raw.sealedName !== undefined ? { sealedName: sealed(raw.sealedName) } : {}), role: raw.role, sig: b(raw.sig), ts: raw.ts, ...(raw.invite ? { invite: b(raw.invite) } : {}), ...(keys.length ? { keys } : {}), ...deviceFields(raw) } }
    case 'member/device': {
      if (!isBytes(raw.device, 32) || !isBytes(raw.writer, 32) || !isBytes(raw.cert, 64) || !isBytes(raw.sig, 64)) return bad('invalid device, writer, certificate or signature')
      if (!isName(raw.name) || !noControl(raw.name)) return bad('invalid device name')
      const keys = raw.keys === undefined ? [] : boxes(raw.keys, epochBox)
      if (keys === null) return bad('invalid epoch keys')
      return { ok: true, cmd: { t: raw.t, device: b(raw.device), writer: b(raw.writer), cert: b(raw.cert), sig: b(raw.sig), name: raw.name, ts: raw.ts, ...(keys.length ? { keys } : {}) } }
    }
    case 'member/revoke-device':
      if (!isBytes(raw.device, 32)) return bad('invalid device')
      return { ok: true, cmd: { t: raw.t, device: b(raw.device), ts: raw.ts } }
    case 'vault/log':
      if (!isSealed(raw.body, MAX_SEALED)) return bad('invalid sealed body')
      return { ok: true, cmd: { t: raw.t, body: sealed(raw.body), ts: raw.ts } }
    case 'vault/writer':
      if (!isBytes(raw.log, 32) || !isBytes(raw.device, 32) || !isBytes(raw.writer, 32) || !isBytes(raw.sig, 64)) return bad('invalid log, device, writer or signature')
      return { ok: true, cmd: { t: raw.t, log: b(raw.log), device: b(raw.device), writer: b(raw.writer), sig: b(raw.sig), ts: raw.ts } }
    case 'member/remove':
      if (!isBytes(raw.member, 32)) return bad('invalid member')
      return { ok: true, cmd: { t: raw.t, member: b(raw.member), ts: raw.ts } }
    case 'member/leave':
      return { ok: true, cmd: { t: raw.t, ts: raw.ts } }
    case 'member/role':
      if (!isBytes(raw.member, 32) || !isRole(raw.role)) return bad('invalid member or role')
      return { ok: true, cmd: { t: raw.t, member: b(raw.member), role: raw.role, ts: raw.ts } }
    case 'group/rename':
      if (raw.sealedName !== undefined) {
        if (raw.name !== undefined) return bad('a name is either in clear or sealed')
        if (!isSealed(raw.sealedName, sealedName)) return bad('invalid sealed group name')
        return { ok: true, cmd: { t: raw.t, sealedName: sealed(raw.sealedName), ts: raw.ts } }
      }
      if (!isName(raw.name) || !noControl(raw.name)) return bad('invalid group name')
      return { ok: true, cmd: { t: raw.t, name: raw.name, ts: raw.ts } }
    case 'epoch/rotate': {
      if (!Number.isSafeInteger(raw.epoch) || (raw.epoch as number) < 1) return bad('invalid epoch')
      const keys = boxes(raw.keys, memberBox)
      if (keys === null || keys.length === 0) return bad('invalid epoch keys')
      if (raw.id !== undefined && !isBytes(raw.id, EPOCH_KEY_ID_BYTES)) return bad('invalid key id')
      return { ok: true, cmd: { t: raw.t, epoch: raw.epoch as number, keys, ...(raw.id === undefined ? {} : { id: Buffer.from(raw.id) }), ts: raw.ts } }
    }
    case 'epoch/grant': {
      if (!Number.isSafeInteger(raw.epoch) || (raw.epoch as number) < 1) return bad('invalid epoch')
      if (!isBytes(raw.id, EPOCH_KEY_ID_BYTES)) return bad('invalid key id')
      const keys = boxes(raw.keys, memberBox)
      if (keys === null || keys.length === 0) return bad('invalid epoch keys')
      return { ok: true, cmd: { t: raw.t, epoch: raw.epoch as number, id: Buffer.from(raw.id), keys, ts: raw.ts } }
    }
    case 'invite/create':
      if (!isBytes(raw.id, 32) || !isBytes(raw.publicKey, 32)) return bad('invalid invite id or key')
      if (!isRole(raw.role)) return bad('invalid role')
      if (!isTs(raw.expires) || !Number.isSafeInteger(raw.uses) || (raw.uses as number) < 1 || (raw.uses as number) > 1000) return bad('invalid expiry or uses')
      return { ok: true, cmd: { t: raw.t, id: b(raw.id), publicKey: b(raw.publicKey), role: raw.role, expires: raw.expires, uses: raw.uses as number, ts: raw.ts } }
    case 'invite/revoke':
      if (!isBytes(raw.id, 32)) return bad('invalid invite id')
      return { ok: true, cmd: { t: raw.t, id: b(raw.id), ts: raw.ts } }
    case 'room/create':
      if (!isRoomName(raw.name)) return bad('invalid room name')
      return { ok: true, cmd: { t: raw.t, name: raw.name, ts: raw.ts } }
    case 'message/post':
      if (!isMessageId(raw.id)) return bad('invalid message id')
      if (!isRoomName(raw.room)) return bad('invalid room')
      if (!isSealed(raw.body, MAX_TEXT_BYTES)) return bad('invalid sealed body')
      if (raw.replyTo !== undefined && !isMessageId(raw.replyTo)) return bad('invalid replyTo')
      return { ok: true, cmd: { t: raw.t, id: raw.id, room: raw.room, body: sealed(raw.body), ts: raw.ts, ...(raw.replyTo ? { replyTo: raw.replyTo as string } : {}) } }
    case 'message/edit':
      if (!isMessageId(raw.id) || !isSealed(raw.body, MAX_TEXT_BYTES)) return bad('invalid id or sealed body')
      return { ok: true, cmd: { t: raw.t, id: raw.id, body: sealed(raw.body), ts: raw.ts } }
    case 'message/react':
      if (!isMessageId(raw.id) || !isSealed(raw.body, MAX_REACTION_BYTES)) return bad('invalid id or sealed reaction')
      return { ok: true, cmd: { t: raw.t, id: raw.id, body: sealed(raw.body), ts: raw.ts } }
    case 'message/delete':
      if (!isMessageId(raw.id)) return bad('invalid id')
      return { ok: true, cmd: { t: raw.t, id: raw.id, ts: raw.ts } }
    case 'dm/offer':
    case 'dm/accept':
      if (!isBytes(raw.box) || raw.box.byteLength > MAX_SEALED) return bad('invalid sealed box')
      return { ok: true, cmd: { t: raw.t, box: b(raw.box), ts: raw.ts } }
    case 'pad/create':
      if (!isMessageId(raw.id)) return bad('invalid pad id')
      if (!isSealed(raw.title, MAX_PAD_TITLE * 3)) return bad('invalid sealed title')
      return { ok: true, cmd: { t: raw.t, id: raw.id, title: sealed(raw.title), ts: raw.ts } }
    case 'pad/update':
      if (!isMessageId(raw.pad)) return bad('invalid pad id')
      if (!isSealed(raw.body, MAX_PAD_UPDATE)) return bad('invalid sealed update')
      return { ok: true, cmd: { t: raw.t, pad: raw.pad, body: sealed(raw.body), ts: raw.ts } }
    case 'pad/rename':
      if (!isMessageId(raw.pad)) return bad('invalid pad id')
      if (!isSealed(raw.title, MAX_PAD_TITLE * 3)) return bad('invalid sealed title')
      return { ok: true, cmd: { t: raw.t, pad: raw.pad, title: sealed(raw.title), ts: raw.ts } }
    case 'pad/archive':
      if (!isMessageId(raw.pad) || typeof raw.archived !== 'boolean') return bad('invalid pad id or archived flag')
      return { ok: true, cmd: { t: raw.t, pad: raw.pad, archived: raw.archived, ts: raw.ts } }
    case 'bridge/register':
    case 'bridge/unregister':
      if (!isBytes(raw.member, 32)) return bad('invalid member')
      return { ok: true, cmd: { t: raw.t, member: b(raw.member), ts: raw.ts } }
    case 'bridge/allow':
    case 'bridge/revoke': {
      if (raw.entry === undefined) {
        if (!isBytes(raw.tag, BRIDGE_TAG_BYTES)) return bad('invalid allowlist tag')
        if (raw.t === 'bridge/revoke') return raw.sealed === undefined ? { ok: true, cmd: { t: raw.t, tag: b(raw.tag), ts: raw.ts } } : bad('a revocation names the tag only')
        if (!isSealed(raw.sealed, MAX_JID * 3)) return bad('invalid sealed allowlist entry')
        return { ok: true, cmd: { t: raw.t, sealed: sealed(raw.sealed), tag: b(raw.tag), ts: raw.ts } }
      }
      if (raw.sealed !== undefined || raw.tag !== undefined) return bad('an entry is either in clear or sealed')
      const entry = normalizeBridgeEntry(raw.entry)
      if (entry === null || entry !== raw.entry) return bad('invalid JID or domain')
      return { ok: true, cmd: { t: raw.t, entry, ts: raw.ts } }
    }
    case 'bridge/post': {
      if (!isMessageId(raw.id)) return bad('invalid message id')
      if (!isRoomName(raw.room)) return bad('invalid room')
      if (!isSealed(raw.body, MAX_TEXT_BYTES)) return bad('invalid sealed body')
      if (raw.replyTo !== undefined && !isMessageId(raw.replyTo)) return bad('invalid replyTo')
      const reply = raw.replyTo ? { replyTo: raw.replyTo as string } : {}
      if (raw.from !== undefined) {
        if (raw.jid !== undefined || raw.nick !== undefined) return bad('a sender is either in clear or sealed')
        if (!isSealed(raw.from, MAX_SEALED_SENDER)) return bad('invalid sealed sender')
        const allow = raw.allow === undefined ? undefined : isBytes(raw.allow, BRIDGE_TAG_BYTES) ? b(raw.allow) : normalizeBridgeEntry(raw.allow) === raw.allow ? raw.allow as string : null
        if (allow === null) return bad('invalid allowlist reference')
        return { ok: true, cmd: { t: raw.t, id: raw.id, room: raw.room, body: sealed(raw.body), from: sealed(raw.from), ts: raw.ts, ...(allow !== undefined ? { allow } : {}), ...reply } }
      }
      const jid = normalizeBareJid(raw.jid)
      if (jid === null || jid !== raw.jid) return bad('invalid bridged JID')
      if (raw.nick !== undefined && (!isText(raw.nick, MAX_NICK) || !noControl(raw.nick))) return bad('invalid nickname')
      return { ok: true, cmd: { t: raw.t, id: raw.id, room: raw.room, body: sealed(raw.body), jid, ts: raw.ts, ...(raw.nick !== undefined ? { nick: raw.nick as string } : {}), ...reply } }
    }
    default:
      return bad('unknown command')
  }
}

/** Encodes a command for appending; the inverse of `parseCommand`. */
export function commandValue (cmd: Command): Record<string, unknown> {
  return { v: COMMAND_VERSIONS[cmd.t], ...cmd }
}

/**
 * Characters that show nothing: white space, format characters (zero-width space and joiners,
 * BOM, bidi marks), controls (NUL …) and the Hangul fillers. A message of only these reads as
 * empty to everyone.
 */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/
const INVISIBLE = /^[\p{White_Space}\p{Cf}\p{Cc}\p{Zs}\p{Zl}\p{Zp}\u034F\u115F\u1160\u3164\uFFA0]*$/u

/**
 * A message text a local user gives (BAD_REQUEST otherwise): something visible in it, no broken
 * UTF-16 (a lone surrogate, half an emoji: it cannot be stored as UTF-8 and would silently become
 * U+FFFD), at most MAX_TEXT_LENGTH UTF-16 units.
 */
export function checkText (text: unknown): string {
  if (typeof text !== 'string' || text.trim() === '') throw errors.badRequest('message text must not be empty')
  if (INVISIBLE.test(text)) throw errors.badRequest('message text must contain something visible (it has only spaces, zero-width or control characters)')
  if (LONE_SURROGATE.test(text)) throw errors.badRequest('message text contains broken characters (a lone UTF-16 surrogate, e.g. half an emoji); it would arrive as "\uFFFD"')
  if (text.length > MAX_TEXT_LENGTH) throw errors.badRequest(`message text is ${text.length.toLocaleString('en-US')} characters long; a message holds at most ${MAX_TEXT_LENGTH.toLocaleString('en-US')} (send it in parts, or share it as a pad)`)
  return text
}
