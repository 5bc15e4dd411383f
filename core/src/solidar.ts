/**
 * A Solidar node: one identity, the logs it belongs to, the replication of those logs
 * over whatever transport the runtime hands in, and the `SolidarApi` its owner uses.
 * Storage (a Corestore), the transport and the local file store come from outside.
 *
 * This is the facade: it builds the services (services/, pads/, meetings/, bridge-service.ts),
 * each over a narrow host made here from the others' functions, hands every peer connection
 * to them, and delegates each `SolidarApi` method to one of them.
 */
import b4a from 'b4a'
import type { NodeStatus, SolidarApi } from './api.ts'
import { DM_ROOM } from './apply.ts'
import { BridgeService, type BridgedText } from './bridge-service.ts'
import type { Keyring } from './content.ts'
import { EventHub } from './event-hub.ts'
import { fingerprint, memberId, memberKey, validateName, type Identity } from './identity.ts'
import type { DeliveryState } from './types.ts'
import { groupIdOf } from './ids.ts'
import { Meetings } from './meetings/service.ts'
import { Pads, type PadLog } from './pads/service.ts'
import { Pairing } from './pairing.ts'
import type { ReplySigner } from './pairing-reply.ts'
import type { PageOptions } from './history.ts'
import { ReadMarkers } from './read-markers.ts'
import { nameKey } from './resolve.ts'
import { Registry, type LocalStore, type LogRecord } from './registry.ts'
import type { PeerConnection, Transport } from './transport.ts'
import type {
  AuditEntry, BridgeAllowEntry, BridgeRegistration, DmSummary, GroupId, GroupSummary, InviteOptions, InviteResult, InviteView, MemberId, MemberView,
  MessageView, Role, RoomView, SolidarEvent, WhoAmI
} from './types.ts'
import { VerificationStore, type VerificationResult, type VerifyOptions } from './verification.ts'
import { Wakeup } from './wakeup.ts'
import { bridgeHost } from './services/bridge-host.ts'
import { Devices } from './services/devices.ts'
import { DirectMessages, mergeLogs } from './services/direct-messages.ts'
import { Epochs } from './services/epochs.ts'
import { DEFAULT_INVITE_TTL, DEFAULT_JOIN_TIMEOUT, Invites } from './services/invites.ts'
import { LiveMessages } from './services/live-messages.ts'
import { LogSet } from './services/log-set.ts'
import { Membership } from './services/membership.ts'
import { Messages } from './services/messages.ts'
import { Overview } from './services/overview.ts'
import { Reseal, type Resealable } from './services/reseal.ts'
import { appendChecked, hex, z32OfHex, type OpenLog } from './services/shared.ts'

