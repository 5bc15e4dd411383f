/**
 * A Solidar node: one identity, the logs it belongs to, the replication of those logs
 * over whatever transport the runtime hands in, and the `SolidarApi` its owner uses.
 * Storage (a Corestore), the transport and the local file store come from outside.
 */
import { EventHub } from './event-hub.ts'
import Autobase from 'autobase'
import { Wakeup } from './wakeup.ts'
import b4a from 'b4a'
import crypto from 'hypercore-crypto'
import { CandidateRequest, createInvite } from 'blind-pairing-core'
import type { NodeStatus, SolidarApi } from './api.ts'
import { answerJoinRequest, decodeJoinUserData, encodeJoinUserData } from './admission.ts'
import { DEFAULT_ROOM, DM_ROOM } from './apply.ts'
import { signBinding, signBindingForDiscoveryKey, verifyBindingForDiscoveryKey } from './binding.ts'
import { checkText, isMessageId, isRoomName } from './commands.ts'
import { BridgeService, type BridgeHost, type BridgeLog, type BridgedText } from './bridge-service.ts'
import { revealBridged } from './sealed-meta.ts'
import { openDmPayload, sealDmPayload } from './dm.ts'
import { Keyring, randomKey } from './content.ts'
import { epochKeyId, openEpochKey, sealEpochKey } from './keys.ts'
import { EpochGrants } from './epoch-grants.ts'
import type { EpochBox } from './commands.ts'
import { errors, SolidarError } from './errors.ts'
import { Group, failureError } from './group.ts'
import { fingerprint, memberId, memberKey, signDeviceCert, validateName, type Identity } from './identity.ts'
import { encode, decode } from './codec.ts'
import { activeDevices } from './view.ts'
import { decodeKey, encodeKey, groupIdOf, keyOrNull, newRecordId } from './ids.ts'
import { decodeInviteCode, encodeInviteCode, type DecodedInvite } from './invite-code.ts'
import { inviteIdOf, listInviteViews } from './invites.ts'
import { Pairing } from './pairing.ts'
import { judgeReply, refuse, signReply, type ReplySigner } from './pairing-reply.ts'
import { Pads, type PadHost, type PadLog } from './pads/service.ts'
import { Meetings } from './meetings/service.ts'
import { Registry, type LocalStore, type LogRecord } from './registry.ts'
import { lookAlikes } from './names.ts'
import { SELF_VERIFY_MESSAGE, sameName, VerificationStore, verifyMember, withVerification, type VerificationResult, type VerifyOptions } from './verification.ts'
import type { PeerConnection, Transport } from './transport.ts'
import { groupSync } from './sync-state.ts'
import { ownPostRecord } from './consistent-read.ts'
import { catchUpState, type CatchUp } from './catch-up.ts'
import { nameKey, resolveOne } from './resolve.ts'
import { checkBefore, dmPages, readPage, pageLimit, type PageOptions } from './history.ts'
import { ReadMarkers, countUnread, markLogsRead, unreadOf } from './read-markers.ts'
import { LEAVE_DELIVERY_MS, deliveredSoon, waitForDelivery } from './delivery.ts'
import type {
  AuditEntry, BridgeAllowEntry, BridgeRegistration, DmSummary, GroupId, GroupSummary, InviteOptions, InviteResult, InviteView, MemberId, MemberView, MessageId,
  MessageView, Role, RoomView, SolidarEvent, WhoAmI
} from './types.ts'
import { ROLES } from './types.ts'
import type { MemberRecord, MessageRecord } from './view.ts'
import { CURRENT_RULES, rulesOf } from './rules.ts'
import { upgradeOf } from './upgrade.ts'

export const DEFAULT_INVITE_TTL = 24 * 60 * 60 * 1000
export const DEFAULT_JOIN_TIMEOUT = 60_000

export interface SolidarOptions {
  identity: Identity
  /** A Corestore (on disk in node/, anywhere else later). */
  store: any
  local: LocalStore
  /** null: no network chosen yet (the node stays local). */
  transport: Transport | null
  networkMode?: NodeStatus['network']['mode']
  bootstrap?: string[]
  now?: () => number
  /** Persists the identity when this device becomes a linked device of a member. */
  onIdentityChange?: (identity: Identity) => Promise<void>
  /** Makes every write so far durable; awaited before an append is acknowledged (see GroupOptions). */
  durable?: () => Promise<void>
  /** How long the local tab's presence in a pad lasts without a renewal (pads/presence.ts; tests shorten it). */
  presenceTtlMs?: number
}

/**
 * `boxes`: for each epoch key in the keyring (`epoch` or `epoch!alternate`), the box (hex) it was opened from.
 * `emitted`: the message versions events went out for lately, so a reorder that applies them again repeats none.
 */
interface OpenLog { record: LogRecord, group: Group, lastChange: number, keyring: Keyring, boxes: Map<string, string>, rotation: Promise<void>, emitted: Set<string>, grants: EpochGrants }

/** How long a reply waits to become a writer of the conversation the peer opened (then it opens its own). */
const DM_WRITABLE_WAIT_MS = 10_000
/** How many message versions a log remembers having announced (a reorder deeper than this may announce some twice). */
const EMITTED_MEMORY = 10_000
const versionOf = (m: MessageRecord) => `${m.id}|${m.editedTs ?? 0}|${m.deleted === true ? 1 : 0}`

const hex = (b: Uint8Array): string => b4a.toString(b, 'hex')
const z32OfHex = (h: string): MemberId => encodeKey(b4a.from(h, 'hex')) as MemberId

export class Solidar implements SolidarApi {
  readonly identity: Identity
  readonly store: any
  readonly transport: Transport | null
  /** Collaborative documents of the groups (core/src/pads/). */
  readonly pads: Pads
  /** The XMPP bridge's side of the node (bridge-service.ts). */
  readonly bridge: BridgeService
  /** Video meeting signalling of the groups (core/src/meetings/). */
  readonly meetings: Meetings
  #registry: Registry
  #verification: VerificationStore
  #read: ReadMarkers
  #logs = new Map<string, OpenLog>()
  #pairing = new Pairing()
  #wakeup = new Wakeup()
  readonly #events = new EventHub<SolidarEvent>()
  #now: () => number
  #network: NodeStatus['network']['mode']
  #bootstrap: string[]
  #closing = false
  /** Aborted by close(): ends background waits (pending leaves). */
  #lifetime = new AbortController()
  /** Leaves written but not yet taken by any peer, by log key: done once one has (delivery.ts). */
  #departures = new Map<string, Promise<void>>()
  #onIdentityChange: (identity: Identity) => Promise<void>
  #durable: (() => Promise<void>) | undefined
  #presenceTtlMs: number | undefined
  /** Vault entries this device already acted on, so each is handled once per run. */
  #vaultDone = new Set<string>()
  #onConnection = (conn: PeerConnection) => this.#attach(conn)

