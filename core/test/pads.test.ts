/**
 * Pads across in-memory nodes: create/list/rename/archive, appends and exports, concurrent
 * edits of one paragraph while partitioned converge to the same Markdown, observers
 * cannot write, templates, history.
 */
import test from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs/promises'
import path from 'node:path'
import * as Y from 'yjs'
import Protomux from 'protomux'
import c from 'compact-encoding'
import { makeNodes, waitFor } from './helpers.ts'
import { firstText, fragmentOf } from '../src/pads/schema.ts'

async function listFiles (dir: string): Promise<string[]> {
  const out: string[] = []
  for (const e of await fs.readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name)
    if (e.isDirectory()) out.push(...await listFiles(p))
    else out.push(p)
  }
  return out
}

async function threeInAGroup (t: Parameters<typeof makeNodes>[1], opts: Parameters<typeof makeNodes>[2] = {}) {
  const made = await makeNodes(['alice', 'bob', 'carol'], t, opts)
  const [alice, bob, carol] = made.nodes
  const { id } = await alice.createGroup('Works council')
  await bob.join((await alice.createInvite(id)).code, { timeoutMs: 30_000 })
  await carol.join((await alice.createInvite(id)).code, { timeoutMs: 30_000 })
  return { ...made, alice, bob, carol, group: id }
}

test('pads: create, list, append, export, rename, archive across members', async (t) => {
  const { alice, bob, group } = await threeInAGroup(t)
  // An import of something that is not UTF-8 text (a photo; Windows-1252 umlauts) is refused, and no pad is made.
  for (const content of ['\u00ff\u00d8\u0000\u0010', 'Betriebsrat M\uFFFDnchen']) {
    await assert.rejects(alice.pads.create(group, 'Not text', { content }), { code: 'BAD_REQUEST', message: /does not look like UTF-8 text/ })
  }
  const pad = await alice.pads.create(group, 'Agenda')
  assert.equal(pad.title, 'Agenda')
  assert.equal(pad.createdByName, 'alice')
  await waitFor(async () => (await bob.pads.list(group)).length === 1, 'bob lists the pad')
  await bob.pads.append(group, 'agenda', 'First point from bob')
  const md = async (n: typeof alice) => (await n.pads.export(group, pad.id, { format: 'md' })).content
  await waitFor(async () => (await md(alice)).includes('First point'), 'alice sees bob\'s paragraph')
  await alice.pads.append(group, pad.id, 'Second *point* from alice')
  await waitFor(async () => (await md(alice)) === (await md(bob)) && (await md(alice)).includes('First point'), 'same markdown')
  assert.equal(await md(alice), 'First point from bob\n\nSecond \\*point\\* from alice\n')
  await bob.pads.rename(group, 'Agenda', 'Agenda 2026-03')
  await waitFor(async () => (await alice.pads.get(group, pad.id)).title === 'Agenda 2026-03', 'rename reaches alice')
  await alice.pads.archive(group, 'Agenda 2026-03', true)
  assert.deepEqual(await alice.pads.list(group), [])
  assert.equal((await alice.pads.list(group, { archived: true }))[0].archived, true)
  await assert.rejects(alice.pads.append(group, pad.id, 'more'), { code: 'NOT_PERMITTED' })
  await assert.rejects(alice.pads.get(group, 'nope'), { code: 'PAD_NOT_FOUND' })
})