export { DEFAULT_INVITE_TTL, DEFAULT_JOIN_TIMEOUT, mergeLogs }
export type { BridgedText } from './bridge-service.ts'

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
  /** Live chat (services/live-messages.ts): what became of peers' messages and who was sent what; `sendRaw` for the security tests. */
  readonly liveChat: Pick<LiveMessages, 'outcomes' | 'sent'> & { sendRaw (ref: string, forge: (keyring: Keyring, epoch: number) => Buffer): Promise<void> }
  #registry: Registry
  #verification: VerificationStore
  #read: ReadMarkers
  // The services (core/src/services/), each over a narrow host: the open logs and their update
  // loop, key epochs, rooms and messages, direct messages, members, invites and joining, devices
  // and the vault, status and the list of groups.
  readonly #logSet: LogSet
  readonly #epochs: Epochs
  readonly #messages: Messages
  readonly #live: LiveMessages
  readonly #reseal: Reseal
  readonly #dms: DirectMessages
  readonly #membership: Membership
  readonly #invites: Invites
  readonly #devices: Devices
  readonly #overview: Overview
  #pairing = new Pairing()
  #wakeup = new Wakeup()
  readonly #events = new EventHub<SolidarEvent>()
  #now: () => number
  #closing = false
  /** Aborted by close(): ends background waits (pending leaves). */
  #lifetime = new AbortController()
  #onConnection = (conn: PeerConnection) => this.#attach(conn)

  constructor (opts: SolidarOptions) {
    this.identity = opts.identity
    this.store = opts.store
    this.transport = opts.transport
    this.#registry = new Registry(opts.local)
    this.#verification = new VerificationStore(opts.local, { now: opts.now })
    this.#read = new ReadMarkers(opts.local)
    this.#now = opts.now ?? Date.now
    const onIdentityChange = opts.onIdentityChange ?? (async () => {})
    // What the services' hosts are made of: each service's host type narrows it to what that service may use.
    const node = {
      identity: this.identity, store: this.store, transport: this.transport, registry: this.#registry, read: this.#read, verification: this.#verification,
      self: () => this.#self, device: () => this.#device, signer: () => this.#signer, now: () => this.#now(),
      emit: (event: SolidarEvent) => this.#events.emit(event),
      reportError: (err: Error) => this.#reportError(err),
      closing: () => this.#closing
    }
    this.#logSet = new LogSet({
      ...node, wakeup: this.#wakeup, durable: opts.durable,
      refreshKeys: (log) => this.#epochs.refreshKeys(log),
      // Pairing requests: device links in the vault, joins in a group.
      responder: (log) => log.record.kind === 'vault' ? this.#devices.responder(log) : log.record.kind === 'group' ? this.#invites.responder(log) : null,
      serve: (discoveryKey, responder) => this.#pairing.serve(discoveryKey, responder),
      unserve: (discoveryKey) => this.#pairing.unserve(discoveryKey),
      opened: (log) => this.#membership.raiseRules(log),
      release: async (log) => { await this.pads.forget(log.record.key); this.meetings.forget(log.group.discoveryKey); this.#live.forget(log.group.discoveryKey) },
      forgotten: (log) => this.pads.dropSnapshots(groupIdOf(log.group.key)),
      listed: (record) => this.#devices.listInVault(record)
    })
    const logs = {
      logs: this.#logSet,
      resolveGroup: (ref: string) => this.#logSet.resolveGroup(ref),
      open: (record: LogRecord) => this.#logSet.open(record),
      create: (opts: Parameters<LogSet['create']>[0]) => this.#logSet.create(opts),
      healthy: (log: OpenLog) => this.#logSet.healthy(log),
      forget: (log: OpenLog) => this.#logSet.forget(log),
      listInVault: (record: LogRecord) => this.#devices.listInVault(record)
    }
    const epochs = this.#epochs = new Epochs(node)
    const keys = {
      refreshKeys: (log: OpenLog) => epochs.refreshKeys(log),
      currentEpoch: (log: OpenLog) => epochs.currentEpoch(log),
      metadataEpoch: (log: OpenLog) => epochs.metadataEpoch(log),
      epochKeysFor: (log: OpenLog, member: Buffer) => epochs.epochKeysFor(log, member),
      rotate: (log: OpenLog) => epochs.rotate(log)
    }
    const reseal = this.#reseal = new Reseal({ ...node, currentEpoch: keys.currentEpoch, local: opts.local })
    const sealing = {
      noteSealed: (log: OpenLog, cmd: Resealable) => reseal.note(log, cmd),
      forgetSealed: (log: OpenLog, id: string) => reseal.forget(log, id)
    }
    const live = this.#live = new LiveMessages({ ...node, currentEpoch: keys.currentEpoch })
    this.liveChat = {
      outcomes: live.outcomes,
      sent: live.sent,
      sendRaw: async (ref, forge) => {
        const log = await this.#logSet.resolveGroup(ref)
        await live.sendRaw(log, forge(log.keyring, await epochs.currentEpoch(log)))
      }
    }
    const messages = this.#messages = new Messages({ ...node, ...logs, ...keys, ...sealing, live, membersByPeer: (discoveryKey) => this.pads.presenceChannel.membersByPeer(discoveryKey) })
    const membership = this.#membership = new Membership({ ...node, ...logs, ...keys, lifetime: this.#lifetime.signal })
    const invites = this.#invites = new Invites({
      ...node, ...logs, ...keys,
      requireAdmin: (group, what) => membership.requireAdmin(group, what),
      leftBefore: (discoveryKey, timeoutMs) => membership.leftBefore(discoveryKey, timeoutMs),
      request: (discoveryKey, request, onreply) => this.#pairing.request(discoveryKey, request, onreply)
    })
    this.#devices = new Devices({
      ...node, ...logs, ...keys,
      awaitReply: (invite, userData, timeoutMs, signal) => invites.awaitReply(invite, userData, timeoutMs, signal),
      onIdentityChange
    })
    this.#dms = new DirectMessages({
      ...node, ...logs,
      resolveMember: (ref) => membership.resolveMember(ref),
      post: (log, text, room, replyTo) => messages.post(log, text, room, replyTo),
      editIn: (log, id, text) => messages.editIn(log, id, text),
      deleteIn: (log, id) => messages.deleteIn(log, id),
      views: (log, records) => messages.views(log, records),
      react: (log, id, emoji) => messages.reactIn(log, id, emoji)
    })
    this.bridge = new BridgeService(bridgeHost({
      ...node, ...logs, ...keys,
      resolveMember: (ref) => membership.resolveMember(ref),
      dmLogsFor: (peer) => this.#dms.logsFor(peer),
      requireAdmin: (group, what) => membership.requireAdmin(group, what),
      messageView: (log, id) => messages.messageView(log, id)
    }))
    const onError = (err: Error) => { if (!this.#closing) this.#reportError(err) }
    const resolve = async (ref: string) => this.#padLog(await this.#logSet.resolveGroup(ref))
    this.pads = new Pads({
      ...node, resolve, onError, local: opts.local, mayReceive: (log, stream) => live.mayReceive(log.group.discoveryKey, stream),
      ...(opts.presenceTtlMs !== undefined ? { presenceTtlMs: opts.presenceTtlMs } : {})
    })
    this.meetings = new Meetings({ ...node, resolve, onError })
    this.#overview = new Overview({
      ...node, ...logs, ...keys, network: { mode: opts.transport ? (opts.networkMode ?? 'bootstrap') : 'none', bootstrap: opts.bootstrap ?? [] },
      membersByPeer: (discoveryKey) => this.pads.presenceChannel.membersByPeer(discoveryKey)
    })
    const groups = (step: (log: OpenLog) => Promise<void>) => async (log: OpenLog) => { if (log.record.kind === 'group') await step(log) }
    // Every update of a log goes to these, in this order (log-set.ts); each one's failure is reported on its own.
    this.#logSet.use([
      this.#epochs.keys,
      this.#live,
      this.#messages,
      this.#dms,
      { rewind: async (log, cut) => { if (log.record.kind === 'group') await this.pads.rewind(this.#padLog(log), cut) }, onUpdate: groups((log) => this.pads.refresh(this.#padLog(log))) },
      { onUpdate: groups((log) => this.meetings.refresh(this.#padLog(log))) },
      this.#epochs.upkeep,
      reseal,
      this.#overview,
      this.#devices
    ])
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
      const log = await this.#logSet.open(record)
      if (record.leaving !== undefined) this.#membership.completeLeave(log)
    }
  }

  #attach (conn: PeerConnection) {
    conn.stream.on('error', () => {}) // a peer vanishing mid-sync is normal, not fatal
    this.store.replicate(conn.stream)
    this.#wakeup.addStream(conn.stream) // autobase's "new heads" hints, for every log at once
    this.#pairing.attach(conn.stream)
    this.pads.attach(conn.stream)
    this.meetings.attach(conn.stream)
    this.#live.attach(conn.stream)
  }

  // ---------------------------------------------------------------- identity & status

  status (): Promise<NodeStatus> { return this.#overview.status() }
  listGroups (): Promise<GroupSummary[]> { return this.#overview.listGroups() }

  whoami (): WhoAmI {
    return { id: memberId(this.identity), name: this.identity.name, fingerprint: fingerprint(memberKey(this.identity)) }
  }

  /** The live feed; a listener that throws is reported to `onError` (LISTENER_FAILED), the others still get the event. */
  subscribe (listener: (event: SolidarEvent) => void): () => void { return this.#events.subscribe(listener) }
  /** Errors from replication or storage that no request is waiting for, and failing listeners. */
  onError (listener: (err: Error) => void): () => void { return this.#events.onError(listener) }
  #reportError (err: Error): void { this.#events.reportError(err) }

  // ---------------------------------------------------------------- groups

  /**
   * `sameName`: the ids of groups this device already has under the same name (as names compare:
   * case and Unicode form aside). Created all the same; the caller says so, since from now on a
   * command by that name must be given an id.
   */
  async createGroup (name: string): Promise<{ id: GroupId, name: string, sameName?: GroupId[] }> {
    const clean = validateName(name, 'group name')
    const sameName: GroupId[] = []
    for (const log of this.#logSet.groupLogs()) {
      const meta = await log.group.meta()
      if (meta !== null && nameKey(meta.name) === nameKey(clean)) sameName.push(groupIdOf(log.group.key))
    }
    const { group } = await this.#logSet.create({ kind: 'group', name: clean })
    return { id: groupIdOf(group.key), name: clean, ...(sameName.length > 0 ? { sameName } : {}) }
  }

  /** The id of the group `ref` names (resolve.ts: an id, else a unique name). */
  async resolveGroupId (ref: string): Promise<GroupId> {
    return groupIdOf((await this.#logSet.findGroup(ref)).group.key)
  }

  /** The id of the member `ref` names among the members of this device's groups (or any member id). */
  async resolveMemberId (ref: string): Promise<MemberId> {
    return z32OfHex(await this.#membership.resolveMember(ref))
  }

  // ---------------------------------------------------------------- membership (services/membership.ts)

  members (ref: string): Promise<MemberView[]> { return this.#membership.members(ref) }
  removeMember (ref: string, memberRef: string): Promise<MemberView & { delivered: boolean }> { return this.#membership.removeMember(ref, memberRef) }
  leaveGroup (ref: string, opts: { timeoutMs?: number, signal?: AbortSignal } = {}): Promise<{ id: GroupId, name: string, pending: boolean }> { return this.#membership.leaveGroup(ref, opts) }
  setRole (ref: string, memberRef: string, role: Role): Promise<MemberView & { delivered: boolean }> { return this.#membership.setRole(ref, memberRef, role) }
  renameGroup (ref: string, name: string): Promise<{ id: GroupId, name: string }> { return this.#membership.renameGroup(ref, name) }
  audit (ref: string): Promise<AuditEntry[]> { return this.#membership.audit(ref) }
  /** Fingerprints and safety number with a member of a shared group (verification.ts). */
  verify (ref: string, opts: VerifyOptions = {}): Promise<VerificationResult> { return this.#membership.verify(ref, opts) }

  // ---------------------------------------------------------------- invites (services/invites.ts)

  createInvite (ref: string, opts: InviteOptions = {}): Promise<InviteResult> { return this.#invites.createInvite(ref, opts) }
  listInvites (ref: string): Promise<InviteView[]> { return this.#invites.listInvites(ref) }
  revokeInvite (ref: string, inviteRef: string): Promise<InviteView> { return this.#invites.revokeInvite(ref, inviteRef) }
  join (code: string, opts: { timeoutMs?: number, signal?: AbortSignal } = {}): Promise<{ id: GroupId, name: string, writable: boolean }> { return this.#invites.join(code, opts) }

  // ---------------------------------------------------------------- messages (services/messages.ts)

  rooms (ref: string): Promise<RoomView[]> { return this.#messages.rooms(ref) }
  createRoom (ref: string, name: string): Promise<RoomView> { return this.#messages.createRoom(ref, name) }
  send (ref: string, text: string, opts: { room?: string, replyTo?: string } = {}): Promise<MessageView> { return this.#messages.send(ref, text, opts) }
  messageDelivery (ref: string, ids: string[]): Promise<DeliveryState[]> { return this.#messages.delivery(ref, ids) }
  edit (ref: string, id: string, text: string): Promise<MessageView> { return this.#messages.edit(ref, id, text) }
  deleteMessage (ref: string, id: string): Promise<MessageView> { return this.#messages.deleteMessage(ref, id) }
  /** This member's reaction to a message: one emoji, or null to take it back (rules 4). */
  react (ref: string, id: string, emoji: string | null): Promise<MessageView> { return this.#messages.react(ref, id, emoji) }
  messages (ref: string, opts: PageOptions = {}): Promise<MessageView[]> { return this.#messages.messages(ref, opts) }
  markRead (ref: string, id: string): Promise<{ unread: number }> { return this.#messages.markRead(ref, id) }

  // ---------------------------------------------------------------- direct messages (services/direct-messages.ts)

  dm (ref: string, text: string, opts: { replyTo?: string } = {}): Promise<MessageView> { return this.#dms.dm(ref, text, opts) }
  dmEdit (ref: string, id: string, text: string): Promise<MessageView> { return this.#dms.dmEdit(ref, id, text) }
  dmDelete (ref: string, id: string): Promise<MessageView> { return this.#dms.dmDelete(ref, id) }
  dmReact (ref: string, id: string, emoji: string | null): Promise<MessageView> { return this.#dms.dmReact(ref, id, emoji) }
  listDms (): Promise<DmSummary[]> { return this.#dms.listDms() }
  markDmRead (ref: string, id: string): Promise<{ unread: number }> { return this.#dms.markDmRead(ref, id) }
  dmMessages (ref: string, opts: Omit<PageOptions, 'room'> = {}): Promise<MessageView[]> { return this.#dms.dmMessages(ref, opts) }

  // ---------------------------------------------------------------- XMPP bridge (bridge-service.ts)

  bridgeAllowlist (ref: string): Promise<BridgeAllowEntry[]> { return this.bridge.allowlist(ref) }
  bridgeAllow (ref: string, entry: string): Promise<BridgeAllowEntry[]> { return this.bridge.allow(ref, entry) }
  bridgeRevoke (ref: string, entry: string): Promise<BridgeAllowEntry[]> { return this.bridge.revoke(ref, entry) }
  bridgeAllowed (ref: string, jid: string): Promise<boolean> { return this.bridge.allowed(ref, jid) }
  bridgeMembers (ref: string): Promise<BridgeRegistration[]> { return this.bridge.members(ref) }
  bridgeRegister (ref: string, member: string, register = true): Promise<BridgeRegistration[]> { return this.bridge.register(ref, member, register) }
  sendBridged (ref: string, msg: BridgedText & { room: string }): Promise<{ message: MessageView, duplicate: boolean }> { return this.bridge.send(ref, msg) }
  dmBridged (ref: string, msg: BridgedText): Promise<{ message: MessageView, duplicate: boolean }> { return this.bridge.dm(ref, msg, DM_ROOM) }

  // ---------------------------------------------------------------- pads (core/src/pads/)

  #padLog (log: OpenLog): PadLog {
    return {
      id: groupIdOf(log.group.key), group: log.group, keyring: log.keyring, logKey: b4a.from(log.record.encryptionKey, 'hex'),
      currentEpoch: () => this.#epochs.currentEpoch(log),
      append: async (cmd) => {
        await appendChecked(log.group, cmd)
        if (cmd.t === 'pad/update') await this.#reseal.note(log, cmd)
      }
    }
  }

  // ---------------------------------------------------------------- blind mirrors (runtime hook)

  /**
   * The Autobase of a group (id or unambiguous name), for the runtime's blind-peering
   * client, which asks a mirror to store the base's cores. The base holds the group key:
   * only its core keys and lengths may ever reach a mirror.
   */
  async logBase (ref: string): Promise<{ id: GroupId, base: any }> {
    const { group } = await this.#logSet.resolveGroup(ref)
    return { id: groupIdOf(group.key), base: group.base }
  }

  // ---------------------------------------------------------------- devices (services/devices.ts)

  deviceLink (opts: { expiresMs?: number } = {}): Promise<{ code: string, expires: number }> { return this.#devices.deviceLink(opts) }
  deviceAdd (code: string, opts: { timeoutMs?: number, signal?: AbortSignal } = {}): Promise<{ member: MemberId | null, name: string | null, device: string, linked: boolean }> { return this.#devices.deviceAdd(code, opts) }
  devices (): Promise<Array<{ id: string, name: string, current: boolean, revoked?: number }>> { return this.#devices.devices() }
  revokeDevice (ref: string): Promise<{ id: string, logs: number, pending: number }> { return this.#devices.revokeDevice(ref) }

  // ---------------------------------------------------------------- lifecycle

  async close (): Promise<void> {
    if (this.#closing) return
    this.#closing = true
    this.#lifetime.abort()
    this.transport?.off('connection', this.#onConnection)
    await this.pads.close().catch(() => { /* closing: the other resources must still close, and a failed close has no caller left to tell */ })
    this.meetings.close()
    this.#live.close()
    await this.#logSet.closeAll()
    // After the logs: closing them ends their wakeup sessions, which starts the library's idle
    // sweep (a 2 s interval for ~10 s). Destroying stops it, so a closed node holds no timer.
    this.#wakeup.destroy()
  }
}

