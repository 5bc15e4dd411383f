/**
 * A benchmark worker process. It hosts whatever a scenario places in it (Solidar nodes,
 * XMPP clients, raw hypercore peers) and answers the coordinator's calls over IPC.
 * Events (a message arrived, a message was sent) carry the time they happened on the
 * monotonic clock, which all processes on the machine share; they are sent in batches.
 * The worker exits when its parent goes away.
 */
import { now } from './clock.ts'

type Handler = (args: any, emit: (event: string, data: unknown) => void) => Promise<unknown> | unknown
type Module = { ops: Record<string, Handler>, shutdown (): Promise<void> }

const loaders: Record<string, () => Promise<Module>> = {
  solidar: () => import('./host-solidar.ts'),
  xmpp: () => import('./host-xmpp.ts'),
  hc: () => import('./host-hypercore.ts'),
  yjs: () => import('./host-yjs.ts')
}
const loaded = new Map<string, Module>()

// Events go out at the end of the current turn of the event loop (batched within it): the
// coordinator reacts at once, so the harness adds no idle pauses of its own between messages.
let queue: Array<{ event: string, data: unknown }> = []
let flushScheduled: NodeJS.Immediate | null = null
function emit (event: string, data: unknown) {
  queue.push({ event, data })
  if (queue.length >= 500) flush()
  else flushScheduled ??= setImmediate(flush)
}
function flush () {
  if (flushScheduled) clearImmediate(flushScheduled)
  flushScheduled = null
  if (queue.length === 0 || !process.connected) return
  const events = queue
  queue = []
  process.send!({ events })
}

async function shutdown () {
  for (const mod of loaded.values()) await mod.shutdown().catch(() => {})
  loaded.clear()
}

async function handle (op: string, args: any): Promise<unknown> {
  if (op === 'ping') return { pid: process.pid, t: now() }
  if (op === 'shutdown') {
    await shutdown()
    // Exit on our own (not by signal) so that --cpu-prof writes its profile.
    setTimeout(() => process.exit(0), 50)
    return true
  }
  if (op === 'usage') return { rss: process.memoryUsage().rss, cpu: process.cpuUsage() }
  const dot = op.indexOf('.')
  const family = op.slice(0, dot)
  const load = loaders[family]
  if (!load) throw new Error(`unknown op ${op}`)
  let mod = loaded.get(family)
  if (!mod) { mod = await load(); loaded.set(family, mod) }
  const fn = mod.ops[op.slice(dot + 1)]
  if (!fn) throw new Error(`unknown op ${op}`)
  return fn(args, emit)
}

process.on('message', (msg: any) => {
  if (!msg || typeof msg.op !== 'string') return
  handle(msg.op, msg.args ?? {}).then(
    (value) => { flush(); if (process.connected) process.send!({ id: msg.id, ok: true, value: value ?? null }) },
    (err) => { flush(); if (process.connected) process.send!({ id: msg.id, ok: false, error: err?.stack ?? String(err) }) }
  )
})

process.on('disconnect', () => {
  const t = setTimeout(() => process.exit(0), 5000)
  shutdown().finally(() => { clearTimeout(t); process.exit(0) })
})
process.on('SIGTERM', () => {
  const t = setTimeout(() => process.exit(0), 4000)
  shutdown().finally(() => { clearTimeout(t); process.exit(0) })
})
