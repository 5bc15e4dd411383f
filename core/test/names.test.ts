import test from 'node:test'
import assert from 'node:assert/strict'
import { lookAlikes, nameKeys, nameSkeleton, namesLookAlike, revealName } from '../src/names.ts'
import { makeNodes, waitFor } from './helpers.ts'

const alike = (a: string, b: string) => assert.ok(namesLookAlike(a, b), `${JSON.stringify(a)} should look like ${JSON.stringify(b)}`)
const unlike = (a: string, b: string) => assert.ok(!namesLookAlike(a, b), `${JSON.stringify(a)} should not look like ${JSON.stringify(b)}`)

test('names: Cyrillic and Greek letters look like Latin ones', () => {
  alike('node\u0410', 'nodeA') // Cyrillic capital A
  alike('\u0430lice', 'alice') // Cyrillic small a
  alike('b\u043Eb', 'bob') // Cyrillic small o
  alike('\u0391lice', 'Alice') // Greek capital alpha
  alike('b\u03BFb', 'bob') // Greek small omicron
  alike('\u0440\u0430\u0443\u0440\u0430l', 'paypal') // р а у р а Cyrillic
})

test('names: fullwidth and other compatibility forms look like plain letters', () => {
  alike('\uFF41\uFF4C\uFF49\uFF43\uFF45', 'alice') // ａｌｉｃｅ
  alike('\uFF2E\uFF4F\uFF44\uFF45\uFF21', 'nodeA')
  alike('\uFB01ona', 'fiona') // ﬁ ligature
  alike('bob\u00B2', 'bob2') // superscript two
})

test('names: invisible characters do not make a new name', () => {
  alike('node\u200BA', 'nodeA') // zero-width space
  alike('no\u200Dde\u200CA', 'nodeA') // zero-width joiner, non-joiner
  alike('\uFEFFalice\u2060', 'alice') // BOM, word joiner
  alike('ali\u00ADce', 'alice') // soft hyphen
  alike('alice\uFE0F', 'alice') // variation selector
  alike('alice\u{E0041}', 'alice') // tag character
  alike('\u115Falice', 'alice') // Hangul filler
})

test('names: bidi controls do not make a new name', () => {
  alike('\u202Ealice', 'alice') // right-to-left override
  alike('alice\u200E', 'alice') // left-to-right mark
  alike('\u2067alice\u2069', 'alice') // isolates
  alike('al\u061Cice', 'alice') // Arabic letter mark
})

test('names: combining marks: composed and decomposed are one name, a visible accent is another', () => {
  alike('Ren\u00E9', 'Rene\u0301')
  alike('J\u00FCrgen', 'Ju\u0308rgen')
  unlike('Ren\u00E9', 'Rene')
  unlike('J\u00FCrgen', 'Jurgen')
  alike('alice\u034F', 'alice') // combining grapheme joiner is invisible
})

test('names: letter case and confusable ASCII', () => {
  alike('ALICE', 'alice')
  alike('Alice', 'aLiCe')
  alike('nodeI', 'nodel') // capital i and small L
  alike('node1', 'nodel') // digit one and small L
  alike('m\u0430rtin', 'rnartin') // m and rn, with a Cyrillic a
  alike('STRASSE', 'stra\u00DFe') // full case folding of ß
  alike('  alice   smith ', 'alice smith')
  alike('alice\u2003smith', 'alice smith') // em space
})

test('names: different names stay different', () => {
  unlike('alice', 'bob')
  unlike('nodeA', 'nodeB')
  unlike('alice', 'alicia')
  unlike('anna', 'anne')
  unlike('alice smith', 'alicesmith')
})

test('names: the skeleton is deterministic and idempotent', () => {
  for (const name of ['node\u0410', 'ＡＬＩＣＥ', 'M\u200Bartin', 'ꓮlice', 'Straße']) {
    const s = nameSkeleton(name)
    assert.equal(nameSkeleton(s), s)
    assert.ok(nameKeys(name).includes(s))
  }
  assert.equal(nameSkeleton('\u200B\u200D'), '')
})

