/**
 * A pad with a long editing history (a real keystroke trace, batched into log appends the
 * way the group commit does) opens from the device's snapshot plus the log's tail, and the
 * result equals a full replay of the log. Stale or damaged snapshots are ignored.
 *
 * Trace: automerge-paper from Joseph Gentle's editing-traces collection (CC BY 4.0), the copy
 * in bench/data (credit in bench/data/README.md); should it be missing, a seeded synthetic
 * trace of the same shape is used (the test says so).
 */
import test from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import zlib from 'node:zlib'
import { fileURLToPath } from 'node:url'
import * as Y from 'yjs'
import b4a from 'b4a'
import { makeNodes, seededRandom, waitFor } from './helpers.ts'
import { firstText, fragmentOf } from '../src/pads/schema.ts'

const EDITS = 20_000
/** An append costs ~25–50 ms on this machine (one fsync'd Autobase append): 100 edits per append keeps the test near 15 s. */
const EDITS_PER_APPEND = 100
/** The real editing trace the benchmark types (bench/data, CC BY 4.0), part of the repository. */
const TRACE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bench/data/automerge-paper.json.gz')

type Patch = [number, number, string]

function loadTrace (t: test.TestContext): Patch[] {
  if (fs.existsSync(TRACE)) {
    const trace = JSON.parse(zlib.gunzipSync(fs.readFileSync(TRACE)).toString('utf8')) as { txns: Array<{ patches: Patch[] }> }
    return trace.txns.flatMap(x => x.patches).slice(0, EDITS)
  }
  t.diagnostic(`editing trace not found at ${TRACE}: using a seeded synthetic trace of ${EDITS} edits`)
  const rnd = seededRandom(42)
  const out: Patch[] = []
  let len = 0
  for (let i = 0; i < EDITS; i++) {
    if (len > 0 && rnd.next() < 0.15) { out.push([rnd.int(len), 1, '']); len-- } else { out.push([rnd.int(len + 1), 0, String.fromCharCode(97 + rnd.int(26))]); len++ }
  }
  return out
}

