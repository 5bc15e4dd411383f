/**
 * The acceptance suite of the `LocalStore` contract (core/src/registry.ts): every
 * implementation — MemoryLocalStore here, node's FileStore on disk — runs it.
 * Contract: a name never written reads null; a write resolves once it is durable and a read
 * then returns it; writes of one name take effect in call order (the last call wins, also
 * when they overlap); names may have folders; one name's content never leaks into another.
 */
import test from 'node:test'
import assert from 'node:assert/strict'
import type { LocalStore } from '../src/registry.ts'

export function localStoreSuite (label: string, make: (t: test.TestContext) => Promise<LocalStore>): void {
  test(`local store acceptance (${label}): missing names read null; a write is read back; overwrite replaces`, async (t) => {
    const store = await make(t)
    assert.equal(await store.read('logs.json'), null)
    await store.write('logs.json', '{"version":1}\n')
    assert.equal(await store.read('logs.json'), '{"version":1}\n')
    await store.write('logs.json', 'shorter')
    assert.equal(await store.read('logs.json'), 'shorter', 'no tail of the longer content')
    await store.write('empty', '')
    assert.equal(await store.read('empty'), '', 'an empty text is not a missing name')
  })

  test(`local store acceptance (${label}): overlapping writes of one name take effect in call order`, async (t) => {
    const store = await make(t)
    const writes = Array.from({ length: 20 }, (_, i) => store.write('state.json', `version ${i} `.repeat(i * 50 + 1)))
    await Promise.all(writes)
    assert.equal(await store.read('state.json'), 'version 19 '.repeat(19 * 50 + 1))
  })

  test(`local store acceptance (${label}): names with folders, unicode text, names kept apart`, async (t) => {
    const store = await make(t)
    await Promise.all([
      store.write('pads/g1/p1.snap', 'Überstunden ✓'),
      store.write('pads/g1/p2.snap', 'zwei'),
      store.write('pads/g2/p1.snap', 'drei')
    ])
    assert.equal(await store.read('pads/g1/p1.snap'), 'Überstunden ✓')
    assert.equal(await store.read('pads/g1/p2.snap'), 'zwei')
    assert.equal(await store.read('pads/g2/p1.snap'), 'drei')
    assert.equal(await store.read('pads/g2/p2.snap'), null)
  })
}
