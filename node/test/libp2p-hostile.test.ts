/**
 * A hostile or broken peer on the LAN: malformed matching messages end its session with a
 * warning; the node keeps serving honest peers.
 */
import '../src/lan/promise-polyfill.ts'
import { it } from 'node:test'
import assert from 'node:assert/strict'
import crypto from 'hypercore-crypto'
import b4a from 'b4a'
import { createLibp2p } from 'libp2p'
import { tcp } from '@libp2p/tcp'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { multiaddr } from '@multiformats/multiaddr'
import { waitFor } from '@solidar/core/testing/helpers'
import { LAN_PROTOCOL, Libp2pTransport } from '../src/lan/libp2p-transport.ts'
import { parseLanAddress } from '../src/lan/addresses.ts'
import { listeningOn } from './helpers/lan.ts'

it('malformed matching messages are refused with a warning and never crash the node', { timeout: 60_000 }, async (t) => {
  const warnings: string[] = []
  const topic = crypto.randomBytes(32)
  const node = await Libp2pTransport.create({
    keyPair: crypto.keyPair(),
    listen: [parseLanAddress('127.0.0.1:0', { allowAnyPort: true })],
    onWarning: (message) => warnings.push(message)
  })
  const attacker = await createLibp2p({ transports: [tcp()], connectionEncrypters: [noise()], streamMuxers: [yamux()] })
  t.after(async () => { await attacker.stop(); await node.close() })
  await node.join(topic)
  const at = listeningOn(node)
  const target = multiaddr(`/ip4/${at.host}/tcp/${at.port}/p2p/${node.node.peerId.toString()}`)

  const frame = (payload: Uint8Array) => { const h = b4a.alloc(4); h.writeUInt32BE(payload.byteLength, 0); return b4a.concat([h, payload]) }
  const attempts: Array<[string, Buffer]> = [
    ['not CBOR', frame(b4a.from([0xff, 0xfe, 0x00]))],
    ['a frame far too large', b4a.from([0x7f, 0xff, 0xff, 0xff, 1, 2, 3])],
    ['a hello with a short nonce', frame(b4a.from([0xa3, 0x61, 0x76, 0x01, 0x61, 0x74, 0x65, 0x68, 0x65, 0x6c, 0x6c, 0x6f, 0x65, 0x6e, 0x6f, 0x6e, 0x63, 0x65, 0x41, 0x00]))]
  ]
  for (const [what, bytes] of attempts) {
    const before = warnings.length
    const stream = await attacker.dialProtocol(target, LAN_PROTOCOL)
    const closed = new Promise(resolve => stream.addEventListener('close', resolve))
    stream.send(bytes)
    // (The node may also warn that the attacker, which speaks no Solidar, offers no session.)
    await waitFor(() => warnings.slice(before).some(w => /malformed matching message/.test(w)), `a "malformed" warning for ${what}: ${warnings.join(' | ')}`, 10_000)
    await closed
  }
  assert.equal(node.connectionCount, 0)

  // Still serving: an honest peer with the topic gets a session.
  const honest = await Libp2pTransport.create({ keyPair: crypto.keyPair(), listen: [parseLanAddress('127.0.0.1:0', { allowAnyPort: true })], peers: [at] })
  t.after(() => honest.close())
  const conns: unknown[] = []
  honest.on('connection', (c) => { c.stream.on('error', () => {}); conns.push(c) })
  await honest.join(topic)
  await waitFor(() => conns.length === 1 && node.connectionCount === 1, 'a session with the honest peer', 20_000)
})
