/**
 * Blind mirrors of this node's groups (client side; the server is relay/src/mirror.ts).
 *
 * A mirror is an always-on blind-peer: it stores and serves the cores of a group's
 * Autobase (writers, system, views), all encrypted with the group key, without ever
 * holding that key. `solidar mirror add GROUP KEY` records the mirror's public key for
 * the group in `<home>/mirrors.json`; from then on (and after every restart) the node's
 * blind-peering client dials the mirror by its key through the DHT and asks it to keep
 * the group's cores: this device's writer, the views and the writers this device knows
 * (and every writer that appears later). Over that connection the mirror downloads the
 * blocks, and serves them back to any member device that dials it the same way: a member
 * that was offline catches up from the mirror alone.
 *
 * `mirrors.json` (0600, written atomically like every home file):
 *   { "version": 1, "groups": { "<group id>": ["<mirror key, z-base-32>", …] } }
 * It holds no secret (mirror keys are public keys), but reveals which groups use which
 * mirror, so it gets the same mode as the rest of the home.
 *
 * Mirrors need a HyperDHT (hyperswarm transport). Without a network the choice is saved
 * and takes effect once the node runs with --bootstrap or --public-dht.
 */
import fs from 'node:fs'
import path from 'node:path'
import b4a from 'b4a'
import BlindPeering from 'blind-peering'
import { decodeKey, encodeKey, errors, type GroupId } from '@solidar/core'
import { writeFileAtomic } from './home.ts'

export const MIRRORS_FILE = 'mirrors.json'
/** More mirrors per group than this is almost certainly a mistake (each one gets every core). */
export const MAX_MIRRORS_PER_GROUP = 16

/** A mirror of one group as this device sees it. */
export interface MirrorStatus {
  /** The mirror's public key, z-base-32. */
  key: string
  /** True while this device has a replication session with the mirror. */
  connected: boolean
  /** Blocks in this device's own writer core of the group. */
  localLength: number
  /**
   * How many of those blocks (from the start, without gaps) the mirror has confirmed it
   * holds; null while not connected. Equal to `localLength`: everything this device wrote
   * is on the mirror.
   */
  mirroredLength: number | null
}

export interface GroupMirrors {
  group: GroupId
  /** False when the node runs without a DHT: mirrors are remembered but not used. */
  active: boolean
  mirrors: MirrorStatus[]
}

export interface MirrorAddResult extends GroupMirrors {
  key: string
  /** False if the mirror was already recorded for this group. */
  added: boolean
}

/** What the mirror routes of the local API need. */
export interface MirrorApi {
  list (group: string): Promise<GroupMirrors>
  add (group: string, key: string): Promise<MirrorAddResult>
}

/** The part of core's `Solidar` the manager uses. */
export interface MirrorHost {
  logBase (ref: string): Promise<{ id: GroupId, base: any }>
}

/** Checks and normalises a mirror key (z-base-32 or hex); BAD_REQUEST otherwise. */
export function parseMirrorKey (text: unknown): Buffer {
  if (typeof text !== 'string') throw errors.badRequest('missing mirror key')
  return decodeKey(text, 'mirror key (52 characters, as `solidar mirror serve` prints it)')
}

