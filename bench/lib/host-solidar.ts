/**
 * Solidar nodes inside a worker process. Each node is what `solidar serve` runs minus the
 * HTTP API: `startNode` from node/src/runtime.ts with its own home folder (identity, logs.json),
 * its own Corestore on disk and its own Hyperswarm/HyperDHT node bound to 127.0.0.1 with the
 * run's local bootstrap. Nodes in the same process still talk to each other over loopback UDP.
 */
import fs from 'node:fs'
import path from 'node:path'
import { randomBytes } from 'node:crypto'
import b4a from 'b4a'
import * as Y from 'yjs'
import { createIdentity, type SolidarEvent } from '@solidar/core'
import { writeIdentity } from '@solidar/node/home'
import { startNode, type RunningNode } from '@solidar/node/runtime'
// Internals, only to build a large history fast (see fill below): the exact entry Solidar.send appends.
import { commandValue } from '@solidar/core/commands'
import { encode } from '@solidar/core/codec'
import { allMessages } from '@solidar/core/testing/helpers'
import { epochZeroKey, openContent, sealContent } from '@solidar/core/content'
import { K, getRecord, rangeRecords, type MessageRecord } from '@solidar/core/view'
import { now, sleep } from './clock.ts'
import { makeText, sendPaced, tagOf, type PacedArgs } from './pace.ts'
import { applyPatches, loadTrace, plainText, traceText } from './trace.ts'

type Emit = (event: string, data: unknown) => void
interface Node {
  id: string
  home: string
  bootstrap: string
  running: RunningNode
  unsubscribe: () => void
  errors: number
  history: number
  /** When the first history message arrived (catch-up). */
  historyFirst: number
  watchers: Array<() => void>
  /** Pad editors (the web editor's Y.Doc stand-in) and pad watchers, by pad id. */
  editors: Map<string, Editor>
}
interface Editor { doc: Y.Doc, text: Y.XmlText, send (update: Uint8Array): Promise<void>, last: Uint8Array | null, sender: EditorSender }

/**
 * Sends an editor's updates the way the web app does (web/src/pad/sync.ts): one request at a
 * time; what is typed meanwhile is merged (Y.mergeUpdates) into the next one. The node answers a
 * request once the update is in the log, so a typist never waits for it, and a fast one sends
 * fewer, larger updates.
 */
interface EditorSender { push (update: Uint8Array): void, drained (): Promise<void> }
function editorSender (send: (update: Uint8Array) => Promise<void>): EditorSender {
  let queue: Uint8Array[] = []
  let pumping: Promise<void> | null = null
  const pump = async () => {
    try {
      while (queue.length > 0) {
        const batch = queue
        queue = []
        await send(batch.length === 1 ? batch[0] : Y.mergeUpdates(batch))
      }
    } finally {
      pumping = null
    }
  }
  return {
    push (update) { queue.push(update); pumping ??= pump() },
    drained () { return pumping ?? Promise.resolve() }
  }
}
const nodes = new Map<string, Node>()

function node (id: string): Node {
  const n = nodes.get(id)
  if (!n) throw new Error(`no Solidar node ${id} in this worker`)
  return n
}

async function messageCount (n: Node, group: string): Promise<number> {
  const status = await n.running.api.status()
  return status.groups.find(g => g.id === group)?.length ?? 0
}

/** Starts (or restarts) the node on its home: what `solidar serve` does, minus the HTTP API. */
async function start (n: Node, emit: Emit): Promise<number> {
  const t0 = now()
  n.running = await startNode({ home: n.home, network: { mode: 'bootstrap', bootstrap: [n.bootstrap] }, onError: () => { n.errors++ } })
  const ms = now() - t0
  // A message is "in this member's state" when Solidar emits its event: the view holds it.
  // It is on this member's screen when the node emits it, live (`message-live`) or from the log, whichever comes first.
  n.unsubscribe = n.running.api.subscribe((event: SolidarEvent) => {
    if (event.type !== 'message' && event.type !== 'message-live') return
    const tag = tagOf(event.message.text)
    if (tag === null) return
    if (tag.startsWith('h-')) { // catch-up history: counted here, not reported one by one
      if (event.type === 'message' && n.history++ === 0) n.historyFirst = now()
      return
    }
    const t = now()
    emit('shown', { node: n.id, tag, t })
    if (event.type === 'message') emit('recv', { node: n.id, tag, t })
  })
  return ms
}

