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

test('pad import of a text file, then pad cat and pad export --format txt into a pipe, give the file back byte for byte', { timeout: 120_000 }, async (t) => {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'solidar-pad-text-'))
  t.after(() => fs.rmSync(home, { recursive: true, force: true }))
  writeIdentity(home, createIdentity('Exact Erna'))
  const serve = new LongRunning(['--home', home, 'serve', '--port', '0', '--no-dht'])
  try {
    await serve.waitFor(/http:\/\/127\.0\.0\.1:\d+\/#token=/)
    assert.equal((await run(['--home', home, 'group', 'create', 'Works council'])).code, 0)
    // Bidi marks and isolates, CR LF, a tab on a whitespace-only line, runs of blank lines, no final newline.
    const text = 'Vertrag \u200F\u05D7\u05D5\u05D6\u05D4\u200E \u2066isoliert\u2069 \u061C\r\nZeile\r\n\n\n\n\t\n  \t \n\tEinrückung\nEnde'
    const file = path.join(home, 'notes.txt')
    fs.writeFileSync(file, text)
    const imported = await run(['--home', home, 'pad', 'import', 'Works council', file, '--json'])
    assert.equal(imported.code, 0, imported.stderr)
    const id = JSON.parse(imported.stdout).id as string
    const cat = await run(['--home', home, 'pad', 'cat', 'Works council', id])
    assert.equal(cat.stdout, text, 'pad cat into a pipe: exact')
    const exported = await run(['--home', home, 'pad', 'export', 'Works council', id, '--format', 'txt'])
    assert.equal(exported.stdout, text, 'pad export --format txt into a pipe: exact')
  } finally {
    await serve.stop()
  }
})
