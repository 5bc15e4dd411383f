/**
 * STUN/TURN servers for video meetings: URLs parsed and checked, remembered in config.json 0600,
 * the web app's PUT /api/settings/ice-servers (validated) and GET /api/meetings/config (the list
 * with TURN credentials, only with the API token, changes applying at once). The CLI's
 * `serve --ice-server URL`: cli/test/ice-server-cli.test.ts.
 */
import test, { describe, it, before, after } from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import pino from 'pino'
import { createIdentity } from '@solidar/core'
import { parseIceServer, checkIceServers, redact } from '../src/ice-servers.ts'
import { loadOrCreateToken, readConfig, writeConfig, writeIdentity } from '../src/home.ts'
import { startNode, type RunningNode } from '../src/runtime.ts'
import { startApiServer, type ApiServer } from '../src/api/server.ts'
import { createSettings } from '../src/settings.ts'
import { raw } from './helpers/http.ts'

const TURN = { urls: 'turn:turn.example.org:3478', username: 'solidar', credential: 'S3cret-pw' }

test('ice servers: STUN and TURN URLs parse, credentials move out of the URL', () => {
  assert.deepEqual(parseIceServer('stun:turn.example.org:3478'), { urls: 'stun:turn.example.org:3478' })
  assert.deepEqual(parseIceServer('turn:solidar:SECRET@turn.example.org:3478?transport=tcp'),
    { urls: 'turn:turn.example.org:3478?transport=tcp', username: 'solidar', credential: 'SECRET' })
  assert.deepEqual(parseIceServer('turns:a:p%40ss@[::1]:5349'), { urls: 'turns:[::1]:5349', username: 'a', credential: 'p@ss' })
})

test('ice servers: bad URLs are errors with the reason, never echoing the password', () => {
  assert.throws(() => parseIceServer('turn:host:3478'), /needs credentials/)
  assert.throws(() => parseIceServer('http://example.org'), /not a STUN or TURN URL/)
  assert.throws(() => parseIceServer('stuns:example.org'), /not a STUN or TURN URL/)
  assert.throws(() => parseIceServer('stun:u:p@host'), /takes no credentials/)
  assert.throws(() => parseIceServer('stun:host:99999'), /bad port/)
  assert.throws(() => parseIceServer('stun:host?transport=udp'), /TURN servers only/)
  assert.throws(() => parseIceServer('turn:u:p@host/path'), /not a STUN or TURN URL/)
  assert.throws(() => parseIceServer('turn:u:%zzSECRET@host'), (err: Error) => /percent-encoding/.test(err.message) && !err.message.includes('SECRET'))
  assert.equal(redact('turn:u:SECRET@host:3478'), 'turn:u:***@host:3478')
})

test('ice servers: a list is checked as a whole (fields, count, duplicates)', () => {
  assert.deepEqual(checkIceServers([{ urls: 'stun:a.example' }, TURN]), [{ urls: 'stun:a.example' }, TURN])
  assert.throws(() => checkIceServers([{ urls: 'turn:a.example' }]), /needs a username and a password/)
  assert.throws(() => checkIceServers([{ urls: 'stun:a.example', username: 'u', credential: 'p' }]), /takes no username/)
  assert.throws(() => checkIceServers([{ ...TURN, extra: 1 }]), /unknown ICE server field/)
  assert.throws(() => checkIceServers([TURN, TURN]), /listed twice/)
  assert.throws(() => checkIceServers(Array.from({ length: 9 }, (_, i) => ({ urls: `stun:s${i}.example` }))), /at most 8/)
  assert.throws(() => checkIceServers([{ ...TURN, credential: 'a\nb' }]), /without control characters/)
})



describe('ice servers remembered in config.json', () => {
  let home = ''
  before(() => { home = fs.mkdtempSync(path.join(os.tmpdir(), 'solidar-ice-test-')) })
  after(() => fs.rmSync(home, { recursive: true, force: true }))

  it('survive a write and a read, with mode 0600; a damaged entry is refused with the reason', () => {
    writeConfig(home, { iceServers: [TURN] })
    assert.deepEqual(readConfig(home), { iceServers: [TURN] })
    assert.equal(fs.statSync(path.join(home, 'config.json')).mode & 0o777, 0o600)
    fs.writeFileSync(path.join(home, 'config.json'), JSON.stringify({ iceServers: [{ urls: 'http://x' }] }))
    assert.throws(() => readConfig(home), /invalid "iceServers" entry: "http:\/\/x" is not a STUN or TURN URL/)
  })
})

