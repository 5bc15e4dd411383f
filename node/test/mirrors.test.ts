/**
 * Group mirrors on a member's node: `mirrors.json` (format, mode 0600, damaged files),
 * `MirrorManager.add/list` and their persistence across restarts, and the local API's
 * /api/groups/:group/mirrors routes with their input validation. No network here: a node
 * without a DHT remembers mirrors but does not use them (the multi-process test in
 * test/mirror.test.ts covers replication through a real mirror).
 */
import { describe, it, before, after } from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { randomBytes } from 'node:crypto'
import pino from 'pino'
import { createIdentity, encodeKey, isSolidarError } from '@solidar/core'
import { startNode, type RunningNode } from '../src/runtime.ts'
import { startApiServer, type ApiServer } from '../src/api/server.ts'
import { loadOrCreateToken, writeIdentity } from '../src/home.ts'
import { MIRRORS_FILE, MAX_MIRRORS_PER_GROUP, parseMirrorKey, readMirrors, writeMirrors } from '../src/mirrors.ts'
import { raw } from './helpers/http.ts'

const mirrorKey = (): string => encodeKey(randomBytes(32))
const tempHome = (): string => fs.mkdtempSync(path.join(os.tmpdir(), 'solidar-mirrors-test-'))

describe('mirrors.json', () => {
  it('round-trips, normalises keys, drops duplicates and is written with mode 0600', () => {
    const home = tempHome()
    try {
      assert.deepEqual(readMirrors(home), new Map(), 'no file: no mirrors')
      const a = mirrorKey()
      const b = mirrorKey()
      writeMirrors(home, new Map([['g1', [a, b]], ['g2', []]]))
      const file = path.join(home, MIRRORS_FILE)
      assert.equal(fs.statSync(file).mode & 0o777, 0o600)
      const stored = JSON.parse(fs.readFileSync(file, 'utf8'))
      assert.deepEqual(stored, { version: 1, groups: { g1: [a, b] } }, 'groups without mirrors are left out')
      // Hex and upper case are accepted on read and normalised to z-base-32.
      const hex = Buffer.from(parseMirrorKey(a)).toString('hex')
      fs.writeFileSync(file, JSON.stringify({ version: 1, groups: { g1: [hex, a.toUpperCase(), b] } }))
      assert.deepEqual(readMirrors(home), new Map([['g1', [a, b]]]))
    } finally {
      fs.rmSync(home, { recursive: true, force: true })
    }
  })

  it('a damaged file is a clear BAD_REQUEST, never silently emptied', () => {
    const home = tempHome()
    try {
      for (const text of ['{', '[]', '{"version":2,"groups":{}}', '{"version":1,"groups":[]}', '{"version":1,"groups":{"g":"x"}}', '{"version":1,"groups":{"g":["not a key"]}}']) {
        fs.writeFileSync(path.join(home, MIRRORS_FILE), text)
        assert.throws(() => readMirrors(home), (err: unknown) => isSolidarError(err) && err.code === 'BAD_REQUEST' && err.message.includes(MIRRORS_FILE), text)
      }
    } finally {
      fs.rmSync(home, { recursive: true, force: true })
    }
  })

  it('parseMirrorKey accepts 52-character z-base-32 and 64-character hex keys only', () => {
    const key = randomBytes(32)
    assert.deepEqual(parseMirrorKey(encodeKey(key)), key)
    assert.deepEqual(parseMirrorKey(key.toString('hex')), key)
    assert.deepEqual(parseMirrorKey(` ${encodeKey(key)} `), key)
    for (const bad of ['', 'abc', encodeKey(key).slice(1), encodeKey(key) + 'y', key.toString('hex').slice(2), '0'.repeat(63), 42, null, undefined, {}]) {
      assert.throws(() => parseMirrorKey(bad), (err: unknown) => isSolidarError(err) && err.code === 'BAD_REQUEST', String(bad))
    }
  })
})

