/**
 * GroupChannels (core/src/group-channel.ts): a message handler that fails on this device's
 * side is reported through `onerror` — for a live message and for one kept and retried —
 * never swallowed. Real protomux channels over a pair of real encrypted streams.
 */
import test from 'node:test'
import assert from 'node:assert/strict'
import NoiseSecretStream from '@hyperswarm/secret-stream'
import b4a from 'b4a'
import { GroupChannels, type ChannelTopic } from '../src/group-channel.ts'
import { waitFor } from './helpers.ts'

interface Topic extends ChannelTopic { heard: string[] }

function streamPair (t: test.TestContext): [any, any] {
  const a = new NoiseSecretStream(true)
  const b = new NoiseSecretStream(false)
  a.rawStream.pipe(b.rawStream).pipe(a.rawStream)
  t.after(() => { a.destroy(); b.destroy() })
  return [a, b]
}

test('group channel: a failing message handler is reported to onerror, live and on retry; the channel stays up', async (t) => {
  const discoveryKey = b4a.alloc(32, 7)
  const errors: Error[] = []
  const topicOf = (): Topic => ({ log: { group: { discoveryKey } }, channels: new Set(), pending: new Map(), heard: [] })
  let held: any = null
  const receiver = new GroupChannels<Topic>('solidar/test/v1', {
    maxPending: 4,
    onmessage: async (topic, ch, buf) => {
      const text = b4a.toString(buf)
      if (text === 'hold me') { held = ch; receiver.hold(topic, ch, buf); return }
      if (text.startsWith('fail')) throw new Error(`handler bug on "${text}"`)
      topic.heard.push(text)
    },
    onerror: (err) => errors.push(err)
  })
  const sender = new GroupChannels<Topic>('solidar/test/v1', { maxPending: 4, onmessage: async () => {}, onerror: (err) => errors.push(err) })
  const mine = topicOf()
  const theirs = topicOf()
  receiver.add(mine)
  sender.add(theirs)
  const [a, b] = streamPair(t)
  receiver.attach(a)
  sender.attach(b)
  await waitFor(() => [...theirs.channels].some((ch: any) => ch.opened), 'the channel opens')
  const send = (text: string) => { for (const ch of theirs.channels) ch.messages[0].send(b4a.from(text)) }

  send('fail live')
  send('still heard')
  await waitFor(() => mine.heard.includes('still heard'), 'the message after the failing one arrives')
  assert.deepEqual(errors.map(e => e.message), ['handler bug on "fail live"'])

  send('hold me')
  await waitFor(() => held !== null, 'a message is kept for a retry')
  mine.pending.set(held, [b4a.from('fail on retry')])
  receiver.retry(mine)
  await waitFor(() => errors.length === 2, 'the retried failure is reported')
  assert.equal(errors[1].message, 'handler bug on "fail on retry"')
  receiver.close()
  sender.close()
})
