/**
 * The crash-loop divergence (issue 16 item 5), at its cause in Autobase 7.28.1:
 * `ApplyState._flush` flushed the atom (system and view batches, this writer's oplog) once
 * before it handed the linearizer updates and the boot record to it, and again after. A writer
 * killed between the two restarted with a view that already held its last entry and an update
 * list that did not: it applied the entry again, and its view never matched the one the
 * indexers signed (Autobase only warns then, for good). patches/autobase+7.28.1.patch hands
 * them over before the first flush.
 *
 * Here a non-indexer writer (its own process, on disk) is SIGKILLed exactly in that window, on
 * one of its own appends, several times, and restarted each time; then its view must equal the
 * indexer's, entry for entry, fully signed. With the original order it does not (the writer's
 * entry appears twice).
 */
import test from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import Autobase from 'autobase'
import Corestore from 'corestore'
import b4a from 'b4a'
import { waitFor } from './helpers.ts'

const WRITER = path.join(import.meta.dirname, 'crash-window-writer.cjs')
const KILLS = [2, 3, 4]

interface Line { local?: string, writable?: boolean, killing?: number, warning?: string, error?: string, view?: { length: number, signedLength: number, content: string[] } }

function runWriter (dir: string, key: Buffer, port: number, mode: string) {
  const child = spawn(process.execPath, [WRITER, dir, b4a.toString(key, 'hex'), String(port), mode], { stdio: ['ignore', 'pipe', 'pipe'] })
  const lines: Line[] = []
  let stderr = ''
  let buf = ''
  const listeners = new Set<() => void>()
  child.stdout.on('data', (d) => {
    buf += d
    for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
      lines.push(JSON.parse(buf.slice(0, i)))
      buf = buf.slice(i + 1)
    }
    for (const l of listeners) l()
  })
  child.stderr.on('data', (d) => { stderr += d })
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>
  /** The first line that `pred` accepts; rejects after `ms` or when the process exits first. */
  const waitFor = (pred: (l: Line) => boolean, ms: number, what: string): Promise<Line> => new Promise((resolve, reject) => {
    const check = () => {
      const hit = lines.find(pred)
      if (hit) { done(); resolve(hit) }
    }
    const timer = setTimeout(() => { done(); reject(new Error(`${what}: nothing after ${ms} ms; lines ${JSON.stringify(lines.slice(-3))}; stderr ${stderr.slice(-500)}`)) }, ms)
    const done = () => { clearTimeout(timer); listeners.delete(check) }
    listeners.add(check)
    void exited.then(() => { check(); if (listeners.has(check)) { done(); reject(new Error(`${what}: the writer exited; lines ${JSON.stringify(lines.slice(-3))}; stderr ${stderr.slice(-500)}`)) } })
    check()
  })
  return { child, lines, exited, waitFor }
}

test('Autobase: a writer killed between the atom flushes of one apply restarts with the view its indexer signs (patched _flush order)', { timeout: 180_000 }, async (t) => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'solidar-crash-window-'))
  const store = new Corestore(path.join(root, 'indexer'))
  const base = new Autobase(store, null, {
    fastForward: false,
    valueEncoding: 'json',
    ackInterval: 1000,
    open: (viewStore: any) => viewStore.get('view', { valueEncoding: 'json' }),
    apply: async (nodes: any[], view: any, host: any) => {
      for (const node of nodes) {
        if (node.value === null) continue
        if (node.value.add) { await host.addWriter(b4a.from(node.value.add, 'hex'), { indexer: false }); continue }
        await view.append({ m: node.value.m })
      }
    }
  })
  await base.ready()
  const sockets = new Set<net.Socket>()
  const server = net.createServer((socket) => {
    sockets.add(socket)
    const stream = store.replicate(false)
    socket.pipe(stream).pipe(socket)
    socket.on('error', () => { /* a killed writer resets its connection: expected */ })
    stream.on('error', () => { /* same */ })
    socket.on('close', () => sockets.delete(socket))
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const port = (server.address() as net.AddressInfo).port
  const writers: Array<ReturnType<typeof runWriter>> = []
  t.after(async () => {
    for (const w of writers) if (w.child.exitCode === null && w.child.signalCode === null) { w.child.kill('SIGKILL'); await w.exited }
    server.close()
    for (const s of sockets) s.destroy()
    await base.close()
    fs.rmSync(root, { recursive: true, force: true })
  })

  const dir = path.join(root, 'writer')
  await base.append({ m: 'indexer-0' })
  for (const [round, at] of KILLS.entries()) {
    const w = runWriter(dir, base.key, port, `kill:${at}`)
    writers.push(w)
    const { local } = await w.waitFor(l => l.local !== undefined, 30_000, 'the writer starts')
    if (round === 0) await base.append({ add: local })
    await base.append({ m: `indexer-${round + 1}` })
    await w.waitFor(l => l.killing !== undefined, 30_000, `round ${round}: the writer reaches its ${at}th append`)
    const [, signal] = await w.exited
    assert.equal(signal, 'SIGKILL', `round ${round}: killed in the window`)
    assert.equal(w.lines.find(l => l.error)?.error, undefined)
  }

  // The writer comes back once more and writes nothing: its view must become the indexer's.
  const w = runWriter(dir, base.key, port, 'settle')
  writers.push(w)
  const expected = async () => {
    await base.update()
    const content: string[] = []
    for (let i = 0; i < base.view.length; i++) content.push((await base.view.get(i)).m)
    return content
  }
  let want: string[] = []
  // Until a warning (diverged) or the writer's latest view is the indexer's, entry for entry and signed.
  const outcome = await waitFor(async () => {
    const bad = w.lines.find(l => l.warning !== undefined || l.error !== undefined)
    if (bad) return bad
    want = await expected()
    const view = w.lines.filter(l => l.view).at(-1)?.view
    const same = view !== undefined && view.signedLength === view.length && JSON.stringify(view.content) === JSON.stringify(want)
    return same ? w.lines.filter(l => l.view).at(-1)! : null
  }, { what: 'the writer\'s view to be the indexer\'s', timeout: 60_000, interval: 250 }).catch((err: Error) => ({ error: err.message }) as Line)
  const seen = w.lines.filter(l => l.view).at(-1)?.view
  assert.equal(outcome.warning, undefined, `Autobase warned (the view diverged): ${outcome.warning}; the writer's view ${JSON.stringify(seen?.content)}, the indexer's ${JSON.stringify(want)}`)
  assert.ok(outcome.view, `the writer's view never became the indexer's (${outcome.error}): ${JSON.stringify(seen)} vs ${JSON.stringify(want)}`)
  assert.equal(new Set(outcome.view.content).size, outcome.view.content.length, 'no entry twice')
  assert.ok(outcome.view.content.filter(m => m.startsWith('bob-')).length >= KILLS.reduce((a, b) => a + b, 0) - KILLS.length, 'the writer\'s entries are there')
})
