/**
 * Content this device sealed under an epoch the log has not settled yet, sealed again when the
 * settled log does not hold its key (issue 16 item 3).
 *
 * An admin's rotation starts an epoch, and members seal under its key at once. When the
 * indexers' order refuses that rotation (its author was demoted or removed at the same time by
 * an admin cut off from her), apply refuses what was sealed under it ("sealed under an epoch that
 * does not exist"), or accepts it under an epoch another rotation made, with a key nobody else
 * holds: readable by no one, for good.
 *
 * So each message post, message edit and pad update this device seals under an epoch the
 * settled log does not have yet is remembered, with its plaintext, in memory. Once the indexers
 * have settled this device's entry, the settled view decides: a message whose settled record the
 * settled keys open, with the text last written, is done; otherwise it is sealed again under the
 * current epoch — posted again under its own id when the log refused the post, edited when the
 * log holds it unreadable. A pad update is appended again unless the settled log gives this
 * device the key it was sealed with (Yjs takes an update twice as once).
 *
 * What to watch is kept in memory; the keys it was sealed with are saved (reseal-keys.ts), and
 * after a restart this device's own entries from the first unsettled one on are read again and
 * those sealed under a saved key are watched again.
 */
import b4a from 'b4a'
import { parseCommand, type MessageEdit, type MessagePost, type PadUpdate } from '../commands.ts'
import { openContent, type Sealed } from '../content.ts'
import type { Identity } from '../identity.ts'
import { openEpochKey } from '../keys.ts'
import { K, getRecord, type Bee, type MessageRecord } from '../view.ts'
import type { LocalStore } from '../registry.ts'
import { ResealKeys } from './reseal-keys.ts'
import { appendChecked, type OpenLog } from './shared.ts'

export interface ResealHost {
  identity: Identity
  /** This device's key (hex): epoch keys are sealed to it. */
  device (): string
  /** The current epoch (NOT_PERMITTED without its key). */
  currentEpoch (log: OpenLog): Promise<number>
  reportError (err: Error): void
  now (): number
  /** Where the keys of what waits are saved across restarts. */
  local: LocalStore
}

/** At most this many pad updates wait per log; older ones are dropped with a report. */
const MAX_PAD_UPDATES = 5_000

interface Sealing { epoch: number, key: Buffer, at: number }
interface PendingMessage extends Sealing { id: string, text: Buffer, post: { room: string, replyTo?: string } | null }
interface PendingPad extends Sealing { pad: string, update: Buffer }
interface Pending { messages: Map<string, PendingMessage>, pads: PendingPad[] }

export type Resealable = MessagePost | MessageEdit | PadUpdate

export class Reseal {
  readonly #host: ResealHost
  readonly #pending = new Map<string, Pending>()
  /** Per log: the newest epoch the settled log has (only grows). */
  readonly #settledEpoch = new Map<string, number>()
  readonly #saved: ResealKeys
  /** Logs whose saved keys were looked at since this node started. */
  readonly #restored = new Set<string>()

  constructor (host: ResealHost) {
    this.#host = host
    this.#saved = new ResealKeys(host.local)
  }

  /** How many entries of `log` wait for the log to settle (for tests and status). */
  waiting (log: OpenLog): number {
    const p = this.#pending.get(log.record.key)
    return p ? p.messages.size + p.pads.length : 0
  }

  /**
   * After this device appended `cmd` to `log`: remembered if it was sealed under an epoch the
   * settled log does not have yet. Costs nothing while the current epoch is settled.
   */
  async note (log: OpenLog, cmd: Resealable): Promise<void> {
    try {
      await this.#note(log, cmd)
    } catch (err) {
      // The entry is appended and acknowledged; only its safety net failed (e.g. the log closed): say so.
      this.#host.reportError(Object.assign(new Error(`could not check the key ${cmd.t} was sealed with: ${(err as Error).message}`), { cause: err }))
    }
  }

