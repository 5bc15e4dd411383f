/**
 * Issue 15, items 3 and 5, in real Chromium: a pad a member made hostile still opens in the
 * web editor, and disguised script links never become links.
 *
 * Alice and Bob share a group (two daemons). Through the ordinary pad API, a 10,000-level
 * update is refused with PAD_CONTENT_REJECTED, and a paragraph of links with disguised hrefs
 * is accepted (it is only text to the node). Then Bob's node writes what its API refuses, as
 * a node without the check would: Bob's daemon is stopped and his home opened in this
 * process, where `pads.change` writes 10,000 nested lists past the API; it replicates to
 * Alice. Alice's browser opens the pad: the editor shows the rest of the document (the deep
 * part is left out in her tab), typing still saves, the node still exports the pad, and no
 * link in the editor has a disguised href. A chat message with the same hrefs
 * shows as text.
 *
 * Needs the built app (web/dist): `npm run build`.
 */
import { describe, it, before, after } from 'node:test'
import assert from 'node:assert/strict'
import type { Browser } from 'playwright-core'
import * as Y from 'yjs'
import { startNode } from '@solidar/node/runtime'
import { apiRequest } from '@solidar/node/testing/api'
import { Cluster, makeTempDir, removeTempDir, type SolidarNode } from './helpers/cluster.ts'
import { type BrowserMember, openMember, launchChromium, requireBuiltApp, waitForEditorCaret } from './helpers/browser.ts'
import { waitFor } from './helpers/wait.ts'

const DEEP = 10_000
const TITLE = 'Minutes'
const HREFS = [
  'java\tscript:alert(1)', 'java\nscript:alert(1)', '\u0001javascript:alert(1)', ' \u0000javascript:alert(1)', 'JAVASCRIPT:alert(1)',
  'javascript&colon;alert(1)', '&#x6A;avascript:alert(1)', 'data:text/html,<script>alert(1)</script>', 'vbscript:msgbox(1)', '//evil.example/x'
]

