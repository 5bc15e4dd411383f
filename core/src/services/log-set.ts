/**
 * The logs this device has open (groups, DMs, the vault): opening a known log or adopting a
 * just-created one, starting to sync it, reopening one whose storage failed, the update loop
 * that hands every update to the services in one list, and closing and forgetting logs.
 * It knows the rest of the node only through `LogSetHost`.
 */
import b4a from 'b4a'
import crypto from 'hypercore-crypto'
import { signBinding } from '../binding.ts'
import { Keyring } from '../content.ts'
import { EpochGrants } from '../epoch-grants.ts'
import { errors, SolidarError } from '../errors.ts'
import { Group, failureError } from '../group.ts'
import { memberKey, type Identity } from '../identity.ts'
import { groupIdOf, keyOrNull } from '../ids.ts'
import type { Registry, LogRecord } from '../registry.ts'
import { resolveOne } from '../resolve.ts'
import { CURRENT_RULES } from '../rules.ts'
import type { Transport } from '../transport.ts'
import type { SolidarEvent } from '../types.ts'
import type { Wakeup } from '../wakeup.ts'
import { deviceFields, hex, type LogIndex, type LogService, type OpenLog } from './shared.ts'

export interface LogSetHost {
  /** The Corestore; every log lives in its own namespace. */
  store: any
  wakeup: Wakeup
  durable: (() => Promise<void>) | undefined
  transport: Transport | null
  registry: Registry
  identity: Identity
  now (): number
  closing (): boolean
  emit (event: SolidarEvent): void
  reportError (err: Error): void
  /** Opens the epoch keys sealed to this device (runs before a log is listed). */
  refreshKeys (log: OpenLog): Promise<void>
  /** Answers the log's pairing requests (joins, device links), or null when it takes none. */
  responder (log: OpenLog): ((request: any) => Promise<Buffer | null>) | null
  serve (discoveryKey: Buffer, responder: (request: any) => Promise<Buffer | null>): void
  unserve (discoveryKey: Buffer): void
  /** A known log (not one just created here) was opened: the group's rules may need raising. */
  opened (log: OpenLog): void
  /** A log is closing: the services drop what they hold for it. */
  release (log: OpenLog): Promise<void>
  /** This device no longer belongs to the log (left, removed): its local caches of it go. */
  forgotten (log: OpenLog): Promise<void>
  /** Lists a just-created log in the vault, so the member's other devices open it too. */
  listed (record: LogRecord): Promise<void>
}

export class LogSet implements LogIndex {
  readonly #host: LogSetHost
  readonly #logs = new Map<string, OpenLog>()
  #services: LogService[] = []