  async #note (log: OpenLog, cmd: Resealable): Promise<void> {
    if (cmd.body.e <= (this.#settledEpoch.get(log.record.key) ?? 0)) return
    const settled = await this.#refreshSettled(log)
    if (cmd.body.e <= settled.epoch) return
    const key = log.keyring.get(cmd.body.e)
    const plain = key ? openContent(key, cmd.body, log.keyring.discoveryKey, kindOf(cmd)) : null
    if (!key || !plain) return // sealed with this epoch's key a moment ago; a rotation in between replaced it: the next note covers that one
    await this.#saved.add(log.record.key, cmd.body.e, key, settled.mine)
    this.#track(log, cmd, plain, key, log.group.base.local.length)
  }

  /** Watches `cmd` (this device's entry ending at writer length `at`), opened to `plain` with `key`. */
  #track (log: OpenLog, cmd: Resealable, plain: Buffer, key: Buffer, at: number): void {
    const pending = this.#of(log)
    if (cmd.t === 'pad/update') {
      pending.pads.push({ pad: cmd.pad, update: plain, epoch: cmd.body.e, key, at })
      if (pending.pads.length > MAX_PAD_UPDATES) {
        pending.pads.shift()
        this.#host.reportError(new Error(`more than ${MAX_PAD_UPDATES} pad updates wait for the group's admins to settle a key rotation; the oldest will not be sealed again if the rotation is refused`))
      }
      return
    }
    const before = pending.messages.get(cmd.id)
    const post = cmd.t === 'message/post' ? { room: cmd.room, ...(cmd.replyTo ? { replyTo: cmd.replyTo } : {}) } : before?.post ?? null
    pending.messages.set(cmd.id, { id: cmd.id, text: plain, post, epoch: cmd.body.e, key, at })
  }

