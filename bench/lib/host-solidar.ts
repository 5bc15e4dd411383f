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
import { createIdentity, type SolidarEvent } from '@solidar/core'
import { writeIdentity } from '@solidar/node/home'
import { startNode, type RunningNode } from '@solidar/node/runtime'
// Internals, only to build a large history fast (see fill below): the exact entry Solidar.send appends.
import { commandValue } from '../../core/src/commands.ts'
import { encode } from '../../core/src/codec.ts'
import { epochZeroKey, openContent, sealContent } from '../../core/src/content.ts'
import { K, getRecord, rangeRecords, type MessageRecord } from '../../core/src/view.ts'
import { now, sleep } from './clock.ts'
import { makeText, sendPaced, tagOf, type PacedArgs } from './pace.ts'

interface Node { id: string, home: string, running: RunningNode, unsubscribe: () => void, errors: number, history: number, watchers: Array<() => void> }
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

/** The group's epoch-0 content key, from the node's logs.json (no epoch rotates in a benchmark). */
function epochZero (n: Node, base: any): Buffer {
  const logs = JSON.parse(fs.readFileSync(path.join(n.home, 'logs.json'), 'utf8'))
  const record = logs.logs.find((l: any) => l.key === b4a.toString(base.key, 'hex'))
  if (!record) throw new Error('group not in logs.json')
  return epochZeroKey(b4a.from(record.encryptionKey, 'hex'))
}

export const ops = {
  async open ({ id, dir, bootstrap }: { id: string, dir: string, bootstrap: string }, emit: (e: string, d: unknown) => void) {
    const home = path.join(dir, id)
    fs.mkdirSync(home, { recursive: true, mode: 0o700 })
    writeIdentity(home, createIdentity(id))
    const n: Node = { id, home, running: null as unknown as RunningNode, unsubscribe: () => {}, errors: 0, history: 0, watchers: [] }
    n.running = await startNode({ home, network: { mode: 'bootstrap', bootstrap: [bootstrap] }, onError: () => { n.errors++ } })
    // A message is "in this member's state" when Solidar emits its event: the view holds it.
    n.unsubscribe = n.running.api.subscribe((event: SolidarEvent) => {
      if (event.type !== 'message') return
      const tag = tagOf(event.message.text)
      if (tag === null) return
      if (tag.startsWith('h-')) n.history++ // catch-up history: counted here, not reported one by one
      else emit('recv', { node: id, tag, t: now() })
    })
    nodes.set(id, n)
    return { id }
  },

  swarmKey ({ id }: { id: string }) {
    return b4a.toString((node(id).running.solidar.transport as any).swarm.keyPair.publicKey, 'hex').slice(0, 6)
  },

  async createGroup ({ id, name }: { id: string, name: string }) {
    return (await node(id).running.api.createGroup(name)).id
  },

  async invite ({ id, group, uses }: { id: string, group: string, uses: number }) {
    return (await node(id).running.api.createInvite(group, { uses })).code
  },

  async join ({ id, code, timeoutMs = 120_000 }: { id: string, code: string, timeoutMs?: number }, emit: (e: string, d: unknown) => void) {
    const n = node(id)
    const t0 = now()
    const conns: number[] = []
    const conns2: string[] = []
    const onConn = (c: any) => { conns.push(now() - t0); conns2.push(b4a.toString(c.remotePublicKey, 'hex').slice(0, 6)) }
    n.running.solidar.transport?.on('connection', onConn)
    try {
      const group = (await n.running.api.join(code, { timeoutMs })).id
      if (process.env.BENCH_DEBUG) emit('log', { node: id, line: `joined after ${(now() - t0).toFixed(0)} ms; connections at ${conns.map((c, i) => c.toFixed(0) + ' ' + conns2[i]).join(', ')} ms` })
      return group
    } finally {
      n.running.solidar.transport?.off('connection', onConn)
    }
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
    return (await node(id).running.api.messages(group)).map(m => tagOf(m.text)).filter(t => t !== null)
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
    let group = ''
    let retries = 0
    for (let attempt = 1; ; attempt++) {
      try {
        group = (await n.running.api.join(code, { timeoutMs: 60_000 })).id
        break
      } catch (err: any) {
        const message = String(err?.message)
        // The timeout also covers catching up to our own member/add: admitted after all.
        if (/already in group/i.test(message)) { group = (await n.running.api.status()).groups[0].id; break }
        // A request never answered (see lib/chat.ts): asked again, the time still counts.
        if (attempt >= 3 || !/answered within/.test(message)) throw err
        retries++
      }
    }
    const tJoined = now()
    let tFirst = n.history > 0 ? now() : NaN
    let tCounter = NaN
    let lastReport = now()
    const deadline = t0 + timeoutMs
    while (n.history < expected) {
      if (now() > deadline) throw new Error(`catch-up: ${n.history} of ${expected} messages after ${timeoutMs} ms`)
      await sleep(10)
      if (n.history > 0 && Number.isNaN(tFirst)) tFirst = now()
      if (Number.isNaN(tCounter) && (await messageCount(n, group)) >= expected) tCounter = now()
      if (now() - lastReport >= 500) { lastReport = now(); emit('progress', { phase: 'catchup', done: n.history, total: expected, t: lastReport - t0 }) }
    }
    const tDone = now()
    if (Number.isNaN(tCounter)) tCounter = tDone
    // Not timed: every message reads back through the API with its text.
    const all = await n.running.api.messages(group)
    const readable = all.filter(m => tagOf(m.text)?.startsWith('h-')).length
    if (readable < expected) throw new Error(`catch-up: only ${readable} of ${expected} messages read back`)
    return { t0, tJoined, tFirst, tCounter, tDone, count: n.history, group, retries }
  },

  async close ({ id }: { id: string }) {
    const n = nodes.get(id)
    if (!n) return
    nodes.delete(id)
    n.unsubscribe()
    for (const stop of n.watchers) stop()
    await n.running.close()
  }
}

export async function shutdown () {
  for (const id of [...nodes.keys()]) await ops.close({ id }).catch(() => {})
}
