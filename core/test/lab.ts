/**
 * Fixtures for tests that drive real Groups (Autobase + Hyperbee view) over real Corestores
 * in a temp dir, replicated in-process, or call `applyNodes` directly on a Hyperbee; and
 * helpers that seal and open message bodies the way the wire format says (content.ts),
 * independently of Solidar's Keyring.
 */
import assert from 'node:assert/strict'
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { isDeepStrictEqual } from 'node:util'
import Corestore from 'corestore'
import Hyperbee from 'hyperbee'
import hcrypto from 'hypercore-crypto'
import b4a from 'b4a'
import { Group } from '../src/group.ts'
import type { LogNode } from '../src/apply.ts'
import { signBinding } from '../src/binding.ts'
import { encode, decode } from '../src/codec.ts'
import { commandValue, type Command, type MessageEdit, type MessagePost } from '../src/commands.ts'
import { epochZeroKey, openContent, sealContent, type Sealed } from '../src/content.ts'
import { createIdentity, type Identity } from '../src/identity.ts'
import type { Bee, MessageRecord } from '../src/view.ts'
import { waitFor } from './helpers.ts'
import { CURRENT_RULES } from '../src/rules.ts'

export const hex = (b: Uint8Array) => b4a.toString(b, 'hex') as string
export const randomKey = () => hcrypto.randomBytes(32) as Buffer

type After = { after: (fn: () => Promise<void>) => void }

// ------------------------------------------------------------------ message bodies

/**
 * The epoch keys of one log, as a test knows them: epoch 0 derived from the log key
 * (what every admitted member holds), later epochs added by hand.
 */
export class Texts {
  readonly keys = new Map<number, Buffer>()
  constructor (logKey: Uint8Array, readonly discoveryKey: Buffer) {
    this.keys.set(0, epochZeroKey(logKey))
  }

  seal (text: string, epoch = 0): Sealed {
    const key = this.keys.get(epoch)
    assert.ok(key, `test holds no key for epoch ${epoch}`)
    return sealContent(key, epoch, this.discoveryKey, 'message', b4a.from(text))
  }

  /** The text of a body (or a message record), or null when it is absent or does not open. */
  open (x: Sealed | MessageRecord | null | undefined): string | null {
    const body = x && 'c' in x ? x : x?.body
    if (!body) return null
    const key = this.keys.get(body.e)
    const plain = key ? openContent(key, body, this.discoveryKey, 'message') : null
    return plain ? b4a.toString(plain) : null
  }

  post (id: string, text: string, extra: Partial<MessagePost> & { epoch?: number } = {}): Command {
    const { epoch, ...rest } = extra
    return { t: 'message/post', id, room: 'general', body: this.seal(text, epoch), ts: Date.now(), ...rest }
  }

  edit (id: string, text: string, extra: Partial<MessageEdit> & { epoch?: number } = {}): Command {
    const { epoch, ...rest } = extra
    return { t: 'message/edit', id, body: this.seal(text, epoch), ts: Date.now(), ...rest }
  }
}

// ------------------------------------------------------------------ real groups

export interface Peer { name: string, id: Identity, store: any, group: Group }

/** Temp dir, corestores, groups and replication streams of one test; all torn down in t.after. */
export class Lab {
  dir = ''
  stores: any[] = []
  groups: Group[] = []
  streams = new Set<any>()
  encryptionKey = randomKey()

  static async create (t: After, prefix = 'solidar-apply-'): Promise<Lab> {
    const lab = new Lab()
    lab.dir = await fs.mkdtemp(path.join(os.tmpdir(), prefix))
    t.after(() => lab.cleanup())
    return lab
  }

  store (name: string): any {
    const store = new Corestore(path.join(this.dir, name))
    this.stores.push(store)
    return store
  }

  group (store: any, key: Buffer | null): Group {
    const group = new Group({ store: store.namespace('group'), key, encryptionKey: this.encryptionKey })
    group.on('error', () => {})
    this.groups.push(group)
    return group
  }

  /** Sealing and opening message bodies of `group` under epoch 0 (more epochs: `texts.keys.set`). */
  texts (group: Group): Texts {
    return new Texts(this.encryptionKey, group.discoveryKey)
  }

  /** Replicates two peers' stores in-process; returns a function that cuts the link. */
  connect (x: Peer, y: Peer): () => void {
    const a = x.store.replicate(true)
    const b = y.store.replicate(false)
    a.on('error', () => {}); b.on('error', () => {})
    a.pipe(b).pipe(a)
    this.streams.add(a); this.streams.add(b)
    return () => { a.destroy(); b.destroy(); this.streams.delete(a); this.streams.delete(b) }
  }

  /** Creates a group as this code does (current apply rules; `rules` for an older log). */
  async creator (name: string, rules: number | undefined = CURRENT_RULES): Promise<Peer> {
    const id = createIdentity(name)
    const store = this.store(name)
    const group = this.group(store, null)
    await group.ready()
    await group.append({ t: 'group/create', kind: 'group', name: 'Works council', member: id.publicKey, memberName: name, sig: signBinding(group.key, group.localWriterKey, id.secretKey), ts: Date.now(), ...(rules !== undefined ? { rules } : {}) })
    return { name, id, store, group }
  }

