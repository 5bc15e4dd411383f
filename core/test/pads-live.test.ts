/**
 * Live pad edits (pads/live.ts): an edit reaches another member's open pad at once over the
 * group's live channel, beside its log entry; the log's copy changes nothing more; a pad that
 * took live edits still snapshots exactly its log prefix; and what is not an active writing
 * member's signed edit is refused by reason, reaching no document.
 */
import test from 'node:test'
import assert from 'node:assert/strict'
import path from 'node:path'
import Corestore from 'corestore'
import b4a from 'b4a'
import * as Y from 'yjs'
import { encode } from '../src/codec.ts'
import { createIdentity } from '../src/identity.ts'
import { Solidar } from '../src/index.ts'
import { sealLive, type LiveOutcome } from '../src/pads/live.ts'
import { fragmentOf } from '../src/pads/schema.ts'
import type { SolidarEvent } from '../src/types.ts'
import { makeNodes, removeOneDemoteOne, waitFor } from './helpers.ts'

type Node = Awaited<ReturnType<typeof makeNodes>>['nodes'][number]

/** The pad's text as this node's open document holds it. */
async function textOf (n: Node, group: string, pad: string): Promise<string> {
  const doc = new Y.Doc()
  Y.applyUpdate(doc, (await n.pads.state(group, pad)).update)
  return fragmentOf(doc).toString()
}

/** An editor that starts from the node's state and makes one update per typed word. */
async function editor (n: Node, group: string, pad: string) {
  const doc = new Y.Doc()
  Y.applyUpdate(doc, (await n.pads.state(group, pad)).update)
  return (word: string): Uint8Array => {
    let out: Uint8Array | null = null
    const take = (u: Uint8Array) => { out = u }
    doc.on('update', take)
    doc.transact(() => fragmentOf(doc).insert(fragmentOf(doc).length, [new Y.XmlText(word)]))
    doc.off('update', take)
    return out!
  }
}

const outcome = (n: Node, what: LiveOutcome) => n.pads.liveEdits.outcomes.get(what) ?? 0

/**
 * `names[0]` creates a group and a pad 'Minutes'; the others join, list the pad and have it
 * open (as a tab does): what every test here starts from.
 */
async function padOpenOnAll (names: string[], t: Parameters<typeof makeNodes>[1]) {
  const made = await makeNodes(names, t)
  const [first, ...others] = made.nodes
  const { id: group } = await first.createGroup('Live')
  for (const n of others) await n.join((await first.createInvite(group)).code, { timeoutMs: 30_000 })
  const pad = await first.pads.create(group, 'Minutes')
  for (const n of others) {
    await waitFor(async () => (await n.pads.list(group)).length === 1, `${n.label} lists the pad`)
    await n.pads.state(group, pad.id)
  }
  // Live edits go to connections that proved a member's device (the live chat channel's hello).
  await waitFor(() => made.nodes.every(n => (n.liveChat.outcomes.get('hello') ?? 0) >= names.length - 1), 'every connection greeted both ways')
  return { ...made, group, pad }
}

test('pads live: an edit sent only over the live channel reaches the other member\'s open pad, with no log entry', async (t) => {
  const { nodes: [alice, bob], group, pad } = await padOpenOnAll(['alice', 'bob'], t)
  const live: SolidarEvent[] = []
  t.after(bob.subscribe(e => { if (e.type === 'pad' && e.live === true) live.push(e) }))
  const logBefore = (await bob.pads.get(group, pad.id)).updates
  const type = await editor(alice, group, pad.id)
  await alice.pads.sendLive(group, pad.id, type('nur live'))
  await waitFor(async () => (await textOf(bob, group, pad.id)).includes('nur live'), 'bob\'s open pad has the live edit')
  assert.equal(outcome(bob, 'applied'), 1)
  assert.equal(live.length, 1, 'one live pad event')
  assert.equal(live[0].type === 'pad' && live[0].author, alice.whoami().id, 'the event names the author')
  assert.equal((await bob.pads.get(group, pad.id)).updates, logBefore, 'nothing of it is in the log')
  assert.ok(!(await textOf(alice, group, pad.id)).includes('nur live'), 'alice\'s node never applied or logged it')
})

