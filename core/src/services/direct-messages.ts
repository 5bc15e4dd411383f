/**
 * Direct messages: a DM is a log of its own with one peer (kind 'dm'), offered and accepted
 * through sealed envelopes in a group both share (dm.ts). Sending opens the conversation if
 * none is writable yet; several conversations with one peer (both opened one at once) read
 * as one. Posting, editing and reading go through the message service (via the host).
 * It knows the rest of the node only through `DmHost`.
 */
import b4a from 'b4a'
import crypto from 'hypercore-crypto'
import { DM_ROOM } from '../apply.ts'
import { signBinding } from '../binding.ts'
import { checkText, isMessageId } from '../commands.ts'
import { openDmPayload, sealDmPayload } from '../dm.ts'
import { errors } from '../errors.ts'
import { memberKey, type Identity } from '../identity.ts'
import { checkBefore, dmPages, pageLimit, type PageOptions } from '../history.ts'
import { markLogsRead, unreadOf, type ReadMarkers } from '../read-markers.ts'
import type { LogRecord, Registry } from '../registry.ts'
import type { DmSummary, MessageView } from '../types.ts'
import type { MessageRecord } from '../view.ts'
import { appendChecked, hex, z32OfHex, type LogIndex, type OpenLog } from './shared.ts'
import { describe } from '../describe.ts'

export interface DmHost {
  logs: LogIndex
  /** Opens a known log and starts syncing it. */
  open (record: LogRecord): Promise<OpenLog>
  /** Creates a log of which this device is the first writer. */
  create (opts: { kind: 'dm', name: string, peer: Buffer }): Promise<OpenLog>
  /** Reopens a log whose storage failed (STORAGE_FAILED if it cannot be yet). */
  healthy (log: OpenLog): Promise<void>
  registry: Registry
  /** The member `ref` names (hex): any member id, or a unique name among our groups' members. */
  resolveMember (ref: string): Promise<string>
  /** Lists a log in the vault, so the member's other devices open it too. */
  listInVault (record: LogRecord): Promise<void>
  /** Posting, editing, deleting and reading (messages.ts). */
  post (log: OpenLog, text: string, room: string, replyTo?: string): Promise<MessageView>
  editIn (log: OpenLog, id: string, text: string): Promise<MessageView>
  deleteIn (log: OpenLog, id: string): Promise<MessageView>
  react (log: OpenLog, id: string, emoji: string | null): Promise<MessageView>
  /** Message records of `log` as readers see them (text opened, names, reactions). */
  views (log: OpenLog, records: MessageRecord[]): Promise<MessageView[]>
  read: ReadMarkers
  identity: Identity
  /** The member this device acts for (hex). */
  self (): string
  now (): number
}

/** How long a reply waits to become a writer of the conversation the peer opened (then it opens its own). */
const DM_WRITABLE_WAIT_MS = 10_000

