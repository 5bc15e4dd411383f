/**
 * `serve --ice-server URL` (STUN/TURN servers for video meetings): parsed, usage errors,
 * remembered in config.json 0600, applying to GET /api/meetings/config. Never a password in
 * `serve`'s or `status`'s output. (Parsing and the API itself: node/test/ice-server.test.ts.)
 */
import test, { describe, it, before, after } from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { readConfig } from '@solidar/node/home'
import { raw } from '@solidar/node/testing/http'
import { iceServerArg } from '../src/parsers.ts'
import { LongRunning, run } from './helpers/cli.ts'

test('--ice-server: repeated options add up; a bad URL is a usage error (exit 64) with the reason', () => {
  assert.deepEqual(iceServerArg('stun:b.example', iceServerArg('stun:a.example')), [{ urls: 'stun:a.example' }, { urls: 'stun:b.example' }])
  assert.throws(() => iceServerArg('stun:'), (err: Error & { exitCode?: number }) => err.exitCode === 64 && /not a STUN or TURN URL/.test(err.message))
})

describe('serve --ice-server', { timeout: 120_000 }, () => {
  let dir = ''
  before(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'solidar-ice-cli-test-')) })
  after(() => fs.rmSync(dir, { recursive: true, force: true }))

  it('bad URLs are usage errors (exit 64) that name the problem and never print the password', async () => {
    const h = path.join(dir, 'usage')
    for (const [url, re] of [['http://turn.example.org', /not a STUN or TURN URL/], ['turn:turn.example.org:3478', /needs credentials/],
      ['stuns:turn.example.org', /not a STUN or TURN URL/], ['turn:u:TOPSECRET@host:70000', /bad port/]] as const) {
      const r = await run(['--home', h, 'serve', '--no-dht', '--port', '0', '--ice-server', url])
      assert.equal(r.code, 64, `${url}: exit ${r.code}\n${r.stderr}`)
      assert.match(r.stderr, re)
      assert.doesNotMatch(r.stderr, /TOPSECRET/)
      assert.equal(fs.existsSync(path.join(h, 'config.json')), false)
    }
  })

  it('is listed in serve --help', async () => {
    assert.match((await run(['serve', '--help'])).stdout, /--ice-server <url>/)
  })

  it('is remembered (0600), applies to meetings, shows URLs only; `status` never shows the password; --no-ice-server forgets it', async () => {
    const h = path.join(dir, 'daemon')
    const start = (args: string[]) => new LongRunning(['--home', h, 'serve', '--port', '0', '--no-dht', '--open-hint', ...args])
    let serve = start(['--ice-server', 'turn:solidar:TOP%40SECRET@turn.example.org:3478?transport=udp', '--ice-server', 'stun:stun.example.org'])
    try {
      const [, port, token] = await serve.waitFor(/^http:\/\/127\.0\.0\.1:(\d+)\/#token=([0-9a-f]{64})\n/, 60_000)
      const expected = [{ urls: 'turn:turn.example.org:3478?transport=udp', username: 'solidar', credential: 'TOP@SECRET' }, { urls: 'stun:stun.example.org' }]
      assert.deepEqual(readConfig(h).iceServers, expected)
      assert.equal(fs.statSync(path.join(h, 'config.json')).mode & 0o777, 0o600)
      const config = await raw({ port: Number(port), method: 'GET', path: '/api/meetings/config', token })
      assert.deepEqual(config.json.iceServers, expected)
      await serve.waitFor(/Video meetings may use: turn:turn\.example\.org:3478\?transport=udp, stun:stun\.example\.org/, 10_000, 'stderr')
      for (const args of [['status'], ['status', '--json']]) {
        const s = await run(['--home', h, ...args])
        assert.equal(s.code, 0, s.stderr)
        assert.doesNotMatch(s.stdout + s.stderr, /SECRET/)
      }
      assert.equal(await serve.stop('SIGTERM'), 0, serve.stderr)
      assert.doesNotMatch(serve.stdout + serve.stderr, /SECRET/)
      // Without the option the remembered list applies again.
      serve = start([])
      const [, port2, token2] = await serve.waitFor(/^http:\/\/127\.0\.0\.1:(\d+)\/#token=([0-9a-f]{64})\n/, 60_000)
      assert.deepEqual((await raw({ port: Number(port2), method: 'GET', path: '/api/meetings/config', token: token2 })).json.iceServers, expected)
      assert.equal(await serve.stop('SIGTERM'), 0, serve.stderr)
      assert.doesNotMatch(serve.stdout + serve.stderr, /SECRET/)
      // --no-ice-server forgets the list.
      serve = start(['--no-ice-server'])
      const [, port3, token3] = await serve.waitFor(/^http:\/\/127\.0\.0\.1:(\d+)\/#token=([0-9a-f]{64})\n/, 60_000)
      assert.deepEqual((await raw({ port: Number(port3), method: 'GET', path: '/api/meetings/config', token: token3 })).json.iceServers, [])
      assert.deepEqual(readConfig(h).iceServers, [])
      assert.equal(await serve.stop('SIGTERM'), 0, serve.stderr)
    } finally {
      await serve.stop('SIGKILL')
    }
  })
})
