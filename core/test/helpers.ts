import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import Corestore from 'corestore'
import assert from 'node:assert/strict'
import { Solidar, MemoryNetwork, MemoryLocalStore, createIdentity, MAX_PAGE } from '../src/index.ts'
import type { MessageView } from '../src/types.ts'
import { SolidarError } from '../src/errors.ts'

import { waitFor } from './wait.ts'
export { waitFor }

/**
 * N Solidar nodes with real corestores in a temp dir (`<dir>/<name>`), connected by an
 * in-memory network. `now` replaces the nodes' clock (one per node if an array: clock-skew
 * tests); `locals[i]` is node i's local store.
 */
export async function makeNodes (names: string[], t: { after: (fn: () => Promise<void>) => void }, opts: { now?: (() => number) | Array<() => number>, presenceTtlMs?: number } = {}) {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'solidar-core-'))
  const network = new MemoryNetwork()
  const nodes: Array<Solidar & { label: string }> = []
  const locals: MemoryLocalStore[] = []
  for (const [i, name] of names.entries()) {
    const now = Array.isArray(opts.now) ? opts.now[i] : opts.now
    const store = new Corestore(path.join(dir, name))
    const local = new MemoryLocalStore()
    const node = await Solidar.open({ identity: createIdentity(name), store, local, transport: network.transport(), ...(now ? { now } : {}), ...(opts.presenceTtlMs !== undefined ? { presenceTtlMs: opts.presenceTtlMs } : {}) }) as Solidar & { label: string }
    node.label = name
    nodes.push(node)
    locals.push(local)
  }
  t.after(async () => {
    for (const n of nodes) { await n.close(); await n.transport?.close(); await n.store.close() }
    await fs.rm(dir, { recursive: true, force: true })
  })
  return { nodes, network, dir, locals }
}

/** Every message of a group, oldest first, read page by page (`messages` answers one page of at most MAX_PAGE). */
export async function allMessages (node: Pick<Solidar, 'messages'>, group: string): Promise<MessageView[]> {
  const pages: MessageView[][] = []
  let before: string | undefined
  for (;;) {
    const page = await node.messages(group, { before, limit: MAX_PAGE })
    pages.unshift(page)
    if (page.length < MAX_PAGE) return pages.flat()
    before = page[0].id
  }
}

/** A small seeded PRNG (mulberry32), so fuzz and convergence runs are reproducible. */
export function seededRandom (seed: number) {
  let s = seed >>> 0
  const next = (): number => {
    s = (s + 0x6d2b79f5) >>> 0
    let x = s
    x = Math.imul(x ^ (x >>> 15), x | 1)
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61)
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296
  }
  const int = (n: number) => Math.floor(next() * n)
  return {
    next,
    int,
    pick: <T>(items: readonly T[]): T => items[int(items.length)],
    bytes: (n: number): Buffer => { const b = Buffer.alloc(n); for (let i = 0; i < n; i++) b[i] = int(256); return b }
  }
}

/** Resolves to the SolidarError `p` rejects with (fails if it resolves or throws something else). */
export async function failure (p: Promise<unknown>, code: string): Promise<SolidarError> {
  try {
    await p
  } catch (err) {
    assert.ok(err instanceof SolidarError, `expected SolidarError ${code}, got ${String(err)}`)
    assert.equal(err.code, code, err.message)
    return err
  }
  assert.fail(`expected ${code}, but it succeeded`)
}

/** `admin` removes `removed` and makes `observer` an observer; resolves once `witness` sees both (the live-path security tests start here). */
export async function removeOneDemoteOne (group: string, admin: Solidar, witness: Solidar, removed: Solidar, observer: Solidar): Promise<void> {
  await admin.removeMember(group, removed.whoami().id)
  await admin.setRole(group, observer.whoami().id, 'observer')
  await waitFor(async () => {
    const members = await witness.members(group)
    return !members.some(m => m.id === removed.whoami().id) && members.some(m => m.id === observer.whoami().id && m.role === 'observer')
  }, `${witness.whoami().name} sees one removed and one an observer`)
}
