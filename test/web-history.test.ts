/**
 * Bounded reads in the web app (issue 17 item 6), real nodes and real Chromium: the unread badge
 * is the node's count (the app fetches no history at load: 105 unread is more than a page it
 * could have counted), a chat opens on the newest page, "Load earlier messages" (by keyboard)
 * fetches the page before, and viewing the chat moves the node's read marker; the same for a
 * direct conversation, which the navigation lists from the node with its count.
 *
 * Needs the built app (web/dist): `npm test` builds it first; alone: `npm run build`.
 */
import { describe, it, before, after } from 'node:test'
import assert from 'node:assert/strict'
import type { Cluster } from './helpers/cluster.ts'
import { waitFor } from './helpers/wait.ts'
import { type BrowserMember, type BrowserPair, startBrowserPair } from './helpers/browser.ts'

const HISTORY = 105
const PAGE = 100

describe('web app: paged history and unread counts from the node', { timeout: 240_000 }, () => {
  let pair: BrowserPair | null = null
  let cluster: Cluster
  let alice: BrowserMember

  before(async () => {
    pair = await startBrowserPair('solidar-web-history-')
    ;({ cluster, alice } = pair)
  })

  after(async () => { await pair?.close() })

  it('shows the node\'s unread count, the newest page, and older messages on request', async () => {
    const node = cluster.node('alice')
    const bob = cluster.node('bob')
    const group = (await node.api({ method: 'POST', path: '/api/groups', body: { name: 'Long history' } })).json
    const invite = (await node.api({ method: 'POST', path: `/api/groups/${group.id}/invites`, body: {} })).json
    const joined = await bob.api({ method: 'POST', path: '/api/join', body: { code: invite.code, timeoutMs: 60_000 }, timeout: 90_000 })
    assert.equal(joined.status, 200, joined.text)
    for (let i = 0; i < HISTORY; i++) {
      const r = await bob.api({ method: 'POST', path: `/api/groups/${group.id}/messages`, body: { text: `old ${i}` } })
      assert.equal(r.status, 201, r.text)
    }
    const unread = async (): Promise<number> => (await node.apiList<{ id: string, unread: number }>('/api/groups')).find((g) => g.id === group.id)!.unread
    await waitFor(async () => (await unread()) === HISTORY, { timeout: 60_000, interval: 200, what: `alice's node to count ${HISTORY} unread` })

    const page = alice.page
    const reads: string[] = []
    page.on('request', (req) => {
      const url = new URL(req.url())
      if (req.method() === 'GET' && url.pathname.endsWith('/messages')) reads.push(url.search)
    })
    await page.goto(node.url)
    const nav = page.getByRole('navigation', { name: 'Groups and conversations' })
    await nav.getByLabel(`${HISTORY} unread`).waitFor()
    assert.deepEqual(reads, [], 'no history is fetched to count unread messages')

    await nav.getByRole('link', { name: /Long history/ }).click()
    const log = page.getByRole('log', { name: 'Messages' })
    await log.getByText(`old ${HISTORY - 1}`, { exact: true }).waitFor()
    assert.equal(await log.locator('li.msg').count(), PAGE, 'the newest page')
    assert.equal(await log.getByText(`old ${HISTORY - PAGE - 1}`, { exact: true }).count(), 0, 'older messages wait for a request')
    assert.deepEqual(reads, [`?room=general&limit=${PAGE}`])
    await waitFor(async () => (await unread()) === 0, { timeout: 15_000, interval: 100, what: 'viewing the chat to mark it read on the node' })

    await page.getByLabel('Language').selectOption('de')
    await page.getByRole('button', { name: 'Frühere Nachrichten laden' }).waitFor()
    await page.getByLabel('Sprache').selectOption('en')

    // Keyboard only: focus the button, Enter.
    const earlier = page.getByRole('button', { name: 'Load earlier messages' })
    await earlier.focus()
    await page.keyboard.press('Enter')
    await log.getByText('old 0', { exact: true }).waitFor()
    assert.equal(await log.locator('li.msg').count(), HISTORY, 'the earlier page in front')
    const texts = await log.locator('li.msg .text').allInnerTexts()
    assert.deepEqual(texts, Array.from({ length: HISTORY }, (_, i) => `old ${i}`), 'in order, none twice')
    await earlier.waitFor({ state: 'detached' })
    const start = page.getByText('Start of the conversation')
    await start.waitFor()
    assert.ok(await start.evaluate((el) => el === document.activeElement), 'focus moves to the note that replaces the button')
    assert.equal(reads.length, 2)
    assert.match(reads[1], new RegExp(`before=[A-Za-z0-9_-]+&limit=${PAGE}`))

    // A direct conversation: listed by the node with its count, read when viewed.
    for (const text of ['dm 1', 'dm 2']) {
      const r = await bob.api({ method: 'POST', path: `/api/dms/${node.id}/messages`, body: { text } })
      assert.equal(r.status, 201, r.text)
    }
    const conversation = nav.getByRole('link', { name: /bob/ })
    await conversation.getByLabel('2 unread').waitFor({ timeout: 30_000 })
    await conversation.click()
    await log.getByText('dm 2', { exact: true }).waitFor()
    const dmUnread = async (): Promise<number | undefined> => (await node.apiList<{ member: string, unread: number }>('/api/dms')).find((d) => d.member === bob.id)?.unread
    await waitFor(async () => (await dmUnread()) === 0, { timeout: 15_000, interval: 100, what: 'viewing the conversation to mark it read on the node' })
    assert.deepEqual(alice.problems, [], 'no console errors or foreign requests')
  })
})
