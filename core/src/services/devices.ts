/**
 * Devices and the vault.
 *
 * Multi-device. A member's devices share a *vault*: a personal log (kind 'vault') whose
 * writers are the member's devices. It lists every log the member belongs to (sealed under
 * the vault's epoch key) and, per log, the writer each device uses there. A device that
 * sees a sibling's writer for a log it can write to adds it with `member/device`, so every
 * device ends up in every log: same groups, same history, all can write.
 * Only the member's first device holds the member key and signs device certificates.
 *
 * It knows the rest of the node only through `DeviceHost`.
 */
import Autobase from 'autobase'
import b4a from 'b4a'
import crypto from 'hypercore-crypto'
import { createInvite } from 'blind-pairing-core'
import { decodeJoinUserData, encodeJoinUserData } from '../admission.ts'
import { signBinding, signBindingForDiscoveryKey, verifyBindingForDiscoveryKey } from '../binding.ts'
import { decode, encode } from '../codec.ts'
import type { EpochBox } from '../commands.ts'
import { deliveredSoon } from '../delivery.ts'
import { errors } from '../errors.ts'
import { signDeviceCert, type Identity } from '../identity.ts'
import { decodeKey } from '../ids.ts'
import { decodeInviteCode, encodeInviteCode, type DecodedInvite } from '../invite-code.ts'
import { refuse, signReply, type ReplySigner } from '../pairing-reply.ts'
import type { LogRecord, Registry } from '../registry.ts'
import type { Transport } from '../transport.ts'
import type { MemberId, SolidarEvent } from '../types.ts'
import { activeDevices } from '../view.ts'
import { appendChecked, hex, resolvesWithin, z32OfHex, type LogIndex, type OpenLog } from './shared.ts'
import { DEFAULT_JOIN_TIMEOUT } from './invites.ts'

export interface DeviceHost {
  logs: LogIndex
  /** Opens a known log and starts syncing it. */
  open (record: LogRecord): Promise<OpenLog>
  /** Creates a log of which this device is the first writer. */
  create (opts: { kind: 'vault', name: string }): Promise<OpenLog>
  registry: Registry
  /** Key epochs (epochs.ts). */
  refreshKeys (log: OpenLog): Promise<void>
  currentEpoch (log: OpenLog): Promise<number>
  epochKeysFor (log: OpenLog, member: Buffer): Promise<EpochBox[]>
  rotate (log: OpenLog): Promise<void>
  /** Sends the pairing request until the invite's issuer answers (invites.ts). */
  awaitReply (invite: DecodedInvite, userData: Buffer, timeoutMs: number, signal?: AbortSignal): Promise<{ key: Buffer, encryptionKey: Buffer }>
  /** Persists the identity when this device becomes a linked device of a member. */
  onIdentityChange (identity: Identity): Promise<void>
  transport: Transport | null
  /** The Corestore: a linking device's writer key comes from its namespace. */
  store: any
  emit (event: SolidarEvent): void
  /** This device's identity; linking makes it act for the member (changed in place). */
  identity: Identity
  /** The member this device acts for (hex). */
  self (): string
  /** This device's own key (hex). */
  device (): string
  /** This device's key pair, which signs its pairing replies. */
  signer (): ReplySigner
  now (): number
}

export class Devices {
  readonly #host: DeviceHost
  /** Vault entries this device already acted on, so each is handled once per run. */
  readonly #vaultDone = new Set<string>()

