/**
 * The pairing channel reads bytes from any peer on a group's topic, members or not.
 * Random and mutated requests and replies must never crash a node, never change a group's
 * state, and never stop a real join from working afterwards.
 */
import test from 'node:test'
import assert from 'node:assert/strict'
import Protomux from 'protomux'
import c from 'compact-encoding'
import b4a from 'b4a'
import { CandidateRequest } from 'blind-pairing-core'
import { decodeInviteCode } from '../src/invite-code.ts'
import { makeNodes, seededRandom, waitFor } from './helpers.ts'

test('garbage on the pairing channel changes nothing and a real join still works', async (t) => {
  const { nodes: [alice, bob], network } = await makeNodes(['alice', 'bob'], t)
  const { id } = await alice.createGroup('Council')
  const invite = await alice.createInvite(id)
  const { discoveryKey, invite: rawInvite } = decodeInviteCode(invite.code)
  const errors: Error[] = []
  alice.onError((err) => errors.push(err))

  // An attacker on the topic opens the pairing channel itself and sends junk both ways.
  const attacker = network.transport()
  t.after(() => attacker.close())
  const channels: any[] = []
  attacker.on('connection', ({ stream }) => {
    stream.on('error', () => {})
    const mux = Protomux.from(stream)
    const ch = mux.createChannel({
      protocol: 'solidar/pairing/v2',
      id: discoveryKey,
      messages: [{ encoding: c.buffer, onmessage () {} }, { encoding: c.buffer, onmessage () {} }]
    })
    if (ch) { ch.open(); channels.push(ch) }
  })
  await attacker.join(discoveryKey)
  await waitFor(() => channels.some(ch => ch.opened), 'the attacker\'s pairing channel to open')

  const r = seededRandom(7)
  const valid = new CandidateRequest(rawInvite, b4a.from('not even CBOR')).encode()
  for (let i = 0; i < 400; i++) {
    let msg: Buffer
    if (i % 2 === 0) msg = r.bytes(r.int(300))
    else {
      msg = b4a.from(valid)
      for (let k = 0; k < 1 + r.int(4); k++) msg[r.int(msg.byteLength)] ^= 1 << r.int(8)
    }
    for (const ch of channels) ch.messages[i % 4 === 3 ? 1 : 0].send(msg)
  }
  // A well-formed request for the real invite with malformed user data is refused, not admitted.
  for (const ch of channels) ch.messages[0].send(valid)
  await new Promise(resolve => setTimeout(resolve, 500))

  assert.deepEqual((await alice.members(id)).map(m => m.name), ['alice'], 'nobody was admitted')
  assert.deepEqual(errors, [], 'no error escaped the node')
  assert.deepEqual(await bob.join(invite.code, { timeoutMs: 30_000 }), { id, name: 'Council', writable: true }, 'a real join still works')
})
