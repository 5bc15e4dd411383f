/**
 * Errors in the web app as a user meets them (real node, real Chromium): the node's coded
 * errors read in the page's language (the node speaks English only), and a node stopped while
 * the page is open is said to be unreachable, at the composer, with the unsent text kept —
 * never the browser's "Failed to fetch" — and the page goes on once the node is back.
 */
import { describe, it, before, after } from 'node:test'
import assert from 'node:assert/strict'
import type { Cluster } from './helpers/cluster.ts'
import { type BrowserMember, type BrowserPair, startBrowserPair } from './helpers/browser.ts'
import { waitFor } from './helpers/wait.ts'

describe('web app: errors in the user\'s language, and a node that stops', { timeout: 240_000 }, () => {
  let pair: BrowserPair | null = null
  let cluster: Cluster
  let alice: BrowserMember
  let group = ''

  before(async () => {
    pair = await startBrowserPair('solidar-web-errors-')
    ;({ cluster, alice } = pair)
    const node = cluster.node('alice')
    group = (await node.api({ method: 'POST', path: '/api/groups', body: { name: 'Works council' } })).json.id
    await alice.page.goto(node.url)
    await alice.page.getByRole('link', { name: 'Works council' }).first().waitFor()
  })

  after(async () => { await pair?.close() })

  it('a coded error from the node reads in German in the German UI, and as the node says it in English', async () => {
    const page = alice.page
    await page.getByLabel('Language').selectOption('de')
    await page.getByRole('link', { name: 'Mit Code beitreten' }).first().click()
    await page.getByLabel('Einladungscode').fill('not-a-code')
    await page.getByRole('button', { name: 'Beitreten' }).click()
    const alert = page.getByRole('alert')
    await alert.getByText('Dieser Einladungscode ist ungültig. Prüfe, ob er vollständig kopiert wurde.').waitFor()
    // Back in English: the node's own words (they say what exactly is wrong).
    await page.getByLabel('Sprache').selectOption('en')
    await page.getByRole('button', { name: 'Join', exact: true }).click()
    await alert.getByText(/^This invite code is not valid/).waitFor()
  })

  it('a node stopped while the page is open: the composer says it does not answer and keeps the text; sent once the node is back', async () => {
    const page = alice.page
    const node = cluster.node('alice')
    // The node comes back on the same port, as it would for a user who restarts it.
    node.serveArgs = ['--port', String(node.port)]
    await page.getByLabel(/Language|Sprache/).selectOption('en')
    await page.evaluate((id) => { location.hash = `#/g/${encodeURIComponent(id)}` }, group)
    const composer = page.getByRole('textbox', { name: 'Message', exact: true })
    await composer.waitFor()
    await node.stop()
    await page.getByRole('status').filter({ hasText: 'Reconnecting' }).waitFor({ timeout: 30_000 })
    await composer.fill('Written while the node was down')
    await composer.press('Enter')
    const form = page.locator('form.composer')
    await form.getByRole('alert').getByText(/^Your Solidar node does not answer/).waitFor({ timeout: 30_000 })
    assert.equal(await composer.inputValue(), 'Written while the node was down', 'the unsent text stays in the composer')
    assert.doesNotMatch(await page.locator('body').innerText(), /Failed to fetch/)

    await node.start()
    await page.getByRole('status').filter({ hasText: 'Connected' }).waitFor({ timeout: 30_000 })
    await composer.press('Enter')
    await page.getByRole('log').getByText('Written while the node was down').waitFor({ timeout: 30_000 })
    await form.getByRole('alert').waitFor({ state: 'detached' })
    assert.equal(await composer.inputValue(), '')
    const sent = await waitFor(async () => {
      const res = await node.api({ path: `/api/groups/${encodeURIComponent(group)}/messages` })
      return res.status === 200 && (res.json as Array<{ text: string }>).some((m) => m.text === 'Written while the node was down') ? res : null
    }, { what: 'the message on the node', timeout: 30_000 })
    assert.ok(sent)
    // The stop and the failed request are expected; nothing else went wrong in the page.
    assert.deepEqual(alice.problems.filter((p) => !/ERR_CONNECTION_REFUSED|Failed to load resource|WebSocket connection/.test(p)), [])
  })
})