  constructor (host: DeviceHost) { this.#host = host }

  /** After each update of any log: sibling devices (a change anywhere may let us add a device to a log, or vice versa). */
  async onUpdate (): Promise<void> {
    const vault = this.#host.logs.vault()
    // A link whose vault arrived after `deviceAdd` returned completes here.
    if (vault && await this.finishLink(vault)) await this.#processVault(vault)
  }

  /** Answers device link requests in the vault. */
  responder (vault: OpenLog): (request: any) => Promise<Buffer | null> {
    return (request) => this.#answerDeviceRequest(request, vault)
  }

  async #ensureVault (): Promise<OpenLog> {
    const existing = this.#host.logs.vault()
    if (existing) return existing
    const vault = await this.#host.create({ kind: 'vault', name: '' })
    for (const log of this.#host.logs.all()) if (log.record.kind !== 'vault') await this.listInVault(log.record)
    return vault
  }

  /** Adds a log to the vault (if there is one), so the member's other devices open it too. */
  async listInVault (record: LogRecord): Promise<void> {
    const vault = this.#host.logs.vault()
    if (!vault || !vault.group.writable) return
    for (const d of await this.#vaultDescriptors(vault)) if (d.key === record.key) return
    const epoch = await this.#host.currentEpoch(vault)
    const payload = encode({ key: record.key, encryptionKey: record.encryptionKey, kind: record.kind, ...(record.peer ? { peer: record.peer } : {}) })
    await vault.group.append({ t: 'vault/log', body: vault.keyring.seal(epoch, 'vault', payload), ts: this.#host.now() })
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
    await this.#host.refreshKeys(vault)
    for (const d of await this.#vaultDescriptors(vault)) {
      if (this.#host.logs.get(d.key) || this.#host.registry.get(d.key)) continue
      const record: LogRecord = { ...d, namespace: hex(crypto.randomBytes(16)) }
      await this.#host.registry.put(record)
      await this.#host.open(record)
    }
    if (!vault.group.writable) return
    const announced = new Set((await vault.group.vaultWriters()).map(w => `${w.log}!${w.device}`))
    for (const log of this.#host.logs.all()) {
      if (log.record.kind === 'vault' || log.group.failed) continue
      const id = `${log.record.key}!${this.#host.device()}`
      if (announced.has(id) || this.#vaultDone.has(`announce!${id}`)) continue
      const me = await log.group.member(this.#host.self())
      if (!me || me.left || activeDevices(me).some(d => d.device === this.#host.device())) continue
      this.#vaultDone.add(`announce!${id}`)
      const writer = log.group.localWriterKey
      await vault.group.append({
        t: 'vault/writer', log: log.group.key, device: this.#host.identity.publicKey, writer,
        sig: signBinding(log.group.key, writer, this.#host.identity.secretKey), ts: this.#host.now()
      })
    }
    const self = await vault.group.member(this.#host.self())
    if (!self) return
    for (const w of await vault.group.vaultWriters()) {
      const log = this.#host.logs.get(w.log)
      const sibling = activeDevices(self).find(d => d.device === w.device)
      if (!log || !sibling?.cert || !log.group.writable || this.#vaultDone.has(`add!${w.log}!${w.device}`)) continue
      const me = await log.group.member(this.#host.self())
      if (!me || me.left || (me.devices ?? []).some(d => d.device === w.device)) continue
      this.#vaultDone.add(`add!${w.log}!${w.device}`)
      const device = b4a.from(w.device, 'hex')
      const keys = await this.#host.epochKeysFor(log, device)
      await log.group.append({
        t: 'member/device', device, writer: b4a.from(w.writer, 'hex'), cert: b4a.from(sibling.cert, 'hex'),
        sig: b4a.from(w.sig, 'hex'), name: sibling.name ?? 'device', ts: this.#host.now(), ...(keys.length ? { keys } : {})
      })
    }
  }

  /** On the first device: a code that lets a new device of ours join (valid 10 minutes, once). */
  async deviceLink (opts: { expiresMs?: number } = {}): Promise<{ code: string, expires: number }> {
    if (this.#host.identity.member) throw errors.notPermitted('Link new devices from your first device (it holds your member key)')
    const vault = await this.#ensureVault()
    const expires = this.#host.now() + (opts.expiresMs ?? 10 * 60_000)
    const invite = createInvite(vault.group.key, { expires })
    await appendChecked(vault.group, { t: 'invite/create', id: invite.id, publicKey: invite.publicKey, role: 'member', expires, uses: 1, ts: this.#host.now() })
    return { code: encodeInviteCode(invite.invite, { issuer: this.#host.identity.publicKey, encryptionKey: b4a.from(vault.record.encryptionKey, 'hex') }), expires }
  }

  /** First device's side of linking: certify the new device and add it to the vault. */
  async #answerDeviceRequest (request: any, vault: OpenLog): Promise<Buffer | null> {
    if (this.#host.identity.member || !vault.group.writable) return null
    const invite = await vault.group.invite(b4a.toString(request.inviteId, 'hex'))
    if (!invite) return null
    try { request.open(b4a.from(invite.publicKey, 'hex')) } catch { return null }
    const data = decodeJoinUserData(request.userData)
    if (!data || !verifyBindingForDiscoveryKey(vault.group.discoveryKey, data.writer, data.member, data.sig)) return refuse(request, this.#host.signer())
    const device = data.member // a device asking to be linked signs with (and sends) its own key
    const self = await vault.group.member(this.#host.self())
    const known = (self?.devices ?? []).some(d => d.device === hex(device) && d.writer === hex(data.writer))
    if (!known) {
      if (this.#host.now() > invite.expires) return refuse(request, this.#host.signer(), undefined, 3)
      if (this.#vaultDone.has(`link!${b4a.toString(request.inviteId, 'hex')}`)) return refuse(request, this.#host.signer(), undefined, 2)
      this.#vaultDone.add(`link!${b4a.toString(request.inviteId, 'hex')}`)
      const keys = await this.#host.epochKeysFor(vault, device)
      await vault.group.append({
        t: 'member/device', device, writer: data.writer, cert: signDeviceCert(device, this.#host.identity.secretKey),
        sig: data.sig, name: data.name, ts: this.#host.now(), ...(keys.length ? { keys } : {})
      })
    }
    request.confirm({ key: vault.group.key, encryptionKey: b4a.from(vault.record.encryptionKey, 'hex') })
    return signReply(request.response, request, this.#host.signer())
  }

  /**
   * On a fresh device: become a device of the member whose first device made `code`. Once the
   * first device has admitted us, the link is made: if the vault has not reached this device
   * by the deadline (the first device went offline right after answering), `linked` is false
   * and the link completes in the background as soon as it has (`#finishLink`).
   */
  async deviceAdd (code: string, opts: { timeoutMs?: number, signal?: AbortSignal } = {}): Promise<{ member: MemberId | null, name: string | null, device: string, linked: boolean }> {
    if (this.#host.identity.member) throw errors.notPermitted('This device is already linked to a member')
    if (this.#host.logs.all().length > 0) throw errors.notPermitted('This device already has groups of its own; link a fresh device (a new home folder)')
    const invite = decodeInviteCode(code)
    if (invite.expires && this.#host.now() > invite.expires) throw errors.inviteExpired(invite.expires)
    if (!this.#host.transport) throw errors.noNetwork()
    const timeoutMs = opts.timeoutMs ?? DEFAULT_JOIN_TIMEOUT
    const deadline = this.#host.now() + timeoutMs
    const namespace = hex(crypto.randomBytes(16))
    const writer = await Autobase.getLocalKey(this.#host.store.namespace(namespace))
    const userData = encodeJoinUserData({
      member: this.#host.identity.publicKey, writer, name: this.#host.identity.name,
      sig: signBindingForDiscoveryKey(invite.discoveryKey, writer, this.#host.identity.secretKey)
    })
    const auth = await this.#host.awaitReply(invite, userData, timeoutMs, opts.signal)
    const record: LogRecord = { key: hex(auth.key), encryptionKey: hex(auth.encryptionKey), namespace, kind: 'vault' }
    await this.#host.registry.put(record)
    const vault = await this.#host.open(record)
    const writable = await resolvesWithin(vault.group.waitForWritable(opts.signal), Math.max(1000, deadline - this.#host.now()))
    const linked = await this.finishLink(vault)
    // Writable means our member/device entry was applied: it carries the certificate.
    if (writable && !linked) throw errors.badRequest('The linked vault does not list this device')
    if (linked) await this.#processVault(vault)
    return { member: linked ? z32OfHex(this.#host.self()) : null, name: linked ? this.#host.identity.name : null, device: z32OfHex(this.#host.device()), linked }
  }

  /**
   * Completes a device link once the vault lists this device with its certificate: from then
   * on this device acts for the member (identity saved). True when there is nothing (more) to
   * do, as on the first device, which made the vault.
   */
  async finishLink (vault: OpenLog): Promise<boolean> {
    if (this.#host.identity.member) return true
    const meta = await vault.group.meta()
    if (!meta) return false
    if (meta.creator === this.#host.device()) return true
    const owner = await vault.group.member(meta.creator)
    const mine = owner?.devices?.find(d => d.device === this.#host.device())
    if (this.#host.identity.member) return true // a concurrent call finished it
    if (!owner || !mine?.cert) return false
    this.#host.identity.member = b4a.from(meta.creator, 'hex')
    this.#host.identity.cert = b4a.from(mine.cert, 'hex')
    this.#host.identity.name = owner.name
    await this.#host.onIdentityChange(this.#host.identity)
    this.#host.emit({ type: 'identity', member: z32OfHex(meta.creator) } satisfies SolidarEvent)
    return true
  }

  /** This member's devices (from the vault; just this one before any link). */
  async devices (): Promise<Array<{ id: string, name: string, current: boolean, revoked?: number }>> {
    const vault = this.#host.logs.vault()
    const self = vault ? await vault.group.member(this.#host.self()) : null
    if (!self?.devices) return [{ id: z32OfHex(this.#host.device()), name: this.#host.identity.name, current: true }]
    return self.devices.map(d => ({
      id: z32OfHex(d.device), name: d.name ?? self.name, current: d.device === this.#host.device(), ...(d.revoked ? { revoked: d.revoked } : {})
    }))
  }

  /** Revokes another device of ours everywhere: it is treated like a removed member. */
  async revokeDevice (ref: string): Promise<{ id: string, logs: number, pending: number }> {
    const device = hex(decodeKey(ref, 'device id'))
    if (device === this.#host.device()) throw errors.badRequest('You cannot revoke the device you are using')
    const vault = this.#host.logs.vault()
    const self = vault ? await vault.group.member(this.#host.self()) : null
    if (!vault || !self?.devices?.some(d => d.device === device && !d.revoked)) throw errors.memberNotFound(ref)
    const written: OpenLog[] = []
    for (const log of this.#host.logs.all()) {
      const me = await log.group.member(this.#host.self())
      if (!log.group.writable || !me || !activeDevices(me).some(d => d.device === device)) continue
      await appendChecked(log.group, { t: 'member/revoke-device', device: b4a.from(device, 'hex'), ts: this.#host.now() })
      written.push(log)
      if (me.role === 'admin') await this.#host.rotate(log)
    }
    // Logs whose revocation no peer holds yet: it reaches them when one connects (this device keeps syncing them).
    const delivered = await Promise.all(written.map(log => deliveredSoon(log.group.base)))
    return { id: z32OfHex(device), logs: written.length, pending: delivered.filter(d => !d).length }
  }
}
