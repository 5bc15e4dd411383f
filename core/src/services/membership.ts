/**
 * Membership of a node's groups: members and roles, removing members (a new key epoch at
 * once), leaving (pending until a peer has taken the leave, also across restarts), renaming,
 * the audit, resolving members by id or name, verifying members' keys (verification.ts), and
 * raising the apply rules of logs made by older code.
 * It knows the rest of the node only through `MembershipHost`.
 */
import b4a from 'b4a'
import { LEAVE_DELIVERY_MS, deliveredSoon, waitForDelivery } from '../delivery.ts'
import { errors, type SolidarError } from '../errors.ts'
import type { Group } from '../group.ts'
import { memberKey, validateName, type Identity } from '../identity.ts'
import { groupIdOf, keyOrNull } from '../ids.ts'
import { lookAlikes } from '../names.ts'
import type { Registry } from '../registry.ts'
import { resolveOne } from '../resolve.ts'
import { CURRENT_RULES, rulesOf } from '../rules.ts'
import type { AuditEntry, GroupId, MemberView, Role, SolidarEvent } from '../types.ts'
import { ROLES } from '../types.ts'
import { SELF_VERIFY_MESSAGE, sameName, verifyMember, withVerification, type VerificationResult, type VerificationStore, type VerifyOptions } from '../verification.ts'
import type { MemberRecord } from '../view.ts'
import { appendChecked, hex, resolvesWithin, z32OfHex, type LogIndex, type OpenLog } from './shared.ts'

export interface MembershipHost {
  logs: LogIndex
  /** The group `ref` names, reopened if its storage had failed. */
  resolveGroup (ref: string): Promise<OpenLog>
  /** Removes a log from logs.json and closes it. */
  forget (log: OpenLog): Promise<void>
  registry: Registry
  verification: VerificationStore
  /** Key epochs (epochs.ts). */
  refreshKeys (log: OpenLog): Promise<void>
  rotate (log: OpenLog): Promise<void>
  metadataEpoch (log: OpenLog): Promise<number>
  emit (event: SolidarEvent): void
  reportError (err: Error): void
  closing (): boolean
  /** Aborted when the node closes: ends background waits (pending leaves). */
  lifetime: AbortSignal
  identity: Identity
  /** The member this device acts for (hex). */
  self (): string
  now (): number
}

export class Membership {
  readonly #host: MembershipHost
  /** Leaves written but not yet taken by any peer, by log key: done once one has (delivery.ts). */
  readonly #departures = new Map<string, Promise<void>>()

