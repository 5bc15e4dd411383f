import test from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { createIdentity, encodeIdentity } from '@solidar/core'
import { startNode, runDhtBootstrap } from '../src/runtime.ts'
import { waitFor } from '@solidar/core/testing/wait'
import { IDENTITY_FILE } from '../src/home.ts'


test('two nodes on a private loopback DHT: invite, join, chat both ways, keys on disk are 0600', async (t) => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'solidar-runtime-'))
  const dht = await runDhtBootstrap({ host: '127.0.0.1', port: 0 })
  t.after(async () => { await dht.close(); await fs.rm(dir, { recursive: true, force: true }) })
  const network = { mode: 'bootstrap' as const, bootstrap: [`127.0.0.1:${dht.port}`] }
  const nodes = []
  for (const name of ['alice', 'bob']) {
    const home = path.join(dir, name)
    await fs.mkdir(home, { recursive: true, mode: 0o700 })
    await fs.writeFile(path.join(home, IDENTITY_FILE), encodeIdentity(createIdentity(name)), { mode: 0o600 })
    const node = await startNode({ home, network })
    t.after(() => node.close())
    nodes.push(node)
  }
  const [alice, bob] = nodes.map(n => n.api)
  const group = await alice.createGroup('Betriebsrat')
  const { code } = await alice.createInvite(group.id)
  assert.deepEqual(await bob.join(code, { timeoutMs: 20_000 }), { ...group, writable: true })
  await bob.send(group.id, 'Guten Morgen')
  await alice.send(group.id, 'Morgen!')
  await waitFor(async () => (await alice.messages(group.id)).length === 2 && (await bob.messages(group.id)).length === 2, 'both messages on both nodes')
  assert.deepEqual((await alice.messages(group.id)).map(m => m.id), (await bob.messages(group.id)).map(m => m.id))
  for (const file of ['logs.json', 'store-key']) {
    const mode = (await fs.stat(path.join(dir, 'bob', file))).mode & 0o777
    assert.equal(mode, 0o600, file)
  }
})
