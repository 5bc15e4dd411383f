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
import { resolveOne } from './resolve.ts'
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
import { LogSet } from './services/log-set.ts'
import { Epochs } from './services/epochs.ts'
import { Messages } from './services/messages.ts'
import { appendChecked, deviceFields, hex, resolvesWithin, sleep, z32OfHex, type OpenLog } from './services/shared.ts'

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
}

/** How long a reply waits to become a writer of the conversation the peer opened (then it opens its own). */
const DM_WRITABLE_WAIT_MS = 10_000
/** How many message versions a log remembers having announced (a reorder deeper than this may announce some twice). */
const EMITTED_MEMORY = 10_000
const versionOf = (m: MessageRecord) => `${m.id}|${m.editedTs ?? 0}|${m.deleted === true ? 1 : 0}`


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
  /** The open logs and their update loop (services/log-set.ts). */
  readonly #logSet: LogSet
  /** Key epochs (services/epochs.ts). */
  readonly #epochs: Epochs
  /** Rooms and messages (services/messages.ts). */
  readonly #messages: Messages
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
    this.#network = opts.transport ? (opts.networkMode ?? 'bootstrap') : 'none'
    this.#bootstrap = opts.bootstrap ?? []
    this.#epochs = new Epochs({ identity: this.identity, self: () => this.#self, device: () => this.#device, now: () => this.#now() })
    this.#messages = new Messages({
      resolveGroup: (ref) => this.#logSet.resolveGroup(ref),
      refreshKeys: (log) => this.#epochs.refreshKeys(log),
      currentEpoch: (log) => this.#epochs.currentEpoch(log),
      read: this.#read,
      emit: (event) => this.#events.emit(event),
      self: () => this.#self,
      now: () => this.#now()
    })
    this.#logSet = new LogSet({
      store: this.store, wakeup: this.#wakeup, durable: this.#durable, transport: this.transport, registry: this.#registry, identity: this.identity,
      now: () => this.#now(),
      closing: () => this.#closing,
      emit: (event) => this.#events.emit(event),
      reportError: (err) => this.#reportError(err),
      refreshKeys: (log) => this.#epochs.refreshKeys(log),
      responder: (log) => this.#responder(log),
      serve: (discoveryKey, responder) => this.#pairing.serve(discoveryKey, responder),
      unserve: (discoveryKey) => this.#pairing.unserve(discoveryKey),
      opened: (log) => this.#raiseRules(log),
      release: async (log) => { await this.pads.forget(log.record.key); this.meetings.forget(log.group.discoveryKey) },
      listed: (record) => this.#listInVault(record)
    })
    this.pads = new Pads(this.#padHost(opts.local))
    this.bridge = new BridgeService(this.#bridgeHost())
    this.meetings = new Meetings({
      resolve: async (ref) => this.#padLog(await this.#logSet.resolveGroup(ref)),
      emit: (event) => this.#events.emit(event),
      now: () => this.#now(),
      identity: this.identity,
      self: () => this.#self,
      onError: (err) => { if (!this.#closing) this.#reportError(err) }
    })
    const groups = (step: (log: OpenLog) => Promise<void>) => async (log: OpenLog) => { if (log.record.kind === 'group') await step(log) }
    // Every update of a log goes to these, in this order (log-set.ts); each one's failure is reported on its own.
    this.#logSet.use([
      this.#epochs.keys,
      this.#messages,
      {
        rewind: async (log, cut) => {
          if (log.record.kind !== 'group') return
          const dmAt = await log.group.counterAt(cut, 'dm')
          if ((log.record.dmCursor ?? 0) > dmAt) await this.#registry.update(log.record.key, { dmCursor: dmAt })
        },
        onUpdate: groups((log) => this.#processDmSignals(log))
      },
      { rewind: async (log, cut) => { if (log.record.kind === 'group') await this.pads.rewind(this.#padLog(log), cut) }, onUpdate: groups((log) => this.pads.refresh(this.#padLog(log))) },
      { onUpdate: groups((log) => this.meetings.refresh(this.#padLog(log))) },
      this.#epochs.upkeep,
      {
        onUpdate: async () => {
          // Sibling devices: a change anywhere may let us add a device to a log, or vice versa.
          const vault = this.#logSet.vault()
          // A link whose vault arrived after `deviceAdd` returned completes here.
          if (vault && await this.#finishLink(vault)) await this.#processVault(vault)
        }
      }
    ])
  }

  /** Answers a log's pairing requests: device links in the vault, joins in a group. */
  #responder (log: OpenLog): ((request: any) => Promise<Buffer | null>) | null {
    const { record } = log
    if (record.kind === 'vault') return (request) => this.#answerDeviceRequest(request, log)
    if (record.kind !== 'group') return null
    // log.group is read per request: it is replaced when a failed log is reopened.
    return (request) => answerJoinRequest(request, {
      group: log.group, encryptionKey: b4a.from(record.encryptionKey, 'hex'), self: this.#self, signer: this.#signer, now: this.#now,
      epochKeysFor: (member) => this.#epochs.epochKeysFor(log, member),
      sealName: async (name) => log.keyring.seal(await this.#epochs.metadataEpoch(log), 'member-name', b4a.from(name)),
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
      const log = await this.#logSet.open(record)
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

  // ---------------------------------------------------------------- identity & status

  /** Which transport carries replication with a peer (its transport key). */
  #carrier = (remotePublicKey: Uint8Array): string => this.transport?.carrier?.(remotePublicKey) ?? this.transport?.name ?? 'none'

  whoami (): WhoAmI {
    return { id: memberId(this.identity), name: this.identity.name, fingerprint: fingerprint(memberKey(this.identity)) }
  }

  async status (): Promise<NodeStatus> {
    const groups: NodeStatus['groups'] = []
    for (const log of this.#logSet.groupLogs()) {
      const meta = await log.group.meta()
      const { peers, peersByTransport, sync } = groupSync(log.group.base, this.#carrier, log.group.warning)
      const catchUp = await this.#catchUp(log)
      groups.push({ id: groupIdOf(log.group.key), name: meta?.name ?? '(syncing)', peers, peersByTransport, length: await log.group.messageCount(), sync, ...(catchUp ? { catchUp } : {}), ...upgradeOf(log.group) })
    }
    const leaving: NodeStatus['leaving'] = []
    for (const log of this.#logSet.all()) {
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

  async createGroup (name: string): Promise<{ id: GroupId, name: string }> {
    const clean = validateName(name, 'group name')
    const { group } = await this.#logSet.create({ kind: 'group', name: clean })
    return { id: groupIdOf(group.key), name: clean }
  }

  async listGroups (): Promise<GroupSummary[]> {
    const out: GroupSummary[] = []
    for (const log of this.#logSet.groupLogs()) {
      try {
        // A log whose storage failed is closing: reopen it (reads work on a read-only disk too).
        await this.#logSet.healthy(log)
      } catch {
        // It cannot be opened now: list it all the same; opening it reports the cause.
        out.push({ id: groupIdOf(log.group.key), name: '(storage failed)', role: null, members: 0 })
        continue
      }
      await this.#epochs.refreshKeys(log)
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

  /** The id of the group `ref` names (resolve.ts: an id, else a unique name). */
  async resolveGroupId (ref: string): Promise<GroupId> {
    return groupIdOf((await this.#logSet.findGroup(ref)).group.key)
  }

  /** The id of the member `ref` names among the members of this device's groups (or any member id). */
  async resolveMemberId (ref: string): Promise<MemberId> {
    return z32OfHex(await this.#resolveMember(ref))
  }

  async members (ref: string): Promise<MemberView[]> {
    const log = await this.#logSet.resolveGroup(ref)
    await this.#epochs.refreshKeys(log) // names sealed under an epoch whose box arrived a moment ago
    const records = await log.group.members()
    const alike = lookAlikes(records)
    return records.map(m => withVerification(toMemberView(m),
      m.id === this.#self ? 'unverified' : this.#verification.status(m.id, m.name),
      (alike.get(m.id) ?? []).map(z32OfHex)))
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
    const log = await this.#logSet.resolveGroup(ref)
    await this.#requireAdmin(log.group, 'remove members')
    const target = await this.#groupMember(log.group, memberRef)
    await log.group.settleIndexers()
    await appendChecked(log.group, { t: 'member/remove', member: b4a.from(target.id, 'hex'), ts: this.#now() })
    await this.#epochs.rotate(log)
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
    const log = await this.#logSet.resolveGroup(ref)
    const id = groupIdOf(log.group.key)
    const name = (await log.group.meta())?.name ?? ''
    await log.group.settleIndexers()
    await appendChecked(log.group, { t: 'member/leave', ts: this.#now() })
    await this.#registry.update(log.record.key, { leaving: this.#now() })
    log.record.leaving ??= this.#now()
    this.#events.emit({ type: 'group', group: id } satisfies SolidarEvent)
    let delivered = false
    try {
      delivered = await waitForDelivery(log.group.base, opts.timeoutMs ?? LEAVE_DELIVERY_MS, opts.signal)
    } finally {
      if (delivered) await this.#logSet.forget(log)
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
        if (await waitForDelivery(log.group.base, Infinity, this.#lifetime.signal)) await this.#logSet.forget(log)
      } catch (err) {
        // Aborted by close(): the leave stays pending in logs.json and goes on at the next start.
        if (!this.#lifetime.signal.aborted) this.#reportError(err as Error)
      } finally {
        this.#departures.delete(key)
      }
    })()
    this.#departures.set(key, done)
  }

  async setRole (ref: string, memberRef: string, role: Role): Promise<MemberView & { delivered: boolean }> {
    if (!ROLES.includes(role)) throw errors.badRequest(`role must be one of ${ROLES.join(', ')}`)
    const log = await this.#logSet.resolveGroup(ref)
    await this.#requireAdmin(log.group, 'change roles')
    const target = await this.#groupMember(log.group, memberRef)
    if (target.role === role) throw errors.badRequest(`${target.name} is already ${role}`)
    await log.group.settleIndexers()
    await appendChecked(log.group, { t: 'member/role', member: b4a.from(target.id, 'hex'), role, ts: this.#now() })
    this.#events.emit({ type: 'members', group: groupIdOf(log.group.key) } satisfies SolidarEvent)
    return { ...toMemberView({ ...target, role }), delivered: await deliveredSoon(log.group.base) }
  }

  async renameGroup (ref: string, name: string): Promise<{ id: GroupId, name: string }> {
    const clean = validateName(name, 'group name')
    const log = await this.#logSet.resolveGroup(ref)
    await this.#requireAdmin(log.group, 'rename the group')
    const epoch = await this.#epochs.metadataEpoch(log)
    const sealedName = log.keyring.seal(epoch, 'group-name', b4a.from(clean))
    await appendChecked(log.group, { t: 'group/rename', sealedName, ts: this.#now() })
    this.#events.emit({ type: 'group', group: groupIdOf(log.group.key) } satisfies SolidarEvent)
    return { id: groupIdOf(log.group.key), name: clean }
  }

  async audit (ref: string): Promise<AuditEntry[]> {
    const { group } = await this.#logSet.resolveGroup(ref)
    return (await group.audit()).map(a => ({ seq: a.n, writer: a.writer, type: a.type, reason: a.reason }))
  }

  // ---------------------------------------------------------------- invites

  async createInvite (ref: string, opts: InviteOptions = {}): Promise<InviteResult> {
    const { group, record } = await this.#logSet.resolveGroup(ref)
    const role: Role = opts.role ?? 'member'
    if (role !== 'admin' && role !== 'member') throw errors.badRequest('role must be "member" or "admin"')
    const ttl = opts.expiresMs ?? DEFAULT_INVITE_TTL
    if (!Number.isSafeInteger(ttl) || ttl < 1000 || ttl > 365 * 24 * 3600 * 1000) throw errors.badRequest('expiry must be between 1 second and 365 days')
    const uses = opts.uses ?? 1
    if (!Number.isSafeInteger(uses) || uses < 1 || uses > 1000) throw errors.badRequest('uses must be a whole number from 1 to 1000')
    await this.#requireAdmin(group, 'invite')
    const expires = this.#now() + ttl
    const invite = createInvite(group.key, { expires })
    await appendChecked(group, { t: 'invite/create', id: invite.id, publicKey: invite.publicKey, role, expires, uses, ts: this.#now() })
    const code = encodeInviteCode(invite.invite, { issuer: this.identity.publicKey, encryptionKey: b4a.from(record.encryptionKey, 'hex') })
    return { code, id: encodeKey(invite.id), group: groupIdOf(group.key), expires, uses, role }
  }

  async listInvites (ref: string): Promise<InviteView[]> {
    const { group } = await this.#logSet.resolveGroup(ref)
    await this.#requireAdmin(group, 'list invites')
    return listInviteViews(group, this.#now())
  }

  async revokeInvite (ref: string, inviteRef: string): Promise<InviteView> {
    const log = await this.#logSet.resolveGroup(ref)
    const { group } = log
    await this.#requireAdmin(group, 'revoke invites')
    const id = inviteIdOf(inviteRef)
    const before = await group.invite(hex(id))
    if (!before) throw errors.inviteNotFound(String(inviteRef).slice(0, 80))
    if (before.revoked) throw errors.notPermitted('This invite is already revoked')
    await appendChecked(group, { t: 'invite/revoke', id, ts: this.#now() })
    return (await listInviteViews(log.group, this.#now())).find(v => v.id === encodeKey(id))!
  }

  async join (code: string, opts: { timeoutMs?: number, signal?: AbortSignal } = {}): Promise<{ id: GroupId, name: string, writable: boolean }> {
    const invite = decodeInviteCode(code)
    if (invite.expires && this.#now() > invite.expires) throw errors.inviteExpired(invite.expires)
    for (const log of this.#logSet.groupLogs()) {
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
      ...deviceFields(this.identity)
    })
    const auth = await this.#awaitReply(invite, userData, timeoutMs, opts.signal)

    const record: LogRecord = { key: hex(auth.key), encryptionKey: hex(auth.encryptionKey), namespace, kind: 'group' }
    await this.#registry.put(record)
    const log = await this.#logSet.open(record)
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
    const leaving = this.#logSet.all().find(l => l.record.leaving !== undefined && b4a.equals(l.group.discoveryKey, discoveryKey))
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

  // ---------------------------------------------------------------- messages (services/messages.ts)

  rooms (ref: string): Promise<RoomView[]> { return this.#messages.rooms(ref) }
  createRoom (ref: string, name: string): Promise<RoomView> { return this.#messages.createRoom(ref, name) }
  send (ref: string, text: string, opts: { room?: string, replyTo?: string } = {}): Promise<MessageView> { return this.#messages.send(ref, text, opts) }
  edit (ref: string, id: string, text: string): Promise<MessageView> { return this.#messages.edit(ref, id, text) }
  deleteMessage (ref: string, id: string): Promise<MessageView> { return this.#messages.deleteMessage(ref, id) }
  messages (ref: string, opts: PageOptions = {}): Promise<MessageView[]> { return this.#messages.messages(ref, opts) }
  markRead (ref: string, id: string): Promise<{ unread: number }> { return this.#messages.markRead(ref, id) }

  // ---------------------------------------------------------------- direct messages

  /** A member id, or a display name that matches exactly one member of our groups. */
  async #resolveMember (ref: string): Promise<string> {
    const listed: Array<{ id: string, name: string }> = [] // once per shared group
    for (const log of this.#logSet.groupLogs()) {
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

  async dm (ref: string, text: string, opts: { replyTo?: string } = {}): Promise<MessageView> {
    const peer = await this.#resolveMember(ref)
    if (peer === this.#self) throw errors.badRequest('You cannot send a direct message to yourself')
    checkText(text)
    // Both sides may have opened a conversation; all converge on the smallest writable key.
    const byKey = (a: OpenLog, b: OpenLog) => a.record.key.localeCompare(b.record.key)
    let log = this.#logSet.dmLogs(peer).filter(l => l.group.writable).sort(byKey)[0]
    // The peer's conversation reached us but its node has not made us a writer yet (our accept
    // is on its way): wait for that instead of opening a second conversation, whose messages
    // would then interleave with the first by their authors' clocks.
    const accepted = log ? undefined : this.#logSet.dmLogs(peer).sort(byKey)[0]
    if (accepted) {
      try {
        await accepted.group.waitForWritable(AbortSignal.timeout(DM_WRITABLE_WAIT_MS))
        log = accepted
      } catch {
        // Not writable in time (or the wait was cut): write to our own DM log instead, below.
      }
    }
    if (!log) log = await this.#openDm(peer)
    await this.#logSet.healthy(log)
    return this.#messages.post(log, text, DM_ROOM, opts.replyTo)
  }

  async #openDm (peer: string): Promise<OpenLog> {
    const via = await this.#sharedGroup(peer)
    if (!via) throw errors.noSharedGroup(z32OfHex(peer))
    const peerKey = b4a.from(peer, 'hex')
    const log = await this.#logSet.create({ kind: 'dm', name: '', peer: peerKey })
    const box = sealDmPayload({ kind: 'offer', base: log.group.key, encryptionKey: b4a.from(log.record.encryptionKey, 'hex'), from: memberKey(this.identity), to: peerKey }, peerKey)
    await appendChecked(via.group, { t: 'dm/offer', box, ts: this.#now() })
    return log
  }

  async #sharedGroup (peer: string): Promise<OpenLog | null> {
    for (const log of this.#logSet.groupLogs()) {
      const member = await log.group.member(peer)
      if (log.group.writable && member && !member.left) return log
    }
    return null
  }

  /** The DM log with `ref` that holds message `id` (several can exist briefly: both opened one). */
  async #dmLogOf (ref: string, id: string): Promise<OpenLog> {
    const peer = await this.#resolveMember(ref)
    if (isMessageId(id)) {
      for (const log of this.#logSet.dmLogs(peer)) {
        if (await log.group.messageById(id)) {
          await this.#logSet.healthy(log)
          return log
        }
      }
    }
    throw errors.messageNotFound(String(id))
  }

  async dmEdit (ref: string, id: string, text: string): Promise<MessageView> {
    return this.#messages.editIn(await this.#dmLogOf(ref, id), id, text)
  }

  async dmDelete (ref: string, id: string): Promise<MessageView> {
    return this.#messages.deleteIn(await this.#dmLogOf(ref, id), id)
  }

  /** The direct conversations this device holds, by peer, with their unread counts (read-markers.ts). */
  async listDms (): Promise<DmSummary[]> {
    const peers = new Set(this.#logSet.all().filter(l => l.record.kind === 'dm').map(l => l.record.peer!))
    const out: DmSummary[] = []
    for (const peer of peers) {
      const logs = this.#logSet.dmLogs(peer)
      const name = (await logs[0].group.member(peer))?.name ?? ''
      out.push({ member: z32OfHex(peer), name, unread: await unreadOf(this.#read, logs.map(l => ({ key: l.record.key, group: l.group })), this.#self) })
    }
    return out
  }

  async markDmRead (ref: string, id: string): Promise<{ unread: number }> {
    const logs = this.#logSet.dmLogs(await this.#resolveMember(ref)).map(l => ({ key: l.record.key, group: l.group }))
    await markLogsRead(this.#read, logs, checkBefore(id) ?? '')
    return { unread: await unreadOf(this.#read, logs, this.#self) }
  }

  async dmMessages (ref: string, opts: Omit<PageOptions, 'room'> = {}): Promise<MessageView[]> {
    const peer = await this.#resolveMember(ref)
    const logs = this.#logSet.dmLogs(peer)
    const pages = await dmPages(logs.map(l => l.group), opts) // history.ts
    const views: MessageView[][] = []
    for (const [i, log] of logs.entries()) views.push(pages[i].map(await this.#messages.reader(log)))
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
      group: async (ref) => view(await this.#logSet.resolveGroup(ref)),
      dmPeer: async (ref) => {
        const peer = await this.#resolveMember(ref)
        if (peer === this.#self) throw errors.badRequest('You cannot send a direct message to yourself')
        return peer
      },
      dmLogs: async (peer) => {
        const logs = this.#logSet.dmLogs(peer)
        let log = logs.filter(l => l.group.writable).sort((a, b) => a.record.key.localeCompare(b.record.key))[0]
        if (!log) log = await this.#openDm(peer)
        await this.#logSet.healthy(log)
        return { write: view(log), all: (logs.includes(log) ? logs : [...logs, log]).map(view) }
      },
      refreshKeys: (log) => this.#epochs.refreshKeys(asLog(log)),
      requireAdmin: (log, what) => this.#requireAdmin(log.group, what),
      metadataEpoch: (log) => this.#epochs.metadataEpoch(asLog(log)),
      currentEpoch: (log) => this.#epochs.currentEpoch(asLog(log)),
      append: (log, cmd) => appendChecked(log.group, cmd),
      messageView: (log, id) => this.#messages.messageView(asLog(log), id),
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
    for (const log of this.#logSet.groupLogs()) {
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
        if (this.#logSet.has(key)) continue
        const record: LogRecord = { key, encryptionKey: hex(payload.encryptionKey), namespace: hex(crypto.randomBytes(16)), kind: 'dm', peer: signal.from }
        await this.#registry.put(record)
        const dm = await this.#logSet.open(record)
        await this.#listInVault(record)
        const sig = signBinding(dm.group.key, dm.group.localWriterKey, this.identity.secretKey)
        const box = sealDmPayload({ kind: 'accept', base: dm.group.key, writer: dm.group.localWriterKey, sig, from: memberKey(this.identity), to: payload.from }, payload.from)
        if (log.group.writable) await log.group.append({ t: 'dm/accept', box, ts: this.#now() })
      } else {
        const dm = this.#logSet.get(hex(payload.base))
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
      currentEpoch: () => this.#epochs.currentEpoch(log),
      append: (cmd) => appendChecked(log.group, cmd)
    }
  }

  #padHost (local: LocalStore): PadHost {
    return {
      resolve: async (ref) => this.#padLog(await this.#logSet.resolveGroup(ref)),
      emit: (event) => this.#events.emit(event),
      onError: (err) => { if (!this.#closing) this.#reportError(err) },
      now: () => this.#now(),
      identity: this.identity,
      self: () => this.#self,
      local
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

  // ---------------------------------------------------------------- devices

  /**
   * Multi-device. A member's devices share a *vault*: a personal log (kind 'vault') whose
   * writers are the member's devices. It lists every log the member belongs to (sealed under
   * the vault's epoch key) and, per log, the writer each device uses there. A device that
   * sees a sibling's writer for a log it can write to adds it with `member/device`, so every
   * device ends up in every log: same groups, same history, all can write.
   * Only the member's first device holds the member key and signs device certificates.
   */
  async #ensureVault (): Promise<OpenLog> {
    const existing = this.#logSet.vault()
    if (existing) return existing
    const vault = await this.#logSet.create({ kind: 'vault', name: '' })
    for (const log of this.#logSet.all()) if (log.record.kind !== 'vault') await this.#listInVault(log.record)
    return vault
  }

  /** Adds a log to the vault (if there is one), so the member's other devices open it too. */
  async #listInVault (record: LogRecord): Promise<void> {
    const vault = this.#logSet.vault()
    if (!vault || !vault.group.writable) return
    for (const d of await this.#vaultDescriptors(vault)) if (d.key === record.key) return
    const epoch = await this.#epochs.currentEpoch(vault)
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
    await this.#epochs.refreshKeys(vault)
    for (const d of await this.#vaultDescriptors(vault)) {
      if (this.#logSet.has(d.key) || this.#registry.get(d.key)) continue
      const record: LogRecord = { ...d, namespace: hex(crypto.randomBytes(16)) }
      await this.#registry.put(record)
      await this.#logSet.open(record)
    }
    if (!vault.group.writable) return
    const announced = new Set((await vault.group.vaultWriters()).map(w => `${w.log}!${w.device}`))
    for (const log of this.#logSet.all()) {
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
      const log = this.#logSet.get(w.log)
      const sibling = activeDevices(self).find(d => d.device === w.device)
      if (!log || !sibling?.cert || !log.group.writable || this.#vaultDone.has(`add!${w.log}!${w.device}`)) continue
      const me = await log.group.member(this.#self)
      if (!me || me.left || (me.devices ?? []).some(d => d.device === w.device)) continue
      this.#vaultDone.add(`add!${w.log}!${w.device}`)
      const device = b4a.from(w.device, 'hex')
      const keys = await this.#epochs.epochKeysFor(log, device)
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
    await appendChecked(vault.group, { t: 'invite/create', id: invite.id, publicKey: invite.publicKey, role: 'member', expires, uses: 1, ts: this.#now() })
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
      const keys = await this.#epochs.epochKeysFor(vault, device)
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
  async deviceAdd (code: string, opts: { timeoutMs?: number, signal?: AbortSignal } = {}): Promise<{ member: MemberId | null, device: string, linked: boolean }> {
    if (this.identity.member) throw errors.notPermitted('This device is already linked to a member')
    if (this.#logSet.size > 0) throw errors.notPermitted('This device already has groups of its own; link a fresh device (a new home folder)')
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
    const vault = await this.#logSet.open(record)
    const writable = await resolvesWithin(vault.group.waitForWritable(opts.signal), Math.max(1000, deadline - this.#now()))
    const linked = await this.#finishLink(vault)
    // Writable means our member/device entry was applied: it carries the certificate.
    if (writable && !linked) throw errors.badRequest('The linked vault does not list this device')
    if (linked) await this.#processVault(vault)
    return { member: linked ? z32OfHex(this.#self) : null, device: z32OfHex(this.#device), linked }
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
    const vault = this.#logSet.vault()
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
    const vault = this.#logSet.vault()
    const self = vault ? await vault.group.member(this.#self) : null
    if (!vault || !self?.devices?.some(d => d.device === device && !d.revoked)) throw errors.memberNotFound(ref)
    const written: OpenLog[] = []
    for (const log of this.#logSet.all()) {
      const me = await log.group.member(this.#self)
      if (!log.group.writable || !me || !activeDevices(me).some(d => d.device === device)) continue
      await appendChecked(log.group, { t: 'member/revoke-device', device: b4a.from(device, 'hex'), ts: this.#now() })
      written.push(log)
      if (me.role === 'admin') await this.#epochs.rotate(log)
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
    await this.#logSet.closeAll()
  }
}

function toMemberView (m: MemberRecord): MemberView {
  return { id: z32OfHex(m.id), name: m.name, role: m.role, joinedTs: m.joinedTs }
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

export type { BridgedText } from './bridge-service.ts'