test('pads: the minutes template follows its creator\'s language; an unknown language is refused', async (t) => {
  const { alice, group } = await threeInAGroup(t)
  const de = await alice.pads.create(group, 'Sitzung 12. März', { template: 'minutes', language: 'de' })
  const md = (await alice.pads.export(group, de.id)).content
  for (const heading of ['## Anwesend', '## Tagesordnung', '## Beschlüsse', '## Aufgaben']) assert.ok(md.includes(heading), `${heading} in:\n${md}`)
  assert.ok(md.includes('**Datum:**') && md.includes('**Abstimmung:** ja 0, nein 0, Enthaltungen 0'), md)
  assert.ok(!md.includes('Attendees'), 'no English heading')
  const en = (await alice.pads.export(group, (await alice.pads.create(group, 'Meeting', { template: 'minutes' })).id)).content
  assert.ok(en.includes('## Attendees'), 'English without a language')
  await assert.rejects(alice.pads.create(group, 'X', { template: 'minutes', language: 'fr' as 'de' }), (err: Error & { code?: string }) => err.code === 'BAD_REQUEST' && /unknown template language "fr"/.test(err.message))
})

test('pads: a title the group already has (in any case or Unicode form) gets a number, and the answer names the title asked for', async (t) => {
  const { alice, bob, group } = await threeInAGroup(t)
  const first = await alice.pads.create(group, 'Minutes')
  assert.equal(first.title, 'Minutes')
  assert.equal((first as { requestedTitle?: string }).requestedTitle, undefined)
  const second = await alice.pads.create(group, 'minutes')
  assert.equal(second.title, 'minutes (2)')
  assert.equal((second as { requestedTitle?: string }).requestedTitle, 'minutes')
  await alice.pads.archive(group, second.id, true)
  // Archived pads keep their titles taken; a decomposed "Protokoll Müller" is the composed one.
  const third = await alice.pads.create(group, 'MINUTES')
  assert.equal(third.title, 'MINUTES (3)')
  await alice.pads.create(group, 'Protokoll M\u00fcller')
  const decomposed = await alice.pads.create(group, 'Protokoll Mu\u0308ller')
  assert.equal(decomposed.title, 'Protokoll Mu\u0308ller (2)')
  // Every title now names one pad.
  await waitFor(async () => (await bob.pads.list(group, { archived: true })).length === 5, 'bob has the pads')
  for (const p of [first, second, third]) assert.equal((await bob.pads.get(group, p.title)).id, p.id)
})

test('pads: three nodes editing one paragraph while partitioned converge to the same Markdown', async (t) => {
  const { alice, bob, carol, group } = await threeInAGroup(t)
  const nodes = [alice, bob, carol]
  const pad = await alice.pads.create(group, 'Draft', { content: 'The works council **agrees** to the plan.' })
  const md = (n: typeof alice) => n.pads.export(group, pad.id).then(e => e.content)
  await waitFor(async () => (await Promise.all(nodes.map(md))).every(m => m.includes('**agrees**')), 'everyone has the draft')

  const { base } = await alice.logBase(group)
  for (const n of nodes) (n.transport as any).disconnectAll()
  const textOf = (doc: Y.Doc) => firstText(doc)
  // The same paragraph, concurrently: insert at the start, in the middle, at the end; format a word.
  await alice.pads.change(group, pad.id, doc => textOf(doc).insert(0, 'Alice: '))
  await bob.pads.change(group, pad.id, doc => { const x = textOf(doc); x.insert(x.length - 1, ' (with changes from Bob)') })
  await carol.pads.change(group, pad.id, doc => { const x = textOf(doc); x.format(4, 5, { italic: {} }); x.insert(x.length, ' Carol seconds.') })
  for (const n of nodes) await n.pads.flush(group, pad.id)
  assert.ok(!(await md(alice)).includes('Bob'), 'partitioned: alice does not see bob yet')

  for (const n of nodes) await n.transport!.join(base.discoveryKey)
  let last: string[] = []
  await waitFor(async () => {
    last = await Promise.all(nodes.map(md))
    return last.every(m => m === last[0]) && ['Alice: ', 'from Bob', 'Carol seconds.'].every(s => last[0].includes(s))
  }, `the same markdown everywhere (${JSON.stringify(last)})`, 20_000)
  assert.equal(last[0], 'Alice: The *works* council **agrees** to the plan (with changes from Bob). Carol seconds.\n')
})

