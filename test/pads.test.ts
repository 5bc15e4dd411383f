/**
 * Pads across real daemons, through the CLI: three members edit one pad at the same time
 * (new paragraphs, and text added to the same paragraph), also while one of them is cut off
 * from the others; once reconnected, all three export byte-identical Markdown holding every
 * edit. History names every author; no daemon's disk holds pad text in the clear.
 */
import { describe, it, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { writeFile } from 'node:fs/promises'
import path from 'node:path'
import { Cluster, makeTempDir, removeTempDir, type GroupRef, type SolidarNode } from './helpers/cluster.ts'
import { findInFiles } from './helpers/disk.ts'
import { waitFor } from './helpers/wait.ts'

const tag = randomBytes(4).toString('hex')
const text = (who: string, what: string): string => `${who}-${what}-${tag}`

/** An address where no DHT answers: a daemon started with it runs, but reaches nobody. */
const NOWHERE = '127.0.0.1:9'

describe('pads across three daemons', { timeout: 400_000 }, () => {
  let cluster: Cluster
  let alice: SolidarNode
  let bob: SolidarNode
  let carol: SolidarNode
  let group: GroupRef
  let pad: { id: string, title: string }

  before(async () => {
    cluster = await Cluster.start({ names: ['alice', 'bob', 'carol'] })
    ;[alice, bob, carol] = cluster.nodes
    group = await cluster.withLogs(() => cluster.createGroup(alice, `pads-${tag}`, [bob, carol]))
  }, { timeout: 180_000 })

  after(async () => { await cluster?.close() })

  const exportMd = (node: SolidarNode): Promise<string> => node.ok(['pad', 'export', group.id, pad.id, '--format', 'md'])
  const apiMd = async (node: SolidarNode): Promise<string> => {
    const r = await node.api({ path: `/api/groups/${group.id}/pads/${pad.id}/export?format=md` })
    if (r.status !== 200) throw new Error(`${node.name}: export → ${r.status} ${r.text.slice(0, 200)}`)
    return (r.json as { content: string }).content
  }

  const presentNames = async (node: SolidarNode): Promise<string> =>
    (await node.apiList<{ name: string }>(`/api/groups/${group.id}/present`)).map(m => m.name).join(',')

  it('creates a minutes pad that every member lists, with the members online as attendees', async () => {
    await cluster.withLogs(async () => {
      await waitFor(async () => await presentNames(alice) === 'alice,bob,carol',
        { timeout: 45_000, interval: 200, what: 'alice to see bob and carol online' })
      pad = await alice.json<{ id: string, title: string }>(['pad', 'new', group.id, `Minutes ${tag}`, '--template', 'minutes', '--language', 'en'])
      assert.equal(pad.title, `Minutes ${tag}`)
      assert.match(pad.id, /^[A-Za-z0-9_-]{8,64}$/)
      for (const node of [bob, carol]) {
        await waitFor(async () => (await node.apiList<{ id: string }>(`/api/groups/${group.id}/pads`)).some(p => p.id === pad.id),
          { timeout: 45_000, interval: 200, what: `${node.name} to list the pad` })
      }
      const md = await exportMd(bob)
      for (const name of ['alice', 'bob', 'carol']) assert.ok(md.includes(`- ${name}`), `attendees pre-filled with ${name}:\n${md}`)
      assert.match(md, /## Decisions/)
      // By title, too (PAD is an id or an unambiguous title).
      assert.equal(await carol.ok(['pad', 'export', group.id, `minutes ${tag}`]), md)
    })
  })

  it('presence (cursors) travels between daemons and leaves with its member', async () => {
    await cluster.withLogs(async () => {
      const presencePath = `/api/groups/${group.id}/pads/${pad.id}/presence`
      type Presence = { peers: Array<{ name: string, member: string, self: boolean, state: Record<string, unknown> }> }
      const put = await alice.api({ method: 'PUT', path: presencePath, body: { state: { cursor: 7, name: 'alice' } } })
      assert.equal(put.status, 200, put.text)
      const seen = await waitFor(async () => {
        const r = await bob.api({ path: presencePath })
        const peers = (r.json as Presence).peers
        return peers.some(p => p.name === 'alice' && p.state.cursor === 7) ? peers : null
      }, { timeout: 30_000, interval: 200, what: 'bob to see alice\'s cursor' })
      const alices = seen!.find(p => p.name === 'alice')!
      assert.equal(alices.self, false)
      assert.equal(alices.member, alice.id)
      // A forged or malformed state is refused with a clear error.
      const bad = await alice.api({ method: 'PUT', path: presencePath, body: { state: [1, 2] } })
      assert.equal(bad.status, 400, bad.text)
      assert.equal((await alice.api({ method: 'PUT', path: presencePath, body: { state: null } })).status, 200)
      await waitFor(async () => !((await bob.api({ path: presencePath })).json as Presence).peers.some(p => p.name === 'alice'),
        { timeout: 30_000, interval: 200, what: 'alice\'s cursor to leave bob\'s view' })
    })
  })

  it('concurrent edits online and while one member is cut off converge to identical Markdown', async () => {
    await cluster.withLogs(async () => {
      const written: string[] = []
      const append = async (node: SolidarNode, what: string, inline = false): Promise<void> => {
        const t = text(node.name, what)
        written.push(t)
        await node.ok(['pad', 'append', group.id, pad.id, t, ...(inline ? ['--inline'] : [])])
      }
      // Online, all at once: new paragraphs, and text added to the same (last) paragraph.
      await Promise.all([append(alice, 'online'), append(bob, 'online'), append(carol, 'online')])
      await Promise.all([append(alice, 'same-para', true), append(bob, 'same-para', true), append(carol, 'same-para', true)])

      // Carol is cut off (her daemon restarts with a DHT nobody answers on) and keeps editing.
      await carol.stop()
      ;(carol as { bootstrap: string }).bootstrap = NOWHERE
      await carol.start()
      await waitFor(async () => await presentNames(alice) === 'alice,bob' && await presentNames(carol) === 'carol',
        { timeout: 45_000, interval: 200, what: 'alice to see carol gone, and carol to see only herself' })
      await Promise.all([
        append(alice, 'partitioned'), append(bob, 'partitioned'),
        (async () => { await append(carol, 'offline'); await append(carol, 'offline-inline', true) })()
      ])
      await append(bob, 'partitioned-inline', true)
      const carolAlone = await apiMd(carol)
      assert.ok(carolAlone.includes(text('carol', 'offline')) && !carolAlone.includes(text('bob', 'partitioned')), 'carol edited alone')

      // Back on the network: everything merges.
      await carol.stop()
      ;(carol as { bootstrap: string }).bootstrap = cluster.bootstrap
      await carol.start()
      let last: string[] = []
      try {
        await waitFor(async () => {
          last = await Promise.all([alice, bob, carol].map(apiMd))
          return last.every(md => md === last[0]) && written.every(t => last[0].includes(t))
        }, { timeout: 90_000, interval: 300, what: 'all three pads to hold every edit and agree' })
      } catch (err: any) {
        const state = await Promise.all([alice, bob, carol].map(async n => {
          const info = await n.api({ path: `/api/groups/${group.id}/pads/${pad.id}` })
          const status = await n.api({ path: '/api/status' })
          return `${n.name}: pad ${info.text} status ${status.text}`
        }))
        throw new Error(`${err.message}\nwritten: ${written.join(', ')}\n${state.join('\n')}\n${last.map((md, i) => `--- ${['alice', 'bob', 'carol'][i]}\n${md}`).join('\n')}`)
      }
      const exports = await Promise.all([alice, bob, carol].map(exportMd))
      assert.equal(exports[1], exports[0], 'bob exports the same bytes as alice')
      assert.equal(exports[2], exports[0], 'carol exports the same bytes as alice')
      for (const t of written) assert.ok(exports[0].includes(t), `${t} is in the pad`)
    })
  })

  /** True once `node` exports `padId` as `expected`; otherwise throws with what it exported, for the timeout message. */
  const exportsAs = async (node: SolidarNode, padId: string, expected: string): Promise<true> => {
    const r = await node.run(['pad', 'export', group.id, padId])
    if (r.code === 0 && r.stdout === expected) return true
    throw new Error(`exit ${r.code}, stdout ${JSON.stringify(r.stdout)}, stderr ${JSON.stringify(r.stderr.slice(0, 300))}; expected ${JSON.stringify(expected)}`)
  }

  it('pad import from files through the CLI: every member exports the same Markdown; unreadable files are refused', async () => {
    const dir = await makeTempDir('solidar-pad-import-')
    try {
      const agreement = `# Agreement ${tag}\n\nWages rise by **3 %** from *January*, see [the law](https://example.org/betrvg).\n\n` +
        '1. night shifts\n2. weekends\n\nWorks council\\\nMain street 1\n'
      await writeFile(path.join(dir, 'agreement.md'), agreement)
      await writeFile(path.join(dir, 'notes.txt'), `Notes ${tag}\nsecond line\n\n*not emphasis*\n`)
      const imported = await alice.json<{ id: string, title: string }>(['pad', 'import', group.id, path.join(dir, 'agreement.md')])
      assert.equal(imported.title, `Agreement ${tag}`, 'the title defaults to the first heading')
      const notes = await alice.json<{ id: string, title: string }>(['pad', 'import', group.id, path.join(dir, 'notes.txt'), '--title', `Notes ${tag}`])
      for (const node of [alice, bob, carol]) {
        await waitFor(() => exportsAs(node, imported.id, agreement),
          { timeout: 45_000, interval: 300, what: `${node.name} to export the imported Markdown as it was` })
      }
      await waitFor(() => exportsAs(carol, notes.id, `Notes ${tag}\\\nsecond line\n\n\\*not emphasis\\*\n`),
        { timeout: 45_000, interval: 300, what: 'carol to export the text file: its line break kept, its stars as text' })

      const missing = await alice.run(['pad', 'import', group.id, path.join(dir, 'absent.md')])
      assert.notEqual(missing.code, 0)
      assert.match(missing.stderr, /Cannot read .*absent\.md: ENOENT/)
      await writeFile(path.join(dir, 'photo.md'), Buffer.from([0xff, 0xd8, 0, 0, 0x10, 0x4a, 0x46]))
      const binary = await alice.run(['pad', 'import', group.id, path.join(dir, 'photo.md')])
      assert.notEqual(binary.code, 0)
      assert.match(binary.stderr, /does not look like UTF-8 text/)
      assert.equal((await alice.apiList<{ title: string }>(`/api/groups/${group.id}/pads`)).filter(p => p.title.includes('photo')).length, 0, 'no pad was made')
    } finally {
      await removeTempDir(dir)
    }
  })

  it('history names every author; text and HTML export; no pad text on disk in the clear', async () => {
    await cluster.withLogs(async () => {
      type History = { versions: Array<{ authorName: string, seq: number }>, authors: Array<{ name: string, chars: number }> }
      // The others' words can reach bob's open pad live, before their log entries: the history is the log's, so wait for it.
      const history = await waitFor(async () => {
        const h = await bob.json<History>(['pad', 'history', group.id, pad.id])
        return new Set(h.versions.map(v => v.authorName)).size === 3 ? h : null
      }, { timeout: 30_000, interval: 300, what: 'bob\'s log to hold every author\'s entries' })
      assert.deepEqual(new Set(history.versions.map(v => v.authorName)), new Set(['alice', 'bob', 'carol']))
      assert.deepEqual(new Set(history.authors.map(a => a.name)), new Set(['alice', 'bob', 'carol']))
      const first = await alice.ok(['pad', 'export', group.id, pad.id, '--at', '1'])
      assert.ok(first.includes('## Agenda') && !first.includes(`-online-${tag}`), `after its first update the pad is the template alone:\n${first}`)
      const plain = await carol.ok(['pad', 'cat', group.id, pad.id])
      assert.ok(plain.includes(text('carol', 'offline')) && !plain.includes('## '), 'cat prints plain text')
      await alice.ok(['pad', 'append', group.id, pad.id, `<script>alert(1)</script> & ${tag}`])
      const html = await alice.ok(['pad', 'export', group.id, pad.id, '--format', 'html'])
      assert.ok(html.includes(`&lt;script&gt;alert(1)&lt;/script&gt; &amp; ${tag}`) && !html.includes('<script>'), 'HTML export escapes text')

      const secrets = [text('alice', 'online'), text('carol', 'offline')]
      await Promise.all([alice, bob, carol].map(n => n.stop()))
      for (const node of [alice, bob, carol]) {
        const { hits, files } = await findInFiles(node.home, secrets)
        assert.ok(files > 0, `${node.name}'s home was scanned`)
        assert.deepEqual(hits, [], `${node.name}'s disk holds no pad text in the clear`)
      }
    })
  })
})
