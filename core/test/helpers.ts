import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import Corestore from 'corestore'
import { Solidar, MemoryNetwork, MemoryLocalStore, createIdentity } from '../src/index.ts'

/** Polls `fn` until it returns a truthy value, or fails after `timeout` ms with `what`. */
export async function waitFor<T> (fn: () => Promise<T> | T, what: string, timeout = 10_000): Promise<T> {
  const start = Date.now()
  let last: unknown
  while (Date.now() - start < timeout) {
    try {
      const v = await fn()
      if (v) return v
    } catch (err) { last = err }
    await new Promise(resolve => setTimeout(resolve, 25))
  }
  throw new Error(`timed out after ${timeout} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`)
}

/** N Solidar nodes with real corestores in a temp dir, connected by an in-memory network. */
export async function makeNodes (names: string[], t: { after: (fn: () => Promise<void>) => void }) {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'solidar-core-'))
  const network = new MemoryNetwork()
  const nodes: Array<Solidar & { label: string }> = []
  for (const name of names) {
    const store = new Corestore(path.join(dir, name))
    const node = await Solidar.open({ identity: createIdentity(name), store, local: new MemoryLocalStore(), transport: network.transport() }) as Solidar & { label: string }
    node.label = name
    nodes.push(node)
  }
  t.after(async () => {
    for (const n of nodes) { await n.close(); await n.transport?.close(); await n.store.close() }
    await fs.rm(dir, { recursive: true, force: true })
  })
  return { nodes, network, dir }
}