test('pads: observers read but cannot write; hand-made entries from an observer are audited', async (t) => {
  const { alice, bob, group } = await threeInAGroup(t)
  const pad = await alice.pads.create(group, 'Statute')
  await alice.pads.append(group, pad.id, 'Article 1')
  await alice.setRole(group, bob.whoami().id, 'observer')
  await waitFor(async () => (await bob.members(group)).find(m => m.name === 'bob')?.role === 'observer', 'bob sees his new role')
  await waitFor(async () => (await bob.pads.export(group, pad.id)).content.includes('Article 1'), 'bob reads the pad')
  await assert.rejects(bob.pads.append(group, pad.id, 'Article 2'), { code: 'NOT_PERMITTED' })
  await assert.rejects(bob.pads.create(group, 'Mine'), { code: 'NOT_PERMITTED' })
  await assert.rejects(bob.pads.rename(group, pad.id, 'Renamed'), { code: 'NOT_PERMITTED' })

  // Past the local check: an entry appended to the log by hand is ignored by every peer.
  const { encode } = await import('../src/codec.ts')
  const { commandValue } = await import('../src/commands.ts')
  const { base } = await bob.logBase(group)
  const body = { e: 0, n: Buffer.alloc(24), c: Buffer.alloc(32) }
  await base.append(encode(commandValue({ t: 'pad/update', pad: pad.id, body, ts: Date.now() })))
  await waitFor(async () => (await alice.audit(group)).some(a => a.type === 'pad/update' && /observers/.test(a.reason)), 'alice audits the observer\'s update')
  assert.equal((await alice.pads.get(group, pad.id)).updates, 1)
})

const presentNames = async (n: Awaited<ReturnType<typeof threeInAGroup>>['alice'], group: string) => (await n.pads.present(group)).map(m => m.name).join(',')

test('pads: minutes template, history versions and authorship, earlier versions', async (t) => {
  const { alice, bob, group } = await threeInAGroup(t)
  await waitFor(async () => await presentNames(alice, group) === 'alice,bob,carol', 'alice sees everyone online')
  const pad = await alice.pads.create(group, 'Meeting 12 March', { template: 'minutes' })
  const md = (await alice.pads.export(group, pad.id)).content
  for (const s of ['# Meeting 12 March', '**Date:** ', '## Attendees', '- alice\n- bob\n- carol', '## Agenda', '## Decisions', 'yes 0, no 0, abstentions 0', '## Tasks']) {
    assert.ok(md.includes(s), `template has ${JSON.stringify(s)}:\n${md}`)
  }
  await waitFor(async () => (await bob.pads.list(group)).length === 1, 'bob lists the minutes')
  await waitFor(async () => (await bob.pads.export(group, pad.id)).at === 1, 'bob has the template')
  await bob.pads.append(group, pad.id, 'Bob wrote this')
  await waitFor(async () => (await alice.pads.get(group, pad.id)).updates === 2, 'alice sees bob\'s edit')
  const history = await alice.pads.history(group, pad.id)
  assert.deepEqual(history.versions.map(v => [v.authorName, v.fromSeq, v.seq]), [['alice', 1, 1], ['bob', 2, 2]])
  const byName = Object.fromEntries(history.authors.map(a => [a.name, a.chars]))
  assert.equal(byName.bob, 'Bob wrote this'.length)
  assert.ok(byName.alice > 100)
  const before = await alice.pads.export(group, pad.id, { at: 1 })
  assert.equal(before.at, 1)
  assert.ok(!before.content.includes('Bob wrote'))
})

