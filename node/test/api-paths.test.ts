/**
 * The token check cannot be routed around (security issue, item 1). The router decodes and
 * matches paths its own way (`/%61pi/whoami` is `/api/whoami` to it), so the check must sit on
 * the matched route, not on the URL text. Every spelling of an API path we can think of, and
 * many random ones (fast-check), for HTTP reads, writes and the event WebSocket: without the
 * token none reaches a handler (no 2xx, no 101, no identity in the body, no state change).
 */
import { describe, it, before, after } from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import http from 'node:http'
import { randomBytes } from 'node:crypto'
import fc from 'fast-check'
import { createIdentity, memberId } from '@solidar/core'
import { startNode } from '../src/runtime.ts'
import type { RunningNode } from '../src/runtime.ts'
import { startApiServer } from '../src/api/server.ts'
import type { ApiServer } from '../src/api/server.ts'
import { loadOrCreateToken, writeIdentity } from '../src/home.ts'
import { raw } from './helpers/http.ts'

/** A raw WebSocket handshake sent with the path exactly as given: 101 if it opened, else the status. */
function upgrade (port: number, requestPath: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: '127.0.0.1',
      port,
      path: requestPath,
      setHost: false,
      agent: false,
      timeout: 10_000,
      headers: {
        host: `127.0.0.1:${port}`,
        connection: 'Upgrade',
        upgrade: 'websocket',
        'sec-websocket-version': '13',
        'sec-websocket-key': randomBytes(16).toString('base64')
      }
    })
    req.once('upgrade', (res, socket) => { socket.destroy(); resolve(res.statusCode ?? 0) })
    req.once('response', (res) => { res.resume(); resolve(res.statusCode ?? 0) })
    req.once('timeout', () => req.destroy(new Error(`upgrade ${requestPath} timed out`)))
    req.once('error', reject)
    req.end()
  })
}

/** Spellings of `/api/<rest>` that a router or a proxy might take for the real path. */
function spellings (rest: string): string[] {
  const [first, ...more] = rest.split('/')
  const tail = more.length > 0 ? '/' + more.join('/') : ''
  const encodeAll = (s: string): string => [...s].map((ch) => '%' + ch.charCodeAt(0).toString(16).padStart(2, '0')).join('')
  return [
    `/%61pi/${rest}`,
    `/%41pi/${rest}`,
    `/${encodeAll('api')}/${rest}`,
    `/${encodeAll('api').toUpperCase()}/${rest}`,
    `/api/${encodeAll(first)}${tail}`,
    `/%2561pi/${rest}`,
    `/API/${rest}`,
    `/Api/${rest}`,
    `/api/${first.toUpperCase()}${tail}`,
    `/./api/${rest}`,
    `/api/./${rest}`,
    `/x/../api/${rest}`,
    `/api/x/../${rest}`,
    `/%2e/api/${rest}`,
    `/%2e%2e/api/${rest}`,
    `/x/%2e%2e/api/${rest}`,
    `//api/${rest}`,
    `/api//${rest}`,
    `///api///${rest}`,
    `/api%2f${rest}`,
    `/api%2F${rest}`,
    `%2fapi%2f${rest}`,
    `/api\\${rest}`,
    `/api/${rest}/`,
    `/api/${rest}?`,
    `/api/${rest};x`,
    `/api/${rest}%00`,
    `/api/${rest}%20`,
    `/api/${rest}?token=`,
    `/api/${rest}#frag`
  ]
}