  constructor (opts: SolidarOptions) {
    this.identity = opts.identity
    this.store = opts.store
    this.transport = opts.transport
    this.#registry = new Registry(opts.local)
    this.#verification = new VerificationStore(opts.local, { now: opts.now })
    this.#read = new ReadMarkers(opts.local)
    this.#now = opts.now ?? Date.now
    this.#onIdentityChange = opts.onIdentityChange ?? (async () => {})
    this.#durable = opts.durable
    this.#presenceTtlMs = opts.presenceTtlMs
    this.#network = opts.transport ? (opts.networkMode ?? 'bootstrap') : 'none'
    this.#bootstrap = opts.bootstrap ?? []
    this.pads = new Pads(this.#padHost(opts.local))
    this.bridge = new BridgeService(this.#bridgeHost())
    this.meetings = new Meetings({
      resolve: async (ref) => this.#padLog(await this.#resolveGroup(ref)),
      emit: (event) => this.#events.emit(event),
      now: () => this.#now(),
      identity: this.identity,
      self: () => this.#self,
      onError: (err) => { if (!this.#closing) this.#reportError(err) }
    })
  }

  static async open (opts: SolidarOptions): Promise<Solidar> {
    const node = new Solidar(opts)
    await node.#open()
    return node
  }

  /** This device's member key (hex): the id others know us by. */
  get #self (): string { return hex(memberKey(this.identity)) }
  /** This device's own key (hex): epoch keys and DM boxes are sealed to it. */
  get #device (): string { return hex(this.identity.publicKey) }
  /** This device's key pair, which signs its pairing replies. */
  get #signer (): ReplySigner { return { publicKey: this.identity.publicKey, secretKey: this.identity.secretKey } }

  async #open () {
    await this.store.ready()
    await this.#registry.load()
    await this.#verification.load()
    this.transport?.on('connection', this.#onConnection)
    for (const record of this.#registry.all()) {
      const log = await this.#openLog(record)
      if (record.leaving !== undefined) this.#completeLeave(log)
    }
  }

  #attach (conn: PeerConnection) {
    conn.stream.on('error', () => {}) // a peer vanishing mid-sync is normal, not fatal
    this.store.replicate(conn.stream)
    this.#wakeup.addStream(conn.stream) // autobase's "new heads" hints, for every log at once
    this.#pairing.attach(conn.stream)
    this.pads.attach(conn.stream)
    this.meetings.attach(conn.stream)
  }

  /** Opens a known log (or adopts `opened`, a just-created one) and starts syncing it. */
  async #openLog (record: LogRecord, opened?: Group): Promise<OpenLog> {
    const existing = this.#logs.get(record.key)
    if (existing) return existing
    const group = opened ?? new Group({
      wakeup: this.#wakeup,
      durable: this.#durable,
      store: this.store.namespace(record.namespace),
      key: b4a.from(record.key, 'hex'),
      encryptionKey: b4a.from(record.encryptionKey, 'hex')
    })
    await group.ready()
    const keyring = new Keyring(b4a.from(record.encryptionKey, 'hex'), group.discoveryKey)
    group.keyring = keyring
    const log: OpenLog = { record, group, lastChange: await group.changeCount(), keyring, boxes: new Map(), rotation: Promise.resolve(), emitted: new Set(), grants: new EpochGrants() }
    await this.#refreshKeys(log)
    this.#logs.set(record.key, log)
    this.#watch(log)
    await this.#announce(log)
    if (!opened) this.#raiseRules(log)
    return log
  }

  /**
   * A log made by older code follows older apply rules (rules.ts) until an admin raises them:
   * the first admin node that opens it with this code does, in the background.
   */
  #raiseRules (log: OpenLog): void {
    const raise = async (): Promise<void> => {
      const meta = await log.group.meta()
      if (!meta || rulesOf(meta) >= CURRENT_RULES || !log.group.writable) return
      if ((await log.group.member(this.#self))?.role !== 'admin') return
      await log.group.append({ t: 'group/rules', rules: CURRENT_RULES, ts: this.#now() })
    }
    // Another admin raising them at the same time is refused by apply (audited): harmless. A
    // failure to write is the log's storage failing, which the log reports itself.
    raise().catch((err) => { if (!this.#closing && !log.group.failed) this.#reportError(err as Error) })
  }

  async #announce (log: OpenLog) {
    const { group, record } = log
    if (record.kind === 'vault') {
      this.#pairing.serve(group.discoveryKey, (request) => this.#answerDeviceRequest(request, log))
    } else if (record.kind === 'group') {
      // log.group is read per request: it is replaced when a failed log is reopened.
      this.#pairing.serve(group.discoveryKey, (request) => answerJoinRequest(request, {
        group: log.group, encryptionKey: b4a.from(record.encryptionKey, 'hex'), self: this.#self, signer: this.#signer, now: this.#now,
        epochKeysFor: (member) => this.#epochKeysFor(log, member),
        sealName: async (name) => log.keyring.seal(await this.#metadataKey(log), 'member-name', b4a.from(name)),
        onError: (err) => { if (!this.#closing) this.#reportError(err) }
      }))
    }
    if (this.transport) await this.transport.join(group.discoveryKey, { server: true, client: true })
  }

  #watch (log: OpenLog) {
    let running = false
    let again = false
    const onUpdate = async () => {
      if (running) { again = true; return }
      running = true
      try {
        do {
          again = false
          await this.#rewindAfterReorder(log)
          await this.#refreshKeys(log)
          await this.#emitChanges(log)
          if (log.record.kind === 'group') await this.#processDmSignals(log)
          if (log.record.kind === 'group') await this.pads.refresh(this.#padLog(log))
          if (log.record.kind === 'group') await this.meetings.refresh(this.#padLog(log))
          if (log.record.kind !== 'dm') await this.#rotateIfNeeded(log)
          if (log.record.kind !== 'dm') await this.#grantMissingKeys(log)
          // Sibling devices: a change anywhere may let us add a device to a log, or vice versa.
          const vault = this.#vault()
          // A link whose vault arrived after `deviceAdd` returned completes here.
          if (vault && await this.#finishLink(vault)) await this.#processVault(vault)
        } while (again && !this.#closing)
      } catch (err) {
        // A log closed meanwhile (left, reopened after a storage failure, node closing) ends quietly.
        if (!this.#closing && this.#logs.get(log.record.key) === log && !log.group.failed) this.#reportError(err as Error)
      } finally {
        running = false
      }
    }
    log.group.on('update', onUpdate)
    log.group.on('error', (err: Error) => this.#reportError(err))
    log.group.on('warning', (err: Error) => this.#reportError(Object.assign(new SolidarError('LOG_WARNING', `The log of a group reported a problem: ${err.message}`), { cause: err })))
    onUpdate()
  }

  /**
   * A log whose storage failed (e.g. the disk filled up) is closed by Autobase for good.
   * Reopen it from disk — what was acknowledged is there — once storage works again;
   * until then requests get STORAGE_FAILED and the rest of the node keeps running.
   */
  async #healthy (log: OpenLog): Promise<void> {
    const failed = log.group.failed
    if (!failed) return
    await log.group.close().catch(() => { /* closing: the other resources must still close, and a failed close has no caller left to tell */ })
    const group = new Group({
      wakeup: this.#wakeup,
      durable: this.#durable,
      store: this.store.namespace(log.record.namespace),
      key: b4a.from(log.record.key, 'hex'),
      encryptionKey: b4a.from(log.record.encryptionKey, 'hex')
    })
    try {
      await group.ready()
      await group.update()
    } catch (err: any) {
      await group.close().catch(() => { /* closing: the other resources must still close, and a failed close has no caller left to tell */ })
      throw failureError(err instanceof Error ? err : new Error(String(err)))
    }
    if (group.failed) throw failureError(group.failed)
    group.keyring = log.keyring
    log.group = group
    this.#watch(log)
  }

  /**
   * After Autobase reordered the log's tail (concurrent writers), the view's change and DM
   * signal counters were rewritten from the point both orders share: go back there, or the
   * entries that the reorder moved before our cursors would never be announced or acted on.
   */
  async #rewindAfterReorder (log: OpenLog) {
    const cut = log.group.takeTruncation()
    if (cut === null) return
    log.grants.reset()
    log.lastChange = Math.min(log.lastChange, await log.group.counterAt(cut, 'change'))
    if (log.record.kind !== 'group') return
    await this.pads.rewind(this.#padLog(log), cut)
    const dmAt = await log.group.counterAt(cut, 'dm')
    if ((log.record.dmCursor ?? 0) > dmAt) await this.#registry.update(log.record.key, { dmCursor: dmAt })
  }

  async #emitChanges (log: OpenLog) {
    const { last, messages: changed } = await log.group.changedMessages(log.lastChange)
    const fresh = changed.filter(m => !log.emitted.has(versionOf(m)))
    if (fresh.length > 0) {
      const view = await this.#reader(log)
      for (const rec of fresh) {
        const message = view(rec)
        const event: SolidarEvent = log.record.kind === 'dm'
          ? { type: 'dm', peer: z32OfHex(log.record.peer!), message }
          : { type: 'message', group: groupIdOf(log.group.key), message }
        this.#events.emit(event) // isolated listeners: never throws
        log.emitted.add(versionOf(rec))
        if (log.emitted.size > EMITTED_MEMORY) log.emitted.delete(log.emitted.values().next().value!)
      }
    }
    // The cursor moves only once the batch was delivered: a failure above retries it on the next update.
    log.lastChange = last
  }

  /** Turns message records of `log` into views: authors' names, text opened with the epoch keys. */
  async #reader (log: OpenLog): Promise<(m: MessageRecord) => MessageView> {
    // The view may already hold a new epoch's box that the update handler has not opened yet.
    await this.#refreshKeys(log)
    const names = new Map((await log.group.allMembers()).map(m => [m.id, m.name]))
    return (m) => toMessageView(m, names, log.keyring)
  }

  // ---------------------------------------------------------------- key epochs

  /** Opens the epoch keys sealed to this member that the keyring does not hold yet. */
  async #refreshKeys (log: OpenLog) {
    for (const { epoch, box, alt } of await log.group.epochBoxes(this.#device)) {
      // Re-open when the box changed: two admins may rotate to the same epoch at once, and the
      // log can reorder so that the other's rotation (and key) wins after ours was applied here.
      // The keyring keeps the key it replaces, and the other rotation's key, as alternates.
      const slot = alt ? `${epoch}!${alt}` : String(epoch)
      const id = b4a.toString(box, 'hex')
      if (log.boxes.get(slot) === id) continue
      const key = openEpochKey(box, log.group.discoveryKey, epoch, this.identity)
      if (!key) continue
      if (alt) log.keyring.addAlternate(epoch, key)
      else log.keyring.add(epoch, key)
      log.boxes.set(slot, id)
    }
  }

  /** Every epoch key after 0 (which comes with the log key), sealed to a newcomer. */
  async #epochKeysFor (log: OpenLog, member: Buffer): Promise<EpochBox[]> {
    const current = await log.group.epoch()
    const out: EpochBox[] = []
    for (let e = 1; e <= current; e++) {
      // The epoch's key first (apply takes the first box of an epoch as its key), then its alternates.
      // Each box names its key (rules 3), so apply puts it in that key's slot whatever the order did.
      for (const key of log.keyring.all(e)) out.push({ e, box: sealEpochKey(log.group.discoveryKey, e, key, member), id: epochKeyId(log.group.discoveryKey, e, key) })
    }
    return out
  }

  /**
   * Starts a new epoch if one is due (someone left or was removed since the last one):
   * a fresh key sealed to every current member. Serialized per log; the key enters our
   * keyring only by opening our own box of the accepted entry, so a concurrent rotation
   * by another admin (apply accepts one per epoch) can never leave us with a wrong key.
   */
  #rotate (log: OpenLog): Promise<void> {
    log.rotation = log.rotation.catch(() => { /* the earlier call got its own error; this one runs regardless */ }).then(() => this.#rotateNow(log))
    return log.rotation
  }

  async #rotateNow (log: OpenLog): Promise<void> {
    const { group } = log
    if (!group.writable || !(await group.rekeyPending())) return
    const epoch = (await group.epoch()) + 1
    const key = randomKey()
    // One box per current device of every current member.
    const keys = (await group.members()).flatMap(m => activeDevices(m).map(d => {
      const device = b4a.from(d.device, 'hex')
      return { member: device, box: sealEpochKey(group.discoveryKey, epoch, key, device) }
    }))
    await group.append({ t: 'epoch/rotate', epoch, keys, id: epochKeyId(group.discoveryKey, epoch, key), ts: this.#now() })
    await this.#refreshKeys(log)
  }

  /** After someone left, the first admin online starts the next epoch (apply accepts one). */
  async #rotateIfNeeded (log: OpenLog) {
    if (!log.group.writable || !(await log.group.rekeyPending())) return
    const me = await log.group.member(this.#self)
    if (!me || me.left || me.role !== 'admin') return
    await this.#rotate(log)
  }

  /** An admin's node seals the keys it holds to current devices that lack them (epoch-grants.ts). */
  async #grantMissingKeys (log: OpenLog) {
    const { group } = log
    if (!group.writable) return
    const me = await group.member(this.#self)
    if (!me || me.left || me.role !== 'admin') return
    await log.grants.run({
      view: group.view, keyring: log.keyring, discoveryKey: group.discoveryKey, now: this.#now,
      members: () => group.members(),
      append: (cmd) => group.append(cmd)
    })
  }

  /**
   * The epoch to seal metadata under (sealed-meta.ts): the current one, after starting the next
   * epoch if one is due (someone left and no admin has rotated yet), so a member removed a moment
   * ago cannot open it. Callers are admins.
   */
  async #metadataKey (log: OpenLog): Promise<number> {
    await this.#rotateIfNeeded(log)
    return this.#currentKey(log)
  }

  /** The current epoch and its key, or NOT_PERMITTED if this device was not given it. */
  async #currentKey (log: OpenLog): Promise<number> {
    const epoch = await log.group.epoch()
    await this.#refreshKeys(log) // also when we hold a key for it: the box may have changed
    if (!log.keyring.has(epoch)) throw errors.notPermitted('This device does not hold the current key of this group (removed from it?)')
    return epoch
  }

  // ---------------------------------------------------------------- identity & status

  /** Which transport carries replication with a peer (its transport key). */
  #carrier = (remotePublicKey: Uint8Array): string => this.transport?.carrier?.(remotePublicKey) ?? this.transport?.name ?? 'none'

  whoami (): WhoAmI {
    return { id: memberId(this.identity), name: this.identity.name, fingerprint: fingerprint(memberKey(this.identity)) }
  }

  async status (): Promise<NodeStatus> {
    const groups: NodeStatus['groups'] = []
    for (const log of this.#groupLogs()) {
      const meta = await log.group.meta()
      const { peers, peersByTransport, sync } = groupSync(log.group.base, this.#carrier, log.group.warning)
      const catchUp = await this.#catchUp(log)
      groups.push({ id: groupIdOf(log.group.key), name: meta?.name ?? '(syncing)', peers, peersByTransport, length: await log.group.messageCount(), sync, ...(catchUp ? { catchUp } : {}), ...upgradeOf(log.group) })
    }
    const leaving: NodeStatus['leaving'] = []
    for (const log of this.#logs.values()) {
      if (log.record.leaving === undefined) continue
      leaving.push({ id: groupIdOf(log.group.key), name: (await log.group.meta())?.name ?? '', since: log.record.leaving })
    }
    const t = this.transport
    return {
      leaving,
      id: memberId(this.identity),
      name: this.identity.name,
      network: {
        mode: this.#network,
        bootstrap: this.#bootstrap,
        connections: t?.connectionCount ?? 0,
        transports: t ? (t.info?.() ?? [{ name: t.name, connections: t.connectionCount }]) : []
      },
      groups
    }
  }

  /** The live feed; a listener that throws is reported to `onError` (LISTENER_FAILED), the others still get the event. */
  subscribe (listener: (event: SolidarEvent) => void): () => void {
    return this.#events.subscribe(listener)
  }

  #reportError (err: Error): void {
    this.#events.reportError(err)
  }

  /** Errors from replication or storage that no request is waiting for, and failing listeners. */
  onError (listener: (err: Error) => void): () => void {
    return this.#events.onError(listener)
  }

  // ---------------------------------------------------------------- groups

  /**
   * `sameName`: the ids of groups this device already has under the same name (as names compare:
   * case and Unicode form aside). Created all the same; the caller says so, since from now on a
   * command by that name must be given an id.
   */
  async createGroup (name: string): Promise<{ id: GroupId, name: string, sameName?: GroupId[] }> {
    const clean = validateName(name, 'group name')
    const sameName: GroupId[] = []
    for (const log of this.#groupLogs()) {
      const meta = await log.group.meta()
      if (meta !== null && nameKey(meta.name) === nameKey(clean)) sameName.push(groupIdOf(log.group.key))
    }
    const { group } = await this.#createLog({ kind: 'group', name: clean })
    return { id: groupIdOf(group.key), name: clean, ...(sameName.length > 0 ? { sameName } : {}) }
  }

  async #createLog ({ kind, name, peer }: { kind: 'group' | 'dm' | 'vault', name: string, peer?: Buffer }): Promise<OpenLog> {
    if (this.#closing) throw errors.closed()
    const namespace = hex(crypto.randomBytes(16))
    const encryptionKey = crypto.randomBytes(32)
    const group = new Group({ store: this.store.namespace(namespace), key: null, encryptionKey, wakeup: this.#wakeup, durable: this.#durable })
    await group.ready()
    await group.append({
      t: 'group/create', kind, name, member: memberKey(this.identity), memberName: this.identity.name,
      sig: signBinding(group.key, group.localWriterKey, this.identity.secretKey), ts: this.#now(),
      ...(peer ? { peer } : {}), ...this.#deviceFields(), rules: CURRENT_RULES
    })
    const record: LogRecord = { key: hex(group.key), encryptionKey: hex(encryptionKey), namespace, kind, ...(peer ? { peer: hex(peer) } : {}) }
    await this.#registry.put(record)
    const log = await this.#openLog(record, group)
    if (kind !== 'vault') await this.#listInVault(record)
    return log
  }

  /** `device` and `cert` for entries signed by a linked (not first) device. */
  #deviceFields (): { device?: Buffer, cert?: Buffer } {
    return this.identity.member ? { device: this.identity.publicKey, cert: this.identity.cert } : {}
  }

  async listGroups (): Promise<GroupSummary[]> {
    const out: GroupSummary[] = []
    for (const log of this.#groupLogs()) {
      try {
        // A log whose storage failed is closing: reopen it (reads work on a read-only disk too).
        await this.#healthy(log)
      } catch {
        // It cannot be opened now: list it all the same; opening it reports the cause.
        out.push({ id: groupIdOf(log.group.key), name: '(storage failed)', role: null, members: 0 })
        continue
      }
      await this.#refreshKeys(log)
      const meta = await log.group.meta()
      const members = await log.group.members()
      const me = members.find(m => m.id === this.#self)
      const catchUp = await this.#catchUp(log)
      const unread = await countUnread(log.group, await this.#read.get(log.record.key), this.#self)
      out.push({ id: groupIdOf(log.group.key), name: meta?.name ?? '(syncing)', role: me?.role ?? null, members: members.length, unread, ...(catchUp ? { catchUp } : {}), ...upgradeOf(log.group) })
    }
    return out
  }

  /** How far a group that has not fully reached this device is (catch-up.ts); null once it has. */
  async #catchUp (log: OpenLog): Promise<CatchUp | null> {
    return catchUpState(log.group.base, await log.group.allMembers(), this.pads.presenceChannel.membersByPeer(log.group.discoveryKey))
  }

  /** The groups of this device (not those it is leaving, see leaveGroup). */
  #groupLogs (): OpenLog[] {
    return [...this.#logs.values()].filter(l => l.record.kind === 'group' && l.record.leaving === undefined)
  }

  /** A group id, or a name that matches exactly one group (case-insensitive). */
  async #resolveGroup (ref: string): Promise<OpenLog> {
    const log = await this.#findGroup(ref)
    await this.#healthy(log)
    return log
  }

  async #findGroup (ref: string): Promise<OpenLog> {
    // By id first, without reading any view: a log whose storage failed is found (and reopened
    // by #healthy) by its id although its view cannot be read now.
    const key = typeof ref === 'string' ? keyOrNull(ref.trim()) : null
    const byId = key ? this.#logs.get(hex(key)) : undefined
    if (byId && byId.record.kind === 'group' && byId.record.leaving === undefined) return byId
    const named: Array<{ log: OpenLog, name: string }> = []
    let unreadable: Error | null = null
    for (const log of this.#groupLogs()) {
      try {
        await this.#healthy(log) // a log whose storage failed is reopened first, if it can be
      } catch (err) {
        unreadable ??= err as Error // its name cannot be read now; if nothing else matches, say why
        continue
      }
      named.push({ log, name: (await log.group.meta())?.name ?? '' })
    }
    return resolveOne(named, ref, {
      name: (c) => c.name,
      missing: () => errors.badRequest('missing group'),
      notFound: (text) => unreadable ?? errors.groupNotFound(text),
      ambiguous: (text, matches) => errors.groupAmbiguous(text, matches.map(c => groupIdOf(c.log.group.key)))
    }).log
  }

  /** The id of the group `ref` names (resolve.ts: an id, else a unique name). */
  async resolveGroupId (ref: string): Promise<GroupId> {
    return groupIdOf((await this.#findGroup(ref)).group.key)
  }

  /** The id of the member `ref` names among the members of this device's groups (or any member id). */
  async resolveMemberId (ref: string): Promise<MemberId> {
    return z32OfHex(await this.#resolveMember(ref))
  }

  async members (ref: string): Promise<MemberView[]> {
    const log = await this.#resolveGroup(ref)
    await this.#refreshKeys(log) // names sealed under an epoch whose box arrived a moment ago
    const records = await log.group.members()
    const alike = lookAlikes(records)
    return records.map(m => withVerification(toMemberView(m),
      m.id === this.#self ? 'unverified' : this.#verification.status(m.id, m.name),
      (alike.get(m.id) ?? []).map(z32OfHex)))
  }

  async rooms (ref: string): Promise<RoomView[]> {
    const { group } = await this.#resolveGroup(ref)
    return (await group.rooms()).map(r => ({ name: r.name, createdBy: z32OfHex(r.createdBy), ts: r.ts }))
  }

  async createRoom (ref: string, name: string): Promise<RoomView> {
    const { group } = await this.#resolveGroup(ref)
    const room = typeof name === 'string' ? name.trim() : ''
    if (!isRoomName(room)) throw errors.badRequest('room names are lowercase letters, digits, - and _ (up to 48), starting with a letter or digit')
    if (await group.room(room)) throw errors.roomExists(room)
    await this.#appendChecked(group, { t: 'room/create', name: room, ts: this.#now() })
    const rec = await group.room(room)
    if (!rec) throw errors.roomExists(room) // created concurrently by someone else
    return { name: rec.name, createdBy: z32OfHex(rec.createdBy), ts: rec.ts }
  }

  // ---------------------------------------------------------------- membership

  async #requireAdmin (group: Group, what: string): Promise<void> {
    const me = await group.member(this.#self)
    if (!me || me.left) throw errors.notPermitted('You are no longer a member of this group')
    if (me.role !== 'admin') throw errors.notPermitted(`Only admins of this group can ${what}`)
  }

  /** A current member of this group, by id or unambiguous display name. */
  async #groupMember (group: Group, ref: string): Promise<MemberRecord> {
    const members = await group.members()
    return resolveOne(members, ref, {
      byId: (text) => { const key = keyOrNull(text); return key ? members.find(m => m.id === hex(key)) : undefined },
      name: (m) => m.name,
      missing: () => errors.badRequest('missing member'),
      notFound: (text) => errors.memberNotFound(text),
      ambiguous: (text) => errors.badRequest(`"${text}" matches several members; use a member id`)
    })
  }

  /**
   * Removes a member: their writers are removed from the log and a new key epoch starts at
   * once, sealed to everyone else, so they read nothing written from now on.
   */
  async removeMember (ref: string, memberRef: string): Promise<MemberView & { delivered: boolean }> {
    const log = await this.#resolveGroup(ref)
    await this.#requireAdmin(log.group, 'remove members')
    const target = await this.#groupMember(log.group, memberRef)
    await log.group.settleIndexers()
    await this.#appendChecked(log.group, { t: 'member/remove', member: b4a.from(target.id, 'hex'), ts: this.#now() })
    await this.#rotate(log)
    this.#events.emit({ type: 'members', group: groupIdOf(log.group.key) } satisfies SolidarEvent)
    return { ...toMemberView({ ...target, left: this.#now() }), delivered: await deliveredSoon(log.group.base) }
  }

  /**
   * Leaves a group: an admin's node starts the next key epoch; this device stops syncing it once
   * a peer has taken the leave. Until then (`pending`), the group is gone from this device's
   * lists but its log stays open, also across restarts, and the leave goes out when a member's
   * device is next reachable (a leave that never left this device would change nothing).
   */
  async leaveGroup (ref: string, opts: { timeoutMs?: number, signal?: AbortSignal } = {}): Promise<{ id: GroupId, name: string, pending: boolean }> {
    const log = await this.#resolveGroup(ref)
    const id = groupIdOf(log.group.key)
    const name = (await log.group.meta())?.name ?? ''
    // Said before anything is written: the group would refuse it (apply-membership.ts) in its own words.
    const members = (await log.group.members()).filter(m => !m.left)
    const admins = members.filter(m => m.role === 'admin')
    if (members.length > 1 && admins.length === 1 && admins[0].id === this.#self) {
      throw errors.notPermitted('You are the last admin of this group, so you cannot leave it yet: make another member admin first (`solidar role GROUP MEMBER admin`, or Members in the web app), then leave')
    }
    await log.group.settleIndexers()
    await this.#appendChecked(log.group, { t: 'member/leave', ts: this.#now() })
    await this.#registry.update(log.record.key, { leaving: this.#now() })
    log.record.leaving ??= this.#now()
    this.#events.emit({ type: 'group', group: id } satisfies SolidarEvent)
    let delivered = false
    try {
      delivered = await waitForDelivery(log.group.base, opts.timeoutMs ?? LEAVE_DELIVERY_MS, opts.signal)
    } finally {
      if (delivered) await this.#forgetLog(log)
      else this.#completeLeave(log)
    }
    return { id, name, pending: !delivered }
  }

  /** In the background: forgets a group once a peer has taken this device's leave. */
  #completeLeave (log: OpenLog): void {
    const key = log.record.key
    if (this.#departures.has(key)) return
    const done = (async () => {
      try {
        if (await waitForDelivery(log.group.base, Infinity, this.#lifetime.signal)) await this.#forgetLog(log)
      } catch (err) {
        // Aborted by close(): the leave stays pending in logs.json and goes on at the next start.
        if (!this.#lifetime.signal.aborted) this.#reportError(err as Error)
      } finally {
        this.#departures.delete(key)
      }
    })()
    this.#departures.set(key, done)
  }

  async #forgetLog (log: OpenLog): Promise<void> {
    if (this.#logs.get(log.record.key) !== log) return
    // logs.json first: once this node no longer lists the log (status, groups), it is gone from
    // disk too (the other order left a window in which a restart brought the group back).
    await this.#registry.remove(log.record.key)
    await this.#closeLog(log)
    this.#events.emit({ type: 'group', group: groupIdOf(log.group.key) } satisfies SolidarEvent)
  }

  async setRole (ref: string, memberRef: string, role: Role): Promise<MemberView & { delivered: boolean }> {
    if (!ROLES.includes(role)) throw errors.badRequest(`role must be one of ${ROLES.join(', ')}`)
    const log = await this.#resolveGroup(ref)
    await this.#requireAdmin(log.group, 'change roles')
    const target = await this.#groupMember(log.group, memberRef)
    if (target.role === role) throw errors.badRequest(`${target.name} is already ${role}`)
    await log.group.settleIndexers()
    await this.#appendChecked(log.group, { t: 'member/role', member: b4a.from(target.id, 'hex'), role, ts: this.#now() })
    this.#events.emit({ type: 'members', group: groupIdOf(log.group.key) } satisfies SolidarEvent)
    return { ...toMemberView({ ...target, role }), delivered: await deliveredSoon(log.group.base) }
  }

  async renameGroup (ref: string, name: string): Promise<{ id: GroupId, name: string }> {
    const clean = validateName(name, 'group name')
    const log = await this.#resolveGroup(ref)
    await this.#requireAdmin(log.group, 'rename the group')
    const epoch = await this.#metadataKey(log)
    const sealedName = log.keyring.seal(epoch, 'group-name', b4a.from(clean))
    await this.#appendChecked(log.group, { t: 'group/rename', sealedName, ts: this.#now() })
    this.#events.emit({ type: 'group', group: groupIdOf(log.group.key) } satisfies SolidarEvent)
    return { id: groupIdOf(log.group.key), name: clean }
  }

  async #closeLog (log: OpenLog) {
    this.#logs.delete(log.record.key)
    await this.pads.forget(log.record.key)
    this.meetings.forget(log.group.discoveryKey)
    this.#pairing.unserve(log.group.discoveryKey)
    // A topic the transport cannot leave (it is closing too) changes nothing for a log that closes.
    await this.transport?.leave(log.group.discoveryKey).catch(() => { /* see above */ })
    await log.group.close()
  }

  async audit (ref: string): Promise<AuditEntry[]> {
    const { group } = await this.#resolveGroup(ref)
    return (await group.audit()).map(a => ({ seq: a.n, writer: a.writer, type: a.type, reason: a.reason }))
  }

  /** Appends and reports what apply said about it, so a rejected entry is an error, not silence. */
  async #appendChecked (group: Group, cmd: Parameters<Group['append']>[0]): Promise<void> {
    const before = await group.auditCount()
    await group.append(cmd)
    const mine = (await group.audit(before)).find(a => a.writer === hex(group.localWriterKey) && a.type === cmd.t)
    if (mine) throw errors.notPermitted(`The group refused this ${cmd.t}: ${mine.reason}`)
  }

  // ---------------------------------------------------------------- invites

  async createInvite (ref: string, opts: InviteOptions = {}): Promise<InviteResult> {
    const { group, record } = await this.#resolveGroup(ref)
    const role: Role = opts.role ?? 'member'
    if (role !== 'admin' && role !== 'member') throw errors.badRequest('role must be "member" or "admin"')
    const ttl = opts.expiresMs ?? DEFAULT_INVITE_TTL
    if (!Number.isSafeInteger(ttl) || ttl < 1000 || ttl > 365 * 24 * 3600 * 1000) throw errors.badRequest('expiry must be between 1 second and 365 days')
    const uses = opts.uses ?? 1
    if (!Number.isSafeInteger(uses) || uses < 1 || uses > 1000) throw errors.badRequest('uses must be a whole number from 1 to 1000')
    await this.#requireAdmin(group, 'invite')
    const expires = this.#now() + ttl
    const invite = createInvite(group.key, { expires })
    await this.#appendChecked(group, { t: 'invite/create', id: invite.id, publicKey: invite.publicKey, role, expires, uses, ts: this.#now() })
    const code = encodeInviteCode(invite.invite, { issuer: this.identity.publicKey, encryptionKey: b4a.from(record.encryptionKey, 'hex') })
    return { code, id: encodeKey(invite.id), group: groupIdOf(group.key), expires, uses, role }
  }

  async listInvites (ref: string): Promise<InviteView[]> {
    const { group } = await this.#resolveGroup(ref)
    await this.#requireAdmin(group, 'list invites')
    return listInviteViews(group, this.#now())
  }

  async revokeInvite (ref: string, inviteRef: string): Promise<InviteView> {
    const log = await this.#resolveGroup(ref)
    const { group } = log
    await this.#requireAdmin(group, 'revoke invites')
    const id = inviteIdOf(inviteRef)
    const before = await group.invite(hex(id))
    if (!before) throw errors.inviteNotFound(String(inviteRef).slice(0, 80))
    if (before.revoked) throw errors.notPermitted('This invite is already revoked')
    await this.#appendChecked(group, { t: 'invite/revoke', id, ts: this.#now() })
    return (await listInviteViews(log.group, this.#now())).find(v => v.id === encodeKey(id))!
  }

  async join (code: string, opts: { timeoutMs?: number, signal?: AbortSignal } = {}): Promise<{ id: GroupId, name: string, writable: boolean }> {
    const invite = decodeInviteCode(code)
    if (invite.expires && this.#now() > invite.expires) throw errors.inviteExpired(invite.expires)
    for (const log of this.#groupLogs()) {
      if (b4a.equals(log.group.discoveryKey, invite.discoveryKey)) throw errors.alreadyMember(groupIdOf(log.group.key))
    }
    if (!this.transport) throw errors.noNetwork()
    const timeoutMs = opts.timeoutMs ?? DEFAULT_JOIN_TIMEOUT
    const deadline = this.#now() + timeoutMs
    await this.#leftBefore(invite.discoveryKey, timeoutMs)

    const namespace = hex(crypto.randomBytes(16))
    const writer = await Autobase.getLocalKey(this.store.namespace(namespace))
    const userData = encodeJoinUserData({
      member: memberKey(this.identity), writer, name: this.identity.name,
      sig: signBindingForDiscoveryKey(invite.discoveryKey, writer, this.identity.secretKey),
      ...this.#deviceFields()
    })
    const auth = await this.#awaitReply(invite, userData, timeoutMs, opts.signal)

    const record: LogRecord = { key: hex(auth.key), encryptionKey: hex(auth.encryptionKey), namespace, kind: 'group' }
    await this.#registry.put(record)
    const log = await this.#openLog(record)
    await this.#listInVault(record)
    // Admitted: the admin appended our member/add before replying. Wait until it reaches us, up
    // to the deadline. That means applying the history up to our admission, which in a group
    // with a long history (or when the admin goes offline right after answering) takes longer:
    // the join has succeeded all the same (the log is ours and keeps syncing), so it is not an
    // error; `writable` says whether this device can write yet.
    const remaining = Math.max(1000, deadline - this.#now())
    const writable = await resolvesWithin(log.group.waitForWritable(opts.signal), remaining)
    let meta = await log.group.meta()
    while (!meta && this.#now() < deadline + 5000) { await sleep(50); meta = await log.group.meta() }
    this.#events.emit({ type: 'group', group: groupIdOf(log.group.key) } satisfies SolidarEvent)
    return { id: groupIdOf(log.group.key), name: meta?.name ?? '', writable }
  }

  /** Joining a group this device is still leaving: first let the leave reach a peer (any admin answering will be one). */
  async #leftBefore (discoveryKey: Buffer, timeoutMs: number): Promise<void> {
    const leaving = [...this.#logs.values()].find(l => l.record.leaving !== undefined && b4a.equals(l.group.discoveryKey, discoveryKey))
    const done = leaving ? this.#departures.get(leaving.record.key) : undefined
    if (done === undefined) return
    if (!(await resolvesWithin(done, timeoutMs))) {
      throw errors.busy('This device is still leaving this group: the leave has not reached any member\'s device yet. Try again when one is online.')
    }
  }

  /**
   * Sends the join request until the invite's issuer answers. Replies not signed by the issuer
   * (or handing out a key the code does not commit to) are ignored: a removed or plain member
   * can read the invite from the log and forge a reply, but cannot end or misdirect the join.
   */
  #awaitReply (invite: DecodedInvite, userData: Buffer, timeoutMs: number, signal?: AbortSignal): Promise<{ key: Buffer, encryptionKey: Buffer }> {
    const request: any = new CandidateRequest(invite.invite, userData)
    const session: Buffer = request.session
    return new Promise((resolve, reject) => {
      let cancel = () => {}
      const done = (err: Error | null, value?: any) => {
        clearTimeout(timer)
        signal?.removeEventListener('abort', onAbort)
        cancel()
        if (err) reject(err)
        else resolve(value)
      }
      const onAbort = () => done(signal!.reason ?? errors.closed())
      const timer = setTimeout(() => done(errors.joinTimeout(timeoutMs)), timeoutMs)
      signal?.addEventListener('abort', onAbort, { once: true })
      cancel = this.#pairing.request(invite.discoveryKey, request.encode(), (reply) => {
        const verdict = judgeReply(reply, invite, userData, session)
        if (!verdict) return // not from the issuer: keep waiting for the real answer
        if (verdict.ok) done(null, { key: verdict.key, encryptionKey: verdict.encryptionKey })
        else done(verdict.error)
      })
      // A failed announce leaves the request unanswered: the join ends with JOIN_TIMEOUT.
      this.transport!.join(invite.discoveryKey, { server: true, client: true }).catch(() => { /* see above: JOIN_TIMEOUT says it */ })
    })
  }

  // ---------------------------------------------------------------- messages

  async send (ref: string, text: string, opts: { room?: string, replyTo?: string } = {}): Promise<MessageView> {
    const log = await this.#resolveGroup(ref)
    const room = opts.room ?? DEFAULT_ROOM
    if (!(await log.group.room(room))) throw errors.roomNotFound(room)
    return this.#post(log, text, room, opts.replyTo)
  }

  async #post (log: OpenLog, text: string, room: string, replyTo?: string): Promise<MessageView> {
    const plain = checkText(text)
    if (replyTo !== undefined) {
      if (!isMessageId(replyTo) || !(await log.group.messageById(replyTo))) throw errors.messageNotFound(String(replyTo))
    }
    const epoch = await this.#currentKey(log)
    const body = log.keyring.seal(epoch, 'message', b4a.from(plain))
    const id = newRecordId() as MessageId
    const entry = { id, room, body, ts: this.#now(), ...(replyTo ? { replyTo } : {}) }
    await this.#appendChecked(log.group, { t: 'message/post', ...entry })
    // The answer comes from the entry appended here; the view gives only its position.
    // Appended and applied here, so in the view; a reorder under way may hide it for a moment.
    const placed = await log.group.messageById(id) ?? await log.group.update().then(() => log.group.messageById(id))
    if (!placed) throw errors.messageNotFound(id)
    return (await this.#reader(log))(ownPostRecord(placed.seq, this.#self, entry))
  }

  async #messageView (log: OpenLog, id: string): Promise<MessageView> {
    const rec = await log.group.messageById(id)
    if (!rec) throw errors.messageNotFound(id)
    return (await this.#reader(log))(rec)
  }

  async edit (ref: string, id: string, text: string): Promise<MessageView> {
    return this.#editIn(await this.#resolveGroup(ref), id, text)
  }

  async deleteMessage (ref: string, id: string): Promise<MessageView> {
    return this.#deleteIn(await this.#resolveGroup(ref), id)
  }

  /** Edits one's own message in a group or DM log (apply accepts it from the author only). */
  async #editIn (log: OpenLog, id: string, text: string): Promise<MessageView> {
    await this.#ownMessage(log.group, id)
    const epoch = await this.#currentKey(log)
    const body = log.keyring.seal(epoch, 'message', b4a.from(checkText(text)))
    await this.#appendChecked(log.group, { t: 'message/edit', id, body, ts: this.#now() })
    return this.#messageView(log, id)
  }

  async #deleteIn (log: OpenLog, id: string): Promise<MessageView> {
    await this.#ownMessage(log.group, id)
    await this.#appendChecked(log.group, { t: 'message/delete', id, ts: this.#now() })
    return this.#messageView(log, id)
  }

  async #ownMessage (group: Group, id: string): Promise<MessageRecord> {
    const rec = isMessageId(id) ? await group.messageById(id) : null
    if (!rec) throw errors.messageNotFound(String(id))
    if (rec.author !== this.#self) throw errors.notPermitted('Only the author can edit or delete a message')
    if (rec.deleted) throw errors.notPermitted('This message was deleted')
    return rec
  }

  async messages (ref: string, opts: PageOptions = {}): Promise<MessageView[]> {
    const log = await this.#resolveGroup(ref)
    if (opts.room !== undefined && !(await log.group.room(opts.room))) throw errors.roomNotFound(opts.room)
    const page = await readPage(log.group, opts) // history.ts
    if (page === null) throw errors.messageNotFound(String(opts.before))
    const view = await this.#reader(log)
    return page.messages.map(view)
  }

  async markRead (ref: string, id: string): Promise<{ unread: number }> {
    const log = await this.#resolveGroup(ref)
    const rec = await log.group.messageById(checkBefore(id) ?? '')
    if (!rec) throw errors.messageNotFound(id)
    await this.#read.advance(log.record.key, { id: rec.id, seq: rec.seq })
    return { unread: await countUnread(log.group, await this.#read.get(log.record.key), this.#self) }
  }

  // ---------------------------------------------------------------- direct messages

  /** A member id, or a display name that matches exactly one member of our groups. */
  async #resolveMember (ref: string): Promise<string> {
    const listed: Array<{ id: string, name: string }> = [] // once per shared group
    for (const log of this.#groupLogs()) {
      for (const m of await log.group.members()) if (m.id !== this.#self) listed.push({ id: m.id, name: m.name })
    }
    return resolveOne(listed, ref, {
      // Any member id (a DM may go to someone who shares no group with us any more).
      byId: (text) => { const key = keyOrNull(text); return key ? { id: hex(key), name: '' } : undefined },
      name: (c) => c.name,
      identity: (c) => c.id,
      missing: () => errors.badRequest('missing member'),
      notFound: (text) => errors.memberNotFound(text),
      ambiguous: (text) => errors.badRequest(`"${text}" matches several members; use a member id`)
    }).id
  }

  #dmLogs (peer: string): OpenLog[] {
    return [...this.#logs.values()].filter(l => l.record.kind === 'dm' && l.record.peer === peer)
  }

  async dm (ref: string, text: string, opts: { replyTo?: string } = {}): Promise<MessageView> {
    const peer = await this.#resolveMember(ref)
    if (peer === this.#self) throw errors.badRequest('You cannot send a direct message to yourself')
    checkText(text)
    // Both sides may have opened a conversation; all converge on the smallest writable key.
    const byKey = (a: OpenLog, b: OpenLog) => a.record.key.localeCompare(b.record.key)
    let log = this.#dmLogs(peer).filter(l => l.group.writable).sort(byKey)[0]
    // The peer's conversation reached us but its node has not made us a writer yet (our accept
    // is on its way): wait for that instead of opening a second conversation, whose messages
    // would then interleave with the first by their authors' clocks.
    const accepted = log ? undefined : this.#dmLogs(peer).sort(byKey)[0]
    if (accepted) {
      try {
        await accepted.group.waitForWritable(AbortSignal.timeout(DM_WRITABLE_WAIT_MS))
        log = accepted
      } catch {
        // Not writable in time (or the wait was cut): write to our own DM log instead, below.
      }
    }
    if (!log) log = await this.#openDm(peer)
    await this.#healthy(log)
    return this.#post(log, text, DM_ROOM, opts.replyTo)
  }

  async #openDm (peer: string): Promise<OpenLog> {
    const via = await this.#sharedGroup(peer)
    if (!via) throw errors.noSharedGroup(z32OfHex(peer))
    const peerKey = b4a.from(peer, 'hex')
    const log = await this.#createLog({ kind: 'dm', name: '', peer: peerKey })
    const box = sealDmPayload({ kind: 'offer', base: log.group.key, encryptionKey: b4a.from(log.record.encryptionKey, 'hex'), from: memberKey(this.identity), to: peerKey }, peerKey)
    await this.#appendChecked(via.group, { t: 'dm/offer', box, ts: this.#now() })
    return log
  }

  async #sharedGroup (peer: string): Promise<OpenLog | null> {
    for (const log of this.#groupLogs()) {
      const member = await log.group.member(peer)
      if (log.group.writable && member && !member.left) return log
    }
    return null
  }

  /** The DM log with `ref` that holds message `id` (several can exist briefly: both opened one). */
  async #dmLogOf (ref: string, id: string): Promise<OpenLog> {
    const peer = await this.#resolveMember(ref)
    if (isMessageId(id)) {
      for (const log of this.#dmLogs(peer)) {
        if (await log.group.messageById(id)) {
          await this.#healthy(log)
          return log
        }
      }
    }
    throw errors.messageNotFound(String(id))
  }

  async dmEdit (ref: string, id: string, text: string): Promise<MessageView> {
    return this.#editIn(await this.#dmLogOf(ref, id), id, text)
  }

  async dmDelete (ref: string, id: string): Promise<MessageView> {
    return this.#deleteIn(await this.#dmLogOf(ref, id), id)
  }

  /** The direct conversations this device holds, by peer, with their unread counts (read-markers.ts). */
  async listDms (): Promise<DmSummary[]> {
    const peers = new Set([...this.#logs.values()].filter(l => l.record.kind === 'dm').map(l => l.record.peer!))
    const out: DmSummary[] = []
    for (const peer of peers) {
      const logs = this.#dmLogs(peer)
      const name = (await logs[0].group.member(peer))?.name ?? ''
      out.push({ member: z32OfHex(peer), name, unread: await unreadOf(this.#read, logs.map(l => ({ key: l.record.key, group: l.group })), this.#self) })
    }
    return out
  }

  async markDmRead (ref: string, id: string): Promise<{ unread: number }> {
    const logs = this.#dmLogs(await this.#resolveMember(ref)).map(l => ({ key: l.record.key, group: l.group }))
    await markLogsRead(this.#read, logs, checkBefore(id) ?? '')
    return { unread: await unreadOf(this.#read, logs, this.#self) }
  }

  async dmMessages (ref: string, opts: Omit<PageOptions, 'room'> = {}): Promise<MessageView[]> {
    const peer = await this.#resolveMember(ref)
    const logs = this.#dmLogs(peer)
    const pages = await dmPages(logs.map(l => l.group), opts) // history.ts
    const views: MessageView[][] = []
    for (const [i, log] of logs.entries()) views.push(pages[i].map(await this.#reader(log)))
    return mergeLogs(views).slice(-pageLimit(opts.limit))
  }

  // ---------------------------------------------------------------- XMPP bridge (bridge-service.ts)

  bridgeAllowlist (ref: string): Promise<BridgeAllowEntry[]> { return this.bridge.allowlist(ref) }
  bridgeAllow (ref: string, entry: string): Promise<BridgeAllowEntry[]> { return this.bridge.allow(ref, entry) }
  bridgeRevoke (ref: string, entry: string): Promise<BridgeAllowEntry[]> { return this.bridge.revoke(ref, entry) }
  bridgeAllowed (ref: string, jid: string): Promise<boolean> { return this.bridge.allowed(ref, jid) }
  bridgeMembers (ref: string): Promise<BridgeRegistration[]> { return this.bridge.members(ref) }
  bridgeRegister (ref: string, member: string, register = true): Promise<BridgeRegistration[]> { return this.bridge.register(ref, member, register) }
  sendBridged (ref: string, msg: BridgedText & { room: string }): Promise<{ message: MessageView, duplicate: boolean }> { return this.bridge.send(ref, msg) }
  dmBridged (ref: string, msg: BridgedText): Promise<{ message: MessageView, duplicate: boolean }> { return this.bridge.dm(ref, msg, DM_ROOM) }

  #bridgeHost (): BridgeHost {
    // The service sees a log's group, keyring and kind (read live: a reopened log has a new group);
    // it hands back the views it was given, and this maps them to the logs.
    const logs = new WeakMap<BridgeLog, OpenLog>()
    const view = (log: OpenLog): BridgeLog => {
      const b: BridgeLog = { get group () { return log.group }, get keyring () { return log.keyring }, kind: log.record.kind }
      logs.set(b, log)
      return b
    }
    const asLog = (b: BridgeLog): OpenLog => {
      const log = logs.get(b)
      if (!log) throw new Error('bridge service: a log view that this node did not make') // a programming error
      return log
    }
    return {
      group: async (ref) => view(await this.#resolveGroup(ref)),
      dmPeer: async (ref) => {
        const peer = await this.#resolveMember(ref)
        if (peer === this.#self) throw errors.badRequest('You cannot send a direct message to yourself')
        return peer
      },
      dmLogs: async (peer) => {
        const logs = this.#dmLogs(peer)
        let log = logs.filter(l => l.group.writable).sort((a, b) => a.record.key.localeCompare(b.record.key))[0]
        if (!log) log = await this.#openDm(peer)
        await this.#healthy(log)
        return { write: view(log), all: (logs.includes(log) ? logs : [...logs, log]).map(view) }
      },
      refreshKeys: (log) => this.#refreshKeys(asLog(log)),
      requireAdmin: (log, what) => this.#requireAdmin(log.group, what),
      metadataEpoch: (log) => this.#metadataKey(asLog(log)),
      currentEpoch: (log) => this.#currentKey(asLog(log)),
      append: (log, cmd) => this.#appendChecked(log.group, cmd),
      messageView: (log, id) => this.#messageView(asLog(log), id),
      self: () => this.#self,
      now: () => this.#now()
    }
  }

  // ---------------------------------------------------------------- key verification

  /** Fingerprints and safety number with a member of a shared group (verification.ts). */
  async verify (ref: string, opts: VerifyOptions = {}): Promise<VerificationResult> {
    let member: string
    try {
      member = await this.#resolveMember(ref)
    } catch (err) {
      // Names never resolve to oneself: say why instead of "no member matches".
      if ((err as SolidarError).code === 'MEMBER_NOT_FOUND' && sameName(ref, this.identity.name)) throw errors.badRequest(SELF_VERIFY_MESSAGE)
      throw err
    }
    if (member === this.#self) throw errors.badRequest(SELF_VERIFY_MESSAGE)
    let name: string | null = null
    for (const log of this.#groupLogs()) {
      name = (await log.group.member(member))?.name ?? null
      if (name !== null) break
    }
    if (name === null) throw errors.memberNotFound(ref)
    return verifyMember(this.#verification, { own: memberKey(this.identity), member: b4a.from(member, 'hex'), memberId: z32OfHex(member), name }, opts)
  }

  /** Reads new sealed DM envelopes in a group; acts on those addressed to us. */
  async #processDmSignals (log: OpenLog) {
    const cursor = log.record.dmCursor ?? 0
    const signals = await log.group.dmSignals(cursor)
    if (signals.length === 0) return
    for (const signal of signals) {
      const payload = openDmPayload(signal.box, this.identity)
      if (!payload || hex(payload.from) !== signal.from) continue // not ours, or a forged sender
      if (payload.kind === 'offer') {
        const key = hex(payload.base)
        if (this.#logs.has(key)) continue
        const record: LogRecord = { key, encryptionKey: hex(payload.encryptionKey), namespace: hex(crypto.randomBytes(16)), kind: 'dm', peer: signal.from }
        await this.#registry.put(record)
        const dm = await this.#openLog(record)
        await this.#listInVault(record)
        const sig = signBinding(dm.group.key, dm.group.localWriterKey, this.identity.secretKey)
        const box = sealDmPayload({ kind: 'accept', base: dm.group.key, writer: dm.group.localWriterKey, sig, from: memberKey(this.identity), to: payload.from }, payload.from)
        if (log.group.writable) await log.group.append({ t: 'dm/accept', box, ts: this.#now() })
      } else {
        const dm = this.#logs.get(hex(payload.base))
        if (!dm || dm.record.kind !== 'dm' || dm.record.peer !== signal.from || !dm.group.writable) continue
        if (await dm.group.member(signal.from)) continue
        const peer = await log.group.member(signal.from)
        await dm.group.append({ t: 'member/add', member: payload.from, writer: payload.writer, name: peer?.name ?? 'member', role: 'member', sig: payload.sig, ts: this.#now() })
      }
    }
    await this.#registry.update(log.record.key, { dmCursor: signals[signals.length - 1].n })
  }

  // ---------------------------------------------------------------- pads (core/src/pads/)

  #padLog (log: OpenLog): PadLog {
    return {
      id: groupIdOf(log.group.key), group: log.group, keyring: log.keyring, logKey: b4a.from(log.record.encryptionKey, 'hex'),
      currentEpoch: () => this.#currentKey(log),
      append: (cmd) => this.#appendChecked(log.group, cmd)
    }
  }

  #padHost (local: LocalStore): PadHost {
    return {
      resolve: async (ref) => this.#padLog(await this.#resolveGroup(ref)),
      emit: (event) => this.#events.emit(event),
      onError: (err) => { if (!this.#closing) this.#reportError(err) },
      now: () => this.#now(),
      identity: this.identity,
      self: () => this.#self,
      local,
      ...(this.#presenceTtlMs !== undefined ? { presenceTtlMs: this.#presenceTtlMs } : {})
    }
  }

  // ---------------------------------------------------------------- blind mirrors (runtime hook)

  /**
   * The Autobase of a group (id or unambiguous name), for the runtime's blind-peering
   * client, which asks a mirror to store the base's cores. The base holds the group key:
   * only its core keys and lengths may ever reach a mirror.
   */
  async logBase (ref: string): Promise<{ id: GroupId, base: any }> {
    const { group } = await this.#resolveGroup(ref)
    return { id: groupIdOf(group.key), base: group.base }
  }

  // ---------------------------------------------------------------- devices

  /**
   * Multi-device. A member's devices share a *vault*: a personal log (kind 'vault') whose
   * writers are the member's devices. It lists every log the member belongs to (sealed under
   * the vault's epoch key) and, per log, the writer each device uses there. A device that
   * sees a sibling's writer for a log it can write to adds it with `member/device`, so every
   * device ends up in every log: same groups, same history, all can write.
   * Only the member's first device holds the member key and signs device certificates.
   */
  #vault (): OpenLog | null {
    for (const log of this.#logs.values()) if (log.record.kind === 'vault') return log
    return null
  }

  async #ensureVault (): Promise<OpenLog> {
    const existing = this.#vault()
    if (existing) return existing
    const vault = await this.#createLog({ kind: 'vault', name: '' })
    for (const log of [...this.#logs.values()]) if (log.record.kind !== 'vault') await this.#listInVault(log.record)
    return vault
  }

  /** Adds a log to the vault (if there is one), so the member's other devices open it too. */
  async #listInVault (record: LogRecord): Promise<void> {
    const vault = this.#vault()
    if (!vault || !vault.group.writable) return
    for (const d of await this.#vaultDescriptors(vault)) if (d.key === record.key) return
    const epoch = await this.#currentKey(vault)
    const payload = encode({ key: record.key, encryptionKey: record.encryptionKey, kind: record.kind, ...(record.peer ? { peer: record.peer } : {}) })
    await vault.group.append({ t: 'vault/log', body: vault.keyring.seal(epoch, 'vault', payload), ts: this.#now() })
  }

  async #vaultDescriptors (vault: OpenLog): Promise<Array<Pick<LogRecord, 'key' | 'encryptionKey' | 'kind' | 'peer'>>> {
    const out: Array<Pick<LogRecord, 'key' | 'encryptionKey' | 'kind' | 'peer'>> = []
    for (const { body } of await vault.group.vaultLogs()) {
      const plain = vault.keyring.open(body, 'vault')
      const d = plain ? decode(plain) as any : null
      if (!d || typeof d.key !== 'string' || typeof d.encryptionKey !== 'string' || (d.kind !== 'group' && d.kind !== 'dm')) continue
      out.push({ key: d.key, encryptionKey: d.encryptionKey, kind: d.kind, ...(typeof d.peer === 'string' ? { peer: d.peer } : {}) })
    }
    return out
  }

  /** Opens logs listed in the vault, announces our writers, adds siblings' writers. */
  async #processVault (vault: OpenLog): Promise<void> {
    await this.#refreshKeys(vault)
    for (const d of await this.#vaultDescriptors(vault)) {
      if (this.#logs.has(d.key) || this.#registry.get(d.key)) continue
      const record: LogRecord = { ...d, namespace: hex(crypto.randomBytes(16)) }
      await this.#registry.put(record)
      await this.#openLog(record)
    }
    if (!vault.group.writable) return
    const announced = new Set((await vault.group.vaultWriters()).map(w => `${w.log}!${w.device}`))
    for (const log of [...this.#logs.values()]) {
      if (log.record.kind === 'vault' || log.group.failed) continue
      const id = `${log.record.key}!${this.#device}`
      if (announced.has(id) || this.#vaultDone.has(`announce!${id}`)) continue
      const me = await log.group.member(this.#self)
      if (!me || me.left || activeDevices(me).some(d => d.device === this.#device)) continue
      this.#vaultDone.add(`announce!${id}`)
      const writer = log.group.localWriterKey
      await vault.group.append({
        t: 'vault/writer', log: log.group.key, device: this.identity.publicKey, writer,
        sig: signBinding(log.group.key, writer, this.identity.secretKey), ts: this.#now()
      })
    }
    const self = await vault.group.member(this.#self)
    if (!self) return
    for (const w of await vault.group.vaultWriters()) {
      const log = this.#logs.get(w.log)
      const sibling = activeDevices(self).find(d => d.device === w.device)
      if (!log || !sibling?.cert || !log.group.writable || this.#vaultDone.has(`add!${w.log}!${w.device}`)) continue
      const me = await log.group.member(this.#self)
      if (!me || me.left || (me.devices ?? []).some(d => d.device === w.device)) continue
      this.#vaultDone.add(`add!${w.log}!${w.device}`)
      const device = b4a.from(w.device, 'hex')
      const keys = await this.#epochKeysFor(log, device)
      await log.group.append({
        t: 'member/device', device, writer: b4a.from(w.writer, 'hex'), cert: b4a.from(sibling.cert, 'hex'),
        sig: b4a.from(w.sig, 'hex'), name: sibling.name ?? 'device', ts: this.#now(), ...(keys.length ? { keys } : {})
      })
    }
  }

  /** On the first device: a code that lets a new device of ours join (valid 10 minutes, once). */
  async deviceLink (opts: { expiresMs?: number } = {}): Promise<{ code: string, expires: number }> {
    if (this.identity.member) throw errors.notPermitted('Link new devices from your first device (it holds your member key)')
    const vault = await this.#ensureVault()
    const expires = this.#now() + (opts.expiresMs ?? 10 * 60_000)
    const invite = createInvite(vault.group.key, { expires })
    await this.#appendChecked(vault.group, { t: 'invite/create', id: invite.id, publicKey: invite.publicKey, role: 'member', expires, uses: 1, ts: this.#now() })
    return { code: encodeInviteCode(invite.invite, { issuer: this.identity.publicKey, encryptionKey: b4a.from(vault.record.encryptionKey, 'hex') }), expires }
  }

  /** First device's side of linking: certify the new device and add it to the vault. */
  async #answerDeviceRequest (request: any, vault: OpenLog): Promise<Buffer | null> {
    if (this.identity.member || !vault.group.writable) return null
    const invite = await vault.group.invite(b4a.toString(request.inviteId, 'hex'))
    if (!invite) return null
    try { request.open(b4a.from(invite.publicKey, 'hex')) } catch { return null }
    const data = decodeJoinUserData(request.userData)
    if (!data || !verifyBindingForDiscoveryKey(vault.group.discoveryKey, data.writer, data.member, data.sig)) return refuse(request, this.#signer)
    const device = data.member // a device asking to be linked signs with (and sends) its own key
    const self = await vault.group.member(this.#self)
    const known = (self?.devices ?? []).some(d => d.device === hex(device) && d.writer === hex(data.writer))
    if (!known) {
      if (this.#now() > invite.expires) return refuse(request, this.#signer, undefined, 3)
      if (this.#vaultDone.has(`link!${b4a.toString(request.inviteId, 'hex')}`)) return refuse(request, this.#signer, undefined, 2)
      this.#vaultDone.add(`link!${b4a.toString(request.inviteId, 'hex')}`)
      const keys = await this.#epochKeysFor(vault, device)
      await vault.group.append({
        t: 'member/device', device, writer: data.writer, cert: signDeviceCert(device, this.identity.secretKey),
        sig: data.sig, name: data.name, ts: this.#now(), ...(keys.length ? { keys } : {})
      })
    }
    request.confirm({ key: vault.group.key, encryptionKey: b4a.from(vault.record.encryptionKey, 'hex') })
    return signReply(request.response, request, this.#signer)
  }

  /**
   * On a fresh device: become a device of the member whose first device made `code`. Once the
   * first device has admitted us, the link is made: if the vault has not reached this device
   * by the deadline (the first device went offline right after answering), `linked` is false
   * and the link completes in the background as soon as it has (`#finishLink`).
   */
  async deviceAdd (code: string, opts: { timeoutMs?: number, signal?: AbortSignal } = {}): Promise<{ member: MemberId | null, name: string | null, device: string, linked: boolean }> {
    if (this.identity.member) throw errors.notPermitted('This device is already linked to a member')
    if (this.#logs.size > 0) throw errors.notPermitted('This device already has groups of its own; link a fresh device (a new home folder)')
    const invite = decodeInviteCode(code)
    if (invite.expires && this.#now() > invite.expires) throw errors.inviteExpired(invite.expires)
    if (!this.transport) throw errors.noNetwork()
    const timeoutMs = opts.timeoutMs ?? DEFAULT_JOIN_TIMEOUT
    const deadline = this.#now() + timeoutMs
    const namespace = hex(crypto.randomBytes(16))
    const writer = await Autobase.getLocalKey(this.store.namespace(namespace))
    const userData = encodeJoinUserData({
      member: this.identity.publicKey, writer, name: this.identity.name,
      sig: signBindingForDiscoveryKey(invite.discoveryKey, writer, this.identity.secretKey)
    })
    const auth = await this.#awaitReply(invite, userData, timeoutMs, opts.signal)
    const record: LogRecord = { key: hex(auth.key), encryptionKey: hex(auth.encryptionKey), namespace, kind: 'vault' }
    await this.#registry.put(record)
    const vault = await this.#openLog(record)
    const writable = await resolvesWithin(vault.group.waitForWritable(opts.signal), Math.max(1000, deadline - this.#now()))
    const linked = await this.#finishLink(vault)
    // Writable means our member/device entry was applied: it carries the certificate.
    if (writable && !linked) throw errors.badRequest('The linked vault does not list this device')
    if (linked) await this.#processVault(vault)
    return { member: linked ? z32OfHex(this.#self) : null, name: linked ? this.identity.name : null, device: z32OfHex(this.#device), linked }
  }

  /**
   * Completes a device link once the vault lists this device with its certificate: from then
   * on this device acts for the member (identity saved). True when there is nothing (more) to
   * do, as on the first device, which made the vault.
   */
  async #finishLink (vault: OpenLog): Promise<boolean> {
    if (this.identity.member) return true
    const meta = await vault.group.meta()
    if (!meta) return false
    if (meta.creator === this.#device) return true
    const owner = await vault.group.member(meta.creator)
    const mine = owner?.devices?.find(d => d.device === this.#device)
    if (this.identity.member) return true // a concurrent call finished it
    if (!owner || !mine?.cert) return false
    this.identity.member = b4a.from(meta.creator, 'hex')
    this.identity.cert = b4a.from(mine.cert, 'hex')
    this.identity.name = owner.name
    await this.#onIdentityChange(this.identity)
    this.#events.emit({ type: 'identity', member: z32OfHex(meta.creator) } satisfies SolidarEvent)
    return true
  }

  /** This member's devices (from the vault; just this one before any link). */
  async devices (): Promise<Array<{ id: string, name: string, current: boolean, revoked?: number }>> {
    const vault = this.#vault()
    const self = vault ? await vault.group.member(this.#self) : null
    if (!self?.devices) return [{ id: z32OfHex(this.#device), name: this.identity.name, current: true }]
    return self.devices.map(d => ({
      id: z32OfHex(d.device), name: d.name ?? self.name, current: d.device === this.#device, ...(d.revoked ? { revoked: d.revoked } : {})
    }))
  }

  /** Revokes another device of ours everywhere: it is treated like a removed member. */
  async revokeDevice (ref: string): Promise<{ id: string, logs: number, pending: number }> {
    const device = hex(decodeKey(ref, 'device id'))
    if (device === this.#device) throw errors.badRequest('You cannot revoke the device you are using')
    const vault = this.#vault()
    const self = vault ? await vault.group.member(this.#self) : null
    if (!vault || !self?.devices?.some(d => d.device === device && !d.revoked)) throw errors.memberNotFound(ref)
    const written: OpenLog[] = []
    for (const log of [...this.#logs.values()]) {
      const me = await log.group.member(this.#self)
      if (!log.group.writable || !me || !activeDevices(me).some(d => d.device === device)) continue
      await this.#appendChecked(log.group, { t: 'member/revoke-device', device: b4a.from(device, 'hex'), ts: this.#now() })
      written.push(log)
      if (me.role === 'admin') await this.#rotate(log)
    }
    // Logs whose revocation no peer holds yet: it reaches them when one connects (this device keeps syncing them).
    const delivered = await Promise.all(written.map(log => deliveredSoon(log.group.base)))
    return { id: z32OfHex(device), logs: written.length, pending: delivered.filter(d => !d).length }
  }

  // ---------------------------------------------------------------- lifecycle

  async close (): Promise<void> {
    if (this.#closing) return
    this.#closing = true
    this.#lifetime.abort()
    this.transport?.off('connection', this.#onConnection)
    await this.pads.close().catch(() => { /* closing: the other resources must still close, and a failed close has no caller left to tell */ })
    this.meetings.close()
    for (const log of this.#logs.values()) await log.group.close().catch(() => { /* closing: the other resources must still close, and a failed close has no caller left to tell */ })
    this.#logs.clear()
  }
}

function toMemberView (m: MemberRecord): MemberView {
  return { id: z32OfHex(m.id), name: m.name, role: m.role, joinedTs: m.joinedTs }
}

function toMessageView (m: MessageRecord, names: Map<string, string>, keyring: Keyring): MessageView {
  const plain = m.body ? keyring.open(m.body, 'message') : null
  const view: MessageView = {
    id: m.id as MessageId, author: z32OfHex(m.author), authorName: names.get(m.author) ?? '?',
    room: m.room, text: plain ? b4a.toString(plain) : '', ts: m.ts, seq: m.seq
  }
  if (m.body && !plain) view.unreadable = true
  if (m.replyTo) view.replyTo = m.replyTo as MessageId
  if (m.editedTs) view.editedTs = m.editedTs
  if (m.deleted) view.deleted = true
  const bridged = revealBridged(m, keyring)
  if (bridged) view.bridged = { jid: bridged.jid, ...(bridged.nick !== undefined ? { nick: bridged.nick } : {}) }
  return view
}

/**
 * The messages of several DM logs with one peer (both opened one at once) as one list: each
 * log keeps its own order (causal, whatever the authors' clocks say), and the logs are
 * interleaved by timestamp only where they meet. One log is returned as it is.
 */
export function mergeLogs (logs: MessageView[][]): MessageView[] {
  if (logs.length <= 1) return logs[0] ?? []
  const at = logs.map(() => 0)
  const out: MessageView[] = []
  for (;;) {
    let best = -1
    for (const [i, log] of logs.entries()) {
      if (at[i] >= log.length) continue
      const m = log[at[i]]
      const b = best === -1 ? undefined : logs[best][at[best]]
      if (b === undefined || m.ts < b.ts || (m.ts === b.ts && m.id < b.id)) best = i
    }
    if (best === -1) return out
    out.push(logs[best][at[best]++])
  }
}

const sleep = (ms: number) => new Promise(resolve => setTimeout(resolve, ms))

/** True once `p` resolves, false if it has not after `ms`; rejects as `p` does. */
async function resolvesWithin (p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined
  try {
    const resolved = p.then(() => true)
    resolved.catch(() => {}) // rejecting after the time is up is nobody's business (no unhandled rejection)
    return await Promise.race([resolved, new Promise<boolean>((resolve) => { timer = setTimeout(() => resolve(false), ms) })])
  } finally {
    clearTimeout(timer)
  }
}

export type { BridgedText } from './bridge-service.ts'
