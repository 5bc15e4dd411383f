/**
 * The format-v1 fixture (test/fixtures/format-v1, made by its generate.ts with the code of the
 * first versioned format): the home of a node whose group holds messages, a reply, an edit, a
 * delete, a room, a DM, pads with edits, a rename and an archive, invites (used and revoked), a
 * role change, a removal and two epochs. Every later version of Solidar must open this home with
 * its real disk store and read exactly `expected.json` (docs/PROTOCOL.md, "Versions"): an old
 * store and an old log stay readable, with the same state, forever. Regenerate it only when a
 * deliberate, documented migration changes what an old log reads as.
 */
import test from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { startNode } from '@solidar/node/runtime'
import { CURRENT_RULES } from '@solidar/core/rules'
import { FIXTURE_DIR, NAMES } from './fixtures/format-v1/generate.ts'
import { snapshot } from './fixtures/format-v1/snapshot.ts'

/** A copy of the committed home, with the modes a node gives its home (git keeps only the executable bit). */
async function copyHome (to: string): Promise<void> {
  await fs.cp(path.join(FIXTURE_DIR, 'home'), to, { recursive: true })
  const walk = async (dir: string): Promise<void> => {
    await fs.chmod(dir, 0o700)
    for (const entry of await fs.readdir(dir, { withFileTypes: true })) {
      const p = path.join(dir, entry.name)
      if (entry.isDirectory()) await walk(p)
      else await fs.chmod(p, 0o600)
    }
  }
  await walk(to)
}

test('format v1: a home and a log written by the first versioned Solidar read exactly as they did', async (t) => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'solidar-format-v1-'))
  t.after(() => fs.rm(dir, { recursive: true, force: true }))
  const expected = JSON.parse(await fs.readFile(path.join(FIXTURE_DIR, 'expected.json'), 'utf8'))
  // The committed fixture holds what the checks below rely on (a regenerated one must too).
  assert.equal(expected.group.epoch, 1)
  assert.ok(expected.group.messages.some((m: any) => m.deleted === true) && expected.group.messages.some((m: any) => m.editedTs !== undefined))
  assert.equal(expected.dm.messages.length, 2)
  assert.equal(expected.group.pads.length, 2)

  // The one change a newer version makes to an old log: its admin's node raises the group's rules
  // to the ones it knows when it opens it (docs/PROTOCOL.md, "Versions"). Everything else reads the same.
  const opened = { ...expected, group: { ...expected.group, rules: Math.max(expected.group.rules, CURRENT_RULES) } }
  const home = path.join(dir, 'alice')
  await copyHome(home)
  const node = await startNode({ home, network: { mode: 'none', bootstrap: [] } })
  try {
    assert.deepEqual(await snapshot(node, NAMES), opened)
  } finally {
    await node.close()
  }
  // Opened once, the store opens again and still reads the same (nothing a first open wrote changes it).
  const again = await startNode({ home, network: { mode: 'none', bootstrap: [] } })
  try {
    assert.deepEqual(await snapshot(again, NAMES), opened)
  } finally {
    await again.close()
  }
})