test('pads live: typed edits arrive live and through the log, once; a pad that took live edits snapshots exactly its log prefix', async (t) => {
  const { nodes: [alice, bob], dir, locals, network, group, pad } = await padOpenOnAll(['alice', 'bob'], t)
  const type = await editor(alice, group, pad.id)
  const words = ['Beschluss', ' einstimmig', ' angenommen']
  await Promise.all(words.map(w => alice.pads.applyUpdate(group, pad.id, type(w))))
  const expected = words.join('')
  await waitFor(async () => (await textOf(bob, group, pad.id)).includes(expected), 'bob has the words')
  assert.ok(outcome(bob, 'applied') >= 1, 'at least one edit came live')
  const logged = (await alice.pads.get(group, pad.id)).updates
  await waitFor(async () => (await bob.pads.get(group, pad.id)).updates === logged, 'bob\'s log has alice\'s entries too')
  const text = await textOf(bob, group, pad.id)
  assert.equal(text.split(expected).length - 1, 1, `the words once, not twice: ${text}`)

  // bob's node closes: it saves a snapshot of its log prefix (from a fresh copy: its doc took live edits).
  await bob.close(); await bob.transport?.close(); await bob.store.close()
  const store = new Corestore(path.join(dir, 'bob'))
  const bob2 = await Solidar.open({ identity: bob.identity, store, local: locals[1], transport: network.transport() })
  t.after(async () => { await bob2.close(); await bob2.transport?.close(); await store.close() })
  const fromSnapshot = await bob2.pads.load(group, pad.id, { useSnapshot: true })
  const replayed = await bob2.pads.load(group, pad.id, { useSnapshot: false })
  assert.ok(fromSnapshot.stats.fromSnapshot > 0, 'the snapshot was saved and used')
  assert.equal(fragmentOf(fromSnapshot.doc).toString(), fragmentOf(replayed.doc).toString(), 'snapshot + tail equals the whole log')
  assert.ok(fragmentOf(fromSnapshot.doc).toString().includes(expected))
})

test('pads live: forged, unreadable, malformed, removed member\'s, observer\'s and hostile edits are refused by reason and reach no document', async (t) => {
  const { nodes: [alice, bob, carol, dave], group, pad } = await padOpenOnAll(['alice', 'bob', 'carol', 'dave'], t)
  await removeOneDemoteOne(group, alice, bob, carol, dave)
  const type = await editor(alice, group, pad.id)
  const send = (forge: Parameters<Node['pads']['sendLive']>[3]) => alice.pads.sendLive(group, pad.id, new Uint8Array(), forge)
  const refused = async (what: LiveOutcome, marker: string, forge: Parameters<Node['pads']['sendLive']>[3]) => {
    const before = outcome(bob, what)
    await send(forge)
    await waitFor(() => outcome(bob, what) === before + 1, `bob refuses it as ${what}`)
    assert.ok(!(await textOf(bob, group, pad.id)).includes(marker), `${what}: not in bob's pad`)
  }
  const stranger = createIdentity('mallory')
  // Signed by another key than the device it names.
  await refused('signature', 'forged', (log, epoch) => sealLive(log, epoch, { publicKey: alice.identity.publicKey, secretKey: stranger.secretKey }, pad.id, type('forged')))
  // Signed by a device that is not in the group at all: kept for a retry, never applied.
  await refused('held', 'stranger', (log, epoch) => sealLive(log, epoch, stranger, pad.id, type('stranger')))
  // A removed member's device, and an observer's (who may read, not write).
  await refused('not-member', 'removed', (log, epoch) => sealLive(log, epoch, carol.identity, pad.id, type('removed')))
  await refused('observer', 'observer', (log, epoch) => sealLive(log, epoch, dave.identity, pad.id, type('observer')))
  // Not sealed with a key of the group; not a sealed box at all.
  await refused('unreadable', 'x', (_log, epoch) => encode({ e: epoch, n: b4a.alloc(24, 1), c: b4a.alloc(64, 2) }))
  await refused('malformed', 'x', () => b4a.from('not cbor at all'))
  // A member's own signed edit that is not Yjs.
  await refused('content', 'x', (log, epoch) => sealLive(log, epoch, alice.identity, pad.id, b4a.from([0xff, 0xff, 0xff, 0xff, 0x07])))
  // Control: the channel works; alice's real edit does arrive (typed in a fresh editor: the one
  // above built on the refused words, which bob never had, so Yjs would hold it back).
  const fresh = await editor(alice, group, pad.id)
  await send((log, epoch) => sealLive(log, epoch, alice.identity, pad.id, fresh('echt')))
  await waitFor(async () => (await textOf(bob, group, pad.id)).includes('echt'), 'a valid live edit is applied')
  for (const marker of ['forged', 'stranger', 'removed', 'observer']) assert.ok(!(await textOf(bob, group, pad.id)).includes(marker), `${marker} never appears`)
  // carol, removed but still connected, is sent none of alice's edits; bob and dave (an observer reads) are.
  const withheld = alice.pads.liveEdits.withheld
  const typed = await editor(alice, group, pad.id)
  await alice.pads.applyUpdate(group, pad.id, typed('nur für mitglieder'))
  await waitFor(async () => (await textOf(dave, group, pad.id)).includes('nur für mitglieder') && alice.pads.liveEdits.withheld > withheld, 'dave, an observer, gets it; carol\'s connection is passed over')
  assert.equal(alice.pads.liveEdits.withheld, withheld + 1, 'withheld from carol\'s connection only')
})

