/**
 * The XMPP bridge's pieces that need no server: the state file (what survives a restart),
 * error replies, member addresses and the --server argument. The bridge against a real
 * Prosody is tested in test/xmpp-bridge.test.ts.
 */
import test from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { BridgeState, MAX_FORWARDED, SAVE_DELAY_MS } from '../src/xmpp/state.ts'
import { errorReply, memberLocal, occupantPresence, xml } from '../src/xmpp/stanzas.ts'
import { splitHostPort } from '../src/xmpp/bridge.ts'

test('bridge state: survives a reload, 0600, bounded, refuses a damaged or foreign file', (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'solidar-bridge-state-'))
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }))
  const first = BridgeState.load(dir, 'group1')
  assert.equal(first.initialized, false)
  first.markForwarded(['a', 'b'])
  first.occupants.set('general', [{ nick: 'Anna', jid: 'anna@example.org/phone' }])
  first.replyTo.set('member1', 'anna@example.org')
  first.save()
  assert.equal(fs.statSync(first.file).mode & 0o777, 0o600)

  const again = BridgeState.load(dir, 'group1')
  assert.equal(again.initialized, true)
  assert.equal(again.wasForwarded('a'), true)
  assert.equal(again.wasForwarded('c'), false)
  assert.deepEqual(again.occupants.get('general'), [{ nick: 'Anna', jid: 'anna@example.org/phone' }])
  assert.equal(again.replyTo.get('member1'), 'anna@example.org')

  again.markForwarded(Array.from({ length: MAX_FORWARDED + 5 }, (_, i) => `id${i}`))
  assert.equal(again.wasForwarded('a'), false, 'the oldest ids go first')
  assert.equal(again.wasForwarded(`id${MAX_FORWARDED + 4}`), true)

  fs.writeFileSync(path.join(dir, 'xmpp-bridge-group2.json'), '{ not json')
  assert.throws(() => BridgeState.load(dir, 'group2'), /not valid JSON/)
  fs.copyFileSync(first.file, path.join(dir, 'xmpp-bridge-group3.json'))
  assert.throws(() => BridgeState.load(dir, 'group3'), /for group group3/)
})

test('bridge state: a burst of changes is written once, shortly after', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'solidar-bridge-state-'))
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }))
  const state = BridgeState.load(dir, 'g')
  state.save()
  for (let i = 0; i < 50; i++) { state.markForwarded([`m${i}`]); state.saveSoon() }
  assert.equal(BridgeState.load(dir, 'g').wasForwarded('m0'), false, 'not written at once')
  await new Promise(resolve => setTimeout(resolve, SAVE_DELAY_MS * 3))
  const reloaded = BridgeState.load(dir, 'g')
  assert.equal(reloaded.wasForwarded('m0') && reloaded.wasForwarded('m49'), true)
  assert.equal(fs.readdirSync(dir).length, 1, 'no temp files left')
})

test('stanzas: error replies swap addresses and keep the id; presence items; member addresses', () => {
  const incoming = xml('message', { from: 'eve@example.org/x', to: 'general@bridge.example.org', id: 'm1', type: 'groupchat' }, xml('body', {}, 'hi'))
  const reply = errorReply(incoming, 'forbidden', 'not on the allowlist')
  assert.deepEqual(reply.attrs, { from: 'general@bridge.example.org', to: 'eve@example.org/x', id: 'm1', type: 'error' })
  const error = reply.getChild('error')!
  assert.equal(error.attrs.type, 'auth')
  assert.ok(error.getChild('forbidden', 'urn:ietf:params:xml:ns:xmpp-stanzas'))
  assert.equal(error.getChildText('text', 'urn:ietf:params:xml:ns:xmpp-stanzas'), 'not on the allowlist')
  assert.equal(errorReply(incoming, 'registration-required', 'x').getChild('error')!.attrs.type, 'auth')
  assert.equal(errorReply(incoming, 'jid-malformed', 'x').getChild('error')!.attrs.type, 'modify')

  const gone = occupantPresence('general@b/Anna', 'ben@example.org/pc', { affiliation: 'member', role: 'participant' }, { unavailable: true, codes: ['321', '110'] })
  assert.equal(gone.attrs.type, 'unavailable')
  const x = gone.getChild('x', 'http://jabber.org/protocol/muc#user')!
  assert.equal(x.getChild('item')!.attrs.role, 'none')
  assert.deepEqual(x.getChildren('status').map(s => s.attrs.code), ['321', '110'])

  assert.equal(memberLocal('Maria Schmidt'), 'maria\\20schmidt')
  assert.equal(memberLocal('O\'Brien/Ops'), 'o\\27brien\\2fops')
  assert.equal(memberLocal('alice'), 'alice')
})

test('--server is HOST:PORT', () => {
  assert.deepEqual(splitHostPort('127.0.0.1:5347'), ['127.0.0.1', 5347])
  assert.deepEqual(splitHostPort('[::1]:5347'), ['::1', 5347])
  for (const bad of ['127.0.0.1', 'host:0', 'host:70000', ':5347', 'host:port']) assert.throws(() => splitHostPort(bad), /HOST:PORT/, bad)
})
