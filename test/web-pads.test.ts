/**
 * The web app in real Chromium, second part (web.test.ts has onboarding, chat and the shared
 * editor): two nodes already in one group (set up with the CLI, to keep this file fast) and a
 * browser context for each. Importing a Markdown file into a new pad (both editors show it),
 * renaming, archiving and unarchiving a pad (archived pads on request), the history's time
 * slider showing an earlier version and who wrote how much, DM edit and delete seen live on
 * the other side, the "local network" choice saved for the next start, German strings of these
 * controls, and 375 px. Screenshots go to test/artifacts/web/.
 *
 * Needs the built app (web/dist): `npm test` builds it first; alone: `npm run build`.
 */
import { describe, it, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import path from 'node:path'
import type { Browser, Page } from 'playwright-core'
import { Cluster, makeTempDir, removeTempDir, type SolidarNode } from './helpers/cluster.ts'
import { type BrowserMember, editorText, openMember, launchChromium, requireBuiltApp, screenshots, waitForEditorCaret } from './helpers/browser.ts'
import { waitFor } from './helpers/wait.ts'

const LIVE = 30_000

type Member = BrowserMember

/** Elements that stick out on the right (for a failure message). */
const wide = (page: Page) => page.evaluate(() => [...document.querySelectorAll('body *')]
  .filter((el) => el.getBoundingClientRect().right > window.innerWidth + 0.5)
  .map((el) => `${el.tagName.toLowerCase()}.${el.className}`).slice(0, 8).join(', '))

const DRAFT = `# Draft agreement

Wages rise by **3 %** from *January*.

- night shifts
- weekends

See [the law](https://www.gesetze-im-internet.de/betrvg/).
`

describe('web app in Chromium: pads, DMs, network choice', { timeout: 300_000 }, () => {
  let cluster: Cluster | null = null
  let browser: Browser | null = null
  let tmp = ''
  let alice: Member
  let bob: Member
  let group = ''
  let shot: (page: Page, name: string) => Promise<void>

  const go = async (m: Member, hash: string): Promise<void> => {
    await m.page.evaluate((h) => { location.hash = h }, hash)
  }

  before(async () => {
    const started = Date.now()
    requireBuiltApp()
    shot = await screenshots('web')
    tmp = await makeTempDir('solidar-web-pads-')
    cluster = await Cluster.start({ names: ['Alice', 'Bob'] })
    group = (await cluster.createGroup(cluster.node('Alice'), 'Works council', [cluster.node('Bob')])).id
    browser = await launchChromium(tmp)
    const open = async (node: SolidarNode): Promise<Member> => {
      const member = await openMember(browser!, node)
      await member.page.goto(node.url)
      await member.page.getByRole('link', { name: 'Works council' }).first().waitFor()
      return member
    }
    alice = await open(cluster.node('Alice'))
    bob = await open(cluster.node('Bob'))
    process.stderr.write(`web-pads test set-up (DHT, two nodes in a group, Chromium): ${Date.now() - started} ms\n`)
  })

  after(async () => {
    await browser?.close().catch(() => {})
    await cluster?.close()
    if (tmp !== '') await removeTempDir(tmp)
  })

  it('imports a Markdown file into a new pad that both editors show; rename; archive and unarchive', async () => {
    const a = alice.page
    const b = bob.page
    await go(alice, `#/g/${encodeURIComponent(group)}/pads`)
    await a.getByRole('heading', { name: 'Import a file' }).waitFor()
    // A file that is not text is refused in plain words, and no pad is made.
    await a.getByLabel('Markdown or text file').setInputFiles({ name: 'photo.txt', mimeType: 'text/plain', buffer: Buffer.from([0xff, 0xd8, 0, 0, 0x10]) })
    await a.getByRole('button', { name: 'Import', exact: true }).click()
    await a.getByRole('alert').filter({ hasText: 'does not look like text' }).waitFor()
    assert.deepEqual(await alice.node.json(['pad', 'list', group]), [])
    await a.getByLabel('Markdown or text file').setInputFiles({ name: 'draft-agreement.md', mimeType: 'text/markdown', buffer: Buffer.from(DRAFT) })
    assert.equal(await a.getByLabel(/Name of the new pad/).inputValue(), 'draft-agreement', 'the title defaults to the file name')
    await a.getByLabel(/Name of the new pad/).fill('Draft agreement')
    await a.getByRole('button', { name: 'Import', exact: true }).click()
    const editorA = a.getByRole('textbox', { name: 'Text of Draft agreement' })
    await editorA.waitFor()
    // Markdown became structure, not text with asterisks.
    await editorA.getByRole('heading', { name: 'Draft agreement' }).waitFor()
    assert.equal(await editorA.locator('strong').innerText(), '3 %')
    assert.equal(await editorA.locator('em').innerText(), 'January')
    assert.deepEqual(await editorA.locator('li').allInnerTexts(), ['night shifts', 'weekends'])
    assert.equal(await editorA.locator('a').getAttribute('href'), 'https://www.gesetze-im-internet.de/betrvg/')
    assert.equal(await editorA.locator('a').getAttribute('rel'), 'noopener noreferrer nofollow', 'a link never tells the other site where it came from')

    await go(bob, `#/g/${encodeURIComponent(group)}/pads`)
    await b.getByRole('link', { name: 'Draft agreement' }).click({ timeout: LIVE })
    const editorB = b.getByRole('textbox', { name: 'Text of Draft agreement' })
    await editorB.getByText('Wages rise by').waitFor({ timeout: LIVE })
    assert.equal(await editorText(b, 'Draft agreement'), await editorText(a, 'Draft agreement'), 'both editors show the imported text')
    const exported = await alice.node.ok(['pad', 'export', group, 'Draft agreement'])
    assert.equal(exported.trim(), DRAFT.trim(), 'the import round-trips to the same Markdown')

    // Rename: both browsers show the new title.
    await a.getByRole('button', { name: 'Rename' }).click()
    await a.getByLabel('New title').fill('Agreement 2027')
    await a.getByLabel('New title').press('Enter')
    await a.getByRole('heading', { name: 'Agreement 2027', level: 1 }).waitFor()
    await b.getByRole('heading', { name: 'Agreement 2027', level: 1 }).waitFor({ timeout: LIVE })

    // Archive: read only in both browsers, gone from the list unless archived pads are shown.
    await a.getByRole('button', { name: 'Archive', exact: true }).click()
    await a.getByText('This pad is archived: read only.').waitFor()
    await b.getByText('This pad is archived: read only.').waitFor({ timeout: LIVE })
    assert.equal(await b.getByRole('textbox', { name: 'Text of Agreement 2027' }).getAttribute('contenteditable'), 'false')
    await shot(a, '09-pad-archived')
    await go(alice, `#/g/${encodeURIComponent(group)}/pads`)
    const list = a.getByRole('list', { name: 'Pads' })
    await list.getByText('No pads yet.').waitFor()
    await a.getByLabel('Show archived pads').check()
    const item = list.getByRole('listitem').filter({ hasText: 'Agreement 2027' })
    await item.getByText('archived', { exact: true }).waitFor()
    await item.getByRole('link', { name: 'Agreement 2027' }).click()
    await a.getByRole('button', { name: 'Unarchive' }).click()
    await a.getByRole('button', { name: 'Archive', exact: true }).waitFor()
    assert.equal(await a.getByText('This pad is archived: read only.').count(), 0)
    await b.getByRole('textbox', { name: 'Text of Agreement 2027' }).and(b.locator('[contenteditable="true"]')).waitFor({ timeout: LIVE })
    const pads = await bob.node.json<Array<{ title: string, archived: boolean }>>(['pad', 'list', group])
    assert.deepEqual(pads.map((p) => [p.title, p.archived]), [['Agreement 2027', false]])
  })

  it('the history time slider shows an earlier version and who wrote how much, by keyboard too', async () => {
    const a = alice.page
    const b = bob.page
    const title = 'Agreement 2027'
    // A second version: Bob writes a paragraph above the imported link's. Enter at the start of
    // that paragraph once made the editor re-write it under Bob's name (test/editor-schema.test.ts).
    const editorB = b.getByRole('textbox', { name: `Text of ${title}` })
    await editorB.locator('p').last().click({ position: { x: 2, y: 5 } })
    // The caret is in that paragraph before the keys go in.
    await b.waitForFunction((label) => document.querySelector(`[aria-label="${label}"] > p:last-of-type`)?.contains(document.getSelection()?.anchorNode ?? null) === true,
      `Text of ${title}`, { timeout: 5000 })
    await b.keyboard.press('Home')
    await waitForEditorCaret(b, title, { text: 'See the law.', at: 'start' })
    await b.keyboard.press('Enter')
    await b.keyboard.press('ArrowUp')
    await waitForEditorCaret(b, title, { text: '', at: 'start' })
    await b.keyboard.type('Bob agrees.')
    await a.getByText('Bob agrees.').waitFor({ timeout: LIVE })
    const paragraphs = await a.getByRole('textbox', { name: `Text of ${title}` }).evaluate((el) => [...el.querySelectorAll(':scope > p')].map((p) => {
      const copy = p.cloneNode(true) as HTMLElement
      for (const caret of copy.querySelectorAll('.caret')) caret.remove()
      return copy.textContent ?? ''
    }))
    assert.deepEqual(paragraphs.slice(-2), ['Bob agrees.', 'See the law.'])

    await a.getByRole('button', { name: 'History' }).click()
    const panel = a.getByRole('region', { name: 'History: time slider' })
    const slider = panel.getByRole('slider', { name: 'Version' })
    await slider.waitFor()
    // Alice saw Bob's words live, maybe before his log entry reached her node: the open panel
    // follows the log, so it shows his version once the entry is there.
    await a.waitForFunction(() => Number(document.querySelector<HTMLInputElement>('section.history input[type=range]')?.max ?? 0) >= 2, undefined, { timeout: LIVE })
    const versions = Number(await slider.getAttribute('max'))
    assert.ok(versions >= 2, `at least Alice's import and Bob's edit (${versions} versions)`)
    assert.equal(await slider.inputValue(), String(versions), 'the slider starts at the newest version')
    const text = panel.getByRole('document', { name: `Text of version ${versions} (read only)` })
    await text.getByText('Bob agrees.').waitFor()
    assert.match(await panel.locator('.version-label').innerText(), new RegExp(`^Version ${versions} of ${versions}: Bob, `))

    // Keyboard: the slider moves with the arrow keys; the first version is the imported draft.
    await slider.focus()
    await a.keyboard.press('Home')
    const first = panel.getByRole('document', { name: 'Text of version 1 (read only)' })
    await first.getByText('Wages rise by').waitFor()
    assert.equal(await first.getByText('Bob agrees.').count(), 0, 'the earlier version does not have Bob\'s sentence')
    assert.equal(await first.locator('strong').innerText(), '3 %', 'an earlier version keeps its formatting')
    assert.match(await panel.locator('.version-label').innerText(), /^Version 1 of \d+: Alice, /)
    assert.equal(await panel.getByRole('button', { name: 'Earlier version' }).isDisabled(), true)
    await panel.getByRole('button', { name: 'Later version' }).click()
    await panel.getByRole('document', { name: 'Text of version 2 (read only)' }).waitFor()

    // Authors of today's text, most first: Alice imported most of it.
    const authors = await panel.locator('ul.authors > li').allInnerTexts()
    assert.equal(authors.length, 2, authors.join(' | '))
    assert.match(authors[0], /^Alice: \d+ characters \(\d+ %\)$/)
    assert.match(authors[1], /^Bob: 11 characters \(\d+ %\)$/)
    await shot(a, '10-pad-history')

    // The editor itself is untouched by looking at history.
    assert.ok((await editorText(a, title)).includes('Bob agrees.'))
    await panel.getByRole('button', { name: 'Close history' }).click()
    assert.equal(await panel.count(), 0)
  })

  it('DMs: edit and delete one\'s own message, seen live on the other side; no edit of the other\'s', async () => {
    const a = alice.page
    const b = bob.page
    await go(alice, `#/g/${encodeURIComponent(group)}/members`)
    await a.getByRole('button', { name: 'Message Bob' }).click()
    const composer = (m: Member) => m.page.getByRole('textbox', { name: 'Message', exact: true })
    await composer(alice).fill('See you at 9')
    await composer(alice).press('Enter')
    await go(bob, `#/dm/${encodeURIComponent(alice.node.id)}`)
    const logB = b.getByRole('log', { name: 'Messages' })
    const logA = a.getByRole('log', { name: 'Messages' })
    await logB.getByText('See you at 9').waitFor({ timeout: LIVE })
    const theirs = logB.locator('li.msg', { hasText: 'See you at 9' })
    assert.equal(await theirs.getByRole('button', { name: 'Edit' }).count(), 0, 'Bob cannot edit Alice\'s message')
    assert.equal(await theirs.getByRole('button', { name: 'Delete' }).count(), 0)

    await logA.locator('li.msg', { hasText: 'See you at 9' }).getByRole('button', { name: 'Edit' }).click()
    await logA.getByLabel('New text').fill('See you at 10')
    await logA.getByLabel('New text').press('Enter')
    await logB.getByText('See you at 10').waitFor({ timeout: LIVE })
    await logB.locator('li.msg', { hasText: 'See you at 10' }).getByText('edited').waitFor()

    await composer(bob).fill('Fine')
    await composer(bob).press('Enter')
    await logA.getByText('Fine').waitFor({ timeout: LIVE })
    a.once('dialog', (d) => { void d.accept() })
    await logA.locator('li.msg', { hasText: 'See you at 10' }).getByRole('button', { name: 'Delete' }).click()
    await logB.getByText('Message deleted').waitFor({ timeout: LIVE })
    await shot(b, '11-dm-edited-deleted')
    const dm = await bob.node.dmLog(alice.node.id)
    assert.deepEqual(dm.map((m) => [m.authorName, m.text]), [['Alice', ''], ['Bob', 'Fine']])
  })

  it('network: "local network" is saved for the next start, with a restart notice', async () => {
    const a = alice.page
    await go(alice, '#/network')
    const lan = a.getByRole('radio', { name: /Local network only/ })
    await lan.waitFor()
    assert.match(await a.locator('label.option', { has: lan }).innerText(), /can see that a Solidar device is there/, 'says what LAN mode reveals')
    assert.equal(await a.getByText(/not built yet/).count(), 0)
    await lan.check()
    await a.getByRole('button', { name: 'Save choice' }).click()
    await a.getByRole('status').filter({ hasText: 'after a restart' }).first().waitFor()
    const settings = await alice.node.api({ path: '/api/settings' })
    assert.deepEqual(settings.json.network.saved, { mode: 'none', bootstrap: [] })
    assert.deepEqual(settings.json.network.lan, { running: false, saved: true })
    const config = JSON.parse(await readFile(path.join(alice.node.home, 'config.json'), 'utf8'))
    assert.deepEqual(config, { network: { mode: 'none', bootstrap: [] }, lan: true }, 'serve reads this at its next start')

    // Back to the running choice (private DHT), with LAN beside it unticked: no restart needed.
    await a.getByRole('radio', { name: /Private network of your union/ }).check()
    await a.getByLabel(/Bootstrap address/).fill(cluster!.bootstrap)
    await a.getByLabel(/Also find colleagues on the same local network/).uncheck()
    await a.getByRole('button', { name: 'Save choice' }).click()
    await a.getByRole('status').filter({ hasText: 'after a restart' }).waitFor({ state: 'detached' })
    assert.equal((await alice.node.api({ path: '/api/settings' })).json.network.restartRequired, false)
  })

  it('German strings for the new controls, and 375 px wide', async () => {
    const b = bob.page
    await b.getByLabel('Language').selectOption('de')
    await go(bob, '#/network')
    await b.getByRole('radio', { name: /Nur das lokale Netz/ }).waitFor()
    await go(bob, `#/g/${encodeURIComponent(group)}/pads`)
    await b.getByRole('heading', { name: 'Datei importieren' }).waitFor()
    await b.getByLabel('Markdown- oder Textdatei').waitFor()
    await b.getByLabel('Archivierte Pads zeigen').waitFor()
    await b.getByRole('link', { name: 'Agreement 2027' }).click()
    await b.getByRole('button', { name: 'Umbenennen' }).waitFor()
    await b.getByRole('button', { name: 'Archivieren' }).waitFor()
    await b.getByRole('button', { name: 'Verlauf' }).click()
    const panel = b.getByRole('region', { name: 'Verlauf: Zeitleiste' })
    await panel.getByRole('button', { name: 'Frühere Version' }).waitFor()
    await panel.getByText(/^Version \d+ von \d+: /).waitFor()
    await panel.getByText(/^Alice: \d+ Zeichen/).waitFor()

    await b.setViewportSize({ width: 375, height: 740 })
    const overflow = await b.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)
    assert.ok(overflow <= 0, `no horizontal scrolling at 375 px with the history open (${overflow} px too wide: ${await wide(b)})`)
    await shot(b, '12-pad-history-german-mobile')
    await go(bob, `#/dm/${encodeURIComponent(alice.node.id)}`)
    await b.getByRole('log', { name: 'Nachrichten' }).getByText('Nachricht gelöscht').waitFor()
    const overflowDm = await b.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)
    assert.ok(overflowDm <= 0, `no horizontal scrolling at 375 px in a DM (${overflowDm} px too wide: ${await wide(b)})`)
    await b.setViewportSize({ width: 1100, height: 800 })
    await b.getByLabel('Sprache').selectOption('en')
  })

  it('pad presence: each person a caret colour of their own, no caret or link warnings, and a closed tab leaves the pad at once', async () => {
    const title = 'Who is here'
    const made = await cluster!.node('Alice').api({ method: 'POST', path: `/api/groups/${encodeURIComponent(group)}/pads`, body: { title, content: 'First line' } })
    assert.equal(made.status, 201, made.text)
    const hash = `#/g/${encodeURIComponent(group)}/pads/${made.json.id}`
    const warnings: string[] = []
    const listen = (page: Page, who: string): void => {
      page.on('console', (msg) => { if (/unsupported color|linkifyjs/i.test(msg.text())) warnings.push(`${who}: ${msg.text()}`) })
    }
    listen(alice.page, 'Alice')
    // Bob in a second tab, which he closes later.
    const tab = await bob.context.newPage()
    listen(tab, 'Bob')
    await tab.goto(cluster!.node('Bob').url)
    await tab.getByRole('link', { name: 'Works council' }).first().waitFor()
    await go(alice, hash)
    await tab.evaluate((h) => { location.hash = h }, hash)
    for (const page of [alice.page, tab]) {
      const editor = page.getByRole('textbox', { name: `Text of ${title}` })
      await editor.getByText('First line').click()
    }
    const bobsCaret = alice.page.locator('.caret', { has: alice.page.locator('.caret-label', { hasText: 'Bob' }) })
    const alicesCaret = tab.locator('.caret', { has: tab.locator('.caret-label', { hasText: 'Alice' }) })
    await bobsCaret.waitFor({ timeout: LIVE })
    await alicesCaret.waitFor({ timeout: LIVE })
    const colour = async (caret: typeof bobsCaret): Promise<string> => /\bc(\d)\b/.exec(await caret.getAttribute('class') ?? '')?.[1] ?? 'none'
    const [ofBob, ofAlice] = [await colour(bobsCaret), await colour(alicesCaret)]
    assert.notEqual(ofBob, 'none')
    assert.notEqual(ofBob, ofAlice, 'Alice and Bob have different caret colours')
    // A second editor beside the pad (the history panel) registers no link schemes again.
    await alice.page.getByRole('button', { name: 'History' }).click()
    await alice.page.getByRole('region', { name: 'History: time slider' }).getByRole('slider', { name: 'Version' }).waitFor()
    await alice.page.getByRole('button', { name: 'Close history' }).click()
    // Bob closes his tab: his caret and name leave Alice's pad at once, not after the node's
    // 40 s time-out for tabs that go without a word.
    await tab.close({ runBeforeUnload: true })
    await bobsCaret.waitFor({ state: 'detached', timeout: 15_000 })
    await alice.page.getByText('Nobody else is in this pad right now.').waitFor({ timeout: 15_000 })
    assert.deepEqual(warnings, [])
  })

  it('an open pad fetches only what it lacks after someone else\'s edit, not the whole document again', async () => {
    const title = 'Long minutes'
    const long = 'A long paragraph of the minutes, read out and agreed. '.repeat(200)
    const made = await cluster!.node('Alice').api({ method: 'POST', path: `/api/groups/${encodeURIComponent(group)}/pads`, body: { title, content: long } })
    assert.equal(made.status, 201, made.text)
    // Bob's node has the pad (and its text) before his tab opens it: this test is about what the open tab fetches later.
    await waitFor(async () => {
      const r = await cluster!.node('Bob').api({ path: `/api/groups/${encodeURIComponent(group)}/pads/${made.json.id}/export?format=txt` })
      return r.status === 200 && r.text.includes('read out and agreed') ? true : null
    }, { what: 'bob\'s node has the pad', timeout: LIVE, interval: 100 })
    await bob.page.evaluate((h) => { location.hash = h }, `#/g/${encodeURIComponent(group)}/pads/${made.json.id}`)
    const editor = bob.page.getByRole('textbox', { name: `Text of ${title}` })
    await editor.getByText('read out and agreed').first().waitFor({ timeout: LIVE })
    const fetched: Array<{ url: string, bytes: number }> = []
    // Reading a response's body ends after the page has used it: each read is kept and awaited below.
    const reads: Array<Promise<void>> = []
    const read = async (r: import('playwright-core').Response): Promise<void> => {
      const body = await r.json().catch(() => null)
      if (body !== null) fetched.push({ url: r.url(), bytes: Buffer.from(body.update, 'base64').length })
    }
    const onResponse = (r: import('playwright-core').Response): void => {
      if (r.url().includes(`/pads/${made.json.id}/state`)) reads.push(read(r))
    }
    bob.page.on('response', onResponse)
    try {
      const appended = await cluster!.node('Alice').api({ method: 'POST', path: `/api/groups/${encodeURIComponent(group)}/pads/${made.json.id}/append`, body: { text: 'Closing remark by Alice.' } })
      assert.equal(appended.status, 200, appended.text)
      await editor.getByText('Closing remark by Alice.').waitFor({ timeout: LIVE })
    } finally {
      bob.page.off('response', onResponse)
    }
    await Promise.all(reads)
    assert.ok(fetched.length > 0, 'the tab fetched the change')
    for (const f of fetched) {
      assert.match(f.url, /\/state\?since=/, 'with its state vector')
      assert.ok(f.bytes < 1000 && long.length > 10_000, `only the change (${f.bytes} bytes), not the ${long.length}-character document`)
    }
  })

  it('no console errors, CSP refusals or requests to other origins in either browser', () => {
    for (const m of [alice, bob]) assert.deepEqual(m.problems, [], `${m.node.name}: ${m.problems.join('\n')}`)
  })
})