test('pads live: an edit that builds on a live edit whose author never logged it carries it into the log, so a member who never got it live is not left waiting', async (t) => {
  const { nodes: [alice, bob, carol], network, group, pad } = await padOpenOnAll(['alice', 'bob', 'carol'], t)
  // carol is not connected to alice: alice's live edit reaches bob only (the log still reaches carol through bob).
  network.block(alice.transport as any, carol.transport as any)
  const fromAlice = await editor(alice, group, pad.id)
  await alice.pads.sendLive(group, pad.id, fromAlice('nur live')) // alice's append of it never comes (as when it failed)
  await waitFor(async () => (await textOf(bob, group, pad.id)).includes('nur live'), 'bob has alice\'s live edit')
  assert.equal(await bob.pads.unconfirmedLive(group, pad.id), 1, 'bob knows the log has not brought it')
  // bob types after it: his edit's Yjs item follows alice's.
  const fromBob = await editor(bob, group, pad.id)
  await bob.pads.applyUpdate(group, pad.id, fromBob(' und bob'))
  assert.equal(await bob.pads.unconfirmedLive(group, pad.id), 0, 'carried into bob\'s own entry')
  await waitFor(async () => (await textOf(carol, group, pad.id)).includes('nur live und bob'), 'carol reads bob\'s words (and alice\'s, which they build on)')
})

test('pads live: a live edit whose author\'s entry arrives is confirmed and not carried again', async (t) => {
  const { nodes: [alice, bob], group, pad } = await padOpenOnAll(['alice', 'bob'], t)
  const fromAlice = await editor(alice, group, pad.id)
  await alice.pads.applyUpdate(group, pad.id, fromAlice('geloggt'))
  const logged = (await alice.pads.get(group, pad.id)).updates
  await waitFor(async () => (await bob.pads.get(group, pad.id)).updates === logged && (await textOf(bob, group, pad.id)).includes('geloggt'), 'bob has alice\'s entry')
  assert.equal(await bob.pads.unconfirmedLive(group, pad.id), 0, 'nothing left to carry')
  const bobBefore = (await bob.pads.get(group, pad.id)).updates
  const fromBob = await editor(bob, group, pad.id)
  await bob.pads.applyUpdate(group, pad.id, fromBob(' danach'))
  assert.equal((await bob.pads.get(group, pad.id)).updates, bobBefore + 1, 'bob\'s edit is one entry of his own')
})