describe('web editor in Chromium: hostile pad content and disguised links', { timeout: 300_000 }, () => {
  let cluster: Cluster | null = null
  let browser: Browser | null = null
  let tmp = ''
  let alice: BrowserMember
  let group = ''
  let pad = ''

  const api = async (node: SolidarNode, method: string, path: string, body?: unknown) =>
    apiRequest({ port: node.port, token: node.token, method, path, body, timeout: 30_000 })
  const padPath = () => `/api/groups/${encodeURIComponent(group)}/pads/${pad}`
  const exported = async (node: SolidarNode) => (await api(node, 'GET', `${padPath()}/export?format=txt`)).json?.content as string ?? ''
  /** An update on top of the node's document, as a client would POST it. */
  const clientUpdate = async (node: SolidarNode, write: (frag: Y.XmlFragment) => void): Promise<string> => {
    const doc = new Y.Doc()
    Y.applyUpdate(doc, Buffer.from((await api(node, 'GET', `${padPath()}/state`)).json.update, 'base64'))
    const before = Y.encodeStateVector(doc)
    doc.transact(() => write(doc.getXmlFragment('default')))
    return Buffer.from(Y.encodeStateAsUpdate(doc, before)).toString('base64')
  }

  before(async () => {
    requireBuiltApp()
    tmp = await makeTempDir('solidar-web-hostile-')
    cluster = await Cluster.start({ names: ['Alice', 'Bob'] })
    group = (await cluster.createGroup(cluster.node('Alice'), 'Works council', [cluster.node('Bob')])).id
    browser = await launchChromium(tmp)
    alice = await openMember(browser, cluster.node('Alice'))
  })

  after(async () => {
    // A browser that will not close must not keep the daemons alive: they are stopped next.
    await browser?.close().catch(() => {})
    await cluster?.close()
    if (tmp !== '') await removeTempDir(tmp)
  })

  it('the API refuses a 10,000-level update with a code; a node that writes one anyway does not make the pad unreadable in the editor', async () => {
    const a = cluster!.node('Alice')
    const b = cluster!.node('Bob')
    const created = await api(a, 'POST', `/api/groups/${encodeURIComponent(group)}/pads`, { title: TITLE, content: 'Start of the minutes\n\n[ok](https://ok.example/)\n' })
    assert.equal(created.status, 201, created.text)
    pad = created.json.id

    const deep = await clientUpdate(a, (frag) => {
      let at: Y.XmlFragment | Y.XmlElement = frag
      for (let i = 0; i < 2_000; i++) { at.insert(at.length, [new Y.XmlElement(i % 2 ? 'listItem' : 'bulletList')]); at = at.get(at.length - 1) as Y.XmlElement }
    })
    const refused = await api(a, 'POST', `${padPath()}/updates`, { update: deep })
    assert.equal(refused.status, 422, refused.text)
    assert.equal(refused.json.error.code, 'PAD_CONTENT_REJECTED')
    const garbage = await api(a, 'POST', `${padPath()}/updates`, { update: Buffer.from('not a Yjs update').toString('base64') })
    assert.equal(garbage.json.error.code, 'PAD_CONTENT_REJECTED')

    // Links with disguised targets: the node stores them (they are text to it); renderers must refuse them.
    const links = await clientUpdate(a, (frag) => {
      const p = new Y.XmlElement('paragraph')
      frag.insert(frag.length, [p])
      const text = new Y.XmlText()
      p.insert(0, [text])
      HREFS.forEach((href, i) => text.insert(text.length, `link${i} `, { link: { href } }))
    })
    assert.equal((await api(a, 'POST', `${padPath()}/updates`, { update: links })).status, 202)

    // Bob's node, without the API's check: 10,000 nested lists in entries of 1,000 levels.
    await b.stop()
    const running = await startNode({ home: b.home, network: { mode: 'bootstrap', bootstrap: [b.bootstrap] } })
    try {
      await waitFor(async () => (await running.solidar.pads.list(group)).length === 1, { what: 'bob\'s node has the pad', timeout: 60_000 })
      for (let done = 0; done < DEEP; done += 1_000) {
        await running.solidar.pads.change(group, pad, (doc) => {
          const frag = doc.getXmlFragment('default')
          let at: Y.XmlFragment | Y.XmlElement = frag
          if (done > 0) {
            at = frag.get(frag.length - 1) as Y.XmlElement
            while (at.length > 0 && at.get(at.length - 1) instanceof Y.XmlElement) at = at.get(at.length - 1) as Y.XmlElement
          }
          for (let i = 0; i < 1_000; i++) { at.insert(at.length, [new Y.XmlElement(i % 2 ? 'listItem' : 'bulletList')]); at = at.get(at.length - 1) as Y.XmlElement }
          if (done + 1_000 >= DEEP) {
            at.insert(0, [new Y.XmlElement('paragraph')])
            ;(at.get(0) as Y.XmlElement).insert(0, [new Y.XmlText('bottom of the lists')])
          }
        })
        await running.solidar.pads.flush(group, pad)
      }
      await running.solidar.pads.append(group, pad, 'After the deep lists')
      await waitFor(async () => (await exported(a)).includes('After the deep lists'), { what: 'alice\'s node has bob\'s deep lists', timeout: 60_000 })
    } finally {
      await running.close()
    }
    assert.ok((await exported(a)).includes('bottom of the lists'), 'alice\'s export reads the deep part')

    const page = alice.page
    await page.goto(a.url)
    await page.getByRole('link', { name: 'Works council' }).first().waitFor()
    await page.evaluate((h) => { location.hash = h }, `#/g/${encodeURIComponent(group)}/pads/${pad}`)
    const editor = page.getByRole('textbox', { name: `Text of ${TITLE}` })
    await editor.getByText('After the deep lists').waitFor({ timeout: 30_000 })
    await editor.getByText('Start of the minutes').waitFor()
    // No link in the editor leads anywhere but the safe one; the disguised ones are text.
    const hrefs = await editor.evaluate((el) => [...el.querySelectorAll('a')].map((x) => x.getAttribute('href')))
    assert.deepEqual(hrefs.filter((h) => h !== null && h !== ''), ['https://ok.example/'], JSON.stringify(hrefs))
    await editor.getByText('link0').waitFor()
    // Typing still saves, and the pad stays readable on the node.
    await editor.getByText('Start of the minutes').click()
    await page.keyboard.press('End')
    await page.keyboard.type(' typed in the browser')
    await waitFor(async () => (await exported(a)).includes('typed in the browser'), { what: 'the typed text is saved', timeout: 30_000 })
    for (const format of ['md', 'txt', 'html']) assert.equal((await api(a, 'GET', `${padPath()}/export?format=${format}`)).status, 200)
    // The tab says that it leaves the deep part out.
    await page.getByTestId('pad-hidden').waitFor()
    // The editor's schema repair rewrites the invalid deep list (list items without a
    // paragraph) and so deletes that subtree; Yjs used to overflow doing so on the node, which
    // refused the edit (422), and the tab retried it for ever, holding back every later edit.
    // With the patched Yjs the node takes it: the tab settles at saved, and nothing goes wrong.
    let state: string | null = null
    await waitFor(async () => {
      state = await page.locator('p.sync').getAttribute('data-state')
      return state === 'saved'
    }, { what: `the tab to settle at saved (state ${state})`, timeout: 30_000 })
    assert.deepEqual(alice.problems, [], alice.problems.join('\n'))
  })

  it('lists nested deeper than a pad holds, typed by keyboard: the node refuses, the tab says so, loads the pad again, and typing goes on', async () => {
    const a = cluster!.node('Alice')
    const title = 'Nesting'
    const created = await api(a, 'POST', `/api/groups/${encodeURIComponent(group)}/pads`, { title, content: 'Top of the pad' })
    assert.equal(created.status, 201, created.text)
    const nestingPad = created.json.id
    const text = async () => (await api(a, 'GET', `/api/groups/${encodeURIComponent(group)}/pads/${nestingPad}/export?format=txt`)).json?.content as string ?? ''
    const page = alice.page
    await page.evaluate((h) => { location.hash = h }, `#/g/${encodeURIComponent(group)}/pads/${nestingPad}`)
    const editor = page.getByRole('textbox', { name: `Text of ${title}` })
    // The caret goes to the end of the first line by keyboard, and the test waits until the
    // editor has it there before Enter (Enter at the start of the line once moved 'Top of the
    // pad' into the list: a fresh-clone CI failure).
    const caretAtEndOfTop = async (): Promise<void> => {
      await editor.getByText('Top of the pad').waitFor({ timeout: 30_000 })
      await editor.focus()
      await page.keyboard.press('Control+Home')
      await page.keyboard.press('End')
      await waitForEditorCaret(page, title, { block: 0, at: 'end' })
    }
    await caretAtEndOfTop()
    await page.keyboard.press('Enter')
    await page.keyboard.type('- level 0')
    // Enter and Tab: a new item, sunk into a list under the one before; 19 levels fit in a pad.
    const refusal = page.getByTestId('pad-refused')
    let level = 0
    while (level < 30 && !(await refusal.isVisible())) {
      level++
      await page.keyboard.press('Enter')
      await page.keyboard.press('Tab')
      await page.keyboard.type(`level ${level}`)
      await waitFor(async () => (await page.locator('p.sync').getAttribute('data-state')) !== 'saving' || await refusal.isVisible(), { what: `level ${level} sent`, timeout: 30_000 })
    }
    await refusal.waitFor({ timeout: 30_000 })
    assert.match(await refusal.innerText(), /more than 40 levels/)
    assert.ok(level >= 19 && level < 30, `refused once the nesting passed what a pad holds (at level ${level})`)
    // The tab loaded the pad again as the node has it: no refused level in it.
    const saved = await text()
    assert.match(saved, /level 18/)
    assert.doesNotMatch(saved, new RegExp(`level ${level}\\b`))
    // And it goes on: once the tab has loaded the pad again (a new editor, state saved),
    // typing is saved again.
    await waitFor(async () => (await page.locator('p.sync').getAttribute('data-state')) === 'saved', { what: 'the pad loaded again', timeout: 30_000 })
    await caretAtEndOfTop()
    await page.keyboard.type(' and on')
    await waitFor(async () => (await text()).includes('Top of the pad and on'), { what: 'typing after the refusal is saved', timeout: 30_000 })
    await waitFor(async () => (await page.locator('p.sync').getAttribute('data-state')) === 'saved', { what: 'the tab settles at saved', timeout: 30_000 })
    assert.ok(alice.problems.every((p) => /status of 422/.test(p)), alice.problems.join('\n'))
  })

  it('a chat message with disguised links shows as text, with no link', async () => {
    const a = cluster!.node('Alice')
    const text = HREFS.map((h, i) => `[c${i}](${h.replace(/\u0000/g, '')})`).join(' ')
    await a.send(group, text)
    const page = alice.page
    await page.evaluate((h) => { location.hash = h }, `#/g/${encodeURIComponent(group)}`)
    const log = page.getByRole('log')
    await log.getByText('[c0]', { exact: false }).waitFor({ timeout: 30_000 })
    const anchors = await log.evaluate((el) => [...el.querySelectorAll('a[href]')].map((x) => x.getAttribute('href') ?? ''))
    assert.deepEqual(anchors.filter((h) => !h.startsWith('#')), [], JSON.stringify(anchors))
  })
})
