/**
 * Invites and joining: admins create, list and revoke a group's invite codes; a newcomer
 * joins with a code (the blind-pairing request over pairing.ts, answered by the code's
 * issuer only); a member's node answers join requests for its groups (admission.ts).
 * Device links (devices.ts) wait for their answer the same way (`awaitReply`).
 * It knows the rest of the node only through `InviteHost`.
 */
import Autobase from 'autobase'
import b4a from 'b4a'
import crypto from 'hypercore-crypto'
import { CandidateRequest, createInvite } from 'blind-pairing-core'
import { answerJoinRequest, encodeJoinUserData } from '../admission.ts'
import { signBindingForDiscoveryKey } from '../binding.ts'
import type { EpochBox } from '../commands.ts'
import { errors } from '../errors.ts'
import type { Group } from '../group.ts'
import { memberKey, type Identity } from '../identity.ts'
import { encodeKey, groupIdOf } from '../ids.ts'
import { decodeInviteCode, encodeInviteCode, type DecodedInvite } from '../invite-code.ts'
import { inviteIdOf, listInviteViews } from '../invites.ts'
import type { ReplyHandler } from '../pairing.ts'
import { judgeReply, type ReplySigner } from '../pairing-reply.ts'
import type { LogRecord, Registry } from '../registry.ts'
import type { Transport } from '../transport.ts'
import type { GroupId, InviteOptions, InviteResult, InviteView, Role, SolidarEvent } from '../types.ts'
import { appendChecked, deviceFields, hex, resolvesWithin, sleep, type LogIndex, type OpenLog } from './shared.ts'
import { describe } from '../describe.ts'

export const DEFAULT_INVITE_TTL = 24 * 60 * 60 * 1000
export const DEFAULT_JOIN_TIMEOUT = 60_000

export interface InviteHost {
  logs: LogIndex
  /** The group `ref` names, reopened if its storage had failed. */
  resolveGroup (ref: string): Promise<OpenLog>
  requireAdmin (group: Group, what: string): Promise<void>
  /** Opens a known log and starts syncing it. */
  open (record: LogRecord): Promise<OpenLog>
  /** Lists a log in the vault, so the member's other devices open it too. */
  listInVault (record: LogRecord): Promise<void>
  /** Waits while this device is still leaving the group (BUSY if the leave reaches no peer in time). */
  leftBefore (discoveryKey: Buffer, timeoutMs: number): Promise<void>
  /** Sends a pairing request on the topic until cancelled; replies go to `onreply` (pairing.ts). */
  request (discoveryKey: Buffer, request: Buffer, onreply: ReplyHandler): () => void
  /** Key epochs (epochs.ts): a newcomer's keys, the epoch to seal its name under. */
  epochKeysFor (log: OpenLog, member: Buffer): Promise<EpochBox[]>
  metadataEpoch (log: OpenLog): Promise<number>
  registry: Registry
  transport: Transport | null
  /** The Corestore: a joining device's writer key comes from its namespace. */
  store: any
  emit (event: SolidarEvent): void
  reportError (err: Error): void
  closing (): boolean
  identity: Identity
  /** The member this device acts for (hex). */
  self (): string
  /** This device's key pair, which signs its pairing replies. */
  signer (): ReplySigner
  now (): number
}