test('a pad with a long history opens from its snapshot and equals a full replay', { timeout: 300_000 }, async (t) => {
  const patches = loadTrace(t)
  const { nodes: [alice], locals } = await makeNodes(['alice'], t)
  const { id: group } = await alice.createGroup('Works council')
  const pad = await alice.pads.create(group, 'Paper')
  await alice.pads.append(group, pad.id, '-')

  let expected = '-'
  const started = performance.now()
  let appends = 0
  for (let i = 0; i < patches.length; i += EDITS_PER_APPEND) {
    const batch = patches.slice(i, i + EDITS_PER_APPEND)
    await alice.pads.change(group, pad.id, doc => {
      const text = firstText(doc)
      for (const [pos, del, ins] of batch) {
        if (del) text.delete(pos + 1, del)
        if (ins) text.insert(pos + 1, ins, {})
      }
    })
    await alice.pads.flush(group, pad.id)
    appends++
    for (const [pos, del, ins] of batch) expected = expected.slice(0, pos + 1) + ins + expected.slice(pos + 1 + del)
  }
  const writeMs = performance.now() - started
  const updates = (await alice.pads.get(group, pad.id)).updates
  t.diagnostic(`${patches.length} edits in ${appends} appends (${EDITS_PER_APPEND} per append): ${Math.round(writeMs)} ms, ${(writeMs / appends).toFixed(2)} ms per append; ${updates} log updates`)
  assert.equal(updates, appends + 1)

  const full = await alice.pads.load(group, pad.id, { useSnapshot: false })
  assert.equal(full.stats.fromSnapshot, 0)
  assert.equal(full.stats.replayed, updates)
  assert.equal(firstText(full.doc).toString(), expected, 'the log replays to the trace\'s text')

  // The service writes snapshots on its own (every SNAPSHOT_EVERY updates, a little later); write the newest now.
  assert.equal(await alice.pads.saveSnapshot(group, pad.id), true)
  const snap = await alice.pads.load(group, pad.id)
  assert.equal(snap.stats.fromSnapshot, updates)
  assert.equal(snap.stats.replayed, 0)
  t.diagnostic(`open ${updates} updates: full replay ${full.stats.ms.toFixed(1)} ms, from snapshot ${snap.stats.ms.toFixed(1)} ms`)
  const same = (a: Y.Doc, b: Y.Doc) => {
    assert.deepEqual(fragmentOf(a).toJSON(), fragmentOf(b).toJSON())
    assert.deepEqual(Y.encodeStateVector(a), Y.encodeStateVector(b))
  }
  same(snap.doc, full.doc)

  // Snapshot plus a tail of newer updates equals a full replay, too.
  for (let i = 0; i < 5; i++) await alice.pads.append(group, pad.id, `tail ${i}`)
  const tail = await alice.pads.load(group, pad.id)
  const fullAgain = await alice.pads.load(group, pad.id, { useSnapshot: false })
  assert.deepEqual([tail.stats.fromSnapshot, tail.stats.replayed], [updates, 5])
  same(tail.doc, fullAgain.doc)
  assert.equal((await alice.pads.export(group, pad.id)).content.split('\n').filter(l => l.startsWith('tail ')).length, 5)

  // The snapshot is sealed: none of the text in the clear.
  const [name, file] = [...locals[0].files].find(([n]) => n.startsWith('pads/'))!
  assert.match(name, /^pads\/[a-z0-9]+\/[A-Za-z0-9_-]+\.ysnap$/)
  assert.equal(b4a.indexOf(file, b4a.from(expected.slice(1000, 1040))), -1, 'no plaintext in the snapshot')

  // A snapshot in the earlier format (base64 text in <pad>.snap) is still read, and the next save replaces it.
  const oldName = name.replace(/\.ysnap$/, '.snap')
  locals[0].files.delete(name)
  locals[0].files.set(oldName, b4a.from(b4a.toString(file, 'base64') + '\n'))
  const fromOld = await alice.pads.load(group, pad.id)
  assert.equal(fromOld.stats.fromSnapshot, updates, 'the base64 snapshot is used')
  same(fromOld.doc, fullAgain.doc)
  locals[0].files.delete(oldName)
  locals[0].files.set(name, file)

  // A damaged snapshot, or one whose chain hash no longer matches the log, is ignored.
  locals[0].files.set(name, b4a.from('garbage'))
  const damaged = await alice.pads.load(group, pad.id)
  assert.equal(damaged.stats.fromSnapshot, 0)
  same(damaged.doc, fullAgain.doc)
})

test('pad snapshots: a device that leaves the group deletes the snapshots it kept of the group\'s pads', async (t) => {
  const { nodes: [alice, bob], locals } = await makeNodes(['alice', 'bob'], t)
  const { id: group } = await alice.createGroup('Leaving')
  await bob.join((await alice.createInvite(group)).code, { timeoutMs: 30_000 })
  const pad = await alice.pads.create(group, 'Minutes', { content: '# Minutes\n\nsecret plan', format: 'md' })
  await waitFor(async () => (await bob.pads.list(group)).length === 1, 'bob lists the pad')
  await bob.pads.append(group, pad.id, 'from bob')
  assert.equal(await bob.pads.saveSnapshot(group, pad.id), true)
  const other = await bob.createGroup('Staying')
  const otherPad = await bob.pads.create(other.id, 'Kept')
  await bob.pads.append(other.id, otherPad.id, 'kept')
  assert.equal(await bob.pads.saveSnapshot(other.id, otherPad.id), true)
  assert.equal((await locals[1].list(`pads/${group}/`)).length, 1, 'bob kept a snapshot of the pad')
  const left = await bob.leaveGroup(group, { timeoutMs: 30_000 })
  assert.equal(left.pending, false, 'alice took the leave')
  assert.deepEqual(await locals[1].list(`pads/${group}/`), [], 'the left group\'s snapshots are gone')
  assert.equal((await locals[1].list(`pads/${other.id}/`)).length, 1, 'another group\'s snapshot stays')
})