describe('local API: no path spelling skips the token', { timeout: 120_000 }, () => {
  let home: string
  let node: RunningNode
  let server: ApiServer
  let token: string
  let port: number
  let me: string
  let group: string

  const groupCount = async (): Promise<number> => {
    const res = await raw({ port, path: '/api/groups', token })
    assert.equal(res.status, 200)
    return res.json.length
  }

  before(async () => {
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'solidar-api-paths-'))
    const webDir = path.join(home, 'web')
    fs.mkdirSync(webDir)
    fs.writeFileSync(path.join(webDir, 'index.html'), '<!doctype html><title>Solidar</title>')
    const identity = createIdentity('Pathfinder')
    writeIdentity(home, identity)
    me = memberId(identity)
    token = loadOrCreateToken(home)
    node = await startNode({ home, network: { mode: 'none', bootstrap: [] } })
    server = await startApiServer({ api: node.api, port: 0, token, staticDir: webDir })
    port = server.port
    const created = await raw({ port, method: 'POST', path: '/api/groups', token, body: { name: 'Betriebsrat' } })
    assert.equal(created.status, 201)
    group = created.json.id
  })

  after(async () => {
    await server?.close()
    await node?.close()
    if (home) fs.rmSync(home, { recursive: true, force: true })
  })

  it('the router does decode paths: with the token, /%61pi/whoami is the whoami route', async () => {
    // This is why a check on the URL text was not enough.
    const res = await raw({ port, path: '/%61pi/whoami', token })
    assert.equal(res.status, 200)
    assert.equal(res.json.id, me)
  })

  it('reads: no spelling of /api/whoami, /api/groups, /api/groups/G/messages answers without the token', async () => {
    const targets = ['whoami', 'groups', 'status', `groups/${group}/messages`, `groups/${group}/members`, 'settings']
    for (const target of targets) {
      for (const spelled of [`/api/${target}`, ...spellings(target)]) {
        // HEAD only on origin-form targets: for others Node's own parser answers 400 with a
        // body, which a HEAD client cannot parse (not the API's doing).
        for (const method of spelled.startsWith('/') ? ['GET', 'HEAD'] : ['GET']) {
          const res = await raw({ port, method, path: spelled, token: null })
          assert.ok(res.status >= 400, `${method} ${spelled} answered ${res.status} without a token`)
          assert.ok(!res.text.includes(me), `${method} ${spelled} leaked the identity`)
          assert.ok(!res.text.includes('Betriebsrat'), `${method} ${spelled} leaked a group name`)
        }
        // A wrong token and a token in the query (not accepted outside the event stream).
        const wrong = await raw({ port, path: spelled, token: 'x'.repeat(43) })
        assert.ok(wrong.status >= 400, `${spelled} answered ${wrong.status} with a wrong token`)
        const query = await raw({ port, path: `${spelled}${spelled.includes('?') ? '&' : '?'}token=${token}`, token: null })
        assert.ok(query.status >= 400, `${spelled}?token=… answered ${query.status}: only the event stream takes a query token`)
      }
    }
  })

  it('writes: no spelling creates a group, sends a message or makes an invite without the token', async () => {
    const before = await groupCount()
    const writes: Array<{ method: string, target: string, body: unknown }> = [
      { method: 'POST', target: 'groups', body: { name: 'sneaky' } },
      { method: 'POST', target: `groups/${group}/messages`, body: { text: 'injected' } },
      { method: 'POST', target: `groups/${group}/invites`, body: { role: 'admin' } },
      { method: 'PATCH', target: `groups/${group}`, body: { name: 'renamed' } },
      { method: 'PUT', target: 'settings/name', body: { name: 'mallory' } }
    ]
    for (const write of writes) {
      for (const spelled of [`/api/${write.target}`, ...spellings(write.target)]) {
        const res = await raw({ port, method: write.method, path: spelled, token: null, body: write.body })
        assert.ok(res.status >= 400, `${write.method} ${spelled} answered ${res.status} without a token`)
        assert.ok(!res.text.includes('solidar1'), `${write.method} ${spelled} returned an invite code`)
      }
    }
    assert.equal(await groupCount(), before)
    const messages = await raw({ port, path: `/api/groups/${group}/messages`, token })
    assert.ok(!messages.text.includes('injected'))
    const groups = await raw({ port, path: '/api/groups', token })
    assert.ok(!groups.text.includes('renamed'))
    const who = await raw({ port, path: '/api/whoami', token })
    assert.equal(who.json.name, 'Pathfinder')
  })

  it('the event WebSocket opens only with the token, whatever the spelling', async () => {
    assert.equal(await upgrade(port, `/api/events?token=${token}`), 101)
    for (const spelled of [`/api/events`, ...spellings('events')]) {
      const status = await upgrade(port, spelled)
      assert.notEqual(status, 101, `WebSocket ${spelled} opened without a token`)
      const wrongQuery = await upgrade(port, `${spelled}${spelled.includes('?') ? '&' : '?'}token=wrong`)
      assert.notEqual(wrongQuery, 101, `WebSocket ${spelled}?token=wrong opened`)
    }
  })

  it('random spellings (fast-check): percent-encoding, case, dot segments, slashes — never answered without the token', async () => {
    const targets = ['whoami', 'groups', 'events', 'status']
    const spell = fc.tuple(
      fc.constantFrom(...targets),
      fc.array(fc.constantFrom('plain', 'pct', 'PCT', 'upper', 'dot', 'dotdot', 'slash', 'encslash'), { minLength: 12, maxLength: 12 }),
      fc.boolean()
    ).map(([target, choices, ws]) => {
      const chars = [...`/api/${target}`]
      let out = ''
      chars.forEach((ch, i) => {
        const how = choices[i % choices.length]
        if (ch === '/') {
          if (how === 'dot') out += '/.'
          else if (how === 'dotdot') out += '/x/..'
          else if (how === 'slash') out += '//'
          else if (how === 'encslash') out += '%2F'
          out += '/'
          return
        }
        if (how === 'pct') out += '%' + ch.charCodeAt(0).toString(16)
        else if (how === 'PCT') out += '%' + ch.charCodeAt(0).toString(16).toUpperCase()
        else if (how === 'upper') out += ch.toUpperCase()
        else out += ch
      })
      return { path: out, ws }
    })
    let tried = 0
    await fc.assert(fc.asyncProperty(spell, async ({ path: spelled, ws }) => {
      tried++
      if (ws) {
        assert.notEqual(await upgrade(port, spelled), 101, `WebSocket ${spelled}`)
      } else {
        const res = await raw({ port, path: spelled, token: null })
        assert.ok(res.status >= 400, `GET ${spelled} answered ${res.status}`)
        assert.ok(!res.text.includes(me))
      }
    }), { numRuns: 400 })
    assert.equal(tried >= 400, true)
  })
})
