/**
 * `Group.messageById` reads id → seq, then seq → message. Autobase can reorder the view between
 * the two reads (issue 16, item 11: `send` answered with another message's id and text). Here a
 * real Hyperbee view is reordered, exactly as Autobase reapplies it with a concurrent message
 * placed first, right after the first read: the answer must still be the message asked for.
 */
import test from 'node:test'
import assert from 'node:assert/strict'
import { Group } from '../src/group.ts'
import { encode } from '../src/codec.ts'
import { K, type Bee, type MessageRecord } from '../src/view.ts'
import { bees } from './lab.ts'

const msg = (seq: number, id: string, author: string): MessageRecord => ({ seq, id, author, room: 'general', ts: seq, body: { e: 0, n: Buffer.alloc(24), c: Buffer.from(id) } as any })

test('messageById never returns another message when the view is reordered between its two reads', async (t) => {
  const [bee] = await bees(t) as any[]
  const put = async (entries: Array<[string, unknown]>) => {
    const b = bee.batch()
    for (const [k, v] of entries) await b.put(k, encode(v))
    await b.flush()
  }
  // This node applied its own two messages: a (seq 1), b (seq 2).
  await put([[K.message(1), msg(1, 'a', 'me')], [K.messageId('a'), 1], [K.message(2), msg(2, 'b', 'me')], [K.messageId('b'), 2]])

  // The reorder: another member's concurrent message c comes first; a and b move up by one.
  let reordered = false
  const reorder = () => put([
    [K.message(1), msg(1, 'c', 'other')], [K.messageId('c'), 1],
    [K.message(2), msg(2, 'a', 'me')], [K.messageId('a'), 2],
    [K.message(3), msg(3, 'b', 'me')], [K.messageId('b'), 3]
  ])
  const view: Bee = {
    get: async (key: string) => {
      const node = await bee.get(key)
      if (key === K.messageId('b') && !reordered) { reordered = true; await reorder() }
      return node
    },
    batch: () => bee.batch(),
    createReadStream: (range) => bee.createReadStream(range)
  }
  const group = { view, base: { update: async () => {} } }
  const rec = await Group.prototype.messageById.call(group as unknown as Group, 'b')
  assert.ok(reordered, 'the view was reordered between the reads')
  assert.equal(rec?.id, 'b', `asked for b, got ${rec?.id}`)
  assert.equal(rec?.seq, 3, 'at its position after the reorder')
})