/** The mirrors per group id recorded in `home`; empty if there is no file yet. Throws BAD_REQUEST for a damaged file. */
export function readMirrors (home: string): Map<string, string[]> {
  const file = path.join(home, MIRRORS_FILE)
  let text: string
  try {
    text = fs.readFileSync(file, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return new Map()
    throw err
  }
  let raw: any
  try { raw = JSON.parse(text) } catch { throw errors.badRequest(`${file} is damaged (not JSON)`) }
  if (raw === null || typeof raw !== 'object' || raw.version !== 1 || raw.groups === null || typeof raw.groups !== 'object' || Array.isArray(raw.groups)) {
    throw errors.badRequest(`${file} has an unknown format`)
  }
  const out = new Map<string, string[]>()
  for (const [group, keys] of Object.entries(raw.groups)) {
    if (!Array.isArray(keys)) throw errors.badRequest(`${file}: the mirrors of group ${group} are not a list`)
    const clean: string[] = []
    for (const key of keys) {
      let normalised: string
      try { normalised = encodeKey(parseMirrorKey(key)) } catch { throw errors.badRequest(`${file}: "${String(key)}" is not a mirror key`) }
      if (!clean.includes(normalised)) clean.push(normalised)
    }
    out.set(group, clean)
  }
  return out
}

/** Replaces `mirrors.json` (atomic, 0600). */
export function writeMirrors (home: string, mirrors: Map<string, string[]>): void {
  const groups: Record<string, string[]> = {}
  for (const [group, keys] of [...mirrors].sort(([a], [b]) => a.localeCompare(b))) if (keys.length > 0) groups[group] = keys
  writeFileAtomic(path.join(home, MIRRORS_FILE), JSON.stringify({ version: 1, groups }, null, 2) + '\n')
}

export interface MirrorManagerOptions {
  home: string
  node: MirrorHost
  /** The node's Corestore (blind-peering replicates it with the mirror). */
  store: any
  /** The HyperDHT of the node's hyperswarm transport; null without a network. */
  dht: any | null
  /** Called with errors no request waits for. */
  onError?: (err: Error) => void
}

interface Attached {
  base: any
  keys: Set<string>
  writers: Set<string>
  onWriter: (writer: any) => void
}

export class MirrorManager implements MirrorApi {
  readonly home: string
  #node: MirrorHost
  #store: any
  #dht: any | null
  #peering: any | null = null
  #mirrors = new Map<string, string[]>()
  #attached = new Map<string, Attached>()
  #saving: Promise<void> = Promise.resolve()
  #closed = false
  #onError: (err: Error) => void

  constructor (opts: MirrorManagerOptions) {
    this.home = opts.home
    this.#node = opts.node
    this.#store = opts.store
    this.#dht = opts.dht
    this.#onError = opts.onError ?? (() => {})
  }

  get active (): boolean { return this.#dht !== null }

  /** Loads `mirrors.json` and starts mirroring every recorded group this node has open. */
  async start (): Promise<void> {
    this.#mirrors = readMirrors(this.home)
    if (this.#dht === null) return
    for (const [group, keys] of this.#mirrors) {
      let found: { id: GroupId, base: any }
      try {
        found = await this.#node.logBase(group)
      } catch {
        continue // a group this device left: its entry stays, harmless
      }
      for (const key of keys) this.#attach(found.id, found.base, key)
    }
  }

  async list (ref: string): Promise<GroupMirrors> {
    const { id, base } = await this.#node.logBase(ref)
    return this.#status(id, base)
  }

  async add (ref: string, keyText: string): Promise<MirrorAddResult> {
    const key = encodeKey(parseMirrorKey(keyText))
    if (this.#closed) throw errors.closed()
    const { id, base } = await this.#node.logBase(ref)
    const keys = this.#mirrors.get(id) ?? []
    const added = !keys.includes(key)
    if (added) {
      if (keys.length >= MAX_MIRRORS_PER_GROUP) throw errors.badRequest(`a group can use at most ${MAX_MIRRORS_PER_GROUP} mirrors`)
      this.#mirrors.set(id, [...keys, key])
      await this.#save()
    }
    if (this.#dht !== null) this.#attach(id, base, key)
    return { ...this.#status(id, base), key, added }
  }

  /** Saves the current map; writes are serialised so the file always holds the latest state. */
  #save (): Promise<void> {
    const snapshot = new Map([...this.#mirrors].map(([g, k]) => [g, [...k]]))
    this.#saving = this.#saving.catch(() => { /* the earlier call got its own error; this one runs regardless */ }).then(() => writeMirrors(this.home, snapshot))
    return this.#saving
  }

  #peeringClient (): any {
    this.#peering ??= new BlindPeering(this.#dht, this.#store, { keys: [] })
    return this.#peering
  }

  /**
   * Asks the mirror `key` to keep the cores of `base`. blind-peering sends this device's
   * writer, the views and the known writers, and resends on every reconnect; writers that
   * open later are added one by one, so the mirror follows the group for its whole life.
   */
  #attach (group: GroupId, base: any, key: string): void {
    if (this.#closed || base.closing) return
    let entry = this.#attached.get(group)
    if (entry !== undefined && entry.base !== base) {
      entry.base.off('writer', entry.onWriter)
      entry = undefined
    }
    if (entry === undefined) {
      const fresh: Attached = {
        base,
        keys: new Set(),
        writers: new Set(),
        onWriter: (writer: any) => {
          const core = writer?.core
          if (core?.key && !fresh.writers.has(b4a.toString(core.key, 'hex'))) this.#addWriter(fresh, core, [...fresh.keys])
        }
      }
      base.on('writer', fresh.onWriter)
      base.once('close', () => {
        base.off('writer', fresh.onWriter)
        if (this.#attached.get(group) === fresh) this.#attached.delete(group)
      })
      this.#attached.set(group, fresh)
      entry = fresh
    }
    if (entry.keys.has(key)) return
    entry.keys.add(key)
    this.#peeringClient().addAutobase(base, { keys: [decodeKey(key)], pick: 1 }).catch((err: Error) => this.#report(err))
    for (const writer of base.activeWriters ?? []) this.#addWriter(entry, writer.core, [key])
  }

  /**
   * Asks the mirrors `keys` to keep one writer core (blind-peering sends writers only once per
   * base). Priority 1 like addAutobase's cores: writers are the data, not to be cleared first.
   */
  #addWriter (entry: Attached, core: any, keys: string[]): void {
    if (this.#closed || core === undefined || core === null || entry.base.closing) return
    entry.writers.add(b4a.toString(core.key, 'hex'))
    for (const key of keys) {
      this.#peeringClient().addCore(core, { keys: [decodeKey(key)], pick: 1, referrer: entry.base.key, priority: 1 })
        .catch((err: Error) => this.#report(err))
    }
  }

  #report (err: Error): void {
    if (!this.#closed) this.#onError(err)
  }

  /** True while blind-peering holds an open connection to the mirror (blind-peering 2.x keeps it in `blindPeers`). */
  #connected (publicKey: Buffer): boolean {
    return this.#peering?.blindPeers?.get(b4a.toString(publicKey, 'hex'))?.connected === true
  }

  #status (group: GroupId, base: any): GroupMirrors {
    const local = base.local
    const localLength: number = local?.length ?? 0
    const peers: any[] = local?.peers ?? []
    const mirrors = (this.#mirrors.get(group) ?? []).map((key): MirrorStatus => {
      const publicKey = decodeKey(key)
      const peer = peers.find((p) => p.remotePublicKey !== undefined && p.remotePublicKey !== null && b4a.equals(p.remotePublicKey, publicKey))
      const connected = this.#connected(publicKey) || peer !== undefined
      let mirroredLength: number | null = null
      if (peer !== undefined) mirroredLength = Math.min(localLength, peer.remoteContiguousLength)
      else if (connected && localLength === 0) mirroredLength = 0
      return { key, connected, localLength, mirroredLength }
    })
    return { group, active: this.active, mirrors }
  }

  async close (): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    for (const entry of this.#attached.values()) entry.base.off?.('writer', entry.onWriter)
    this.#attached.clear()
    await this.#saving.catch(() => { /* a failed save was reported to its caller; closing only waits for it */ })
    await this.#peering?.close()
  }
}