  constructor (host: MembershipHost) { this.#host = host }

  async requireAdmin (group: Group, what: string): Promise<void> {
    const me = await group.member(this.#host.self())
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
    const log = await this.#host.resolveGroup(ref)
    await this.requireAdmin(log.group, 'remove members')
    const target = await this.#groupMember(log.group, memberRef)
    await log.group.settleIndexers()
    await appendChecked(log.group, { t: 'member/remove', member: b4a.from(target.id, 'hex'), ts: this.#host.now() })
    await this.#host.rotate(log)
    this.#host.emit({ type: 'members', group: groupIdOf(log.group.key) } satisfies SolidarEvent)
    return { ...toMemberView({ ...target, left: this.#host.now() }), delivered: await deliveredSoon(log.group.base) }
  }

  /**
   * Leaves a group: an admin's node starts the next key epoch; this device stops syncing it once
   * a peer has taken the leave. Until then (`pending`), the group is gone from this device's
   * lists but its log stays open, also across restarts, and the leave goes out when a member's
   * device is next reachable (a leave that never left this device would change nothing).
   */
  async leaveGroup (ref: string, opts: { timeoutMs?: number, signal?: AbortSignal } = {}): Promise<{ id: GroupId, name: string, pending: boolean }> {
    const log = await this.#host.resolveGroup(ref)
    const id = groupIdOf(log.group.key)
    const name = (await log.group.meta())?.name ?? ''
    // Said before anything is written: the group would refuse it (apply-membership.ts) in its own words.
    const members = (await log.group.members()).filter(m => !m.left)
    const admins = members.filter(m => m.role === 'admin')
    if (members.length > 1 && admins.length === 1 && admins[0].id === this.#host.self()) {
      throw errors.notPermitted('You are the last admin of this group, so you cannot leave it yet: make another member admin first (`solidar role GROUP MEMBER admin`, or Members in the web app), then leave')
    }
    await log.group.settleIndexers()
    await appendChecked(log.group, { t: 'member/leave', ts: this.#host.now() })
    await this.#host.registry.update(log.record.key, { leaving: this.#host.now() })
    log.record.leaving ??= this.#host.now()
    this.#host.emit({ type: 'group', group: id } satisfies SolidarEvent)
    let delivered = false
    try {
      delivered = await waitForDelivery(log.group.base, opts.timeoutMs ?? LEAVE_DELIVERY_MS, opts.signal)
    } finally {
      if (delivered) await this.#host.forget(log)
      else this.completeLeave(log)
    }
    return { id, name, pending: !delivered }
  }

  /** In the background: forgets a group once a peer has taken this device's leave. */
  completeLeave (log: OpenLog): void {
    const key = log.record.key
    if (this.#departures.has(key)) return
    const done = (async () => {
      try {
        if (await waitForDelivery(log.group.base, Infinity, this.#host.lifetime)) await this.#host.forget(log)
      } catch (err) {
        // Aborted by close(): the leave stays pending in logs.json and goes on at the next start.
        if (!this.#host.lifetime.aborted) this.#host.reportError(err as Error)
      } finally {
        this.#departures.delete(key)
      }
    })()
    this.#departures.set(key, done)
  }

  async setRole (ref: string, memberRef: string, role: Role): Promise<MemberView & { delivered: boolean }> {
    if (!ROLES.includes(role)) throw errors.badRequest(`role must be one of ${ROLES.join(', ')}`)
    const log = await this.#host.resolveGroup(ref)
    await this.requireAdmin(log.group, 'change roles')
    const target = await this.#groupMember(log.group, memberRef)
    if (target.role === role) throw errors.badRequest(`${target.name} is already ${role}`)
    await log.group.settleIndexers()
    await appendChecked(log.group, { t: 'member/role', member: b4a.from(target.id, 'hex'), role, ts: this.#host.now() })
    this.#host.emit({ type: 'members', group: groupIdOf(log.group.key) } satisfies SolidarEvent)
    return { ...toMemberView({ ...target, role }), delivered: await deliveredSoon(log.group.base) }
  }

  async renameGroup (ref: string, name: string): Promise<{ id: GroupId, name: string }> {
    const clean = validateName(name, 'group name')
    const log = await this.#host.resolveGroup(ref)
    await this.requireAdmin(log.group, 'rename the group')
    const epoch = await this.#host.metadataEpoch(log)
    const sealedName = log.keyring.seal(epoch, 'group-name', b4a.from(clean))
    await appendChecked(log.group, { t: 'group/rename', sealedName, ts: this.#host.now() })
    this.#host.emit({ type: 'group', group: groupIdOf(log.group.key) } satisfies SolidarEvent)
    return { id: groupIdOf(log.group.key), name: clean }
  }

  async audit (ref: string): Promise<AuditEntry[]> {
    const { group } = await this.#host.resolveGroup(ref)
    return (await group.audit()).map(a => ({ seq: a.n, writer: a.writer, type: a.type, reason: a.reason }))
  }

  async members (ref: string): Promise<MemberView[]> {
    const log = await this.#host.resolveGroup(ref)
    await this.#host.refreshKeys(log) // names sealed under an epoch whose box arrived a moment ago
    const records = await log.group.members()
    const alike = lookAlikes(records)
    const bridges = new Set((await log.group.bridgeMembers()).map(b => b.member))
    return records.map(m => {
      const view = withVerification(toMemberView(m),
        m.id === this.#host.self() ? 'unverified' : this.#host.verification.status(m.id, m.name),
        (alike.get(m.id) ?? []).map(z32OfHex))
      if (bridges.has(m.id)) view.bridge = true
      return view
    })
  }

  /** Joining a group this device is still leaving: first let the leave reach a peer (any admin answering will be one). */
  async leftBefore (discoveryKey: Buffer, timeoutMs: number): Promise<void> {
    const leaving = this.#host.logs.all().find(l => l.record.leaving !== undefined && b4a.equals(l.group.discoveryKey, discoveryKey))
    const done = leaving ? this.#departures.get(leaving.record.key) : undefined
    if (done === undefined) return
    if (!(await resolvesWithin(done, timeoutMs))) {
      throw errors.busy('This device is still leaving this group: the leave has not reached any member\'s device yet. Try again when one is online.')
    }
  }

  /** A member id, or a display name that matches exactly one member of our groups. */
  async resolveMember (ref: string): Promise<string> {
    const listed: Array<{ id: string, name: string }> = [] // once per shared group
    for (const log of this.#host.logs.groupLogs()) {
      for (const m of await log.group.members()) if (m.id !== this.#host.self()) listed.push({ id: m.id, name: m.name })
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

  /** Fingerprints and safety number with a member of a shared group (verification.ts). */
  async verify (ref: string, opts: VerifyOptions = {}): Promise<VerificationResult> {
    let member: string
    try {
      member = await this.resolveMember(ref)
    } catch (err) {
      // Names never resolve to oneself: say why instead of "no member matches".
      if ((err as SolidarError).code === 'MEMBER_NOT_FOUND' && sameName(ref, this.#host.identity.name)) throw errors.badRequest(SELF_VERIFY_MESSAGE)
      throw err
    }
    if (member === this.#host.self()) throw errors.badRequest(SELF_VERIFY_MESSAGE)
    let name: string | null = null
    for (const log of this.#host.logs.groupLogs()) {
      name = (await log.group.member(member))?.name ?? null
      if (name !== null) break
    }
    if (name === null) throw errors.memberNotFound(ref)
    return verifyMember(this.#host.verification, { own: memberKey(this.#host.identity), member: b4a.from(member, 'hex'), memberId: z32OfHex(member), name }, opts)
  }

  /**
   * A log made by older code follows older apply rules (rules.ts) until an admin raises them:
   * the first admin node that opens it with this code does, in the background.
   */
  raiseRules (log: OpenLog): void {
    const raise = async (): Promise<void> => {
      const meta = await log.group.meta()
      if (!meta || rulesOf(meta) >= CURRENT_RULES || !log.group.writable) return
      if ((await log.group.member(this.#host.self()))?.role !== 'admin') return
      await log.group.append({ t: 'group/rules', rules: CURRENT_RULES, ts: this.#host.now() })
    }
    // Another admin raising them at the same time is refused by apply (audited): harmless. A
    // failure to write is the log's storage failing, which the log reports itself.
    raise().catch((err) => { if (!this.#host.closing() && !log.group.failed) this.#host.reportError(err as Error) })
  }
}

function toMemberView (m: MemberRecord): MemberView {
  return { id: z32OfHex(m.id), name: m.name, role: m.role, joinedTs: m.joinedTs }
}
