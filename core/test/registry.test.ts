import test from 'node:test'
import assert from 'node:assert/strict'
import { Registry, MemoryLocalStore, getText, putText, type LocalStore, type LogRecord } from '../src/registry.ts'
import { SolidarError } from '../src/errors.ts'

const record = (n: number, patch: Partial<LogRecord> = {}): LogRecord => ({
  key: n.toString(16).padStart(64, '0'),
  encryptionKey: (n + 1000).toString(16).padStart(64, '0'),
  namespace: `ns-${n}`,
  kind: 'group',
  ...patch
})

async function loaded (store: LocalStore): Promise<Registry> {
  const r = new Registry(store)
  await r.load()
  return r
}

test('an empty store loads as an empty registry and writes nothing', async () => {
  const store = new MemoryLocalStore()
  const r = await loaded(store)
  assert.deepEqual(r.all(), [])
  assert.equal(r.get(record(1).key), undefined)
  await r.update(record(1).key, { dmCursor: 3 }) // unknown key: a no-op, not a write
  assert.equal(store.files.size, 0)
})

test('put / update / load round trip through MemoryLocalStore', async () => {
  const store = new MemoryLocalStore()
  const r = await loaded(store)
  const group = record(1)
  const dm = record(2, { kind: 'dm', peer: 'ab'.repeat(32) })
  await r.put(group)
  await r.put(dm)
  await r.update(group.key, { dmCursor: 7 })
  assert.deepEqual(r.get(group.key), { ...group, dmCursor: 7 })

  const text = await getText(store, 'logs.json')
  assert.ok(text, 'written to logs.json')
  const raw = JSON.parse(text)
  assert.equal(raw.version, 1)
  assert.equal(raw.logs.length, 2)

  const again = await loaded(store)
  assert.deepEqual(again.all(), [{ ...group, dmCursor: 7 }, dm])
  assert.deepEqual(again.get(dm.key), dm)

  // put with an existing key replaces the record instead of adding one
  await again.put({ ...dm, namespace: 'moved' })
  assert.equal((await loaded(store)).all().length, 2)
  assert.equal((await loaded(store)).get(dm.key)?.namespace, 'moved')
})

test('a damaged or foreign logs.json is a clear error, never an empty registry', async () => {
  const cases: Array<[string, RegExp]> = [
    ['{"version":1,"logs":[', /logs\.json is damaged \(not JSON\)/],
    ['', /logs\.json is damaged \(not JSON\)/],
    ['\u0000\u0000\u0000', /logs\.json is damaged \(not JSON\)/],
    ['null', /logs\.json has an unknown format/],
    ['{"version":2,"logs":[]}', /logs\.json has an unknown format/],
    ['{"version":1}', /logs\.json has an unknown format/],
    ['{"version":1,"logs":{}}', /logs\.json has an unknown format/],
    ['[]', /logs\.json has an unknown format/]
  ]
  for (const [text, message] of cases) {
    const store = new MemoryLocalStore()
    await putText(store, 'logs.json', text)
    const r = new Registry(store)
    await assert.rejects(r.load(), (err: unknown) => {
      assert.ok(err instanceof SolidarError)
      assert.equal(err.code, 'BAD_REQUEST')
      assert.match(err.message, message)
      return true
    }, JSON.stringify(text))
    assert.equal(await getText(store, 'logs.json'), text, 'the damaged file is left as it was')
  }
})

/** A store whose writes take a while and which records how many overlap. */
class SlowStore implements LocalStore {
  files = new Map<string, Uint8Array>()
  writes: string[] = []
  active = 0
  maxActive = 0
  failNext = 0
  async get (name: string) { return this.files.get(name) ?? null }
  async delete (name: string) { this.files.delete(name) }
  async list (prefix: string) { return [...this.files.keys()].filter(n => n.startsWith(prefix)).sort() }
  async put (name: string, bytes: Uint8Array) {
    const text = Buffer.from(bytes).toString('utf8')
    this.active++
    this.maxActive = Math.max(this.maxActive, this.active)
    try {
      // later calls finish faster: without serialization they would land out of order
      await new Promise(resolve => setTimeout(resolve, Math.max(1, 30 - this.writes.length * 3)))
      if (this.failNext > 0) { this.failNext--; throw new Error('disk full') }
      this.writes.push(text)
      this.files.set(name, bytes)
    } finally {
      this.active--
    }
  }
}

test('concurrent puts are serialized: never two writes at once, last write holds everything', async () => {
  const store = new SlowStore()
  const r = await loaded(store)
  const records = Array.from({ length: 10 }, (_, i) => record(i + 1))
  await Promise.all(records.map(rec => r.put(rec)))
  assert.equal(store.maxActive, 1, 'writes overlapped')
  assert.equal(store.writes.length, 10)
  // each write is a superset of the one before (they landed in call order)
  const sizes = store.writes.map(t => JSON.parse(t).logs.length)
  assert.deepEqual(sizes, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
  assert.deepEqual((await loaded(store)).all(), records)

  // concurrent updates of different records both survive
  await Promise.all([r.update(records[0].key, { dmCursor: 1 }), r.update(records[1].key, { dmCursor: 2 })])
  const after = await loaded(store)
  assert.equal(after.get(records[0].key)?.dmCursor, 1)
  assert.equal(after.get(records[1].key)?.dmCursor, 2)
})

test('a failed write rejects that put only; the next put still writes everything', async () => {
  const store = new SlowStore()
  const r = await loaded(store)
  store.failNext = 1
  const first = r.put(record(1))
  const second = r.put(record(2))
  await assert.rejects(first, /disk full/)
  await second
  assert.equal(store.maxActive, 1)
  assert.deepEqual((await loaded(store)).all(), [record(1), record(2)], 'the record of the failed write is saved by the next one')
})
