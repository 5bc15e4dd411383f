/**
 * One shared log: a group, or a direct conversation between two members. Wraps an
 * Autobase whose every core (writers, system, view) is encrypted with the group key,
 * whose view is a Hyperbee built only by `applyNodes`, and offers typed reads of that view.
 */
import { EventEmitter } from 'node:events'
import Autobase from 'autobase'
import Hyperbee from 'hyperbee'
import b4a from 'b4a'
import crypto from 'hypercore-crypto'
import { applyNodes, type ApplyHost, type LogNode } from './apply.ts'
import { ApplyWatch } from './apply-watch.ts'
import { commandValue, type Command } from './commands.ts'
import { encode } from './codec.ts'
import { errors } from './errors.ts'
import { failureError } from './failure.ts'
import type { Keyring, Sealed } from './content.ts'
import { revealMember, revealMeta } from './sealed-meta.ts'
import { groupIdOf } from './ids.ts'
import type { GroupId } from './types.ts'
import {
  K, getRecord, rangeRecords, type AuditRecord, type Bee, type DmSignalRecord, type GroupMeta,
  type InviteRecord, type MemberRecord, type MessageRecord, type RoomRecord, type BridgeAllowRecord, type Counter,
  type SealedBridgeAllowRecord, type BridgeMemberRecord, type ReactionRecord
} from './view.ts'
import { claimLocalWriter } from './local-writer.ts'
import { messageByIdConsistent } from './consistent-read.ts'
import { asUpgradeNeed, type UpgradeNeed } from './upgrade.ts'

export interface GroupOptions {
  /** A corestore namespace used by this group alone (autobase closes it on close). */
  store: any
  /**
   * Makes every write so far durable (survives a power cut, not only a crash of the process);
   * awaited after each append, before it is acknowledged. Absent: writes are as durable as the
   * store makes them by itself (in memory: not at all).
   */
  durable?: () => Promise<void>
  /** The base key; null to create a new group. */
  key: Buffer | null
  encryptionKey: Buffer
  /**
   * A ProtomuxWakeup shared by all logs of a node: it tells connected peers which writer
   * heads are new, so they fetch entries appended while they were away (also after a
   * restart). The node adds every connection's stream to it.
   */
  wakeup?: any
  /**
   * The newest apply rules this node follows: CURRENT_RULES (rules.ts). Only tests set it higher,
   * to play a newer Solidar next to nodes of this version (upgrade.ts).
   */
  knownRules?: number
}

export class Group extends EventEmitter {
  readonly base: any
  #closed = false
  #durable: (() => Promise<void>) | null

