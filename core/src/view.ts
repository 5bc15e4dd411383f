/**
 * The group view: a Hyperbee that only `apply` writes. This file owns the key layout,
 * the record shapes and a small transaction (read-your-writes overlay, flushed as one
 * Hyperbee batch at the end of each apply call).
 *
 * Keys (utf-8), values CBOR:
 *   g                      group meta        {kind, name, creator, ts, peer?}
 *   e                      current content epoch (number; 0 at creation)
 *   rk                     1 while a member left/was removed and no new epoch exists yet
 *   k!<deviceHex>!<e12>    epoch key sealed to that device (keys.ts)
 *   dv!<deviceHex>         device → member   {member}
 *   vl!<n12>               vault: a sealed log descriptor (vault logs only)
 *   vw!<logHex>!<device>   vault: a device's writer for a log {writer, sig}
 *   m!<memberHex>          member            {id, name, role, joinedTs, writers[], left?}
 *   w!<writerHex>          writer → member   {member}
 *   r!<room>               room              {name, createdBy, ts}
 *   n!msg | n!dm | n!audit | n!change  counters number
 *   s!<seq12>              message           {seq, id, author, room, body (sealed), ts, ...}
 *   x!<room>!<seq12>       per-room index    (empty)
 *   id!<messageId>         id → seq          number
 *   rc!<seq12>!<memberHex> a member's reaction to a message (rules 4) {body (sealed emoji, '' = none), ts}
 *   i!<inviteIdHex>        invite            {publicKey, role, expires, uses, used, createdBy, device, ts, revoked?, revokedBy?, orphaned?}
 *   d!<n12>                sealed DM signal  {n, t, from, box, ts}
 *   a!<n12>                audit: rejected   {writer, type, reason, ts}
 *   c!<n12>                change feed       seq of a message posted, edited or deleted
 *   ba!<entry>             XMPP bridge allowlist: a bare JID or a domain {entry, by, ts}
 *   bt!<tagHex>            XMPP bridge allowlist, sealed entry {tag, sealed, by, ts} (sealed-meta.ts)
 *   bm!<memberHex>         the group's registered XMPP bridge member {member, by, ts}
 */
import { encode, decode } from './codec.ts'
import type { Role } from './types.ts'
import type { Sealed } from './content.ts'

/**
 * `name` is the name in clear (at creation, or the last rename by an older node); `sealedNames`
 * holds the latest sealed renames (kind 'group-name'), newest last: a reader shows the newest it
 * can open, else `name` (sealed-meta.ts `revealMeta`).
 */
/** `rules`: the apply rules in force (rules.ts; absent: 1). */
export interface GroupMeta { kind: 'group' | 'dm' | 'vault', name: string, creator: string, ts: number, peer?: string, sealedNames?: Sealed[], rules?: number }
/** One device of a member and its writer in this log. */
export interface DeviceRecord { device: string, writer: string, name?: string, cert?: string, revoked?: number }
/** `left` is set (ms) when the member left or was removed; the record stays for history. */
/** `sealedName`: the display name sealed under the epoch of the admission (kind 'member-name'); `name` is then ''. */
export interface MemberRecord { id: string, name: string, role: Role, joinedTs: number, writers: string[], left?: number, devices?: DeviceRecord[], sealedName?: Sealed }

/** A member's current devices (a record from before devices were tracked has one: itself). */
export function activeDevices (m: MemberRecord): DeviceRecord[] {
  return (m.devices ?? [{ device: m.id, writer: m.writers[0] ?? '' }]).filter(d => !d.revoked)
}
export interface RoomRecord { name: string, createdBy: string, ts: number }
export interface MessageRecord {
  seq: number, id: string, author: string, room: string, ts: number,
  /** The text sealed under an epoch key; absent once deleted. */
  body?: Sealed,
  replyTo?: string, editedTs?: number, deleted?: boolean,
  /** Written by a Jabber user through the XMPP bridge (`bridge/post`); the author is the bridge member. */
  bridged?: { jid: string, nick?: string }
  /** The same, sealed (kind 'bridge-sender', CBOR {jid, nick?}). */
  bridgedSealed?: Sealed
  /** How often members' reactions to it changed (rules 4): a new version of the message for events. */
  rx?: number
}
/** A member's reaction to a message (`message/react`): the emoji sealed (kind 'reaction'), '' when taken back. */
export interface ReactionRecord { body: Sealed, ts: number }
export interface BridgeAllowRecord { entry: string, by: string, ts: number }
export interface SealedBridgeAllowRecord { tag: string, sealed: Sealed, by: string, ts: number }
export interface BridgeMemberRecord { member: string, by: string, ts: number }
/**
 * `device`: the issuing device (absent in invites written before it was recorded); `ts` when made;
 * `revoked`/`revokedBy` once an admin revoked it; `orphaned` once its issuer stopped being an admin
 * (removed, left, demoted) or revoked the issuing device.
 */
export interface InviteRecord {
  publicKey: string, role: Role, expires: number, uses: number, used: number, createdBy: string
  device?: string, ts?: number, revoked?: number, revokedBy?: string, orphaned?: number
}
export interface DmSignalRecord { n: number, t: 'dm/offer' | 'dm/accept', from: string, box: Uint8Array, ts: number }
export interface AuditRecord { n: number, writer: string, type: string, reason: string }

