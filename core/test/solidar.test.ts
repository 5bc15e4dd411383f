import test from 'node:test'
import assert from 'node:assert/strict'
import { makeNodes, waitFor } from './helpers.ts'

test('create, invite, join, chat and DM converge across three nodes', async (t) => {
  const { nodes: [alice, bob, carol] } = await makeNodes(['alice', 'bob', 'carol'], t)
  const { id } = await alice.createGroup('Works council')
  const forBob = await alice.createInvite(id)
  const forCarol = await alice.createInvite(id, { role: 'admin' })
  assert.deepEqual(await bob.join(forBob.code, { timeoutMs: 30_000 }), { id, name: 'Works council', writable: true })
  assert.equal((await carol.join(forCarol.code, { timeoutMs: 30_000 })).id, id)

  await alice.send(id, 'hello from alice')
  await bob.send('works council', 'hello from bob')
  await carol.createRoom(id, 'minutes')
  await carol.send(id, 'carol in minutes', { room: 'minutes' })

  const ids = async (n: typeof alice) => (await n.messages(id)).map(m => m.id).join()
  await waitFor(async () => (await alice.messages(id)).length === 3 && await ids(alice) === await ids(bob) && await ids(bob) === await ids(carol), 'same log everywhere')
  const roles = Object.fromEntries((await bob.members(id)).map(m => [m.name, m.role]))
  assert.deepEqual(roles, { alice: 'admin', bob: 'member', carol: 'admin' })
  assert.deepEqual((await bob.messages(id, { room: 'minutes' })).map(m => m.text), ['carol in minutes'])

  await alice.dm(bob.whoami().id, 'psst bob')
  await waitFor(async () => (await bob.dmMessages(alice.whoami().id)).length === 1, 'bob receives DM')
  await bob.dm(alice.whoami().id, 'hi alice')
  await waitFor(async () => (await alice.dmMessages(bob.whoami().id)).length === 2, 'alice receives reply')
  const seen = (await bob.dmMessages(alice.whoami().id)).map(m => m.text)
  assert.deepEqual(seen, ['psst bob', 'hi alice'])
  // carol shares the group but not the DM
  assert.deepEqual(await carol.dmMessages(alice.whoami().id), [])
})

test('a join after a refused attempt on the same connection still reaches the admin', async (t) => {
  const { nodes: [alice, bob, dave] } = await makeNodes(['alice', 'bob', 'dave'], t)
  const { id } = await alice.createGroup('Council')
  const once = await alice.createInvite(id)
  await bob.join(once.code, { timeoutMs: 30_000 })
  // dave's refused attempt closes his pairing channel; the retry must open a new pair
  await assert.rejects(dave.join(once.code, { timeoutMs: 30_000 }), { code: 'INVITE_USED' })
  const fresh = await alice.createInvite(id)
  assert.equal((await dave.join(fresh.code, { timeoutMs: 30_000 })).id, id)
})

test('join: admitted but not caught up in time is a join that says so (not a timeout), and writing works once caught up', async (t) => {
  const { nodes: [alice, bob], locals } = await makeNodes(['alice', 'bob'], t)
  const { id } = await alice.createGroup('Council')
  await alice.send(id, 'history')
  const { code } = await alice.createInvite(id)
  const { base } = await alice.logBase(id)
  // The admin answers, then drops off the network before the newcomer has any of the log (as
  // when applying a long history outlasts the wait): cut when bob records the group's key.
  const put = locals[1].put.bind(locals[1])
  let cut = false
  locals[1].put = async (name: string, bytes: Uint8Array) => {
    const text = Buffer.from(bytes).toString('utf8')
    if (!cut && text.includes(base.key.toString('hex'))) {
      cut = true
      await alice.transport!.leave(base.discoveryKey)
      ;(alice.transport as any).disconnectAll()
    }
    return put(name, bytes)
  }
  const joined = await bob.join(code, { timeoutMs: 8000 })
  assert.ok(cut, 'the admin left right after admitting bob')
  assert.equal(joined.id, id)
  assert.equal(joined.writable, false, 'admitted, not yet able to write')
  assert.deepEqual((await bob.listGroups()).map(g => g.id), [id], 'the group is bob\'s and keeps syncing')
  // The admin is back: bob catches up and can write.
  await alice.transport!.join(base.discoveryKey)
  const sent = await waitFor(async () => bob.send(id, 'hello, I am in').catch(() => null), 'bob can write once caught up')
  await waitFor(async () => (await alice.messages(id)).some(m => m.id === sent.id), 'alice receives it')
  assert.deepEqual((await bob.messages(id)).map(m => m.text), ['history', 'hello, I am in'])
})