test('pads: the minutes template lists as attendees the members online, not those away', async (t) => {
  const { alice, bob, carol, group, network } = await threeInAGroup(t)
  await waitFor(async () => await presentNames(bob, group) === 'alice,bob,carol' && await presentNames(carol, group) === 'alice,bob,carol', 'bob and carol see everyone online')
  const present = await bob.pads.present(group)
  assert.deepEqual(present.map(m => [m.name, m.self, m.member]), [
    ['alice', false, alice.whoami().id], ['bob', true, bob.whoami().id], ['carol', false, carol.whoami().id]
  ])
  // Carol goes offline: her presence goes with her connections.
  network.leave(carol.transport as any)
  ;(carol.transport as any).disconnectAll()
  await waitFor(async () => await presentNames(bob, group) === 'alice,bob', 'bob sees carol gone')
  assert.equal(await presentNames(carol, group), 'carol', 'alone, carol sees only herself')
  const pad = await bob.pads.create(group, 'Meeting 13 March', { template: 'minutes' })
  const md = (await bob.pads.export(group, pad.id)).content
  assert.ok(md.includes('## Attendees\n\n- alice\n- bob\n\n'), `attendees are alice and bob:\n${md}`)
  assert.ok(!md.includes('- carol'), 'carol was not there')
})

test('pads: presence travels sealed between members and is cleared', async (t) => {
  const { alice, bob, group } = await threeInAGroup(t)
  const pad = await alice.pads.create(group, 'Live')
  await waitFor(async () => (await bob.pads.list(group)).length === 1, 'bob lists the pad')
  const seen: unknown[] = []
  t.after(bob.subscribe(e => { if (e.type === 'pad-presence') seen.push(e) }))
  await bob.pads.presence(group, pad.id) // bob is looking at the pad
  await alice.pads.setPresence(group, pad.id, { cursor: 5, color: '#c00' })
  const peers = await waitFor(async () => {
    const p = (await bob.pads.presence(group, pad.id)).peers
    return p.length === 1 && p[0].state.cursor === 5 ? p : null
  }, 'bob sees alice in the pad')
  assert.equal(peers![0].name, 'alice')
  assert.equal(peers![0].member, alice.whoami().id)
  assert.ok(seen.length > 0, 'a pad-presence event was emitted')
  await alice.pads.setPresence(group, pad.id, null)
  await waitFor(async () => (await bob.pads.presence(group, pad.id)).peers.length === 0, 'alice left the pad')
})

test('pads: a tab that stops renewing its presence (closed without a word) leaves the pad for the others after the time-out', async (t) => {
  const TTL = 600
  const { alice, bob, group } = await threeInAGroup(t, { presenceTtlMs: TTL })
  const pad = await alice.pads.create(group, 'Live')
  await waitFor(async () => (await bob.pads.list(group)).length === 1, 'bob lists the pad')
  await bob.pads.presence(group, pad.id)
  // Renewed (as a tab does every 15 s), the state stays past the time-out …
  const started = Date.now()
  await alice.pads.setPresence(group, pad.id, { cursor: 1 })
  await waitFor(async () => (await bob.pads.presence(group, pad.id)).peers.length === 1, 'bob sees alice')
  let renewed = 0
  for (let i = 2; i <= 4; i++) {
    await new Promise((resolve) => setTimeout(resolve, TTL / 2))
    renewed = Date.now() // the state lasts TTL from this renewal on
    await alice.pads.setPresence(group, pad.id, { cursor: i })
  }
  assert.ok(Date.now() - started > TTL, 'renewals spanned more than one time-out')
  const seen = await waitFor(async () => {
    const p = (await bob.pads.presence(group, pad.id)).peers
    return p.length === 1 && p[0].state.cursor === 4 ? p : null
  }, 'bob sees the renewed state')
  assert.equal(seen![0].name, 'alice')
  // … and without a renewal it ends, on alice's node and at bob's: not before TTL after the last
  // renewal (measured from then, not from when bob saw it, which a loaded machine may delay).
  await waitFor(async () => (await alice.pads.presence(group, pad.id)).peers.every((p) => !p.self), 'alice\'s own state ended')
  await waitFor(async () => (await bob.pads.presence(group, pad.id)).peers.length === 0, 'bob no longer sees alice')
  assert.ok(Date.now() - renewed >= TTL - 50, 'not before the time-out')
})

