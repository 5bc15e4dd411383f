/**
 * `solidar relay …` without a network: usage errors of the XMPP bridge command (exit 64 before
 * anything starts), its refusal to run without an identity or beside a running node of the same
 * home, and the allowlist and register commands' need for a running node (exit 2). The bridge itself is
 * tested against a real Prosody in test/xmpp-bridge.test.ts.
 */
import { describe, it, before, after } from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { run } from './helpers/cli.ts'

describe('solidar relay (CLI)', { timeout: 120_000 }, () => {
  let root: string
  before(() => { root = fs.mkdtempSync(path.join(os.tmpdir(), 'solidar-relay-cli-')) })
  after(() => { fs.rmSync(root, { recursive: true, force: true }) })

  const xmpp = ['relay', 'xmpp', '--group', 'g', '--domain', 'bridge.example.org']

  it('usage errors exit 64 before anything starts', async () => {
    const home = path.join(root, 'usage')
    const secretFile = path.join(root, 'secret')
    fs.writeFileSync(secretFile, 's3cret\n')
    const cases: Array<[string[], RegExp, NodeJS.ProcessEnv?]> = [
      [[...xmpp, '--server', '127.0.0.1:5347'], /component secret is missing/],
      [[...xmpp, '--server', '127.0.0.1:5347', '--secret', 'a', '--secret-file', secretFile], /once/],
      [[...xmpp, '--server', '127.0.0.1:5347', '--secret-file', path.join(root, 'missing')], /Cannot read/],
      [[...xmpp, '--server', 'localhost', '--secret', 'a'], /HOST:PORT/],
      [[...xmpp, '--server', '127.0.0.1:99999', '--secret-file', secretFile], /HOST:PORT/],
      // The component link has no TLS: another host only when the user says the link is private.
      [[...xmpp, '--server', 'xmpp.example.org:5347', '--secret-file', secretFile], /not on this machine.*not encrypted.*--unencrypted-link/s],
      [[...xmpp, '--server', '192.0.2.7:5347', '--secret-file', secretFile], /--unencrypted-link/],
      [['relay', 'xmpp', '--domain', 'b.example', '--server', '127.0.0.1:1', '--secret', 'a'], /--group/],
      [[...xmpp, '--server', '127.0.0.1:5347', '--bootstrap', '127.0.0.1:1', '--public-dht'], /either/, { SOLIDAR_XMPP_SECRET: 'a' }],
      [['relay', 'allow', 'g'], /missing required argument/],
      [['relay', 'register', 'g'], /missing required argument/]
    ]
    for (const [args, message, env] of cases) {
      const r = await run(['--home', home, ...args], env ? { env: { ...process.env, ...env } } : {})
      assert.equal(r.code, 64, `${args.join(' ')}: ${r.stderr}`)
      assert.match(r.stderr, message, args.join(' '))
    }
  })

  it('needs an identity; the allowlist commands need the running node of the home', async () => {
    const home = path.join(root, 'empty')
    const r = await run(['--home', home, ...xmpp, '--server', '127.0.0.1:5347', '--secret', 'a'])
    assert.equal(r.code, 1, r.stderr)
    assert.match(r.stderr, /No identity/)
    const remote = await run(['--home', home, ...xmpp, '--server', '192.0.2.7:5347', '--secret', 'a', '--unencrypted-link'])
    assert.equal(remote.code, 1, 'with --unencrypted-link another host passes the check (and the next one stops it)')
    assert.match(remote.stderr, /No identity/)
    for (const args of [['relay', 'allow', 'g', 'anna@example.org'], ['relay', 'list', 'g'], ['relay', 'revoke', 'g', 'example.org'],
      ['relay', 'register', 'g', 'k3s95augrzb6uh4h5noqohq5ztergarzj8q7s15jxqfkcrd78zmy'], ['relay', 'unregister', 'g', 'k3s95augrzb6uh4h5noqohq5ztergarzj8q7s15jxqfkcrd78zmy']]) {
      const none = await run(['--home', home, ...args])
      assert.equal(none.code, 2, `${args.join(' ')}: ${none.stderr}`)
    }
  })
})