describe('mirror add/list on a node, and the API routes', { timeout: 60_000 }, () => {
  let home: string
  let node: RunningNode
  let server: ApiServer
  let token: string
  let group: { id: string, name: string }

  const start = async (): Promise<void> => {
    node = await startNode({ home, network: { mode: 'none', bootstrap: [] } })
    server = await startApiServer({ api: node.api, mirrors: node.mirrors, port: 0, token, logger: pino({ level: 'silent' }) })
  }
  const stop = async (): Promise<void> => {
    await server?.close()
    await node?.close()
  }
  const call = (method: string, p: string, body?: unknown) => raw({ port: server.port, method, path: p, token, body })

  before(async () => {
    home = tempHome()
    writeIdentity(home, createIdentity('Tester'))
    token = loadOrCreateToken(home)
    await start()
    group = await node.api.createGroup('Betriebsrat Mirror')
  })

  after(async () => {
    await stop()
    fs.rmSync(home, { recursive: true, force: true })
  })

  it('adds a mirror (by group id or name), reports it inactive without a network, and adding again changes nothing', async () => {
    const key = mirrorKey()
    const added = await node.mirrors.add(group.name, key)
    assert.equal(added.group, group.id)
    assert.equal(added.key, key)
    assert.equal(added.added, true)
    assert.equal(added.active, false, 'no DHT: remembered, not used')
    assert.deepEqual(added.mirrors, [{ key, connected: false, localLength: added.mirrors[0].localLength, mirroredLength: null }])
    assert.ok(added.mirrors[0].localLength >= 1, 'the creator wrote group/create')
    const again = await node.mirrors.add(group.id, Buffer.from(parseMirrorKey(key)).toString('hex'))
    assert.equal(again.added, false, 'the same key in hex is the same mirror')
    assert.deepEqual((await node.mirrors.list(group.id)).mirrors.map((m) => m.key), [key])
    assert.equal(fs.statSync(path.join(home, MIRRORS_FILE)).mode & 0o777, 0o600)
  })

  it('POST/GET /api/groups/:group/mirrors; the list survives a restart of the node', async () => {
    const before = (await node.mirrors.list(group.id)).mirrors.map((m) => m.key)
    const key = mirrorKey()
    const post = await call('POST', `/api/groups/${group.id}/mirrors`, { key })
    assert.equal(post.status, 201, post.text)
    assert.equal(post.json.key, key)
    assert.equal(post.json.added, true)
    const wanted = [...before, key]
    assert.deepEqual(post.json.mirrors.map((m: { key: string }) => m.key), wanted)

    await stop()
    await start()
    const get = await call('GET', `/api/groups/${encodeURIComponent(group.name)}/mirrors`)
    assert.equal(get.status, 200, get.text)
    assert.equal(get.json.group, group.id)
    assert.equal(get.json.active, false)
    assert.deepEqual(get.json.mirrors.map((m: { key: string }) => m.key), wanted, 'mirrors.json was read back')
  })

  it('refuses bad input with 400 and unknown groups with 404, changing nothing', async () => {
    const url = `/api/groups/${group.id}/mirrors`
    const before = fs.readFileSync(path.join(home, MIRRORS_FILE), 'utf8')
    const badKeys: unknown[] = ['', 'abc', mirrorKey().slice(1), mirrorKey() + 'y', 'z'.repeat(64), 'g'.repeat(64), 123, null, true, ['x'], { key: 'x' }]
    for (const key of badKeys) {
      const r = await call('POST', url, { key })
      assert.equal(r.status, 400, `key ${JSON.stringify(key)}: ${r.text}`)
      assert.equal(r.json.error.code, 'BAD_REQUEST')
    }
    for (const body of [{}, { key: mirrorKey(), extra: 1 }, { mirror: mirrorKey() }, 'not json', '[]']) {
      const r = await call('POST', url, body)
      assert.equal(r.status, 400, `body ${JSON.stringify(body)}: ${r.text}`)
    }
    const long = await call('POST', url, { key: 'y'.repeat(500) })
    assert.equal(long.status, 400)
    const unknown = await call('POST', `/api/groups/${mirrorKey()}/mirrors`, { key: mirrorKey() })
    assert.equal(unknown.status, 404, unknown.text)
    assert.equal(unknown.json.error.code, 'GROUP_NOT_FOUND')
    const unknownList = await call('GET', `/api/groups/no-such-group/mirrors`)
    assert.equal(unknownList.status, 404)
    const noAuth = await raw({ port: server.port, method: 'POST', path: url, token: null, body: { key: mirrorKey() } })
    assert.equal(noAuth.status, 401)
    assert.equal(fs.readFileSync(path.join(home, MIRRORS_FILE), 'utf8'), before, 'mirrors.json is unchanged')
  })

  it(`caps a group at ${MAX_MIRRORS_PER_GROUP} mirrors`, async () => {
    const have = (await node.mirrors.list(group.id)).mirrors.length
    for (let i = have; i < MAX_MIRRORS_PER_GROUP; i++) await node.mirrors.add(group.id, mirrorKey())
    const r = await call('POST', `/api/groups/${group.id}/mirrors`, { key: mirrorKey() })
    assert.equal(r.status, 400, r.text)
    assert.match(r.json.error.message, /at most/)
    assert.equal((await node.mirrors.list(group.id)).mirrors.length, MAX_MIRRORS_PER_GROUP)
  })

  it('without a mirror service the routes do not exist', async () => {
    const bare = await startApiServer({ api: node.api, port: 0, token, logger: pino({ level: 'silent' }) })
    try {
      const r = await raw({ port: bare.port, path: `/api/groups/${group.id}/mirrors`, token })
      assert.equal(r.status, 404)
    } finally {
      await bare.close()
    }
  })
})
