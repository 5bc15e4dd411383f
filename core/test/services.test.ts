/**
 * The seams of the node's services (core/src/services/) that need no network: the rewinds
 * after a reorder and the bridge host's mapping of log views. The services' behaviour through
 * Solidar is covered by the other core tests.
 */
import test from 'node:test'
import assert from 'node:assert/strict'
import { MemoryLocalStore } from '../src/index.ts'
import { Registry, type LogRecord } from '../src/registry.ts'
import { DirectMessages, type DmHost } from '../src/services/direct-messages.ts'
import { Messages, type MessageHost } from '../src/services/messages.ts'
import { bridgeHost, type BridgeHostParts } from '../src/services/bridge-host.ts'
import type { OpenLog } from '../src/services/shared.ts'

/** A log whose view says `counter` had the value `at` at the kept length. */
function stubLog (record: LogRecord, at: number, lastChange = 0): OpenLog {
  const group = { counterAt: async (_length: number, _counter: string) => at, writable: true }
  return { record, group, lastChange } as unknown as OpenLog
}

test('DM service: after a reorder a group\'s DM signal cursor goes back to where both orders meet, never forward', async () => {
  const registry = new Registry(new MemoryLocalStore())
  const record: LogRecord = { key: 'aa', encryptionKey: 'bb', namespace: 'cc', kind: 'group', dmCursor: 9 }
  await registry.put(record)
  const dms = new DirectMessages({ registry } as unknown as DmHost)

  await dms.rewind(stubLog(record, 4), 100)
  assert.equal(registry.get('aa')?.dmCursor, 4, 'back to the count the reorder kept')
  await dms.rewind(stubLog(registry.get('aa')!, 6), 100)
  assert.equal(registry.get('aa')?.dmCursor, 4, 'a count above the cursor leaves it')

  const dm: LogRecord = { key: 'dd', encryptionKey: 'ee', namespace: 'ff', kind: 'dm', peer: '11', dmCursor: 5 }
  await registry.put(dm)
  await dms.rewind(stubLog(dm, 0), 100)
  assert.equal(registry.get('dd')?.dmCursor, 5, 'a DM log carries no DM signals: left alone')
})

test('message service: after a reorder the change cursor goes back to where both orders meet, never forward', async () => {
  const messages = new Messages({} as MessageHost)
  const record: LogRecord = { key: 'aa', encryptionKey: 'bb', namespace: 'cc', kind: 'group' }
  const log = stubLog(record, 3, 10)
  await messages.rewind(log, 50)
  assert.equal(log.lastChange, 3)
  const ahead = stubLog(record, 12, 10)
  await messages.rewind(ahead, 50)
  assert.equal(ahead.lastChange, 10)
})

test('bridge host: hands out live views of logs, maps them back, refuses views it did not make and DMs to oneself', async () => {
  const record: LogRecord = { key: 'aa', encryptionKey: 'bb', namespace: 'cc', kind: 'group' }
  const log = { record, group: { name: 'first' }, keyring: { name: 'ring' } } as unknown as OpenLog
  const seen: OpenLog[] = []
  const parts = {
    resolveGroup: async () => log,
    resolveMember: async (ref: string) => ref,
    refreshKeys: async (l: OpenLog) => { seen.push(l) },
    currentEpoch: async (l: OpenLog) => { seen.push(l); return 4 },
    self: () => 'me',
    now: () => 1
  } as unknown as BridgeHostParts
  const host = bridgeHost(parts)
  const view = await host.group('Works council')
  assert.equal(view.kind, 'group')
  assert.equal((view.group as any).name, 'first')
  ;(log as any).group = { name: 'reopened' } // a log reopened after a storage failure has a new group
  assert.equal((view.group as any).name, 'reopened', 'the view reads the log live')
  await host.refreshKeys(view)
  assert.equal(await host.currentEpoch(view), 4)
  assert.deepEqual(seen, [log, log], 'views map back to their log')
  await assert.rejects(async () => host.refreshKeys({ group: log.group, keyring: log.keyring, kind: 'group' }), /did not make/)
  await assert.rejects(host.dmPeer('me'), { code: 'BAD_REQUEST' })
  assert.equal(await host.dmPeer('someone'), 'someone')
})
