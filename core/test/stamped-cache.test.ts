/**
 * StampedCache (core/src/stamped-cache.ts): a value read from the view is kept while the stamp
 * stays the same; a moved stamp reads again; nothing is kept while a batch is applied (null
 * stamp) or when the stamp moved during the read (the read may have seen either state).
 */
import test from 'node:test'
import assert from 'node:assert/strict'
import { StampedCache } from '../src/stamped-cache.ts'

function setup () {
  let stamp: number | null = 1
  let reads = 0
  let value = 'a'
  const cache = new StampedCache<string, string>(() => stamp)
  const get = () => cache.get('k', async () => { reads++; return value })
  return { get, reads: () => reads, set: (s: number | null, v?: string) => { stamp = s; if (v !== undefined) value = v } }
}

test('stamped cache: kept while the stamp holds, read again once it moves', async () => {
  const c = setup()
  assert.equal(await c.get(), 'a')
  assert.equal(await c.get(), 'a')
  assert.equal(c.reads(), 1, 'the second get came from the cache')
  c.set(2, 'b')
  assert.equal(await c.get(), 'b', 'a moved stamp reads the new value')
  assert.equal(c.reads(), 2)
})

test('stamped cache: nothing is kept while a batch is applied (null stamp)', async () => {
  const c = setup()
  c.set(null, 'mid-apply')
  assert.equal(await c.get(), 'mid-apply')
  assert.equal(await c.get(), 'mid-apply')
  assert.equal(c.reads(), 2, 'read each time')
  c.set(3, 'applied')
  assert.equal(await c.get(), 'applied', 'the value read mid-apply was not kept')
})

test('stamped cache: a read that raced a change is used once and not kept', async () => {
  let stamp = 1
  let reads = 0
  const cache = new StampedCache<string, number>(() => stamp)
  // The stamp moves while the first read is under way.
  const first = await cache.get('k', async () => { reads++; stamp = 2; return 1 })
  assert.equal(first, 1)
  assert.equal(await cache.get('k', async () => { reads++; return 2 }), 2, 'read again: the raced value was not kept')
  assert.equal(await cache.get('k', async () => { reads++; return 3 }), 2, 'now kept')
  assert.equal(reads, 2)
})