export const pad = (n: number) => String(n).padStart(12, '0')
export const K = {
  meta: 'g',
  epoch: 'e',
  rekey: 'rk',
  epochKey: (deviceHex: string, epoch: number) => `k!${deviceHex}!${pad(epoch)}`,
  /** Another key of the same epoch: a concurrent rotation that came second in the order (see rotateEpoch in apply-epochs.ts). */
  epochKeyAlt: (deviceHex: string, epoch: number, n: number) => `k!${deviceHex}!${pad(epoch)}!${pad(n)}`,
  /** Rules 3: a key of an epoch, by its key id (keys.ts `epochKeyId`): `{ n }`, 0 for the epoch's key, else its alternate slot. */
  epochKeyInfo: (epoch: number, idHex: string) => `ek!${pad(epoch)}!${idHex}`,
  device: (deviceHex: string) => `dv!${deviceHex}`,
  vaultLog: (n: number) => `vl!${pad(n)}`,
  vaultWriter: (logHex: string, deviceHex: string) => `vw!${logHex}!${deviceHex}`,
  member: (hex: string) => `m!${hex}`,
  writer: (hex: string) => `w!${hex}`,
  room: (name: string) => `r!${name}`,
  counter: (name: Counter) => `n!${name}`,
  message: (seq: number) => `s!${pad(seq)}`,
  roomIndex: (room: string, seq: number) => `x!${room}!${pad(seq)}`,
  messageId: (id: string) => `id!${id}`,
  reaction: (seq: number, memberHex: string) => `rc!${pad(seq)}!${memberHex}`,
  reactions: (seq: number) => `rc!${pad(seq)}!`,
  invite: (hex: string) => `i!${hex}`,
  dm: (n: number) => `d!${pad(n)}`,
  audit: (n: number) => `a!${pad(n)}`,
  change: (n: number) => `c!${pad(n)}`,
  bridgeAllow: (entry: string) => `ba!${entry}`,
  bridgeTag: (tagHex: string) => `bt!${tagHex}`,
  bridgeMember: (memberHex: string) => `bm!${memberHex}`
}

/** `keyset` (rules 3): bumped when devices or epoch keys change, so nodes look for missing boxes only then (epoch-grants.ts). */
export type Counter = 'msg' | 'dm' | 'audit' | 'change' | 'vault' | 'altkey' | 'keyset'

/** Minimal Hyperbee surface we use (the package ships no types). */
export interface Bee {
  get (key: string): Promise<{ key: string, value: Buffer } | null>
  batch (): { put (key: string, value: Buffer): Promise<void>, del (key: string): Promise<void>, flush (): Promise<void> }
  createReadStream (range: { gt?: string, gte?: string, lt?: string, lte?: string, reverse?: boolean, limit?: number }): AsyncIterable<{ key: string, value: Buffer }>
  /** The view as it is now, unchanged by later writes or reorders (close it after use). */
  snapshot? (): Bee & { close (): Promise<void> }
}

export async function getRecord<T> (bee: Bee, key: string): Promise<T | null> {
  const node = await bee.get(key)
  return node ? decode(node.value) as T : null
}

/** Records under `prefix`, after `gt` and before `lt` if given (both keys under `prefix`). */
export async function * rangeRecords<T> (bee: Bee, prefix: string, opts: { gt?: string, lt?: string, reverse?: boolean, limit?: number } = {}): AsyncIterable<{ key: string, value: T }> {
  // Keys compare as UTF-8 bytes: `prefix + '\uffff'` would stop before keys with characters beyond
  // U+FFFF (valid in room names). The end bound is the prefix with its last (ASCII) character + 1.
  const end = prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1)
  const range = { gt: opts.gt ?? prefix, lt: opts.lt ?? end, reverse: opts.reverse, limit: opts.limit }
  for await (const node of bee.createReadStream(range)) yield { key: node.key, value: decode(node.value) as T }
}

/** Read-your-writes overlay for one apply call. */
export class ViewTx {
  #bee: Bee
  #pending = new Map<string, unknown>()
  constructor (bee: Bee) { this.#bee = bee }

  /**
   * Keys under `prefix` as this transaction sees them (committed keys merged with pending
   * writes and deletions). Apply must use this, not the bee directly: how autobase groups
   * entries into apply calls differs between peers, and state must not depend on it.
   */
  async keys (prefix: string): Promise<string[]> {
    const all = new Set<string>()
    for await (const { key } of rangeRecords(this.#bee, prefix)) all.add(key)
    for (const key of this.#pending.keys()) if (key.startsWith(prefix)) all.add(key)
    const out: string[] = []
    for (const key of [...all].sort()) if ((await this.get(key)) !== null) out.push(key)
    return out
  }

  async get<T> (key: string): Promise<T | null> {
    if (this.#pending.has(key)) return this.#pending.get(key) as T | null
    return getRecord<T>(this.#bee, key)
  }

  put (key: string, value: unknown): void {
    if (this.#undo && !this.#undo.has(key)) this.#undo.set(key, this.#pending.has(key) ? { had: true, value: this.#pending.get(key) } : { had: false })
    this.#pending.set(key, value)
  }

  #undo: Map<string, { had: boolean, value?: unknown }> | null = null

  /** Starts one entry's changes; `rollback` undoes exactly them (a rejected entry changes nothing). */
  begin (): void { this.#undo = new Map() }

  rollback (): void {
    if (!this.#undo) return
    for (const [key, prev] of this.#undo) {
      if (prev.had) this.#pending.set(key, prev.value)
      else this.#pending.delete(key)
    }
    this.#undo = null
  }

  async next (counter: Counter): Promise<number> {
    const n = ((await this.get<number>(K.counter(counter))) ?? 0) + 1
    this.put(K.counter(counter), n)
    return n
  }

  async flush (): Promise<void> {
    if (this.#pending.size === 0) return
    const batch = this.#bee.batch()
    for (const [key, value] of this.#pending) {
      if (value === null) await batch.del(key)
      else await batch.put(key, encode(value))
    }
    await batch.flush()
    this.#pending.clear()
  }
}
