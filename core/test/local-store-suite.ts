/**
 * The acceptance suite of the `LocalStore` contract (core/src/local-store.ts): every
 * implementation — MemoryLocalStore here, node's FileStore on disk — runs it.
 * Contract: a name never put reads null; a put resolves once it is durable and a get then
 * returns the same bytes (any bytes, also empty ones and non-UTF-8); puts and deletes of one
 * name take effect in call order (the last call wins, also when they overlap); names may have
 * folders; one name's content never leaks into another; delete of a missing name is no error;
 * list(prefix) returns exactly the stored names with that prefix, sorted.
 */
import test from 'node:test'
import assert from 'node:assert/strict'
import type { LocalStore } from '../src/local-store.ts'

const bytes = (text: string) => new TextEncoder().encode(text)
const text = (b: Uint8Array | null) => b === null ? null : new TextDecoder().decode(b)

export function localStoreSuite (label: string, make: (t: test.TestContext) => Promise<LocalStore>): void {
  test(`local store acceptance (${label}): missing names read null; a put is read back; overwrite replaces`, async (t) => {
    const store = await make(t)
    assert.equal(await store.get('logs.json'), null)
    await store.put('logs.json', bytes('{"version":1}\n'))
    assert.equal(text(await store.get('logs.json')), '{"version":1}\n')
    await store.put('logs.json', bytes('shorter'))
    assert.equal(text(await store.get('logs.json')), 'shorter', 'no tail of the longer content')
    await store.put('empty', new Uint8Array())
    assert.equal((await store.get('empty'))?.byteLength, 0, 'empty bytes are not a missing name')
  })

  test(`local store acceptance (${label}): any bytes, and the caller's buffer is not kept`, async (t) => {
    const store = await make(t)
    const all = Uint8Array.from({ length: 256 }, (_, i) => i)
    await store.put('pads/g/p.ysnap', all)
    all.fill(0) // the caller reuses its buffer
    const back = await store.get('pads/g/p.ysnap')
    assert.deepEqual(back && [...back], Array.from({ length: 256 }, (_, i) => i))
    back!.fill(7) // nor is the returned one the store's own
    assert.deepEqual([...(await store.get('pads/g/p.ysnap'))!].slice(0, 3), [0, 1, 2])
  })

  test(`local store acceptance (${label}): overlapping puts and deletes of one name take effect in call order`, async (t) => {
    const store = await make(t)
    const writes = Array.from({ length: 20 }, (_, i) => store.put('state.json', bytes(`version ${i} `.repeat(i * 50 + 1))))
    await Promise.all(writes)
    assert.equal(text(await store.get('state.json')), 'version 19 '.repeat(19 * 50 + 1))
    await Promise.all([store.put('state.json', bytes('a')), store.delete('state.json')])
    assert.equal(await store.get('state.json'), null, 'the delete came last')
    await Promise.all([store.delete('state.json'), store.put('state.json', bytes('b'))])
    assert.equal(text(await store.get('state.json')), 'b', 'the put came last')
  })

  test(`local store acceptance (${label}): names with folders, unicode text, names kept apart`, async (t) => {
    const store = await make(t)
    await Promise.all([
      store.put('pads/g1/p1.ysnap', bytes('Überstunden ✓')),
      store.put('pads/g1/p2.ysnap', bytes('zwei')),
      store.put('pads/g2/p1.ysnap', bytes('drei'))
    ])
    assert.equal(text(await store.get('pads/g1/p1.ysnap')), 'Überstunden ✓')
    assert.equal(text(await store.get('pads/g1/p2.ysnap')), 'zwei')
    assert.equal(text(await store.get('pads/g2/p1.ysnap')), 'drei')
    assert.equal(await store.get('pads/g2/p2.ysnap'), null)
  })

  test(`local store acceptance (${label}): delete removes one name, a missing one is no error; list by prefix, sorted`, async (t) => {
    const store = await make(t)
    assert.deepEqual(await store.list(''), [], 'an empty store lists nothing')
    await store.delete('never-there')
    for (const name of ['pads/g1/b.ysnap', 'pads/g1/a.ysnap', 'pads/g10/a.ysnap', 'pads/g2/a.ysnap', 'logs.json', 'read.json']) await store.put(name, bytes(name))
    assert.deepEqual(await store.list('pads/g1/'), ['pads/g1/a.ysnap', 'pads/g1/b.ysnap'], 'a folder prefix: not g10')
    assert.deepEqual(await store.list('pads/g1'), ['pads/g1/a.ysnap', 'pads/g1/b.ysnap', 'pads/g10/a.ysnap'], 'a plain prefix')
    assert.deepEqual(await store.list(''), ['logs.json', 'pads/g1/a.ysnap', 'pads/g1/b.ysnap', 'pads/g10/a.ysnap', 'pads/g2/a.ysnap', 'read.json'])
    assert.deepEqual(await store.list('nothing/'), [])
    await store.delete('pads/g1/a.ysnap')
    assert.equal(await store.get('pads/g1/a.ysnap'), null)
    assert.equal(text(await store.get('pads/g1/b.ysnap')), 'pads/g1/b.ysnap', 'the other names stay')
    assert.deepEqual(await store.list('pads/g1/'), ['pads/g1/b.ysnap'])
  })
}
