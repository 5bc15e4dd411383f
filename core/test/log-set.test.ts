import test from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import Corestore from 'corestore'
import { createIdentity, MemoryLocalStore, MemoryNetwork } from '../src/index.ts'
import { Registry } from '../src/registry.ts'
import { Wakeup } from '../src/wakeup.ts'
import { groupIdOf } from '../src/ids.ts'
import { LogSet, type LogSetHost } from '../src/services/log-set.ts'
import type { OpenLog } from '../src/services/shared.ts'
import type { SolidarEvent } from '../src/types.ts'
import { waitFor } from './helpers.ts'

/** A log set over a real Corestore and a memory transport, with a host that records what it is told. */
async function makeLogSet (t: { after: (fn: () => Promise<void>) => void }) {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'solidar-logset-'))
  const store = new Corestore(dir)
  const transport = new MemoryNetwork().transport()
  const registry = new Registry(new MemoryLocalStore())
  const seen = { events: [] as SolidarEvent[], errors: [] as Error[], released: [] as string[], forgotten: [] as string[], served: [] as string[], unserved: [] as string[], opened: [] as string[], listed: [] as string[], keys: 0 }
  const host: LogSetHost = {
    store, wakeup: new Wakeup(), durable: undefined, transport, registry, identity: createIdentity('alice'),
    now: () => Date.now(),
    closing: () => false,
    emit: (event) => seen.events.push(event),
    reportError: (err) => seen.errors.push(err),
    refreshKeys: async () => { seen.keys++ },
    responder: (log) => log.record.kind === 'group' ? async () => null : null,
    serve: (discoveryKey) => seen.served.push(discoveryKey.toString('hex')),
    unserve: (discoveryKey) => seen.unserved.push(discoveryKey.toString('hex')),
    opened: (log) => seen.opened.push(log.record.key),
    release: async (log) => { seen.released.push(log.record.key) },
    forgotten: async (log) => { seen.forgotten.push(log.record.key) },
    listed: async (record) => { seen.listed.push(record.key) }
  }
  const logs = new LogSet(host)
  t.after(async () => {
    await logs.closeAll()
    await transport.close()
    await store.close()
    await fs.rm(dir, { recursive: true, force: true })
  })
  return { logs, seen, registry, store, transport }
}

test('log set: a created log is listed, served, announced and watched; closing releases it; forgetting drops it from logs.json', async (t) => {
  const { logs, seen, registry } = await makeLogSet(t)
  const calls: string[] = []
  logs.use([
    { onUpdate: async (log) => { calls.push(`first ${log.record.kind}`); throw new Error('first service broke') } },
    { onUpdate: async (log) => { calls.push(`second ${log.record.kind}`) } }
  ])
  const group = await logs.create({ kind: 'group', name: 'Works council' })
  const key = group.record.key
  assert.equal(registry.get(key)?.kind, 'group', 'in logs.json')
  assert.deepEqual(seen.listed, [key], 'listed in the vault (a group, not the vault itself)')
  assert.deepEqual(seen.opened, [], 'a log created here needs no rules raised')
  assert.deepEqual(seen.served, [group.group.discoveryKey.toString('hex')], 'a group answers join requests')
  assert.ok(seen.keys >= 1, 'keys opened before the log is listed')
  assert.equal(logs.get(key), group)
  assert.deepEqual(logs.groupLogs(), [group])
  assert.equal(logs.vault(), null)
  assert.equal(await logs.resolveGroup('works COUNCIL'), group, 'by name, any case')
  assert.equal(await logs.resolveGroup(groupIdOf(group.group.key)), group, 'by id')
  await assert.rejects(logs.resolveGroup('nothing like it'), { code: 'GROUP_NOT_FOUND' })

  // The update loop goes on to the second service when the first fails, and reports the failure.
  await waitFor(() => calls.includes('second group'), 'the second service gets the update')
  await waitFor(() => seen.errors.some(e => e.message === 'first service broke'), 'the failure is reported')

  const vault = await logs.create({ kind: 'vault', name: '' })
  assert.equal(logs.vault(), vault)
  assert.deepEqual(seen.listed, [key], 'the vault is not listed in itself')
  assert.equal(seen.served.length, 1, 'a vault without a responder is not served')
  assert.equal(logs.all().length, 2)

  await logs.forget(group)
  assert.equal(registry.get(key), undefined, 'gone from logs.json')
  assert.equal(logs.get(key), undefined)
  assert.deepEqual(seen.released, [key], 'the services released it')
  assert.deepEqual(seen.forgotten, [key], 'and were told it is forgotten (their local caches of it go)')
  assert.deepEqual(seen.unserved, [group.group.discoveryKey.toString('hex')])
  assert.deepEqual(seen.events, [{ type: 'group', group: groupIdOf(group.group.key) }])
  await logs.forget(group) // twice: nothing more happens
  assert.equal(seen.events.length, 1)
})

test('log set: a known log reopens from its record, and raising its rules is asked for', async (t) => {
  const { logs, seen } = await makeLogSet(t)
  const made: OpenLog = await logs.create({ kind: 'group', name: 'Minutes' })
  await made.group.append({ t: 'room/create', name: 'minutes', ts: Date.now() })
  const record = made.record
  await logs.close(made)
  assert.equal(logs.get(record.key), undefined)
  await assert.rejects(made.group.append({ t: 'room/create', name: 'later', ts: Date.now() }), { code: 'CLOSED' }, 'the log closed')

  const again = await logs.open(record)
  assert.notEqual(again, made)
  assert.deepEqual(seen.opened, [record.key], 'opened from disk: the rules may need raising')
  assert.ok((await again.group.room('minutes')) !== null, 'the history is still there')
  assert.equal(await logs.open(record), again, 'opening an open log returns it')
})

test('log set: after a reorder every service rewinds to the kept length, in list order, before any update', async (t) => {
  const { logs } = await makeLogSet(t)
  const calls: string[] = []
  const service = (name: string) => ({
    rewind: async (_log: OpenLog, cut: number) => { calls.push(`${name} rewind ${cut}`) },
    onUpdate: async () => { calls.push(`${name} update`) }
  })
  logs.use([service('a'), { onUpdate: async () => { calls.push('b update') } }, service('c')])
  const log = await logs.create({ kind: 'group', name: 'Reordered' })
  await waitFor(() => calls.includes('c update'), 'the first pass ran')
  assert.ok(!calls.some(c => c.includes('rewind')), 'no reorder, no rewind')

  calls.length = 0
  // As Autobase reports a truncated view (group.ts takes the shortest length since the last pass).
  let cut: number | null = 7
  log.group.takeTruncation = () => { const c = cut; cut = null; return c }
  log.group.emit('update')
  await waitFor(() => calls.includes('c update'), 'the pass after the reorder ran')
  assert.deepEqual(calls, ['a rewind 7', 'c rewind 7', 'a update', 'b update', 'c update'])
})
