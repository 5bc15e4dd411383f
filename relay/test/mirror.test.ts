/**
 * The mirror process's own state: its key pair (0600 file in a 0700 folder, the same key
 * after a restart), its refusal to pick a network on its own (never the public DHT unless
 * asked), and a second mirror on the same storage failing cleanly.
 */
import { describe, it, before, after } from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import IdEnc from 'hypercore-id-encoding'
import { runDhtBootstrap, type DhtBootstrap } from '@solidar/node/runtime'
import { DB_DIR, KEY_FILE, loadOrCreateKeyPair, startMirror } from '../src/mirror.ts'

describe('blind mirror (relay)', { timeout: 60_000 }, () => {
  let dir: string
  let dht: DhtBootstrap
  let bootstrap: string[]

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'solidar-relay-test-'))
    dht = await runDhtBootstrap({ host: '127.0.0.1', port: 0 })
    bootstrap = [`127.0.0.1:${dht.port}`]
  })

  after(async () => {
    await dht?.close()
    fs.rmSync(dir, { recursive: true, force: true })
  })

  it('keeps its key pair in <storage>/mirror-key.json (0600, folder 0700) and has the same key after a restart', async () => {
    const storage = path.join(dir, 'm1')
    const first = await startMirror({ storage, bootstrap })
    let key: string
    try {
      key = first.key
      assert.match(key, /^[ybndrfg8ejkmcpqxot1uwisza345h769]{52}$/)
      assert.equal(IdEnc.normalize(first.publicKey), key)
      assert.equal(fs.statSync(storage).mode & 0o777, 0o700)
      assert.equal(fs.statSync(path.join(storage, DB_DIR)).mode & 0o777, 0o700)
      assert.equal(fs.statSync(path.join(storage, KEY_FILE)).mode & 0o777, 0o600)
      assert.deepEqual(first.stats(), { cores: 0, bytes: 0, connections: 0 })
    } finally {
      await first.close()
    }
    const again = await startMirror({ storage, bootstrap })
    try {
      assert.equal(again.key, key)
    } finally {
      await again.close()
    }
    assert.deepEqual(loadOrCreateKeyPair(storage).publicKey, again.publicKey)
  })

  it('refuses to start without an explicit network, or with both a private and the public DHT', async () => {
    const storage = path.join(dir, 'm2')
    await assert.rejects(startMirror({ storage }), /bootstrap nodes .* public DHT/)
    await assert.rejects(startMirror({ storage, bootstrap: [] }), /bootstrap nodes/)
    await assert.rejects(startMirror({ storage, bootstrap, publicDht: true }), /not both/)
    await assert.rejects(startMirror({ storage, bootstrap: ['not-an-address'] }), /HOST:PORT/)
  })

  it('a damaged key file stops the mirror instead of silently changing its key', async () => {
    const storage = path.join(dir, 'm3')
    loadOrCreateKeyPair(storage)
    fs.writeFileSync(path.join(storage, KEY_FILE), '{"version":1,"publicKey":"00","secretKey":"00"}')
    assert.throws(() => loadOrCreateKeyPair(storage), /damaged/)
    await assert.rejects(startMirror({ storage, bootstrap }), /damaged/)
  })

  it('a second mirror on the same storage fails cleanly while the first keeps running', async () => {
    const storage = path.join(dir, 'm4')
    const first = await startMirror({ storage, bootstrap })
    try {
      await assert.rejects(startMirror({ storage, bootstrap }), /in use|lock/i)
      assert.equal(first.stats().cores, 0)
    } finally {
      await first.close()
    }
  })
})