test('names: lookAlikes lists the other members whose names look the same', () => {
  const found = lookAlikes([
    { id: 'a', name: 'alice' },
    { id: 'b', name: '\u0430lice' },
    { id: 'c', name: 'ALICE\u200B' },
    { id: 'd', name: 'bob' },
    { id: 'e', name: 'nodeI' },
    { id: 'f', name: 'nodel' }
  ])
  assert.deepEqual(Object.fromEntries([...found].map(([id, ids]) => [id, ids.sort()])), {
    a: ['b', 'c'], b: ['a', 'c'], c: ['a', 'b'], e: ['f'], f: ['e']
  })
})

test('names: revealName shows what disguises a name, and leaves plain letters alone', () => {
  assert.equal(revealName('node\u0410'), 'node<U+0410>')
  assert.equal(revealName('node\u200BA'), 'node<U+200B>A')
  assert.equal(revealName('\uFF41lice'), '<U+FF41>lice')
  assert.equal(revealName('\u202Ealice'), '<U+202E>alice')
  assert.equal(revealName('J\u00FCrgen Wei\u00DF'), 'J\u00FCrgen Wei\u00DF')
  assert.equal(revealName('node1'), 'node1')
})

test('Solidar: a group name is stored composed (NFC), found by either spelling, a second group of the same name is made but named back, and the last admin is told how to leave', async (t) => {
  const { nodes: [alice, bob] } = await makeNodes(['alice', 'bob'], t)
  const decomposed = await alice.createGroup('Unicode\u0301 works council')
  assert.equal(decomposed.name, 'Unicod\u00e9 works council', 'stored composed')
  assert.equal(decomposed.sameName, undefined)
  assert.equal(await alice.resolveGroupId('unicod\u00e9 WORKS council'), decomposed.id)
  assert.equal(await alice.resolveGroupId('Unicode\u0301 works council'), decomposed.id)
  const twin = await alice.createGroup('UNICODÉ works council')
  assert.deepEqual(twin.sameName, [decomposed.id], 'the answer names the group that has the name already')
  await assert.rejects(alice.resolveGroupId('Unicodé works council'), (err: Error & { code?: string }) => err.code === 'GROUP_AMBIGUOUS' && err.message.includes(decomposed.id) && err.message.includes(twin.id))

  // The last admin with a member left: refused before anything is written, with what to do.
  const { code } = await alice.createInvite(decomposed.id)
  await bob.join(code, { timeoutMs: 30_000 })
  await assert.rejects(alice.leaveGroup(decomposed.id), (err: Error & { code?: string }) => err.code === 'NOT_PERMITTED' && /You are the last admin of this group, so you cannot leave it yet: make another member admin first/.test(err.message))
  assert.equal((await alice.audit(decomposed.id)).length, 0, 'no refused entry in the log')
})

test('Solidar: names count characters as a user sees them: a group named with 40 emoji works, in a new group (rules 4) and after a rename, which another member\'s node announces', async (t) => {
  const { nodes: [alice, bob] } = await makeNodes(['alice', 'bob'], t)
  const name = '🛠'.repeat(40) // 80 UTF-16 units: "longer than 64 characters" before
  const group = await alice.createGroup(name)
  assert.equal(group.name, name)
  const { code } = await alice.createInvite(group.id)
  await bob.join(code, { timeoutMs: 30_000 })
  assert.equal((await bob.listGroups()).find(g => g.id === group.id)?.name, name, 'bob sees the name')
  const renamed = '🇩🇪'.repeat(60)
  // Bob's node says so with a `group` event (lists shown elsewhere, the web app's, load it again).
  const events: string[] = []
  t.after(bob.subscribe((e) => { if (e.type === 'group') events.push(e.group) }))
  await alice.renameGroup(group.id, renamed)
  await waitFor(async () => (await bob.listGroups()).find(g => g.id === group.id)?.name === renamed, 'bob sees the rename')
  await waitFor(() => events.includes(group.id), 'a group event on bob\'s node for a rename someone else made')
  assert.deepEqual(await alice.audit(group.id), [], 'nothing refused')
})
