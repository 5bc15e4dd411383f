/**
 * The invite list in the web app (real nodes, real Chromium): an admin sees the open invites,
 * revokes one with the keyboard alone, and the code is then refused to a joiner with
 * INVITE_REVOKED (a clear error, not a timeout). German strings are checked too.
 */
import { describe, it, before, after } from 'node:test'
import assert from 'node:assert/strict'
import type { Cluster } from './helpers/cluster.ts'
import { type BrowserMember, type BrowserPair, startBrowserPair } from './helpers/browser.ts'

describe('web app: invites', { timeout: 240_000 }, () => {
  let pair: BrowserPair | null = null
  let cluster: Cluster
  let alice: BrowserMember

  before(async () => {
    pair = await startBrowserPair('solidar-web-invites-')
    ;({ cluster, alice } = pair)
  })

  after(async () => { await pair?.close() })

  it('lists open invites, revokes one by keyboard, and the revoked code is refused with INVITE_REVOKED', async () => {
    const node = cluster.node('alice')
    const bob = cluster.node('bob')
    const group = (await node.api({ method: 'POST', path: '/api/groups', body: { name: 'Works council' } })).json
    const keep = (await node.api({ method: 'POST', path: `/api/groups/${group.id}/invites`, body: { uses: 2 } })).json
    const wrongChat = (await node.api({ method: 'POST', path: `/api/groups/${group.id}/invites`, body: {} })).json

    const page = alice.page
    await page.goto(node.url)
    await page.getByRole('link', { name: 'Works council' }).first().waitFor()
    await page.evaluate((id) => { location.hash = `#/g/${encodeURIComponent(id)}/invite` }, group.id)
    const list = page.getByRole('region', { name: 'Invites' })
    await list.getByRole('table').waitFor()
    assert.equal(await list.getByRole('row').count(), 3, 'a header and two open invites')
    assert.equal(await list.getByRole('button', { name: /^Revoke the invite by/ }).count(), 2)

    // keyboard only: focus the second invite's button, Enter, accept the confirmation
    const row = list.locator(`tr[data-invite="${wrongChat.id}"]`)
    const button = row.getByRole('button', { name: /^Revoke the invite by/ })
    await list.getByRole('checkbox').focus()
    let reached = false
    for (let i = 0; i < 10 && !reached; i++) {
      await page.keyboard.press('Tab')
      reached = await button.evaluate((el) => el === document.activeElement)
    }
    assert.ok(reached, 'the revoke button is reachable with Tab')
    page.once('dialog', (d) => { void d.accept() })
    await page.keyboard.press('Enter')
    await list.getByRole('status').filter({ hasText: 'Invite revoked' }).waitFor()
    await row.waitFor({ state: 'detached' })
    assert.equal(await list.locator(`tr[data-invite="${keep.id}"]`).count(), 1, 'the other invite stays open')

    await list.getByRole('checkbox', { name: /Show used, expired and revoked/ }).check()
    await row.getByText('revoked', { exact: true }).waitFor()
    assert.equal(await row.getByRole('button').count(), 0, 'a revoked invite has no button')

    const refused = await bob.api({ method: 'POST', path: '/api/join', body: { code: wrongChat.code, timeoutMs: 60_000 }, timeout: 90_000 })
    assert.equal(refused.status, 410)
    assert.equal(refused.json.error.code, 'INVITE_REVOKED')

    await page.getByLabel('Language').selectOption('de')
    const de = page.getByRole('region', { name: 'Einladungen' })
    await de.getByText('widerrufen', { exact: true }).waitFor()
    await de.getByRole('button', { name: 'Widerrufen' }).waitFor()
    await page.getByLabel('Sprache').selectOption('en')
    assert.deepEqual(alice.problems, [], 'no console errors or foreign requests')
  })
})