  /**
   * Once per log after a start: this device's entries from the first one not settled when a key
   * was saved, those sealed under a saved key watched again (what the node watched before it
   * stopped).
   */
  async #restore (log: OpenLog): Promise<void> {
    if (this.#restored.has(log.record.key)) return
    this.#restored.add(log.record.key)
    const saved = await this.#saved.get(log.record.key)
    if (!saved) return
    const local = log.group.base.local
    const rules = (await log.group.meta())?.rules
    for (let i = saved.from; i < local.length; i++) {
      const block = await local.get(i)
      const value: Uint8Array | null | undefined = block?.node?.value
      if (!value) continue // an ack
      const parsed = parseCommand(value, { rules })
      if (!parsed.ok || (parsed.cmd.t !== 'message/post' && parsed.cmd.t !== 'message/edit' && parsed.cmd.t !== 'pad/update')) continue
      const cmd = parsed.cmd as Resealable
      for (const { e, k } of saved.keys) {
        if (e !== cmd.body.e) continue
        const key = b4a.from(k, 'hex')
        const plain = openContent(key, cmd.body, log.keyring.discoveryKey, kindOf(cmd))
        if (plain) { this.#track(log, cmd, plain, key, i + 1); break }
      }
    }
  }

  /** The message was deleted: nothing of it is sealed again. */
  forget (log: OpenLog, id: string): void {
    this.#pending.get(log.record.key)?.messages.delete(id)
  }

  /** After each update of a log: what the indexers settled since is checked, and sealed again if needed. */
  async onUpdate (log: OpenLog): Promise<void> {
    await this.#restore(log)
    const pending = this.#pending.get(log.record.key)
    const waiting = pending !== undefined && (pending.messages.size > 0 || pending.pads.length > 0)
    if (!waiting) {
      // Nothing to watch: once all of this device's entries are settled, the saved keys can go.
      if (await this.#saved.get(log.record.key)) {
        const settled = await this.#refreshSettled(log)
        if (settled.mine >= log.group.base.local.length) await this.#saved.drop(log.record.key)
      }
      return
    }
    const settled = await log.group.settled()
    if (settled === null) return
    const due: { messages: PendingMessage[], pads: PendingPad[] } = { messages: [], pads: [] }
    try {
      await this.#noteSettledEpoch(log, settled.view)
      const keys = new Map<number, Buffer[]>()
      const keysOf = async (epoch: number) => {
        if (!keys.has(epoch)) keys.set(epoch, await settledKeys(settled.view, log, epoch, this.#host))
        return keys.get(epoch)!
      }
      for (const m of [...pending.messages.values()]) {
        if (m.at > settled.mine) continue // the order of this device's entry may still change
        pending.messages.delete(m.id)
        const seq = await getRecord<number>(settled.view, K.messageId(m.id))
        const rec = seq === null ? null : await getRecord<MessageRecord>(settled.view, K.message(seq))
        if (rec?.deleted) continue
        if (rec?.body && await opensTo(rec.body, m.text, await keysOf(rec.body.e), log)) continue
        if (rec === null && m.post === null) continue // an edit of a post the log never took: nothing to repair
        due.messages.push(rec === null ? m : { ...m, post: null })
      }
      const keep: PendingPad[] = []
      for (const p of pending.pads) {
        if (p.at > settled.mine) { keep.push(p); continue }
        if (!(await keysOf(p.epoch)).some(k => b4a.equals(k, p.key))) due.pads.push(p)
      }
      pending.pads = keep
    } finally {
      await settled.view.close().catch(() => { /* a snapshot: nothing of it needs saving, and the caller's work is done */ })
    }
    for (const m of due.messages) await this.#again(log, m.id, () => this.#resealMessage(log, m))
    for (const p of due.pads) await this.#again(log, p.pad, () => this.#resealPad(log, p))
  }

  async #again (log: OpenLog, what: string, step: () => Promise<void>): Promise<void> {
    try {
      await step()
    } catch (err) {
      // Removed meanwhile (no current key), the room or pad gone: say so, the rest goes on.
      this.#host.reportError(Object.assign(new Error(`could not seal ${what} again under the group's current key: ${(err as Error).message}`), { cause: err }))
    }
  }

  async #resealMessage (log: OpenLog, m: PendingMessage): Promise<void> {
    const epoch = await this.#host.currentEpoch(log)
    const body = log.keyring.seal(epoch, 'message', m.text)
    let cmd: MessagePost | MessageEdit
    if (m.post === null) {
      cmd = { t: 'message/edit', id: m.id, body, ts: this.#host.now() }
    } else {
      const replyTo = m.post.replyTo !== undefined && (await log.group.messageById(m.post.replyTo)) !== null ? m.post.replyTo : undefined
      cmd = { t: 'message/post', id: m.id, room: m.post.room, body, ts: this.#host.now(), ...(replyTo ? { replyTo } : {}) }
    }
    await appendChecked(log.group, cmd)
    await this.#note(log, cmd)
  }

  async #resealPad (log: OpenLog, p: PendingPad): Promise<void> {
    const epoch = await this.#host.currentEpoch(log)
    const cmd: PadUpdate = { t: 'pad/update', pad: p.pad, body: log.keyring.seal(epoch, 'pad', p.update), ts: this.#host.now() }
    await appendChecked(log.group, cmd)
    await this.#note(log, cmd)
  }

  #of (log: OpenLog): Pending {
    let p = this.#pending.get(log.record.key)
    if (!p) this.#pending.set(log.record.key, p = { messages: new Map(), pads: [] })
    return p
  }

  /** Caches the epoch of the settled `view` of `log` (it only grows) and returns it. */
  async #noteSettledEpoch (log: OpenLog, view: Bee): Promise<number> {
    const epoch = Math.max(this.#settledEpoch.get(log.record.key) ?? 0, (await getRecord<number>(view, K.epoch)) ?? 0)
    this.#settledEpoch.set(log.record.key, epoch)
    return epoch
  }

  /** The newest epoch the settled log has (cached, it only grows) and how many of this device's entries it holds. */
  async #refreshSettled (log: OpenLog): Promise<{ epoch: number, mine: number }> {
    const settled = await log.group.settled()
    if (settled === null) return { epoch: this.#settledEpoch.get(log.record.key) ?? 0, mine: 0 }
    try {
      return { epoch: await this.#noteSettledEpoch(log, settled.view), mine: settled.mine }
    } finally {
      await settled.view.close().catch(() => { /* a snapshot: nothing of it needs saving */ })
    }
  }
}

const kindOf = (cmd: Resealable): 'pad' | 'message' => cmd.t === 'pad/update' ? 'pad' : 'message'

/** The keys of `epoch` that the settled view gives this device (its box, and alternates). */
async function settledKeys (view: Bee, log: OpenLog, epoch: number, host: ResealHost): Promise<Buffer[]> {
  if (epoch === 0) return log.keyring.all(0).slice(0, 1) // epoch 0's key comes with the log key
  const boxes = (await log.group.epochBoxes(host.device(), view)).filter(b => b.epoch === epoch)
  return boxes.map(b => openEpochKey(b.box, log.group.discoveryKey, epoch, host.identity)).filter((k): k is Buffer => k !== null)
}

/** Whether one of `keys` opens `body` to exactly `text`. */
async function opensTo (body: Sealed, text: Buffer, keys: Buffer[], log: OpenLog): Promise<boolean> {
  for (const key of keys) {
    const plain = openContent(key, body, log.keyring.discoveryKey, 'message')
    if (plain) return b4a.equals(plain, text)
  }
  return false
}

