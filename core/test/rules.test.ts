/**
 * Apply rules are versioned (rules.ts): a rule that judges existing entries differently takes
 * effect from a point in the log, so a device applying an old log from scratch reaches the same
 * state as one that applied it as it grew. Rules 2 (a registered bridge, invites bound to their
 * issuer's authority) apply to logs created with them and from an admin's `group/rules` on.
 */
import test from 'node:test'
import assert from 'node:assert/strict'
import path from 'node:path'
import Corestore from 'corestore'
import { applyNodes } from '../src/apply.ts'
import { signBinding } from '../src/binding.ts'
import { Group } from '../src/group.ts'
import type { Command } from '../src/commands.ts'
import { createIdentity, memberKey } from '../src/identity.ts'
import { Solidar } from '../src/index.ts'
import { CURRENT_RULES } from '../src/rules.ts'
import { makeNodes, waitFor } from './helpers.ts'
import { RecordingHost, Texts, bees, dump, hex, node, randomKey , applyCast } from './lab.ts'
import { getText, putText } from '../src/registry.ts'

const offline = new Texts(randomKey(), randomKey())

test('applyNodes: rules 1 entries keep their outcome; from group/rules 2 on, the bridge must be registered and invites end with their issuer', async (t) => {
  const { view, boot, host, alice, bob, bobWriter } = await applyCast(t)
  const newcomer = (name: string) => {
    const id = createIdentity(name)
    const writer = randomKey()
    return { id, writer, add: (invite: Buffer, ts: number): Command => ({ t: 'member/add', member: id.publicKey, writer, name, role: 'member', sig: signBinding(boot, writer, id.secretKey), invite, ts }) }
  }
  const invite = (id: Buffer, ts: number): Command => ({ t: 'invite/create', id, publicKey: randomKey(), role: 'member', expires: Date.now() + 3_600_000, uses: 5, ts })
  const bridged = (id: string, ts: number): Command => ({ t: 'bridge/post', id, room: 'general', body: offline.seal(id), jid: 'anna@example.org', ts })
  const [carol, dave] = [newcomer('carol'), newcomer('dave')]
  const bobsInvite = randomKey()

  await applyNodes([
    // A group made by older code: no rules version.
    node(boot, { t: 'group/create', kind: 'group', name: 'G', member: alice.publicKey, memberName: 'alice', sig: signBinding(boot, boot, alice.secretKey), ts: 1 }),
    node(boot, { t: 'member/add', member: bob.publicKey, writer: bobWriter, name: 'bob', role: 'admin', sig: signBinding(boot, bobWriter, bob.secretKey), ts: 2 }),
    node(bobWriter, invite(bobsInvite, 3)),
    node(boot, { t: 'member/role', member: bob.publicKey, role: 'member', ts: 4 }),
    node(boot, { t: 'bridge/allow', entry: 'anna@example.org', ts: 5 }),
    // Under rules 1: bob's invite still admits after his demotion; any member posts bridged.
    node(boot, carol.add(bobsInvite, 6)),
    node(bobWriter, bridged('bridged-1-ok', 7)),
    // bob cannot raise the rules (not an admin), nor can anyone lower them.
    node(bobWriter, { t: 'group/rules', rules: 2, ts: 8 }),
    node(boot, { t: 'group/rules', rules: 2, ts: 9 }),
    node(boot, { t: 'group/rules', rules: 2, ts: 10 }),
    node(boot, { t: 'group/rules', rules: 1, ts: 11 }),
    // Under rules 2: the same entries are refused.
    node(boot, dave.add(bobsInvite, 12)),
    node(bobWriter, bridged('bridged-2-no', 13))
  ], view, host, boot)

  const entries = await dump(view)
  const audit = entries.filter(([k]) => k.startsWith('a!')).map(([, v]) => [(v as any).type, (v as any).reason])
  assert.deepEqual(audit, [
    ['group/rules', 'only admins change the rules version'],
    ['group/rules', 'rules version not higher than the current one'],
    ['group/rules', 'rules version not higher than the current one'],
    ['member/add', 'the invite\'s issuer is no longer an admin'],
    ['bridge/post', 'only the group\'s registered bridge posts bridged messages']
  ])
  const meta = entries.find(([k]) => k === 'g')![1] as any
  assert.equal(meta.rules, 2)
  const members = entries.filter(([k]) => k.startsWith('m!')).map(([, v]) => (v as any).name).sort()
  assert.deepEqual(members, ['alice', 'bob', 'carol'], 'carol (rules 1) is in, dave (rules 2) is not')
  const ids = entries.filter(([k]) => k.startsWith('id!')).map(([k]) => k.slice(3))
  assert.deepEqual(ids, ['bridged-1-ok'])
})

test('Solidar: new groups follow the current rules; an admin node raises an older group\'s rules when it opens it', async (t) => {
  const { nodes: [alice], dir, locals } = await makeNodes(['alice'], t)
  const created = await alice.createGroup('New')
  const metaOf = async (n: Solidar, id: string) => (await (await n.logBase(id)).base.view.get('g'))
  const { decode } = await import('../src/codec.ts')
  assert.equal((decode((await metaOf(alice, created.id)).value) as any).rules, CURRENT_RULES)

  // A group as older code made it (no rules), in alice's store and registry.
  const namespace = hex(randomKey().subarray(0, 16))
  const encryptionKey = randomKey()
  const old = new Group({ store: alice.store.namespace(namespace), key: null, encryptionKey })
  await old.ready()
  await old.append({ t: 'group/create', kind: 'group', name: 'Old', member: memberKey(alice.identity), memberName: 'alice', sig: signBinding(old.key, old.localWriterKey, alice.identity.secretKey), ts: Date.now() } as Command)
  const key = hex(old.key)
  await old.close()
  const registry = JSON.parse((await getText(locals[0], 'logs.json'))!)
  registry.logs.push({ key, encryptionKey: hex(encryptionKey), namespace, kind: 'group' })
  await putText(locals[0], 'logs.json', JSON.stringify(registry))

  await alice.close(); await alice.transport?.close(); await alice.store.close()
  const store = new Corestore(path.join(dir, 'alice'))
  const again = await Solidar.open({ identity: alice.identity, store, local: locals[0], transport: null })
  t.after(async () => { await again.close(); await store.close() })
  const oldId = (await again.listGroups()).find(g => g.name === 'Old')!.id
  await waitFor(async () => (decode((await metaOf(again, oldId)).value) as any).rules === CURRENT_RULES, 'the old group raised to the current rules', 10_000)
  assert.deepEqual(await again.audit(oldId), [])
})