  constructor (host: LogSetHost) { this.#host = host }

  /** The services every update goes to, in this order (rewinds first, then updates). */
  use (services: LogService[]): void { this.#services = services }

  all (): OpenLog[] { return [...this.#logs.values()] }
  get (key: string): OpenLog | undefined { return this.#logs.get(key) }

  groupLogs (): OpenLog[] {
    return [...this.#logs.values()].filter(l => l.record.kind === 'group' && l.record.leaving === undefined)
  }

  dmLogs (peer: string): OpenLog[] {
    return [...this.#logs.values()].filter(l => l.record.kind === 'dm' && l.record.peer === peer)
  }

  vault (): OpenLog | null {
    for (const log of this.#logs.values()) if (log.record.kind === 'vault') return log
    return null
  }

  /** Opens a known log (or adopts `opened`, a just-created one) and starts syncing it. */
  async open (record: LogRecord, opened?: Group): Promise<OpenLog> {
    const existing = this.#logs.get(record.key)
    if (existing) return existing
    const group = opened ?? new Group({
      wakeup: this.#host.wakeup,
      durable: this.#host.durable,
      store: this.#host.store.namespace(record.namespace),
      key: b4a.from(record.key, 'hex'),
      encryptionKey: b4a.from(record.encryptionKey, 'hex')
    })
    await group.ready()
    const keyring = new Keyring(b4a.from(record.encryptionKey, 'hex'), group.discoveryKey)
    group.keyring = keyring
    const log: OpenLog = { record, group, lastChange: await group.changeCount(), keyring, boxes: new Map(), rotation: Promise.resolve(), emitted: new Set(), grants: new EpochGrants() }
    await this.#host.refreshKeys(log)
    this.#logs.set(record.key, log)
    this.#watch(log)
    await this.#announce(log)
    if (!opened) this.#host.opened(log)
    return log
  }

  /** Creates a log of which this device is the first writer, and opens it. */
  async create ({ kind, name, peer }: { kind: 'group' | 'dm' | 'vault', name: string, peer?: Buffer }): Promise<OpenLog> {
    if (this.#host.closing()) throw errors.closed()
    const { identity } = this.#host
    const namespace = hex(crypto.randomBytes(16))
    const encryptionKey = crypto.randomBytes(32)
    const group = new Group({ store: this.#host.store.namespace(namespace), key: null, encryptionKey, wakeup: this.#host.wakeup, durable: this.#host.durable })
    await group.ready()
    await group.append({
      t: 'group/create', kind, name, member: memberKey(identity), memberName: identity.name,
      sig: signBinding(group.key, group.localWriterKey, identity.secretKey), ts: this.#host.now(),
      ...(peer ? { peer } : {}), ...deviceFields(identity), rules: CURRENT_RULES
    })
    const record: LogRecord = { key: hex(group.key), encryptionKey: hex(encryptionKey), namespace, kind, ...(peer ? { peer: hex(peer) } : {}) }
    await this.#host.registry.put(record)
    const log = await this.open(record, group)
    if (kind !== 'vault') await this.#host.listed(record)
    return log
  }

  async #announce (log: OpenLog) {
    const { group } = log
    // The responder reads log.group per request: it is replaced when a failed log is reopened.
    const responder = this.#host.responder(log)
    if (responder) this.#host.serve(group.discoveryKey, responder)
    if (this.#host.transport) await this.#host.transport.join(group.discoveryKey, { server: true, client: true })
  }

  /**
   * Hands every update of `log` to the services, in order: first each one's `rewind` after
   * Autobase reordered the log's tail (the view's change and DM signal counters were rewritten
   * from the point both orders share: going back there, or the entries that the reorder moved
   * before the services' cursors would never be announced or acted on), then each one's
   * `onUpdate`. A service that fails is reported and the others still run.
   */
  #watch (log: OpenLog) {
    let running = false
    let again = false
    const onUpdate = async () => {
      if (running) { again = true; return }
      running = true
      try {
        do {
          again = false
          const cut = log.group.takeTruncation()
          if (cut !== null) for (const s of this.#services) if (s.rewind) await this.#isolated(log, () => s.rewind!(log, cut))
          for (const s of this.#services) if (s.onUpdate) await this.#isolated(log, () => s.onUpdate!(log))
        } while (again && !this.#host.closing())
      } finally {
        running = false
      }
    }
    log.group.on('update', onUpdate)
    log.group.on('error', (err: Error) => this.#host.reportError(err))
    log.group.on('warning', (err: Error) => this.#host.reportError(Object.assign(new SolidarError('LOG_WARNING', `The log of a group reported a problem: ${err.message}`), { cause: err })))
    onUpdate()
  }

  async #isolated (log: OpenLog, step: () => Promise<void>): Promise<void> {
    try {
      await step()
    } catch (err) {
      // A log closed meanwhile (left, reopened after a storage failure, node closing) ends quietly.
      if (!this.#host.closing() && this.#logs.get(log.record.key) === log && !log.group.failed) this.#host.reportError(err as Error)
    }
  }

  /**
   * A log whose storage failed (e.g. the disk filled up) is closed by Autobase for good.
   * Reopen it from disk — what was acknowledged is there — once storage works again;
   * until then requests get STORAGE_FAILED and the rest of the node keeps running.
   */
  async healthy (log: OpenLog): Promise<void> {
    const failed = log.group.failed
    if (!failed) return
    await log.group.close().catch(() => { /* closing: the other resources must still close, and a failed close has no caller left to tell */ })
    const group = new Group({
      wakeup: this.#host.wakeup,
      durable: this.#host.durable,
      store: this.#host.store.namespace(log.record.namespace),
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

  /** A group id, or a name that matches exactly one group (case-insensitive). */
  async resolveGroup (ref: string): Promise<OpenLog> {
    const log = await this.findGroup(ref)
    await this.healthy(log)
    return log
  }

  async findGroup (ref: string): Promise<OpenLog> {
    // By id first, without reading any view: a log whose storage failed is found (and reopened
    // by healthy) by its id although its view cannot be read now.
    const key = typeof ref === 'string' ? keyOrNull(ref.trim()) : null
    const byId = key ? this.#logs.get(hex(key)) : undefined
    if (byId && byId.record.kind === 'group' && byId.record.leaving === undefined) return byId
    const named: Array<{ log: OpenLog, name: string }> = []
    let unreadable: Error | null = null
    for (const log of this.groupLogs()) {
      try {
        await this.healthy(log) // a log whose storage failed is reopened first, if it can be
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

  /** Stops syncing a log and closes it (it stays in logs.json). */
  async close (log: OpenLog) {
    this.#logs.delete(log.record.key)
    await this.#host.release(log)
    this.#host.unserve(log.group.discoveryKey)
    // A topic the transport cannot leave (it is closing too) changes nothing for a log that closes.
    await this.#host.transport?.leave(log.group.discoveryKey).catch(() => { /* see above */ })
    await log.group.close()
  }

  /** Removes a log from logs.json and closes it. */
  async forget (log: OpenLog): Promise<void> {
    if (this.#logs.get(log.record.key) !== log) return
    // logs.json first: once this node no longer lists the log (status, groups), it is gone from
    // disk too (the other order left a window in which a restart brought the group back).
    await this.#host.registry.remove(log.record.key)
    await this.close(log)
    await this.#host.forgotten(log)
    this.#host.emit({ type: 'group', group: groupIdOf(log.group.key) } satisfies SolidarEvent)
  }

  /** The node closes: every log closes, failures or not. */
  async closeAll (): Promise<void> {
    for (const log of this.#logs.values()) await log.group.close().catch(() => { /* closing: the other resources must still close, and a failed close has no caller left to tell */ })
    this.#logs.clear()
  }
}
