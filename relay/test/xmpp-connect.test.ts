/**
 * The XMPP bridge's connection handling against small TCP servers on 127.0.0.1 (the full
 * bridge against Prosody is test/xmpp-bridge.test.ts): a server that refuses the component's
 * secret makes the first start fail with the reason; one that accepts TCP but never answers,
 * or is not there at all, is retried with growing delays until it is.
 */
import test from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import Corestore from 'corestore'
import { MemoryNetwork, MemoryLocalStore, Solidar, createIdentity } from '@solidar/core'
import { startXmppBridge } from '../src/xmpp/bridge.ts'

const STREAM_OPEN = `<?xml version='1.0'?><stream:stream xmlns:stream='http://etherx.jabber.org/streams' xmlns='jabber:component:accept' from='bridge.example.org' id='s1'>`

async function listen (onConnection: (socket: net.Socket) => void): Promise<{ port: number, close (): Promise<void> }> {
  const sockets = new Set<net.Socket>()
  const server = net.createServer((socket) => {
    sockets.add(socket)
    socket.on('error', () => {})
    socket.on('close', () => sockets.delete(socket))
    onConnection(socket)
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () => new Promise<void>(resolve => { for (const s of sockets) s.destroy(); server.close(() => resolve()) })
  }
}

async function bridgeNode (t: { after: (fn: () => Promise<void>) => void }) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'solidar-bridge-connect-'))
  const store = new Corestore(path.join(dir, 'store'))
  const solidar = await Solidar.open({ identity: createIdentity('bridge'), store, local: new MemoryLocalStore(), transport: new MemoryNetwork().transport() })
  const group = await solidar.createGroup('Council')
  t.after(async () => {
    await solidar.close()
    await solidar.transport?.close()
    await store.close()
    fs.rmSync(dir, { recursive: true, force: true })
  })
  return { solidar, group, stateDir: path.join(dir, 'state') }
}

test('a server that refuses the secret fails the first start with the reason', async (t) => {
  const { solidar, group, stateDir } = await bridgeNode(t)
  let handshakes = 0
  const server = await listen((socket) => {
    socket.on('data', (chunk) => {
      const text = chunk.toString()
      if (text.includes('<stream:stream')) socket.write(STREAM_OPEN)
      if (text.includes('<handshake')) {
        handshakes++
        socket.end(`<stream:error><not-authorized xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error></stream:stream>`)
      }
    })
  })
  t.after(() => server.close())
  const bridge = await startXmppBridge({ solidar, group: group.id, domain: 'bridge.example.org', server: `127.0.0.1:${server.port}`, secret: 'wrong', stateDir, minReconnectMs: 20 })
  await assert.rejects(bridge.online, /refused the component bridge\.example\.org \(not-authorized\)/)
  assert.equal(handshakes, 1, 'a refused secret is not retried on the first start')
  await bridge.close()
})

test('a silent server and a missing one are retried with growing delays', async (t) => {
  const { solidar, group, stateDir } = await bridgeNode(t)
  const silent = await listen(() => {}) // accepts TCP, never speaks
  t.after(() => silent.close())
  const events: Array<{ event: string, fields: Record<string, unknown> }> = []
  const bridge = await startXmppBridge({
    solidar, group: group.id, domain: 'bridge.example.org', server: `127.0.0.1:${silent.port}`, secret: 's', stateDir,
    minReconnectMs: 20, maxReconnectMs: 80, connectTimeoutMs: 200, onEvent: (event, fields) => events.push({ event, fields })
  })
  const deadline = Date.now() + 10_000
  while (events.filter(e => e.event === 'reconnecting').length < 4 && Date.now() < deadline) await new Promise(resolve => setTimeout(resolve, 20))
  const retries = events.filter(e => e.event === 'reconnecting')
  assert.ok(retries.length >= 4, JSON.stringify(events))
  assert.match(String(retries[0].fields.reason), /no XEP-0114 handshake/)
  assert.deepEqual(retries.slice(0, 4).map(e => e.fields.inMs), [20, 40, 80, 80], 'doubling up to the maximum')
  await bridge.close()
  assert.equal(fs.readdirSync(stateDir).length, 1, 'state written on close')

  // Nobody listening at all: refused connections are retried the same way, close() ends it.
  const gone = await listen(() => {})
  const port = gone.port
  await gone.close()
  const later: string[] = []
  const again = await startXmppBridge({ solidar, group: group.id, domain: 'bridge.example.org', server: `127.0.0.1:${port}`, secret: 's', stateDir, minReconnectMs: 20, onEvent: (e, f) => { if (e === 'reconnecting') later.push(String(f.reason)) } })
  while (later.length < 2 && Date.now() < deadline + 10_000) await new Promise(resolve => setTimeout(resolve, 20))
  assert.match(later[0] ?? '', /ECONNREFUSED/)
  await again.close()
})
