/**
 * Bounded reads over the local API (issue 17 item 6): `?before=&limit=` pages of a group's and a
 * DM's history, their validation, and the unread counts the node keeps (`unread` in GET
 * /api/groups, POST /api/groups/:group/read). Real nodes on an in-memory network behind the
 * real API server: alice writes, bob reads through his API.
 */
import test from 'node:test'
import assert from 'node:assert/strict'
import pino from 'pino'
import { makeNodes, waitFor } from '@solidar/core/testing/helpers'
import { startApiServer } from '../src/api/server.ts'
import { raw } from './helpers/http.ts'

test('GET …/messages?before=&limit= pages history, POST …/read moves the unread count', { timeout: 120_000 }, async (t) => {
  const { nodes: [alice, bob] } = await makeNodes(['alice', 'bob'], t)
  const { id: g } = await alice.createGroup('Paged')
  await bob.join((await alice.createInvite(g)).code, { timeoutMs: 30_000 })
  const token = 'history-api-test-token-0123456789abcdef'
  const server = await startApiServer({ api: bob, port: 0, token, logger: pino({ level: 'silent' }) })
  t.after(() => server.close())
  const get = (path: string) => raw({ port: server.port, path, token })
  const texts = (list: Array<{ text: string }>) => list.map(m => m.text)

  const sent = []
  for (let i = 0; i < 5; i++) sent.push(await alice.send(g, `a${i}`))
  await waitFor(async () => (await bob.messages(g)).length === 5, 'bob has alice\'s messages')

  const newest = await get(`/api/groups/${g}/messages?limit=2`)
  assert.equal(newest.status, 200, newest.text)
  assert.deepEqual(texts(newest.json), ['a3', 'a4'])
  const older = await get(`/api/groups/${g}/messages?before=${newest.json[0].id}&limit=2`)
  assert.deepEqual(texts(older.json), ['a1', 'a2'])
  const start = await get(`/api/groups/${g}/messages?before=${older.json[0].id}&limit=2`)
  assert.deepEqual(texts(start.json), ['a0'], 'fewer than limit: the start is reached')
  assert.deepEqual(texts((await get(`/api/groups/${g}/messages?room=general&limit=500`)).json), ['a0', 'a1', 'a2', 'a3', 'a4'])
  assert.deepEqual(texts((await get(`/api/groups/${g}/messages`)).json), ['a0', 'a1', 'a2', 'a3', 'a4'], 'default page')

  for (const query of ['limit=0', 'limit=501', 'limit=abc', 'limit=-1', 'limit=1.5', 'before=no!', 'before=', 'limit=']) {
    const bad = await get(`/api/groups/${g}/messages?${query}`)
    assert.equal(bad.status, 400, `${query}: ${bad.text}`)
    assert.equal(bad.json.error.code, 'BAD_REQUEST', query)
  }
  const tooMany = await get(`/api/groups/${g}/messages?limit=501`)
  assert.match(tooMany.json.error.message, /limit must be a whole number from 1 to 500/)
  const unknown = await get(`/api/groups/${g}/messages?before=AAAAAAAAAAAAAAAA`)
  assert.equal(unknown.status, 404, unknown.text)
  assert.equal(unknown.json.error.code, 'MESSAGE_NOT_FOUND')

  // Unread: counted by the node from bob's read marker.
  const unread = async () => (await get('/api/groups')).json.find((x: { id: string }) => x.id === g).unread
  assert.equal(await unread(), 5)
  const read = await raw({ port: server.port, method: 'POST', path: `/api/groups/${g}/read`, token, body: { id: sent[2].id } })
  assert.equal(read.status, 200, read.text)
  assert.deepEqual(read.json, { unread: 2 })
  assert.equal(await unread(), 2)
  await alice.send(g, 'a5')
  await waitFor(async () => (await unread()) === 3, 'a new message from alice counts')
  for (const body of [{}, { id: 'no!' }, { id: sent[0].id, extra: 1 }]) {
    const bad = await raw({ port: server.port, method: 'POST', path: `/api/groups/${g}/read`, token, body })
    assert.equal(bad.status, 400, bad.text)
  }
  const missing = await raw({ port: server.port, method: 'POST', path: `/api/groups/${g}/read`, token, body: { id: 'AAAAAAAAAAAAAAAA' } })
  assert.equal(missing.status, 404, missing.text)

  // DMs page the same way.
  const aliceId = alice.whoami().id
  await alice.dm(bob.whoami().id, 'd0')
  await waitFor(async () => (await bob.dmMessages(aliceId)).length === 1, 'bob has the first DM')
  for (let i = 1; i < 4; i++) await alice.dm(bob.whoami().id, `d${i}`)
  await waitFor(async () => (await bob.dmMessages(aliceId)).length === 4, 'bob has every DM')
  const dmNewest = await get(`/api/dms/${aliceId}/messages?limit=3`)
  assert.deepEqual(texts(dmNewest.json), ['d1', 'd2', 'd3'])
  assert.deepEqual(texts((await get(`/api/dms/${aliceId}/messages?before=${dmNewest.json[0].id}&limit=3`)).json), ['d0'])
  assert.equal((await get(`/api/dms/${aliceId}/messages?limit=0`)).status, 400)
  const dms = await get('/api/dms')
  assert.deepEqual(dms.json, [{ member: aliceId, name: 'alice', unread: 4 }])
  const dmRead = await raw({ port: server.port, method: 'POST', path: `/api/dms/${aliceId}/read`, token, body: { id: dmNewest.json[1].id } })
  assert.deepEqual(dmRead.json, { unread: 1 })
  assert.equal((await get('/api/dms')).json[0].unread, 1)
  assert.equal((await raw({ port: server.port, method: 'POST', path: `/api/dms/${aliceId}/read`, token, body: { id: 'bad!' } })).status, 400)
  assert.equal((await get(`/api/dms/${aliceId}/messages?before=AAAAAAAAAAAAAAAA`)).status, 404)
})