export class DirectMessages {
  readonly #host: DmHost
  constructor (host: DmHost) { this.#host = host }

  /** After a reorder the view's DM signal counter was rewritten: read the envelopes again from where both orders meet. */
  async rewind (log: OpenLog, cut: number): Promise<void> {
    if (log.record.kind !== 'group') return
    const dmAt = await log.group.counterAt(cut, 'dm')
    if ((log.record.dmCursor ?? 0) > dmAt) await this.#host.registry.update(log.record.key, { dmCursor: dmAt })
  }

  /** After each update of a group: act on the DM envelopes addressed to us. */
  async onUpdate (log: OpenLog): Promise<void> {
    if (log.record.kind === 'group') await this.#processDmSignals(log)
  }

  /** The DM log to write to with `peer` (opened if none is writable), and every DM log with them (the bridge's DMs). */
  async logsFor (peer: string): Promise<{ write: OpenLog, all: OpenLog[] }> {
    const logs = this.#host.logs.dmLogs(peer)
    let log = logs.filter(l => l.group.writable).sort((a, b) => a.record.key.localeCompare(b.record.key))[0]
    if (!log) log = await this.#openDm(peer)
    await this.#host.healthy(log)
    return { write: log, all: logs.includes(log) ? logs : [...logs, log] }
  }

  async dm (ref: string, text: string, opts: { replyTo?: string } = {}): Promise<MessageView> {
    const peer = await this.#host.resolveMember(ref)
    if (peer === this.#host.self()) throw errors.badRequest('You cannot send a direct message to yourself')
    checkText(text)
    // Both sides may have opened a conversation; all converge on the smallest writable key.
    const byKey = (a: OpenLog, b: OpenLog) => a.record.key.localeCompare(b.record.key)
    let log = this.#host.logs.dmLogs(peer).filter(l => l.group.writable).sort(byKey)[0]
    // The peer's conversation reached us but its node has not made us a writer yet (our accept
    // is on its way): wait for that instead of opening a second conversation, whose messages
    // would then interleave with the first by their authors' clocks.
    const accepted = log ? undefined : this.#host.logs.dmLogs(peer).sort(byKey)[0]
    if (accepted) {
      try {
        await accepted.group.waitForWritable(AbortSignal.timeout(DM_WRITABLE_WAIT_MS))
        log = accepted
      } catch {
        // Not writable in time (or the wait was cut): write to our own DM log instead, below.
      }
    }
    if (!log) log = await this.#openDm(peer)
    await this.#host.healthy(log)
    return this.#host.post(log, text, DM_ROOM, opts.replyTo)
  }

  async #openDm (peer: string): Promise<OpenLog> {
    const via = await this.#sharedGroup(peer)
    if (!via) throw errors.noSharedGroup(z32OfHex(peer))
    const peerKey = b4a.from(peer, 'hex')
    const log = await this.#host.create({ kind: 'dm', name: '', peer: peerKey })
    const box = sealDmPayload({ kind: 'offer', base: log.group.key, encryptionKey: b4a.from(log.record.encryptionKey, 'hex'), from: memberKey(this.#host.identity), to: peerKey }, peerKey)
    await appendChecked(via.group, { t: 'dm/offer', box, ts: this.#host.now() })
    return log
  }

  async #sharedGroup (peer: string): Promise<OpenLog | null> {
    for (const log of this.#host.logs.groupLogs()) {
      const member = await log.group.member(peer)
      if (log.group.writable && member && !member.left) return log
    }
    return null
  }

  /**
   * The DM log with `ref` that holds message `id` (several can exist briefly: both opened one),
   * to write to (edit, react, delete). A conversation the peer opened can be read here before
   * its node has made this device a writer (our accept is on its way): wait for that, as `dm`
   * does, instead of refusing a reaction to a message just received as "not admitted".
   */
  async #dmLogOf (ref: string, id: string): Promise<OpenLog> {
    const peer = await this.#host.resolveMember(ref)
    if (isMessageId(id)) {
      for (const log of this.#host.logs.dmLogs(peer)) {
        if (await log.group.messageById(id)) {
          await this.#host.healthy(log)
          if (!log.group.writable) {
            const wait = AbortSignal.timeout(DM_WRITABLE_WAIT_MS)
            await log.group.waitForWritable(wait).catch((err: unknown) => {
              // Not writable in time: the append then says NOT_PERMITTED, as before. Anything else (UPGRADE_REQUIRED) is the answer.
              if (err !== wait.reason) throw err
            })
          }
          return log
        }
      }
    }
    throw errors.messageNotFound(describe(id, 64))
  }

  async dmEdit (ref: string, id: string, text: string): Promise<MessageView> {
    return this.#host.editIn(await this.#dmLogOf(ref, id), id, text)
  }

  /** Sets this member's reaction to a message of the conversation (either side's), or takes it back (null). */
  async dmReact (ref: string, id: string, emoji: string | null): Promise<MessageView> {
    return this.#host.react(await this.#dmLogOf(ref, id), id, emoji)
  }

  async dmDelete (ref: string, id: string): Promise<MessageView> {
    return this.#host.deleteIn(await this.#dmLogOf(ref, id), id)
  }

  /** The direct conversations this device holds, by peer, with their unread counts (read-markers.ts). */
  async listDms (): Promise<DmSummary[]> {
    const peers = new Set(this.#host.logs.all().filter(l => l.record.kind === 'dm').map(l => l.record.peer!))
    const out: DmSummary[] = []
    for (const peer of peers) {
      const logs = this.#host.logs.dmLogs(peer)
      const name = (await logs[0].group.member(peer))?.name ?? ''
      out.push({ member: z32OfHex(peer), name, unread: await unreadOf(this.#host.read, logs.map(l => ({ key: l.record.key, group: l.group })), this.#host.self()) })
    }
    return out
  }

  async markDmRead (ref: string, id: string): Promise<{ unread: number }> {
    const logs = this.#host.logs.dmLogs(await this.#host.resolveMember(ref)).map(l => ({ key: l.record.key, group: l.group }))
    await markLogsRead(this.#host.read, logs, checkBefore(id) ?? '')
    return { unread: await unreadOf(this.#host.read, logs, this.#host.self()) }
  }

  async dmMessages (ref: string, opts: Omit<PageOptions, 'room'> = {}): Promise<MessageView[]> {
    const peer = await this.#host.resolveMember(ref)
    const logs = this.#host.logs.dmLogs(peer)
    const pages = await dmPages(logs.map(l => l.group), opts) // history.ts
    const views: MessageView[][] = []
    for (const [i, log] of logs.entries()) views.push(await this.#host.views(log, pages[i]))
    return mergeLogs(views).slice(-pageLimit(opts.limit))
  }

  /** Reads new sealed DM envelopes in a group; acts on those addressed to us. */
  async #processDmSignals (log: OpenLog) {
    const cursor = log.record.dmCursor ?? 0
    const signals = await log.group.dmSignals(cursor)
    if (signals.length === 0) return
    for (const signal of signals) {
      const payload = openDmPayload(signal.box, this.#host.identity)
      if (!payload || hex(payload.from) !== signal.from) continue // not ours, or a forged sender
      if (payload.kind === 'offer') {
        const key = hex(payload.base)
        if (this.#host.logs.get(key)) continue
        const record: LogRecord = { key, encryptionKey: hex(payload.encryptionKey), namespace: hex(crypto.randomBytes(16)), kind: 'dm', peer: signal.from }
        await this.#host.registry.put(record)
        const dm = await this.#host.open(record)
        await this.#host.listInVault(record)
        const sig = signBinding(dm.group.key, dm.group.localWriterKey, this.#host.identity.secretKey)
        const box = sealDmPayload({ kind: 'accept', base: dm.group.key, writer: dm.group.localWriterKey, sig, from: memberKey(this.#host.identity), to: payload.from }, payload.from)
        if (log.group.writable) await log.group.append({ t: 'dm/accept', box, ts: this.#host.now() })
      } else {
        const dm = this.#host.logs.get(hex(payload.base))
        if (!dm || dm.record.kind !== 'dm' || dm.record.peer !== signal.from || !dm.group.writable) continue
        if (await dm.group.member(signal.from)) continue
        const peer = await log.group.member(signal.from)
        await dm.group.append({ t: 'member/add', member: payload.from, writer: payload.writer, name: peer?.name ?? 'member', role: 'member', sig: payload.sig, ts: this.#host.now() })
      }
    }
    await this.#host.registry.update(log.record.key, { dmCursor: signals[signals.length - 1].n })
  }
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