describe('ice servers over the API (settings page, meetings config)', { timeout: 60_000 }, () => {
  let home: string
  let node: RunningNode
  let server: ApiServer
  let token: string

  before(async () => {
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'solidar-ice-api-test-'))
    writeIdentity(home, createIdentity('user'))
    token = loadOrCreateToken(home)
    const running = { mode: 'none' as const, bootstrap: [] }
    node = await startNode({ home, network: running })
    const settings = createSettings({ home, solidar: node.solidar, running })
    // As `solidar serve` wires it: the list is read from config.json at every request.
    server = await startApiServer({ api: node.api, port: 0, token, settings, iceServers: () => settings.iceServers(), logger: pino({ level: 'silent' }) })
  })

  after(async () => {
    await server?.close()
    await node?.close()
    fs.rmSync(home, { recursive: true, force: true })
  })

  const call = (method: string, p: string, body?: unknown, t: string | null = token) => raw({ port: server.port, method, path: p, token: t, body })

  it('GET /api/meetings/config and the settings need the token', async () => {
    for (const [m, p, b] of [['GET', '/api/meetings/config'], ['GET', '/api/settings'], ['PUT', '/api/settings/ice-servers', { servers: [] }]] as const) {
      const r = await call(m, p, b, null)
      assert.equal(r.status, 401, `${m} ${p}`)
      assert.doesNotMatch(r.text, /S3cret/)
    }
  })

  it('a list saved in the settings is in config.json (0600) and in the meetings config at once', async () => {
    assert.deepEqual((await call('GET', '/api/meetings/config')).json.iceServers, [])
    const saved = await call('PUT', '/api/settings/ice-servers', { servers: [{ urls: 'stun:turn.example.org:3478' }, TURN] })
    assert.equal(saved.status, 200, saved.text)
    assert.deepEqual(saved.json.meetings, { iceServers: [{ urls: 'stun:turn.example.org:3478' }, TURN] })
    assert.deepEqual(readConfig(home).iceServers, [{ urls: 'stun:turn.example.org:3478' }, TURN])
    assert.equal(fs.statSync(path.join(home, 'config.json')).mode & 0o777, 0o600)
    const config = await call('GET', '/api/meetings/config')
    assert.equal(config.status, 200)
    assert.deepEqual(config.json.iceServers, [{ urls: 'stun:turn.example.org:3478' }, TURN])
    assert.deepEqual((await call('GET', '/api/settings')).json.meetings.iceServers, [{ urls: 'stun:turn.example.org:3478' }, TURN])
    const cleared = await call('PUT', '/api/settings/ice-servers', { servers: [] })
    assert.equal(cleared.status, 200, cleared.text)
    assert.deepEqual((await call('GET', '/api/meetings/config')).json.iceServers, [])
  })

  it('refuses bad lists with 400 BAD_REQUEST and the reason, keeping the saved one', async () => {
    await call('PUT', '/api/settings/ice-servers', { servers: [TURN] })
    const bad: Array<[unknown, RegExp]> = [
      [{ servers: [{ urls: 'https://turn.example.org' }] }, /not a STUN or TURN URL/],
      [{ servers: [{ urls: 'turn:turn.example.org' }] }, /needs a username and a password/],
      [{ servers: [{ urls: 'stun:a.example', username: 'u', credential: 'p' }] }, /takes no username/],
      [{ servers: [TURN, TURN] }, /listed twice/],
      [{ servers: Array.from({ length: 9 }, (_, i) => ({ urls: `stun:s${i}.example` })) }, /at most 8/],
      [{ servers: [{ ...TURN, port: 1 }] }, /.+/],
      [{ servers: 'stun:a.example' }, /.+/],
      [{}, /.+/]
    ]
    for (const [body, re] of bad) {
      const r = await call('PUT', '/api/settings/ice-servers', body)
      assert.equal(r.status, 400, `${JSON.stringify(body)} → ${r.status} ${r.text}`)
      assert.equal(r.json.error.code, 'BAD_REQUEST')
      assert.match(r.json.error.message, re)
    }
    assert.deepEqual((await call('GET', '/api/meetings/config')).json.iceServers, [TURN])
  })
})
