/**
 * Room nicknames (relay/src/xmpp/nicks.ts): a Jabber user cannot take a nick that looks like
 * a member's or another occupant's. Servers differ in what reaches the bridge (Prosody applies
 * resourceprep, ejabberd passes zero-width and fullwidth characters through), so the rule is
 * checked here on the raw forms; test/xmpp-bridge.test.ts checks it against a real Prosody.
 */
import test from 'node:test'
import assert from 'node:assert/strict'
import { membersNeedingIds, nickHolder } from '../src/xmpp/nicks.ts'

const members = [{ member: { name: 'alice' }, nick: 'alice' }, { member: { name: 'Bob Meyer' }, nick: 'Bob Meyer' }]
const occupants = [{ nick: 'Anna', jid: 'anna@example.org/phone' }]

test('nicks: look-alikes of a member\'s name are held by the member', () => {
  for (const nick of ['alice', 'ALICE', '\u0430lice', 'al\u0456ce', 'ali\u200Bce', '\uFF41\uFF4C\uFF49\uFF43\uFF45', '\u202Ealice', 'b\u043Eb  meyer', 'Bob\u00A0Meyer']) {
    assert.equal(nickHolder(nick, members, occupants, 'ben@example.org/pc')?.kind, 'member', JSON.stringify(nick))
  }
})

test('nicks: look-alikes of another occupant\'s nick are held by that occupant, not by oneself', () => {
  assert.deepEqual(nickHolder('\u0410nna', members, occupants, 'ben@example.org/pc'), { kind: 'occupant', nick: 'Anna' })
  assert.deepEqual(nickHolder('anna\u200D', members, occupants, 'ben@example.org/pc'), { kind: 'occupant', nick: 'Anna' })
  assert.equal(nickHolder('anna', members, occupants, 'anna@example.org/phone'), null, 'anna may change the case of her own nick')
})

test('nicks: different nicks are free', () => {
  for (const nick of ['Ben', 'alicia', 'Bob', 'Anne']) assert.equal(nickHolder(nick, members, occupants, 'ben@example.org/pc'), null, nick)
})

test('nicks: members whose names look alike get their id in the nickname', () => {
  assert.deepEqual([...membersNeedingIds([
    { id: 'm1', name: 'alice' }, { id: 'm2', name: '\u0430lice' }, { id: 'm3', name: 'bob' }, { id: 'm4', name: 'Carol' }, { id: 'm5', name: 'carol' }
  ])].sort(), ['m1', 'm2', 'm4', 'm5'])
})
