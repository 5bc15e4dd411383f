/**
 * What the XMPP bridge remembers across restarts, in one JSON file (0600, written atomically
 * after every change): which Solidar messages it already passed to XMPP, the Jabber occupants
 * of each room (they stay in the room while the bridge restarts), and for each member the JID
 * that last wrote to them (where a reply goes).
 *
 * XMPP → Solidar needs no record: a stanza's Solidar id is derived from it
 * (`bridgedMessageId`), so forwarding it twice is refused as a duplicate by every peer.
 */
import fs from 'node:fs'
import path from 'node:path'
import { writeFileAtomic } from '@solidar/node/home'

/** Solidar message ids (and edit/delete markers) remembered as forwarded; older ones are beyond the catch-up window anyway. */
export const MAX_FORWARDED = 5000
/**
 * Changes are written at most this long after they happen (one fsync'd write for a burst of
 * messages, not one per message). A crash in that window can send those messages to XMPP once
 * more after the restart; it never loses one (Solidar → XMPP catch-up) and never duplicates in
 * Solidar (XMPP → Solidar ids are derived from the stanza).
 */
export const SAVE_DELAY_MS = 100
const VERSION = 1

export interface Occupant { nick: string, jid: string }

interface StateFile {
  version: number
  group: string
  since: number
  forwarded: string[]
  occupants: Record<string, Occupant[]>
  replyTo: Record<string, string>
}

export class BridgeState {
  readonly file: string
  /** False until the first run finished marking the existing history as already seen. */
  initialized: boolean
  /** When the bridge first ran for this group: older messages are history, never sent live (they may replicate to it late). */
  readonly since: number
  #forwarded: Set<string>
  /** room → occupants (Jabber users only) */
  occupants: Map<string, Occupant[]>
  /** member id → bare JID that last wrote to that member */
  replyTo: Map<string, string>
  #group: string

  private constructor (file: string, group: string, data: StateFile | null) {
    this.file = file
    this.#group = group
    this.initialized = data !== null
    this.since = typeof data?.since === 'number' ? data.since : data === null ? Date.now() : 0
    this.#forwarded = new Set(data?.forwarded ?? [])
    this.occupants = new Map(Object.entries(data?.occupants ?? {}))
    this.replyTo = new Map(Object.entries(data?.replyTo ?? {}))
  }

  /** Loads `<dir>/xmpp-bridge-<group>.json`; a damaged file is an error, not a silent reset. */
  static load (dir: string, group: string): BridgeState {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 })
    const file = path.join(dir, `xmpp-bridge-${group}.json`)
    let text: string | null = null
    try { text = fs.readFileSync(file, 'utf8') } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
    }
    if (text === null) return new BridgeState(file, group, null)
    let data: StateFile
    try { data = JSON.parse(text) } catch { throw new Error(`${file} is not valid JSON: move it away to start the bridge afresh`) }
    if (data?.version !== VERSION || data.group !== group || !Array.isArray(data.forwarded)) {
      throw new Error(`${file} is not a bridge state of version ${VERSION} for group ${group}`)
    }
    return new BridgeState(file, group, data)
  }

  wasForwarded (id: string): boolean { return this.#forwarded.has(id) }

  markForwarded (ids: Iterable<string>): void {
    for (const id of ids) {
      this.#forwarded.delete(id)
      this.#forwarded.add(id)
    }
    while (this.#forwarded.size > MAX_FORWARDED) this.#forwarded.delete(this.#forwarded.values().next().value as string)
  }

  #timer: NodeJS.Timeout | null = null

  /** Saves within SAVE_DELAY_MS (coalescing a burst of changes into one write). */
  saveSoon (): void {
    this.#timer ??= setTimeout(() => { this.#timer = null; this.save() }, SAVE_DELAY_MS)
  }

  /** Writes now (atomically, fsync'd); cancels a pending delayed save. */
  save (): void {
    if (this.#timer !== null) { clearTimeout(this.#timer); this.#timer = null }
    this.initialized = true
    const data: StateFile = {
      version: VERSION,
      group: this.#group,
      since: this.since,
      forwarded: [...this.#forwarded],
      occupants: Object.fromEntries(this.occupants),
      replyTo: Object.fromEntries(this.replyTo)
    }
    writeFileAtomic(this.file, JSON.stringify(data))
  }
}
