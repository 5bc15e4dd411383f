/**
 * A node that started read-only on a full disk (see read-only.ts), and becomes writable by
 * itself once space returns: every `checkMs` it reads the free space of the store's file
 * system (one statfs); with enough, it closes the read-only store and opens the node for
 * writing, behind the same `api` object (an API server keeps serving it), and announces it
 * with a `{ type: 'storage', writable: true }` event. Requests that arrive during the switch
 * get CLOSED. If the writable start fails again for lack of space, it goes on read-only.
 */
import { Solidar, type NodeStorage, type SolidarApi, type SolidarEvent } from '@solidar/core'
import { closeDiskStore, openDiskStore, storeDir } from './disk-store.ts'
import { FileStore } from './file-store.ts'
import { readIdentity } from './home.ts'
import { MirrorManager, type MirrorApi } from './mirrors.ts'
import { WRITABLE_CHECK_MS, diskFullError, diskFullStorage, freeBytes, isDiskFull, readOnlyApi } from './read-only.ts'
import type { RunningNode, StartNodeOptions } from './runtime.ts'
import { Teardown } from './teardown.ts'

/** One opened node: the writable one, or the read-only one. */
interface Opened {
  solidar: Solidar
  api: SolidarApi
  mirrors: MirrorApi
  close (): Promise<void>
}

/** Opens the store read-only and a Solidar on it with no network; `cause` is thrown if that fails. */
async function openReadOnly (opts: StartNodeOptions, storage: () => NodeStorage, cause: unknown): Promise<Opened> {
  const identity = readIdentity(opts.home)
  if (!identity) throw cause
  const teardown = new Teardown()
  let store: any
  let solidar: Solidar
  try {
    store = openDiskStore(opts.home, { readOnly: true })
    teardown.add('the read-only data store', () => closeDiskStore(store))
    solidar = await Solidar.open({
      identity, store, transport: null, local: new FileStore(opts.home),
      networkMode: opts.network.mode, bootstrap: opts.network.bootstrap
    })
  } catch (err) {
    // The disk-full error says what the user can do; why the read-only open failed goes with it.
    return teardown.abort(Object.assign(cause instanceof Error ? cause : new Error(String(cause)), { readOnlyOpen: err }), opts.onWarning)
  }
  teardown.add('the node', () => solidar.close())
  const stopErrors = opts.onError ? solidar.onError(opts.onError) : () => {}
  teardown.add('the error listener', stopErrors)
  const refuse = () => diskFullError(storage())
  const manager = new MirrorManager({ home: opts.home, node: solidar, store, dht: null })
  teardown.add('the mirrors', () => manager.close())
  try {
    await manager.start() // reads mirrors.json only (no network)
  } catch (err) {
    return teardown.abort(err, opts.onWarning)
  }
  return {
    solidar,
    api: readOnlyApi(solidar, refuse),
    mirrors: { list: (group) => manager.list(group), add: async () => { throw refuse() } },
    async close () {
      // Every step runs; the first failure is the answer, once everything is closed.
      const failures = await teardown.run()
      if (failures.length > 0) throw failures[0].error
    }
  }
}

/**
 * Starts the node read-only after `cause` (a disk-full failure of the writable start), and
 * switches to `openWritable(opts)` once enough space is free.
 */
export async function startReadOnlyNode (
  opts: StartNodeOptions,
  cause: unknown,
  openWritable: (opts: StartNodeOptions) => Promise<RunningNode>
): Promise<RunningNode> {
  const dir = storeDir(opts.home)
  let storage: NodeStorage = diskFullStorage(dir, freeBytes(dir))
  let current: Opened = await openReadOnly(opts, () => storage, cause)
  const listeners = new Set<(event: SolidarEvent) => void>()
  const detach = new Map<(event: SolidarEvent) => void, () => void>()
  const attachAll = () => { for (const l of listeners) detach.set(l, current.api.subscribe(l)) }
  attachAll()

  let closed = false
  let switching: Promise<void> | null = null
  const check = async (): Promise<void> => {
    const free = freeBytes(dir)
    storage = { ...storage, free }
    if (free < storage.needed || closed) return
    for (const stop of detach.values()) stop()
    detach.clear()
    await current.close().catch((err) => opts.onError?.(err))
    try {
      const node = await openWritable(opts)
      current = { solidar: node.solidar, api: node.api, mirrors: node.mirrors, close: () => node.close() }
      storage = { ...storage, writable: true, reason: null, free: freeBytes(dir) }
      clearInterval(timer)
    } catch (err) {
      // Still too full (the space went again): stay read-only and keep checking. Another
      // failure (a damaged store): report it and stop trying; a restart shows it again.
      if (!isDiskFull(err)) {
        opts.onError?.(err as Error)
        clearInterval(timer)
      }
      storage = diskFullStorage(dir, freeBytes(dir))
      current = await openReadOnly(opts, () => storage, err)
    }
    attachAll()
    if (storage.writable) for (const l of listeners) l({ type: 'storage', writable: true })
  }
  const runCheck = (): Promise<void> => {
    switching ??= check().catch((err) => opts.onError?.(err)).finally(() => { switching = null })
    return switching
  }
  const timer = setInterval(() => { void runCheck() }, opts.writableCheckMs ?? WRITABLE_CHECK_MS)
  timer.unref()

  // One api object for the node's whole life: it forwards to whichever node is open now.
  const api = new Proxy({} as SolidarApi, {
    get (_, key) {
      if (key === 'subscribe') {
        return (listener: (event: SolidarEvent) => void) => {
          listeners.add(listener)
          detach.set(listener, current.api.subscribe(listener))
          return () => { listeners.delete(listener); detach.get(listener)?.(); detach.delete(listener) }
        }
      }
      if (key === 'status') return async () => ({ ...await current.api.status(), storage: { ...storage } })
      const value = Reflect.get(current.api, key)
      return typeof value === 'function' ? value.bind(current.api) : value
    }
  })
  let closing: Promise<void> | null = null
  return {
    api,
    get solidar () { return current.solidar },
    mirrors: { list: (group) => current.mirrors.list(group), add: (group, key) => current.mirrors.add(group, key) },
    get storage () { return { ...storage } },
    async checkStorage () {
      if (!storage.writable) await runCheck()
      return { ...storage }
    },
    close () {
      closing ??= (async () => {
        closed = true
        clearInterval(timer)
        await switching
        for (const stop of detach.values()) stop()
        await current.close()
      })()
      return closing
    }
  }
}
