/**
 * `pad history` names the updates every device skips (a non-Yjs body in the log, written by a
 * client that skipped the API's check), so a user sees why an edit is missing.
 */
import test from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { createIdentity } from '@solidar/core'
import { commandValue } from '@solidar/core/commands'
import { encode } from '@solidar/core/codec'
import { epochZeroKey, sealContent } from '@solidar/core/content'
import { startNode } from '@solidar/node/runtime'
import { writeIdentity } from '@solidar/node/home'
import { LongRunning, run } from './helpers/cli.ts'

test('pad history lists skipped updates with their author and reason', { timeout: 120_000 }, async (t) => {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'solidar-pad-history-'))
  t.after(() => fs.rmSync(home, { recursive: true, force: true }))
  writeIdentity(home, createIdentity('Hostile Helga'))
  const node = await startNode({ home, network: { mode: 'none', bootstrap: [] } })
  let group = ''
  let pad = ''
  try {
    group = (await node.api.createGroup('Works council')).id
    pad = (await node.api.pads.create(group, 'Minutes', { content: 'Start of the minutes' })).id
    // What a client that skips the API's check can put in the log: a sealed body that is no Yjs update.
    const { base } = await node.solidar.logBase(group)
    const body = sealContent(epochZeroKey(base.encryptionKey), 0, base.discoveryKey, 'pad', Buffer.from('not yjs at all'))
    await base.append(encode(commandValue({ t: 'pad/update', pad, body, ts: Date.now() } as any)))
    await base.update()
  } finally {
    await node.close()
  }

  const serve = new LongRunning(['--home', home, 'serve', '--port', '0'])
  try {
    await serve.waitFor(/http:\/\/127\.0\.0\.1:\d+\/#token=/)
    const history = await run(['--home', home, 'pad', 'history', group, pad])
    assert.equal(history.code, 0, history.stderr)
    assert.match(history.stdout, /Skipped update \d+ by Hostile Helga: not a Yjs update/)
    const json = JSON.parse((await run(['--home', home, 'pad', 'history', group, pad, '--json'])).stdout)
    assert.equal(json.skipped.length, 1)
    const cat = await run(['--home', home, 'pad', 'cat', group, pad])
    assert.equal(cat.code, 0, cat.stderr)
    assert.match(cat.stdout, /Start of the minutes/)
  } finally {
    await serve.stop()
  }
})