test('pads: a node holding only the topic gets no pad text, not from the log, not from presence', async (t) => {
  const { nodes: [alice, bob, mallory], dir } = await makeNodes(['alice', 'bob', 'mallory'], t)
  const { id: group } = await alice.createGroup('Works council')
  await bob.join((await alice.createInvite(group)).code, { timeoutMs: 30_000 })
  const secret = `secret-minutes-${Math.random().toString(36).slice(2)}`
  const pad = await alice.pads.create(group, `Title ${secret}`, { content: `# ${secret}\n\nText ${secret}` })
  await waitFor(async () => (await bob.pads.list(group)).length === 1, 'bob lists the pad')

  // mallory joins the swarm topic (the discovery key) and listens to everything she is sent.
  const { base } = await alice.logBase(group)
  const heard: Buffer[] = []
  let presenceMessages = 0
  mallory.transport!.on('connection', ({ stream }: any) => {
    stream.on('data', (b: Buffer) => heard.push(Buffer.from(b)))
    const ch = Protomux.from(stream).createChannel({
      protocol: 'solidar/presence/v1',
      id: base.discoveryKey,
      messages: [{ encoding: c.buffer, onmessage: (m: Buffer) => { presenceMessages++; heard.push(Buffer.from(m)) } }]
    })
    ch?.open()
  })
  await mallory.transport!.join(base.discoveryKey)
  await waitFor(() => mallory.transport!.connectionCount > 0, 'mallory is connected to the members')
  await alice.pads.setPresence(group, pad.id, { cursor: 1, note: secret })
  await alice.pads.append(group, pad.id, `More ${secret}`)
  await waitFor(() => presenceMessages > 0, 'mallory received (sealed) presence')

  const needle = Buffer.from(secret)
  assert.ok(heard.length > 0)
  assert.equal(heard.findIndex(b => b.includes(needle)), -1, 'nothing mallory received holds pad text')
  await assert.rejects(mallory.pads.list(group), { code: 'GROUP_NOT_FOUND' })
  const files = await listFiles(path.join(dir, 'mallory'))
  for (const f of files) assert.ok(!(await fs.readFile(f)).includes(needle), `${f} holds no pad text`)
  // Control: the members do read it.
  await waitFor(async () => (await bob.pads.export(group, pad.id)).content.includes(`More ${secret}`), 'bob reads the pad')
})

test('pads: a client update is answered only once it is in the log (what the web app shows as saved)', async (t) => {
  const { nodes: [alice] } = await makeNodes(['alice'], t)
  const { id: group } = await alice.createGroup('Saved means saved')
  const pad = await alice.pads.create(group, 'Minutes')
  const before = (await alice.pads.get(group, pad.id)).updates
  // An editor's own Y.Doc, as in the browser: start from the node's state, type, send the update.
  const editor = new Y.Doc()
  Y.applyUpdate(editor, (await alice.pads.state(group, pad.id)).update)
  const edits: Uint8Array[] = []
  editor.on('update', (u: Uint8Array) => edits.push(u))
  for (const word of ['Beschluss', ' einstimmig']) {
    editor.transact(() => fragmentOf(editor).insert(fragmentOf(editor).length, [new Y.XmlText(word)]))
  }
  // Both sent at once, as two requests; each answer means: this edit is in the log now
  // (group commit waits up to BATCH_MS; the answer waits for it, not just for the doc).
  await Promise.all(edits.map(u => alice.pads.applyUpdate(group, pad.id, u)))
  const after = (await alice.pads.get(group, pad.id)).updates
  assert.ok(after > before, `the pad's log has the edits when applyUpdate resolves (${before} → ${after})`)
  assert.match((await alice.pads.export(group, pad.id, { format: 'txt' })).content, /Beschluss/)
})
