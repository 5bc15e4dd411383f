/**
 * The local API reports how far a group that has not reached this device is (issue 16, item 6):
 * GET /api/status and GET /api/groups carry `catchUp` for bob, who is not admitted yet, fetches
 * from carol (a member) and sees no admin online. Real nodes (core/test/catch-up-fixture.ts)
 * behind the real API server.
 */
import test from 'node:test'
import assert from 'node:assert/strict'
import pino from 'pino'
import { waitFor } from '@solidar/core/testing/helpers'
import { strandedNewcomer } from '@solidar/core/testing/catch-up-fixture'
import { startApiServer } from '../src/api/server.ts'
import { raw } from './helpers/http.ts'

test('GET /api/status and /api/groups: a device not admitted yet says from whom it fetches and that it waits for an admin', { timeout: 120_000 }, async (t) => {
  const { carol, bob, id } = await strandedNewcomer(t)
  const token = 'catch-up-test-token-0123456789abcdef'
  const server = await startApiServer({ api: bob, port: 0, token, logger: pino({ level: 'silent' }) })
  t.after(() => server.close())

  const status = await waitFor(async () => {
    const res = await raw({ port: server.port, path: '/api/status', token })
    const g = res.json?.groups?.find((g: any) => g.id === id)
    return g?.catchUp?.peers?.some((p: any) => p.name === 'carol') && g.catchUp.have > 0 ? g : null
  }, 'bob\'s status names carol')
  assert.equal(status.catchUp.stage, 'admission')
  assert.equal(status.catchUp.waitingForAdmin, true)
  assert.equal(status.catchUp.adminOnline, false)
  assert.deepEqual(status.catchUp.peers.map((p: any) => ({ name: p.name, member: p.member, admin: p.admin })), [{ name: 'carol', member: carol.whoami().id, admin: false }])

  const groups = await raw({ port: server.port, path: '/api/groups', token })
  assert.equal(groups.status, 200)
  const g = groups.json.find((g: any) => g.id === id)
  assert.equal(g.role, null)
  assert.equal(g.catchUp.waitingForAdmin, true)
  assert.equal(g.catchUp.stage, 'admission')
})