test('subscribers see new, edited and deleted messages of groups and DMs', async (t) => {
  const { nodes: [alice, bob] } = await makeNodes(['alice', 'bob'], t)
  const { id } = await alice.createGroup('Council')
  await bob.join((await alice.createInvite(id)).code, { timeoutMs: 30_000 })
  const seen: string[] = []
  const stop = bob.subscribe((e) => {
    if (e.type === 'message' || e.type === 'dm') seen.push(`${e.type}:${e.message.deleted ? '(deleted)' : e.message.text}`)
  })
  t.after(stop)
  const msg = await alice.send(id, 'draft')
  await waitFor(() => seen.includes('message:draft'), 'post event')
  await alice.edit(id, msg.id, 'final')
  await waitFor(() => seen.includes('message:final'), 'edit event')
  await alice.deleteMessage(id, msg.id)
  await waitFor(() => seen.includes('message:(deleted)'), 'delete event')
  await alice.dm(bob.whoami().id, 'private')
  await waitFor(() => seen.includes('dm:private'), 'dm event')
})

test('DM edit and delete: the author changes their own message, the other side sees it, nobody else may', async (t) => {
  const { nodes: [alice, bob] } = await makeNodes(['alice', 'bob'], t)
  const { id } = await alice.createGroup('Council')
  await bob.join((await alice.createInvite(id)).code, { timeoutMs: 30_000 })
  const aliceId = alice.whoami().id
  const bobId = bob.whoami().id
  const seen: string[] = []
  const stop = bob.subscribe((e) => { if (e.type === 'dm') seen.push(e.message.deleted ? '(deleted)' : e.message.text) })
  t.after(stop)

  const msg = await alice.dm(bobId, 'meet at 9')
  await waitFor(async () => (await bob.dmMessages(aliceId)).length === 1, 'bob receives the DM')
  const edited = await alice.dmEdit(bobId, msg.id, 'meet at 10')
  assert.equal(edited.text, 'meet at 10')
  assert.equal(typeof edited.editedTs, 'number')
  await waitFor(async () => (await bob.dmMessages(aliceId))[0]?.text === 'meet at 10', 'bob sees the edit')
  await waitFor(() => seen.includes('meet at 10'), 'dm event for the edit')

  // Only the author: bob may neither edit nor delete alice's message; unknown ids are refused.
  await assert.rejects(bob.dmEdit(aliceId, msg.id, 'meet never'), { code: 'NOT_PERMITTED' })
  await assert.rejects(bob.dmDelete(aliceId, msg.id), { code: 'NOT_PERMITTED' })
  await assert.rejects(alice.dmEdit(bobId, 'AAAAAAAAAAAAAAAA', 'x'), { code: 'MESSAGE_NOT_FOUND' })
  await assert.rejects(alice.dmEdit(bobId, msg.id, ''), { code: 'BAD_REQUEST' })

  const deleted = await alice.dmDelete(bobId, msg.id)
  assert.equal(deleted.deleted, true)
  await waitFor(async () => (await bob.dmMessages(aliceId))[0]?.deleted === true, 'bob sees the delete')
  assert.equal((await bob.dmMessages(aliceId))[0].text, '')
  await assert.rejects(alice.dmEdit(bobId, msg.id, 'again'), { code: 'NOT_PERMITTED' })
})
