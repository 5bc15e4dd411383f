/**
 * A peer that opens protomux-wakeup's `wakeup` protocol with no id, or an id that is not a
 * 32-byte topic, is ignored; before, the library's handler rejected and the unhandled
 * rejection ended the daemon (found by test/hostile-peers.test.ts).
 */
import test from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import NoiseSecretStream from '@hyperswarm/secret-stream'
import Protomux from 'protomux'
import c from 'compact-encoding'
import { Wakeup } from '../src/wakeup.ts'

test('wakeup sessions without a 32-byte topic id are ignored, not a crash', async () => {
  const rejections: unknown[] = []
  const onRejection = (err: unknown) => { rejections.push(err) }
  process.on('unhandledRejection', onRejection)
  const a = new NoiseSecretStream(true)
  const b = new NoiseSecretStream(false)
  a.rawStream.pipe(b.rawStream).pipe(a.rawStream)
  try {
    const wakeup = new Wakeup()
    wakeup.addStream(b)
    await new Promise(resolve => a.once('open', resolve))
    const mux = Protomux.from(a)
    for (const id of [null, Buffer.alloc(0), randomBytes(5), randomBytes(33)]) {
      const ch = mux.createChannel({ protocol: 'wakeup', id, unique: false, messages: [{ encoding: c.raw }] })
      assert.ok(ch, 'a channel to open')
      ch.open()
    }
    await new Promise(resolve => setTimeout(resolve, 300))
    assert.deepEqual(rejections, [], 'no unhandled rejection')
    assert.equal(await wakeup._onpair(null, b), undefined)
    wakeup.destroy()
  } finally {
    process.off('unhandledRejection', onRejection)
    a.destroy()
    b.destroy()
  }
})