  /**
   * A new peer admitted by `admin` (member/add without invite), connected to `admin`.
   * `id` re-admits an identity (a new device writer, as after a removal).
   */
  async member (admin: Peer, name: string, role: 'admin' | 'member' | 'observer' = 'member', opts: { id?: Identity, extra?: object } = {}): Promise<Peer> {
    const id = opts.id ?? createIdentity(name)
    const store = this.store(`${name}-${this.stores.length}`)
    const group = this.group(store, admin.group.key)
    await group.ready()
    const peer = { name, id, store, group }
    this.connect(admin, peer)
    await admin.group.append({ t: 'member/add', member: id.publicKey, writer: group.localWriterKey, name, role, sig: signBinding(admin.group.key, group.localWriterKey, id.secretKey), ts: Date.now(), ...opts.extra } as Command)
    await group.waitForWritable(AbortSignal.timeout(10_000))
    return peer
  }

  disconnectAll () {
    for (const s of this.streams) s.destroy()
    this.streams.clear()
  }

  async cleanup () {
    for (const s of this.streams) s.destroy()
    for (const g of this.groups) await g.close().catch(() => {})
    for (const s of this.stores) await s.close().catch(() => {})
    await fs.rm(this.dir, { recursive: true, force: true })
  }
}

export type Entry = [string, unknown]

/** Every key and value of a group's view, in key order. */
export async function dump (bee: Bee): Promise<Entry[]> {
  const out: Entry[] = []
  for await (const { key, value } of bee.createReadStream({})) out.push([key, decode(value)])
  return out
}

export const withoutAudit = (entries: Entry[]) => entries.filter(([k]) => !k.startsWith('a!') && k !== 'n!audit')

/** Waits until all groups have the same view, optionally with `audits` audit entries. */
export async function converged (groups: Group[], what: string, audits?: number, timeout = 10_000): Promise<Entry[]> {
  const view = await waitFor(async () => {
    await Promise.all(groups.map(g => g.update()))
    const dumps = await Promise.all(groups.map(g => dump(g.view)))
    if (!dumps.every(d => isDeepStrictEqual(d, dumps[0]))) return null
    if (audits !== undefined && (await groups[0].audit()).length !== audits) return null
    return dumps[0]
  }, what, timeout)
  return view!
}

// ------------------------------------------------------------------ applyNodes directly

/**
 * Stands in for Autobase's writer set: records what apply asks of it and, like Autobase,
 * refuses to remove the last indexer.
 */
export class RecordingHost {
  added: Array<{ key: string, indexer: boolean }> = []
  removed: string[] = []
  indexers = new Set<string>()

  constructor (bootstrap?: Buffer) { if (bootstrap) this.indexers.add(hex(bootstrap)) }

  async addWriter (key: Buffer, opts: { indexer: boolean }) {
    this.added.push({ key: hex(key), indexer: opts.indexer })
    if (opts.indexer) this.indexers.add(hex(key))
    else this.indexers.delete(hex(key))
  }

  async removeWriter (key: Buffer) {
    this.removed.push(hex(key))
    this.indexers.delete(hex(key))
  }

  removeable (key: Buffer): boolean {
    return !(this.indexers.has(hex(key)) && this.indexers.size === 1)
  }

  /** Like Autobase: apply ends here (it throws), the entry stays unapplied. */
  interrupted: unknown[] = []
  interrupt (reason: unknown): never {
    this.interrupted.push(reason)
    throw new Error('Apply interrupted')
  }

  get system () {
    return { indexers: [...this.indexers].map(k => ({ key: b4a.from(k, 'hex') as Buffer })) }
  }
}

/** `n` empty Hyperbees on real corestores in a temp dir. */
export async function bees (t: After, n = 1): Promise<Bee[]> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'solidar-bee-'))
  const stores: any[] = []
  const out: Bee[] = []
  for (let i = 0; i < n; i++) {
    const store = new Corestore(path.join(dir, String(i)))
    stores.push(store)
    const b = new Hyperbee(store.get({ name: 'view' }), { keyEncoding: 'utf-8', valueEncoding: 'binary' })
    await b.ready()
    out.push(b)
  }
  t.after(async () => {
    for (const s of stores) await s.close()
    await fs.rm(dir, { recursive: true, force: true })
  })
  return out
}

/** The cast of most apply tests: one view, the bootstrap writer, a recording host, alice (its creator) and bob with a writer key. */
export async function applyCast (t: After) {
  const [view] = await bees(t)
  const boot = randomKey()
  return { view, boot, host: new RecordingHost(boot), alice: createIdentity('alice'), bob: createIdentity('bob'), bobWriter: randomKey() }
}

export const node = (writer: Buffer, cmd: Command | null): LogNode => ({ value: cmd === null ? null : encode(commandValue(cmd)), from: { key: writer } })

export const auditOf = async (bee: Bee) => (await dump(bee)).filter(([k]) => k.startsWith('a!')).map(([, v]) => v as { n: number, writer: string, type: string, reason: string })
