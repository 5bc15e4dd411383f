/**
 * Pads across in-memory nodes: create/list/rename/archive, appends and exports, concurrent
 * edits of one paragraph while partitioned converge to the same Markdown, observers
 * cannot write, templates, history.
 */
import test from 'node:test'
import assert from 'node:assert/strict'
import * as Y from 'yjs'
import { makeNodes, waitFor } from './helpers.ts'
import { fragmentOf } from '../src/pads/schema.ts'

async function threeInAGroup (t: Parameters<typeof makeNodes>[1]) {
  const made = await makeNodes(['alice', 'bob', 'carol'], t)
  const [alice, bob, carol] = made.nodes
  const { id } = await alice.createGroup('Works council')
  await bob.join((await alice.createInvite(id)).code, { timeoutMs: 10_000 })
  await carol.join((await alice.createInvite(id)).code, { timeoutMs: 10_000 })
  return { ...made, alice, bob, carol, group: id }
}

test('pads: create, list, append, export, rename, archive across members', async (t) => {
  const { alice, bob, group } = await threeInAGroup(t)
  const pad = await alice.pads.create(group, 'Agenda')
  assert.equal(pad.title, 'Agenda')
  assert.equal(pad.createdByName, 'alice')
  await waitFor(async () => (await bob.pads.list(group)).length === 1, 'bob lists the pad')
  await bob.pads.append(group, 'agenda', 'First point from bob')
  const md = async (n: typeof alice) => (await n.pads.export(group, pad.id, { format: 'md' })).content
  await waitFor(async () => (await md(alice)).includes('First point'), 'alice sees bob\'s paragraph')
  await alice.pads.append(group, pad.id, 'Second *point* from alice')
  await waitFor(async () => (await md(alice)) === (await md(bob)) && (await md(alice)).includes('First point'), 'same markdown')
  assert.equal(await md(alice), 'First point from bob\n\nSecond \\*point\\* from alice\n')
  await bob.pads.rename(group, 'Agenda', 'Agenda 2026-03')
  await waitFor(async () => (await alice.pads.get(group, pad.id)).title === 'Agenda 2026-03', 'rename reaches alice')
  await alice.pads.archive(group, 'Agenda 2026-03', true)
  assert.deepEqual(await alice.pads.list(group), [])
  assert.equal((await alice.pads.list(group, { archived: true }))[0].archived, true)
  await assert.rejects(alice.pads.append(group, pad.id, 'more'), { code: 'NOT_PERMITTED' })
  await assert.rejects(alice.pads.get(group, 'nope'), { code: 'PAD_NOT_FOUND' })
})