/** Total bytes of the files under `dir`. */
function du (dir: string): number {
  let total = 0
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name)
    if (entry.isDirectory()) total += du(p)
    else if (entry.isFile()) total += fs.statSync(p).size
  }
  return total
}

/** The group's epoch-0 content key, from the node's logs.json (no epoch rotates in a benchmark). */
function epochZero (n: Node, base: any): Buffer {
  const logs = JSON.parse(fs.readFileSync(path.join(n.home, 'logs.json'), 'utf8'))
  const record = logs.logs.find((l: any) => l.key === b4a.toString(base.key, 'hex'))
  if (!record) throw new Error('group not in logs.json')
  return epochZeroKey(b4a.from(record.encryptionKey, 'hex'))
}

export const ops = {
  async open ({ id, dir, bootstrap }: { id: string, dir: string, bootstrap: string }, emit: Emit) {
    const home = path.join(dir, id)
    fs.mkdirSync(home, { recursive: true, mode: 0o700 })
    writeIdentity(home, createIdentity(id))
    const n: Node = { id, home, bootstrap, running: null as unknown as RunningNode, unsubscribe: () => {}, errors: 0, history: 0, historyFirst: NaN, watchers: [], editors: new Map() }
    await start(n, emit)
    nodes.set(id, n)
    return { id }
  },

  async createGroup ({ id, name }: { id: string, name: string }) {
    return (await node(id).running.api.createGroup(name)).id
  },

  async invite ({ id, group, uses }: { id: string, group: string, uses: number }) {
    return (await node(id).running.api.createInvite(group, { uses })).code
  },

  async join ({ id, code, timeoutMs = 120_000 }: { id: string, code: string, timeoutMs?: number }) {
    return (await node(id).running.api.join(code, { timeoutMs })).id
  },

  async members ({ id, group }: { id: string, group: string }) {
    return (await node(id).running.api.members(group)).length
  },

  /**
   * Reports each message the moment it is in this member's *view* (event `state`), independent
   * of Solidar's event feed: on every Autobase update, the view's message counter says how
   * many messages it holds; the newest records are read back (newest first) until every
   * message not seen before is found, and their texts opened with the epoch-0 key. Exact
   * also when Autobase reorders the tail (messages keep their ids; seqs may shift).
   */
  async watchState ({ id, group }: { id: string, group: string }, emit: (e: string, d: unknown) => void) {
    const n = node(id)
    const { base } = await n.running.solidar.logBase(group)
    const key = epochZero(n, base)
    const seen = new Set<string>()
    let running = false
    let again = false
    let stopped = false
    const scan = async () => {
      if (running) { again = true; return }
      running = true
      try {
        do {
          again = false
          try {
            let need = ((await getRecord<number>(base.view, K.counter('msg'))) ?? 0) - seen.size
            if (need <= 0) continue
            for await (const { value } of rangeRecords<MessageRecord>(base.view, 's!', { reverse: true })) {
              if (seen.has(value.id)) continue
              seen.add(value.id)
              const body = value.body
              const plain = body ? openContent(key, { e: body.e, n: Buffer.from(body.n), c: Buffer.from(body.c) }, base.discoveryKey, 'message') : null
              const tag = plain ? tagOf(b4a.toString(plain)) : null
              if (tag !== null && !tag.startsWith('h-')) emit('state', { node: id, tag, t: now() })
              if (--need <= 0) break
            }
          } catch {
            again = !stopped // the view moved under the read (a reorder): read again
          }
        } while (again && !stopped)
      } finally {
        running = false
      }
    }
    base.on('update', scan)
    n.watchers.push(() => { stopped = true; base.off('update', scan) })
    await scan()
    return true
  },

  /** Tags of the benchmark messages in this member's state (diagnostics). */
  async tags ({ id, group }: { id: string, group: string }) {
    return (await allMessages(node(id).running.api, group)).map(m => tagOf(m.text)).filter(t => t !== null)
  },

  async count ({ id, group }: { id: string, group: string }) {
    return messageCount(node(id), group)
  },

  async send ({ id, group, text }: { id: string, group: string, text: string }) {
    const t0 = now()
    await node(id).running.api.send(group, text)
    return { t0, t1: now() }
  },

  async sendPaced ({ id, group, ...paced }: { id: string, group: string } & PacedArgs, emit: (e: string, d: unknown) => void) {
    const api = node(id).running.api
    return sendPaced(paced, (text) => api.send(group, text), emit)
  },

  /**
   * Builds a history of `count` messages in `group` fast: the same `message/post` entries
   * Solidar.send appends (CBOR, text sealed under the epoch-0 key, random 12-byte ids), but
   * appended to the group's Autobase in batches instead of one awaited send each.
   */
  async fill ({ id, group, count, size, batch = 1000 }: { id: string, group: string, count: number, size: number, batch?: number }, emit: (e: string, d: unknown) => void) {
    const n = node(id)
    const { base } = await n.running.solidar.logBase(group)
    const key = epochZero(n, base)
    const before = await messageCount(n, group)
    const t0 = now()
    let entryBytes = 0
    let lastReport = t0
    for (let i = 0; i < count; i += batch) {
      const entries: Buffer[] = []
      for (let j = i; j < Math.min(count, i + batch); j++) {
        const text = makeText(`h-${j}`, size)
        const entry = encode(commandValue({
          t: 'message/post',
          id: randomBytes(12).toString("base64url"),
          room: 'general',
          body: sealContent(key, 0, base.discoveryKey, 'message', b4a.from(text)),
          ts: Date.now()
        }))
        entryBytes += entry.byteLength
        entries.push(entry)
      }
      await base.append(entries)
      if (now() - lastReport > 1000) { lastReport = now(); emit('progress', { phase: 'fill', done: Math.min(count, i + batch), total: count }) }
    }
    await base.update()
    const deadline = now() + 120_000
    let have = await messageCount(n, group)
    while (have < before + count && now() < deadline) { await sleep(50); have = await messageCount(n, group) }
    if (have < before + count) throw new Error(`history: ${have - before} of ${count} messages applied`)
    return {
      ms: now() - t0,
      entryBytes: entryBytes / count,
      writerBlocks: base.local.length,
      writerBytes: base.local.byteLength
    }
  },

  /**
   * A newcomer joins and waits until all `expected` history messages are in its state: it has
   * emitted the event of each (Solidar reads every changed message from its view to do so, so
   * the message is local and readable). Also notes when the view's message counter first
   * showed them all (Autobase may fast-forward the counter before the messages are local).
   */
  async catchup ({ id, code, expected, timeoutMs = 600_000 }: { id: string, code: string, expected: number, timeoutMs?: number }, emit: (e: string, d: unknown) => void) {
    const n = node(id)
    const t0 = now()
    // Progress from the start: history arrives while `join` still waits for our own admission.
    const progress = setInterval(() => emit('progress', { phase: 'catchup', done: n.history, total: expected, t: now() - t0 }), 2000)
    try {
      let group = ''
      let retries = 0
      for (let attempt = 1; ; attempt++) {
        try {
          group = (await n.running.api.join(code, { timeoutMs: 60_000 })).id
          break
        } catch (err: any) {
          // Admitted, but the timeout hit while catching up to our own member/add: keep waiting below.
          const joined = (await n.running.api.status()).groups[0]
          if (joined) { group = joined.id; break }
          // A request never answered (see lib/chat.ts): asked again, the time still counts.
          if (attempt >= 3 || !/answered within/.test(String(err?.message))) throw err
          retries++
        }
      }
      const tJoined = now()
      let tCounter = NaN
      const deadline = t0 + timeoutMs
      while (n.history < expected) {
        if (now() > deadline) throw new Error(`catch-up: ${n.history} of ${expected} messages after ${timeoutMs} ms`)
        await sleep(10)
        if (Number.isNaN(tCounter) && (await messageCount(n, group)) >= expected) tCounter = now()
      }
      const tDone = now()
      const tFirst = n.historyFirst
      if (Number.isNaN(tCounter)) tCounter = tDone
      // Not timed: every message reads back through the API with its text.
      const all = await allMessages(n.running.api, group) // every page
      const readable = all.filter(m => tagOf(m.text)?.startsWith('h-')).length
      if (readable < expected) throw new Error(`catch-up: only ${readable} of ${expected} messages read back`)
      return { t0, tJoined, tFirst, tCounter, tDone, count: n.history, group, retries }
    } finally {
      clearInterval(progress)
    }
  },

  // ---------------------------------------------------------------- pads

  /** Creates a pad whose document is one empty paragraph (the trace is typed into its text). */
  async padCreate ({ id, group, title }: { id: string, group: string, title: string }) {
    const pads = node(id).running.solidar.pads
    const pad = await pads.create(group, title)
    await pads.change(group, pad.id, (doc: Y.Doc) => { traceText(doc, true) })
    await pads.flush(group, pad.id)
    return pad.id
  },

  /**
   * An editor on this node: a Y.Doc of its own that starts from the pad's state and sends
   * every local transaction to the node as a Yjs update (`pads.applyUpdate`), as the web editor does.
   */
  async padEditor ({ id, group, pad }: { id: string, group: string, pad: string }) {
    const n = node(id)
    const pads = n.running.solidar.pads
    const doc = new Y.Doc()
    Y.applyUpdate(doc, (await pads.state(group, pad)).update, 'node')
    const text = traceText(doc, false)
    if (!text) throw new Error('the pad has no paragraph to type into')
    const send = (update: Uint8Array) => pads.applyUpdate(group, pad, update)
    const editor: Editor = { doc, text, last: null, send, sender: editorSender(send) }
    doc.on('update', (update: Uint8Array, origin: unknown) => { if (origin !== 'node') editor.last = update })
    n.editors.set(pad, editor)
    return text.length
  },

  /** One keystroke at the end of the text; returns when the node has it in its log (as the web app's "saved"). */
  async padKey ({ id, pad }: { id: string, pad: string }) {
    const e = node(id).editors.get(pad)
    if (!e) throw new Error('no editor for this pad')
    const t0 = now()
    e.doc.transact(() => e.text.insert(e.text.length, 'x'))
    const update = e.last!
    e.last = null
    await e.send(update)
    return { t0, t1: now(), length: e.text.length }
  },

  /**
   * Reports (`recv`, tag `<prefix><length>`) each time the text of the pad, as this node's open
   * document holds it, grows: after every `pad` event of the pad, the live document is read.
   */
  async padWatch ({ id, group, pad, prefix }: { id: string, group: string, pad: string, prefix: string }, emit: Emit) {
    const n = node(id)
    const pads = n.running.solidar.pads
    let last = 0
    let running = false
    let again = false
    let stopped = false
    const check = async () => {
      if (running) { again = true; return }
      running = true
      try {
        do {
          again = false
          let len = 0
          // A read-only "edit" of the live document: brings it up to date with the log, changes nothing.
          await pads.change(group, pad, (doc: Y.Doc) => { len = traceText(doc, false)?.length ?? 0 })
          const t = now()
          for (let l = last + 1; l <= len; l++) emit('recv', { node: id, tag: `${prefix}${l}`, t })
          if (len > last) last = len
        } while (again && !stopped)
      } catch {
        // The pad was being reloaded: the next event reads again.
      } finally {
        running = false
      }
    }
    const off = n.running.api.subscribe((event: SolidarEvent) => {
      if (event.type === 'pad' && event.pad === pad && event.change === 'updated') void check()
    })
    n.watchers.push(() => { stopped = true; off() })
    await check()
    return last
  },

  /**
   * Replays the first `limit` transactions of the editing trace through the editor (one Yjs
   * update per transaction, sent as the web app sends them: see `editorSender`), then waits
   * until the node has every one in its log.
   */
  async padIngest ({ id, group, pad, limit }: { id: string, group: string, pad: string, limit: number }, emit: Emit) {
    const n = node(id)
    const e = n.editors.get(pad)
    if (!e) throw new Error('no editor for this pad')
    const trace = loadTrace(limit)
    const t0 = now()
    let lastReport = t0
    for (let i = 0; i < trace.txns.length; i++) {
      e.doc.transact(() => applyPatches(e.text, trace.txns[i]))
      const update = e.last
      e.last = null
      if (update) e.sender.push(update)
      // Each keystroke is its own event, as in the browser: a tight loop of promise
      // continuations would never let the requests or the group commit's timer run.
      await new Promise(resolve => setImmediate(resolve))
      if (now() - lastReport >= 2000) { lastReport = now(); emit('progress', { phase: 'pad ingest', done: i + 1, total: trace.txns.length, t: lastReport - t0 }) }
    }
    await e.sender.drained()
    const tEdited = now()
    await n.running.solidar.pads.flush(group, pad)
    const tFlushed = now()
    const summary = await n.running.solidar.pads.get(group, pad)
    return { t0, tEdited, tFlushed, updates: summary.updates, edits: trace.txns.length, length: e.text.length }
  },

  /** Waits until the pad's text in this node's live document equals `expected`. */
  async padWaitText ({ id, group, pad, expected, timeoutMs = 1_800_000 }: { id: string, group: string, pad: string, expected: string, timeoutMs?: number }, emit: Emit) {
    const pads = node(id).running.solidar.pads
    const t0 = now()
    let lastReport = t0
    for (;;) {
      let length = 0
      let same = false
      // Cheap check first (the length); the whole text only when the length matches.
      await pads.change(group, pad, (doc: Y.Doc) => {
        const t = traceText(doc, false)
        length = t?.length ?? 0
        same = t !== null && length === expected.length && plainText(t) === expected
      }).catch(() => {})
      if (same) return { tDone: now() }
      if (now() - t0 > timeoutMs) throw new Error(`pad text: ${length} of ${expected.length} characters after ${timeoutMs} ms`)
      if (now() - lastReport >= 2000) { lastReport = now(); emit('progress', { phase: 'pad at the second peer', done: length, total: expected.length }) }
      await sleep(50)
    }
  },

  /**
   * Closes the node, measures its store on disk, starts it again and opens the pad cold:
   * once as Solidar does (its snapshot cache, then the rest of the log), once replaying the
   * whole log (no snapshot). Returns the text too, for the caller's assertion.
   */
  async padCold ({ id, group, pad }: { id: string, group: string, pad: string }, emit: Emit) {
    const n = node(id)
    n.unsubscribe()
    for (const stop of n.watchers.splice(0)) stop()
    await n.running.close()
    const storeBytes = du(path.join(n.home, 'store'))
    const homeBytes = du(n.home)
    const startMs = await start(n, emit)
    const pads = n.running.solidar.pads
    let t = now()
    const state = await pads.state(group, pad)
    const openMs = now() - t
    t = now()
    const replay = await pads.load(group, pad, { useSnapshot: false })
    const replayMs = now() - t
    const doc = new Y.Doc()
    Y.applyUpdate(doc, state.update)
    const text = plainText(traceText(doc, false)!)
    doc.destroy()
    replay.doc.destroy()
    return { storeBytes, otherBytes: homeBytes - storeBytes, startMs, openMs, replayMs, replayed: replay.stats.replayed, stateBytes: state.update.byteLength, updates: state.updates, text }
  },

  async close ({ id }: { id: string }) {
    const n = nodes.get(id)
    if (!n) return
    nodes.delete(id)
    n.unsubscribe()
    for (const stop of n.watchers) stop()
    for (const e of n.editors.values()) e.doc.destroy()
    await n.running.close()
  }
}

export async function shutdown () {
  for (const id of [...nodes.keys()]) await ops.close({ id }).catch(() => {})
}