export class Invites {
  readonly #host: InviteHost
  constructor (host: InviteHost) { this.#host = host }

  /** Answers join requests for a group with this node's admission (admission.ts). */
  responder (log: OpenLog): (request: any) => Promise<Buffer | null> {
    const { record } = log
    // log.group is read per request: it is replaced when a failed log is reopened.
    return (request) => answerJoinRequest(request, {
      group: log.group, encryptionKey: b4a.from(record.encryptionKey, 'hex'), self: this.#host.self(), signer: this.#host.signer(), now: () => this.#host.now(),
      epochKeysFor: (member) => this.#host.epochKeysFor(log, member),
      sealName: async (name) => log.keyring.seal(await this.#host.metadataEpoch(log), 'member-name', b4a.from(name)),
      onError: (err) => { if (!this.#host.closing()) this.#host.reportError(err) }
    })
  }

  async createInvite (ref: string, opts: InviteOptions = {}): Promise<InviteResult> {
    const { group, record } = await this.#host.resolveGroup(ref)
    const role: Role = opts.role ?? 'member'
    if (role !== 'admin' && role !== 'member') throw errors.badRequest('role must be "member" or "admin"')
    const ttl = opts.expiresMs ?? DEFAULT_INVITE_TTL
    if (!Number.isSafeInteger(ttl) || ttl < 1000 || ttl > 365 * 24 * 3600 * 1000) throw errors.badRequest('expiry must be between 1 second and 365 days')
    const uses = opts.uses ?? 1
    if (!Number.isSafeInteger(uses) || uses < 1 || uses > 1000) throw errors.badRequest('uses must be a whole number from 1 to 1000')
    await this.#host.requireAdmin(group, 'invite')
    const expires = this.#host.now() + ttl
    const invite = createInvite(group.key, { expires })
    await appendChecked(group, { t: 'invite/create', id: invite.id, publicKey: invite.publicKey, role, expires, uses, ts: this.#host.now() })
    const code = encodeInviteCode(invite.invite, { issuer: this.#host.identity.publicKey, encryptionKey: b4a.from(record.encryptionKey, 'hex') })
    return { code, id: encodeKey(invite.id), group: groupIdOf(group.key), expires, uses, role }
  }

  async listInvites (ref: string): Promise<InviteView[]> {
    const { group } = await this.#host.resolveGroup(ref)
    await this.#host.requireAdmin(group, 'list invites')
    return listInviteViews(group, this.#host.now())
  }

  async revokeInvite (ref: string, inviteRef: string): Promise<InviteView> {
    const log = await this.#host.resolveGroup(ref)
    const { group } = log
    await this.#host.requireAdmin(group, 'revoke invites')
    const id = inviteIdOf(inviteRef)
    const before = await group.invite(hex(id))
    if (!before) throw errors.inviteNotFound(describe(inviteRef, 80))
    if (before.revoked) throw errors.notPermitted('This invite is already revoked')
    await appendChecked(group, { t: 'invite/revoke', id, ts: this.#host.now() })
    return (await listInviteViews(log.group, this.#host.now())).find(v => v.id === encodeKey(id))!
  }

  async join (code: string, opts: { timeoutMs?: number, signal?: AbortSignal } = {}): Promise<{ id: GroupId, name: string, writable: boolean }> {
    const invite = decodeInviteCode(code)
    if (invite.expires && this.#host.now() > invite.expires) throw errors.inviteExpired(invite.expires)
    for (const log of this.#host.logs.groupLogs()) {
      if (b4a.equals(log.group.discoveryKey, invite.discoveryKey)) throw errors.alreadyMember(groupIdOf(log.group.key))
    }
    if (!this.#host.transport) throw errors.noNetwork()
    const timeoutMs = opts.timeoutMs ?? DEFAULT_JOIN_TIMEOUT
    const deadline = this.#host.now() + timeoutMs
    await this.#host.leftBefore(invite.discoveryKey, timeoutMs)

    const namespace = hex(crypto.randomBytes(16))
    const writer = await Autobase.getLocalKey(this.#host.store.namespace(namespace))
    const userData = encodeJoinUserData({
      member: memberKey(this.#host.identity), writer, name: this.#host.identity.name,
      sig: signBindingForDiscoveryKey(invite.discoveryKey, writer, this.#host.identity.secretKey),
      ...deviceFields(this.#host.identity)
    })
    const auth = await this.awaitReply(invite, userData, timeoutMs, opts.signal)

    const record: LogRecord = { key: hex(auth.key), encryptionKey: hex(auth.encryptionKey), namespace, kind: 'group' }
    await this.#host.registry.put(record)
    const log = await this.#host.open(record)
    await this.#host.listInVault(record)
    // Admitted: the admin appended our member/add before replying. Wait until it reaches us, up
    // to the deadline. That means applying the history up to our admission, which in a group
    // with a long history (or when the admin goes offline right after answering) takes longer:
    // the join has succeeded all the same (the log is ours and keeps syncing), so it is not an
    // error; `writable` says whether this device can write yet.
    const remaining = Math.max(1000, deadline - this.#host.now())
    const writable = await resolvesWithin(log.group.waitForWritable(opts.signal), remaining)
    let meta = await log.group.meta()
    while (!meta && this.#host.now() < deadline + 5000) { await sleep(50); meta = await log.group.meta() }
    this.#host.emit({ type: 'group', group: groupIdOf(log.group.key) } satisfies SolidarEvent)
    return { id: groupIdOf(log.group.key), name: meta?.name ?? '', writable }
  }

  /**
   * Sends the join request until the invite's issuer answers. Replies not signed by the issuer
   * (or handing out a key the code does not commit to) are ignored: a removed or plain member
   * can read the invite from the log and forge a reply, but cannot end or misdirect the join.
   */
  awaitReply (invite: DecodedInvite, userData: Buffer, timeoutMs: number, signal?: AbortSignal): Promise<{ key: Buffer, encryptionKey: Buffer }> {
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
      cancel = this.#host.request(invite.discoveryKey, request.encode(), (reply) => {
        const verdict = judgeReply(reply, invite, userData, session)
        if (!verdict) return // not from the issuer: keep waiting for the real answer
        if (verdict.ok) done(null, { key: verdict.key, encryptionKey: verdict.encryptionKey })
        else done(verdict.error)
      })
      // A failed announce leaves the request unanswered: the join ends with JOIN_TIMEOUT.
      this.#host.transport!.join(invite.discoveryKey, { server: true, client: true }).catch(() => { /* see above: JOIN_TIMEOUT says it */ })
    })
  }
}