  constructor ({ store, key, encryptionKey, wakeup, durable, knownRules }: GroupOptions) {
    super()
    this.#durable = durable ?? null
    this.base = new Autobase(store, key, {
      // Runs before Autobase boots: open this namespace's writer, not one of an earlier membership.
      ...(key !== null ? { wait: () => claimLocalWriter(store, key) } : {}),
      encryptionKey,
      ...(wakeup ? { wakeup } : {}),
      // Fast-forward (jumping to the indexers' signed view) never completes for our encrypted
      // logs in autobase 7.28: a catching-up member lost ~5 s in each failed attempt before
      // applying entries normally. Until that works, catch up by applying the log.
      fastForward: false,
      valueEncoding: 'binary',
      ackInterval: 1000,
      open: (viewStore: any) => new Hyperbee(viewStore.get('view'), { keyEncoding: 'utf-8', valueEncoding: 'binary', extension: false }),
      apply: (nodes: LogNode[], view: Bee, host: ApplyHost) => applyNodes(nodes, view, host, this.base.key, knownRules, (o) => this.watch.outcome(o))
    })
    this.base.on('update', () => {
      // Autobase emits this once what it applied is in the view (its batch flushed): membership reads are settled.
      this.watch.settled()
      if (!this.#closed) this.emit('update')
    })
    // An error here means storage failed (e.g. a full disk) or Autobase hit an internal assertion:
    // either way it closes the base for good. Remember it, so appends fail with a clear error
    // (see `failureError`) and the owner can reopen the log later.
    this.base.on('error', (err: Error) => {
      this.failed ??= err
      this.emit('error', err)
    })
    // Autobase warns instead of failing when, e.g., the indexers' signatures do not match the
    // view this node derived (the view then stays unsigned for good: sync-state.ts 'diverged').
    this.base.on('warning', (err: Error) => {
      this.warning = err
      this.emit('warning', err)
    })
    // Apply met an entry of a newer Solidar and stopped before it (upgrade.ts); the base stays open
    // for reads. Autobase emits 'update' right after, so watchers see the stop.
    this.base.on('interrupt', (reason: unknown) => {
      this.upgradeRequired ??= asUpgradeNeed(reason)
    })
  }

  /** Autobase's last warning about this log (see sync-state.ts), or null. */
  warning: Error | null = null

  /** Set when this log stopped at an entry that needs a newer Solidar: reads work, writes are refused. */
  upgradeRequired: UpgradeNeed | null = null

  /** Set when the underlying Autobase failed (storage or internal error); the log must be reopened. */
  failed: Error | null = null

  /**
   * Waits until Autobase has taken in the last change of the indexer set (admins are
   * indexers). Apply refuses to take the last active indexer out while another is still
   * pending (indexer-guard.ts: it crashed Autobase 7.28, "Invalid checkout N for batch"), so
   * role changes, removals and leaves wait for this rather than be refused.
   */
  async settleIndexers (timeoutMs = SETTLE_INDEXERS_MS): Promise<void> {
    const pending = () => (this.base.system?.pendingIndexers?.length ?? 0) > 0
    if (!pending()) return
    const until = Date.now() + timeoutMs
    while (pending()) {
      if (this.failed) throw failureError(this.failed)
      if (Date.now() > until) throw errors.busy('The group is still taking in a change of its admins; try again in a moment')
      await new Promise(resolve => setTimeout(resolve, 50))
      await this.base.update()
    }
  }

  async ready (): Promise<void> {
    await this.base.ready()
    // Autobase reorders the log's tail when concurrent entries arrive: it truncates the view
    // to the last block both orders share and applies again. Readers that keep a cursor into
    // a counter of the view (message changes, DM signals) must go back to that point.
    this.base.view.core.on('truncate', (length: number) => {
      this.watch.truncated()
      this.#truncatedTo = Math.min(this.#truncatedTo ?? Infinity, length)
    })
  }

  #truncatedTo: number | null = null

  /** The shortest length the view was truncated to since the last call (null: not truncated). */
  takeTruncation (): number | null {
    const t = this.#truncatedTo
    this.#truncatedTo = null
    return t
  }

  /** A counter of the view as it was at `length` blocks (the part a reorder kept). */
  async counterAt (length: number, counter: Counter): Promise<number> {
    return this.numberAt(length, K.counter(counter))
  }

  /** A number stored under `key` in the view as it was at `length` blocks (0 if none). */
  async numberAt (length: number, key: string): Promise<number> {
    const snapshot = this.base.view.checkout(length)
    try {
      return (await getRecord<number>(snapshot, key)) ?? 0
    } finally {
      await snapshot.close().catch(() => { /* closing: the other resources must still close, and a failed close has no caller left to tell */ })
    }
  }

  /**
   * What the log's indexers have settled (their signed order, which no reorder changes): a
   * snapshot of the view there, and how many of this device's entries it holds. Null while
   * nothing is settled. Close `view` after use.
   */
  async settled (): Promise<{ view: Bee & { close (): Promise<void> }, mine: number } | null> {
    const base = this.base
    const info = await base.getIndexedInfo()
    const viewKey = base.view.core.key
    const at = (info?.views ?? []).find((v: { key: Buffer }) => b4a.equals(v.key, viewKey))
    if (!at) return null
    const system = await base.system.checkout(base.indexedLength)
    let mine = 0
    try {
      mine = (await system.get(base.local.key))?.length ?? 0
    } finally {
      await system.close()
    }
    return { view: base.view.checkout(at.length), mine }
  }

  get key (): Buffer { return this.base.key }
  get id (): GroupId { return groupIdOf(this.base.key) }
  get discoveryKey (): Buffer { return this.base.discoveryKey ?? crypto.discoveryKey(this.base.key) }
  get localWriterKey (): Buffer { return this.base.local.key }
  get writable (): boolean { return this.base.writable && this.upgradeRequired === null }
  get view (): Bee { return this.base.view }
  /** Peers replicating this log's system core right now. */
  get peerCount (): number { return this.base.core?.peers?.length ?? 0 }

  /** Appends a command and waits until it has gone through apply locally; returns its length in this device's writer core (see ownOutcome). */
  async append (cmd: Command): Promise<number> {
    if (this.failed) throw failureError(this.failed)
    if (this.#closed) throw errors.closed()
    this.#refuseIfStopped()
    if (!this.base.writable) throw errors.notPermitted('This device cannot write to this group (not admitted yet, or removed)')
    try {
      const length: number = await this.base.append(encode(commandValue(cmd)))
      await this.base.update()
      if (this.#durable !== null) await this.#durable()
      return length
    } catch (err: any) {
      // Apply stopped at a newer Solidar's entry while this append waited ('Autobase is closing').
      this.#refuseIfStopped()
      // Removed between the check above and the append (an admin's removal applied meanwhile):
      // Autobase refuses with a plain error; it is the same refusal as the check's.
      if (!this.failed && !this.base.writable && err?.message === 'Not writable') throw errors.notPermitted('This device cannot write to this group (removed from it)')
      // A failed write closes the base: report its cause (the disk, or an internal error).
      if (this.failed || ['ENOSPC', 'EROFS', 'EIO', 'SESSION_CLOSED'].includes(err?.code)) throw failureError(this.failed ?? err)
      throw err
    }
  }

  /** Writes to a log stopped at a newer Solidar's entry get UPGRADE_REQUIRED (upgrade.ts). */
  #refuseIfStopped (): void {
    const need = this.upgradeRequired
    if (need) throw errors.upgradeRequired(need.rules, need.known)
  }

  async waitForWritable (signal?: AbortSignal): Promise<void> {
    if (this.base.writable) return
    // Apply what this device holds already, then ask for the indexers' newest entries: see wakeIndexers.
    await this.base.update()
    // A log stopped at a newer Solidar's entry (upgrade.ts) will not take this device in: say so
    // now rather than let a join wait for its deadline.
    this.#refuseIfStopped()
    this.wakeIndexers()
    let stopped = (_err: Error): void => {}
    const onUpdate = (): void => {
      const need = this.upgradeRequired
      if (need) stopped(errors.upgradeRequired(need.rules, need.known))
      else this.wakeIndexers()
    }
    this.base.on('update', onUpdate)
    try {
      await new Promise<void>((resolve, reject) => {
        stopped = reject
        const onAbort = () => reject(signal!.reason)
        signal?.addEventListener('abort', onAbort, { once: true })
        this.base.waitForWritable().then(() => { signal?.removeEventListener('abort', onAbort); resolve() }, reject)
      })
    } finally {
      this.base.off('update', onUpdate)
    }
  }

  /**
   * Resolves true once `check` holds, tried now and after each update of the log; false after
   * `timeoutMs` (or once `signal` aborts, or the log closes).
   */
  async until (check: () => Promise<boolean>, timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
    if (await check()) return true
    return new Promise<boolean>((resolve) => {
      let busy = false
      let again = false
      const done = (ok: boolean): void => {
        clearTimeout(timer)
        this.off('update', onUpdate)
        this.off('closing', onClose)
        signal?.removeEventListener('abort', onClose)
        resolve(ok)
      }
      const onClose = (): void => done(false)
      const onUpdate = (): void => {
        if (busy) { again = true; return }
        busy = true
        again = false
        // A failed read (the log closing) ends the wait as not found: the caller reports that.
        check().then((ok) => { busy = false; if (ok) done(true); else if (again) onUpdate() }, () => done(false))
      }
      const timer = setTimeout(() => done(false), timeoutMs)
      this.on('update', onUpdate)
      this.on('closing', onClose)
      signal?.addEventListener('abort', onClose, { once: true })
    })
  }

  /**
   * Makes Autobase fetch the indexers' writer cores up to their newest entries. A device that
   * joins a log again (after a leave) already holds the first part of those cores, and knows
   * how long they have grown since, but Autobase 7 wakes a writer only on an append it sees or
   * on a peer's hint, and peers hint only at entries not yet indexed: the new base applied what
   * it held, found nothing more to fetch, and never saw its own admission (writable stayed false).
   */
  wakeIndexers (): void {
    const indexers: Array<{ key: Buffer }> = this.base.system?.indexers ?? []
    if (indexers.length > 0) this.base.hintWakeup(indexers.map(i => ({ key: i.key, length: -1 })))
  }

  async update (): Promise<void> { await this.base.update() }

  /**
   * The epoch keys this device holds for the log: reads open sealed metadata with them (group
   * name, members' names; sealed-meta.ts). Null: sealed metadata reads as hidden.
   */
  keyring: Keyring | null = null

  /** What this node learns from its own apply runs: the membership stamp, and its own entries' outcomes. */
  readonly watch = new ApplyWatch(() => this.#localHex ??= this.base?.local ? b4a.toString(this.base.local.key, 'hex') : null)
  #localHex: string | null = null
  get membershipStamp (): number | null { return this.watch.membershipStamp }
  ownOutcome (length: number): string | null | undefined { return this.watch.ownOutcome(length) }

  /** Rooms known to exist: never deleted (a reorder applies a room/create again), read once. */
  readonly #rooms = new Map<string, RoomRecord>()

  async meta (): Promise<GroupMeta | null> {
    const meta = await getRecord<GroupMeta>(this.view, K.meta)
    return meta && revealMeta(meta, this.keyring)
  }

  async member (hex: string): Promise<MemberRecord | null> {
    const m = await getRecord<MemberRecord>(this.view, K.member(hex))
    return m && revealMember(m, this.keyring)
  }
  async memberByWriter (writerHex: string): Promise<MemberRecord | null> {
    const link = await getRecord<{ member: string }>(this.view, K.writer(writerHex))
    return link ? this.member(link.member) : null
  }
  invite (idHex: string): Promise<InviteRecord | null> { return getRecord<InviteRecord>(this.view, K.invite(idHex)) }
  async room (name: string): Promise<RoomRecord | null> {
    const known = this.#rooms.get(name)
    if (known !== undefined) return known
    const rec = await getRecord<RoomRecord>(this.view, K.room(name))
    if (rec !== null) this.#rooms.set(name, rec)
    return rec
  }
  /**
   * The message with this id. Two reads (id → seq, seq → message) of a view that Autobase may
   * reorder in between: a reorder can move another message to that seq. A record whose id is
   * not the one asked for is never returned: the id is read again (see consistent-read.ts).
   */
  async messageById (id: string): Promise<MessageRecord | null> {
    return messageByIdConsistent(this.view, id, () => this.base.update())
  }
  async epoch (): Promise<number> { return (await getRecord<number>(this.view, K.epoch)) ?? 0 }
  async rekeyPending (): Promise<boolean> { return (await getRecord<number>(this.view, K.rekey)) === 1 }
  /**
   * Epoch key boxes sealed to the device `deviceHex`, by epoch; `alt` names an alternate key of
   * that epoch. In this view, or in `view` (a snapshot of it, e.g. the settled one).
   */
  async epochBoxes (deviceHex: string, view: Bee = this.view): Promise<Array<{ epoch: number, box: Buffer, alt: number }>> {
    const out: Array<{ epoch: number, box: Buffer, alt: number }> = []
    for await (const { key, value } of rangeRecords<Uint8Array>(view, `k!${deviceHex}!`)) {
      const [epoch, alt] = key.slice(`k!${deviceHex}!`.length).split('!')
      out.push({ epoch: Number(epoch), box: Buffer.from(value), alt: alt === undefined ? 0 : Number(alt) })
    }
    return out
  }

  /** Vault only: sealed log descriptors. */
  async vaultLogs (): Promise<Array<{ n: number, body: Sealed }>> {
    return collect(rangeRecords<{ n: number, body: Sealed }>(this.view, 'vl!'))
  }

  /** Vault only: announced device writers, per log. */
  async vaultWriters (): Promise<Array<{ log: string, device: string, writer: string, sig: string }>> {
    const out: Array<{ log: string, device: string, writer: string, sig: string }> = []
    for await (const { key, value } of rangeRecords<{ writer: string, sig: string }>(this.view, 'vw!')) {
      const [, log, device] = key.split('!')
      out.push({ log, device, writer: value.writer, sig: value.sig })
    }
    return out
  }

  /** Members' latest reactions to the message at `seq` (rules 4), sealed. */
  async reactions (seq: number): Promise<Array<{ member: string, body: Sealed, ts: number }>> {
    const prefix = K.reactions(seq)
    const out: Array<{ member: string, body: Sealed, ts: number }> = []
    for await (const { key, value } of rangeRecords<ReactionRecord>(this.view, prefix)) out.push({ member: key.slice(prefix.length), body: value.body, ts: value.ts })
    return out
  }

  async messageCount (): Promise<number> { return (await getRecord<number>(this.view, K.counter('msg'))) ?? 0 }

  /** Current members (not those who left or were removed). */
  async members (): Promise<MemberRecord[]> { return (await this.allMembers()).filter(m => !m.left) }
  /** Everyone who was ever a member, for authors' names in history. */
  async allMembers (): Promise<MemberRecord[]> {
    return (await collect(rangeRecords<MemberRecord>(this.view, 'm!'))).map(m => revealMember(m, this.keyring))
  }
  /** Every invite ever made in this log, with its id (hex). */
  async invites (): Promise<Array<{ id: string, invite: InviteRecord }>> {
    const out: Array<{ id: string, invite: InviteRecord }> = []
    for await (const { key, value } of rangeRecords<InviteRecord>(this.view, 'i!')) out.push({ id: key.slice(2), invite: value })
    return out
  }

  async rooms (): Promise<RoomRecord[]> { return collect(rangeRecords<RoomRecord>(this.view, 'r!')) }
  async audit (afterN = 0): Promise<AuditRecord[]> { return collect(rangeRecords<AuditRecord>(this.view, 'a!', { gt: K.audit(afterN) })) }
  async auditCount (): Promise<number> { return (await getRecord<number>(this.view, K.counter('audit'))) ?? 0 }

  /** Every message in linearized order, optionally of one room and/or after a seq (tests; reads for users are paged: history.ts). */
  async messages ({ room, afterSeq = 0 }: { room?: string, afterSeq?: number } = {}): Promise<MessageRecord[]> {
    const out: MessageRecord[] = []
    if (room === undefined) {
      for await (const { value } of rangeRecords<MessageRecord>(this.view, 's!', { gt: K.message(afterSeq) })) out.push(value)
      return out
    }
    for await (const { key } of rangeRecords<number>(this.view, `x!${room}!`, { gt: K.roomIndex(room, afterSeq) })) {
      const seq = Number(key.slice(key.lastIndexOf('!') + 1))
      const msg = await getRecord<MessageRecord>(this.view, K.message(seq))
      if (msg) out.push(msg)
    }
    return out
  }

  /** Messages posted, edited or deleted after change `afterN`, as they are now, with the last change number. */
  async changedMessages (afterN: number): Promise<{ last: number, messages: MessageRecord[] }> {
    const seqs = new Set<number>()
    let last = afterN
    for await (const { key, value } of rangeRecords<number>(this.view, 'c!', { gt: K.change(afterN) })) {
      seqs.add(value)
      last = Number(key.slice(2))
    }
    const messages: MessageRecord[] = []
    for (const seq of [...seqs].sort((a, b) => a - b)) {
      const msg = await getRecord<MessageRecord>(this.view, K.message(seq))
      if (msg) messages.push(msg)
    }
    return { last, messages }
  }

  /** The XMPP bridge allowlist entries in clear: bare JIDs and domains, in key order. */
  async bridgeAllowlist (): Promise<BridgeAllowRecord[]> { return collect(rangeRecords<BridgeAllowRecord>(this.view, 'ba!')) }
  /** The sealed XMPP bridge allowlist entries, by tag (bridge-admin.ts opens them). */
  async sealedBridgeAllowlist (): Promise<SealedBridgeAllowRecord[]> { return collect(rangeRecords<SealedBridgeAllowRecord>(this.view, 'bt!')) }
  /** Members registered as the group's XMPP bridge (`bridge/register`). */
  async bridgeMembers (): Promise<BridgeMemberRecord[]> { return collect(rangeRecords<BridgeMemberRecord>(this.view, 'bm!')) }

  async changeCount (): Promise<number> { return (await getRecord<number>(this.view, K.counter('change'))) ?? 0 }

  async dmSignals (afterN = 0): Promise<DmSignalRecord[]> {
    return collect(rangeRecords<DmSignalRecord>(this.view, 'd!', { gt: K.dm(afterN) }))
  }

  async close (): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    this.emit('closing') // ends waits (until)
    await this.base.close()
  }

  static hex (buf: Uint8Array): string { return b4a.toString(buf, 'hex') }
}

async function collect<T> (it: AsyncIterable<{ value: T }>): Promise<T[]> {
  const out: T[] = []
  for await (const { value } of it) out.push(value)
  return out
}

/** How long a membership change waits for Autobase to take in an earlier change of admins. */
const SETTLE_INDEXERS_MS = 30_000
export { failureError } from './failure.ts'
