/**
 * Everyday use of the web app (issue 19; real nodes, real Chromium): the node's coded errors
 * read in the page's language (the node speaks English only); a node stopped while the page is
 * open is said to be unreachable, at the composer, with the unsent text kept — never the
 * browser's "Failed to fetch" — and the page goes on once the node is back; a new DM is headed
 * by the person's name; the newest message stays in view above the composer at 375 px.
 */
import { describe, it, before, after } from 'node:test'
import assert from 'node:assert/strict'
import type { Page } from 'playwright-core'
import { freeUdpPort } from '@solidar/node/testing/ports'
import path from 'node:path'
import { runDhtBootstrap } from '@solidar/node/runtime'
import { type Cluster, SolidarNode, makeTempDir, removeTempDir } from './helpers/cluster.ts'
import { type BrowserMember, type BrowserPair, screenshots, startBrowserPair } from './helpers/browser.ts'
import { waitFor } from './helpers/wait.ts'

describe('web app: everyday use', { timeout: 240_000 }, () => {
  let pair: BrowserPair | null = null
  let cluster: Cluster
  let alice: BrowserMember
  let group = ''

  before(async () => {
    pair = await startBrowserPair('solidar-web-errors-')
    ;({ cluster, alice } = pair)
    const node = cluster.node('alice')
    group = (await cluster.createGroup(node, 'Works council', [cluster.node('bob')])).id
    await alice.page.goto(node.url)
    await alice.page.getByRole('link', { name: 'Works council' }).first().waitFor()
  })

  after(async () => { await pair?.close() })

  /** Posts `text` in the group as `who`, through the API (the CLI is not under test here). */
  const post = async (who: string, text: string): Promise<{ id: string }> => {
    const r = await cluster.node(who).api({ method: 'POST', path: `/api/groups/${encodeURIComponent(group)}/messages`, body: { text } })
    assert.equal(r.status, 201, r.text)
    return r.json
  }
  /** The node's group list (with unread counts) as `who`'s web app gets it. */
  const groupsOf = async (who: string): Promise<Array<{ id: string, unread?: number }>> => (await cluster.node(who).api({ path: '/api/groups' })).json
  /** The unread total a page shows in its title ("(3) Solidar"). */
  const unreadTotal = async (page: Page): Promise<number> => Number(/^\((\d+)\)/.exec(await page.title())?.[1] ?? 0)

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

  it('a new group with the name of one the member has (any case) is warned about before it is made', async () => {
    const page = alice.page
    await page.getByLabel(/Language|Sprache/).selectOption('en')
    await page.evaluate(() => { location.hash = '#/new' })
    const name = page.getByLabel('Name of the group')
    await name.fill('Committee')
    assert.equal(await page.getByTestId('same-name').count(), 0)
    await name.fill('works COUNCIL')
    await page.getByTestId('same-name').getByText('You already have a group named “works COUNCIL”', { exact: false }).waitFor()
  })

  it('a DM nobody has written in yet is headed by the person\'s name, not an id', async () => {
    const page = alice.page
    await page.getByLabel(/Language|Sprache/).selectOption('en')
    const bob = cluster.node('bob')
    await page.evaluate((id) => { location.hash = `#/dm/${encodeURIComponent(id)}` }, bob.id)
    await page.getByRole('heading', { name: 'Direct messages with bob' }).waitFor()
  })

  it('at 375 px the newest message ends above the composer, also after sending', async () => {
    const page = alice.page
    await page.setViewportSize({ width: 375, height: 640 })
    try {
      for (let i = 1; i <= 30; i++) await post('alice', `Filler ${i}`)
      await page.evaluate((id) => { location.hash = `#/g/${encodeURIComponent(id)}` }, group)
      const log = page.getByRole('log')
      const composer = page.locator('form.composer')
      const newestAboveComposer = async (text: string): Promise<void> => {
        const last = log.getByText(text, { exact: true })
        await last.waitFor()
        await waitFor(async () => {
          const [m, c] = [await last.boundingBox(), await composer.boundingBox()]
          return m !== null && c !== null && m.y >= 0 && m.y + m.height <= c.y + 0.5
        }, { what: `"${text}" in view above the composer`, timeout: 10_000, interval: 100 })
      }
      await newestAboveComposer('Filler 30')
      const input = page.getByRole('textbox', { name: 'Message', exact: true })
      await input.fill('The newest one')
      await input.press('Enter')
      await newestAboveComposer('The newest one')
    } finally {
      await page.setViewportSize({ width: 1100, height: 800 })
    }
  })

  it('at 375 px: the start screen lists the groups, the network status reads as lines, the composer\'s placeholder fits, and the new-room form waits to be asked for', async () => {
    const page = alice.page
    await page.setViewportSize({ width: 375, height: 740 })
    try {
      await page.getByLabel(/Language|Sprache/).selectOption('en')
      await page.evaluate(() => { location.hash = '#/' })
      const groups = page.getByRole('navigation', { name: 'Your groups' })
      await groups.getByRole('link', { name: 'Works council' }).waitFor()
      assert.doesNotMatch(await page.locator('main').innerText(), /on the left/)

      await page.evaluate(() => { location.hash = '#/network' })
      const value = page.locator('dd').first()
      await value.waitFor()
      const [dd, main] = [await value.boundingBox(), await page.locator('main').boundingBox()]
      assert.ok(dd !== null && main !== null && dd.width >= main.width * 0.6, `the status value has the width of the page (${dd?.width} of ${main?.width} px)`)

      await page.evaluate((id) => { location.hash = `#/g/${encodeURIComponent(id)}` }, group)
      const composer = page.getByRole('textbox', { name: 'Message', exact: true })
      await composer.waitFor()
      const fits = await composer.evaluate((el) => {
        const area = el as HTMLTextAreaElement
        const style = getComputedStyle(area)
        const ctx = document.createElement('canvas').getContext('2d')!
        ctx.font = `${style.fontSize} ${style.fontFamily}`
        const room = area.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight)
        return { text: ctx.measureText(area.placeholder).width, room }
      })
      assert.ok(fits.text <= fits.room, `the placeholder fits on one line (${fits.text} of ${fits.room} px)`)
      const roomName = page.getByPlaceholder('new-room')
      assert.equal(await roomName.isVisible(), false, 'the new-room field is folded away')
      await page.locator('summary', { hasText: 'New room' }).click()
      await roomName.waitFor()
      await page.locator('summary', { hasText: 'New room' }).click()
      await roomName.waitFor({ state: 'hidden' })
    } finally {
      await page.setViewportSize({ width: 1100, height: 800 })
    }
  })

  it('messages read like a messenger: "now" for a new one, a day separator, the clock time a day later, and the unread total in the tab title', async () => {
    const node = cluster.node('alice')
    const bob = cluster.node('bob')
    // A page of its own: its clock is set by the test (the nodes keep the real one).
    const context = await pair!.browser.newContext()
    try {
      const page = await context.newPage()
      await page.clock.setFixedTime(Date.now() + 20_000)
      await post('alice', 'Fresh news')
      await page.goto(node.url)
      await page.getByLabel(/Language|Sprache/).selectOption('en')
      await page.evaluate((id) => { location.hash = `#/g/${encodeURIComponent(id)}` }, group)
      const log = page.getByRole('log')
      const fresh = log.locator('li.msg', { hasText: 'Fresh news' })
      assert.equal(await fresh.locator('time').innerText(), 'now')
      await log.getByRole('separator', { name: 'Today' }).waitFor()
      // A message in another group: the tab's title counts it.
      const other = (await cluster.createGroup(bob, 'Second group', [node])).id
      const bobs = await bob.api({ method: 'POST', path: `/api/groups/${encodeURIComponent(other)}/messages`, body: { text: 'Over here' } })
      assert.equal(bobs.status, 201, bobs.text)
      await waitFor(async () => await page.title() === '(1) Solidar' ? true : null, { what: 'the unread total in the title', timeout: 30_000, interval: 200 })
      // Noon of the next day: the same messages are under "Yesterday", with their clock time.
      const tomorrow = new Date()
      tomorrow.setDate(tomorrow.getDate() + 1)
      tomorrow.setHours(12, 0, 0, 0)
      await page.clock.setFixedTime(tomorrow)
      await page.reload()
      await log.getByRole('separator', { name: 'Yesterday' }).waitFor()
      assert.equal(await log.getByRole('separator', { name: 'Today' }).count(), 0)
      assert.match(await fresh.locator('time').innerText(), /^\d{2}:\d{2}( [AP]M)?$/)
    } finally {
      await context.close()
    }
  })

  it('the Network page says when the bootstrap node does not answer, for as long as it does not', async () => {
    // A node of its own whose bootstrap address has nothing behind it.
    const port = await freeUdpPort()
    const dir = await makeTempDir('solidar-web-silent-')
    const lonely = new SolidarNode('carol', path.join(dir, 'carol'), `127.0.0.1:${port}`)
    const context = await pair!.browser.newContext()
    let dht: { close: () => Promise<void> } | null = null
    try {
      await lonely.init()
      await lonely.start()
      const page = await context.newPage()
      await page.goto(lonely.url)
      await page.getByLabel(/Language|Sprache/).selectOption('en')
      await page.evaluate(() => { location.hash = '#/network' })
      const notice = page.getByTestId('bootstrap-silent')
      await notice.getByText(`The bootstrap node 127.0.0.1:${port} does not answer`, { exact: false }).waitFor({ timeout: 60_000 })
      dht = await runDhtBootstrap({ host: '127.0.0.1', port })
      await notice.waitFor({ state: 'detached', timeout: 60_000 })
    } finally {
      await context.close()
      await lonely.stop()
      await dht?.close()
      await removeTempDir(dir)
    }
  })

  it('desktop notifications: off by default, asked for only when turned on, without the text unless chosen', async () => {
    const node = cluster.node('alice')
    // Alice's other tab must not have the chat open: it would mark Bob's messages read at once.
    await alice.page.evaluate(() => { location.hash = '#/' })
    const context = await pair!.browser.newContext({ permissions: ['notifications'] })
    try {
      // Records what the page shows (the real Notification is still made).
      // (As a string: the test runner's transpiler would add helpers the page does not have.)
      await context.addInitScript({
        content: `(() => {
          const Real = window.Notification
          const shown = []
          window.shownNotes = shown
          class Recorded extends Real {
            constructor (title, opts) { shown.push({ title, body: opts && opts.body }); super(title, opts) }
          }
          Object.defineProperty(window, 'Notification', { value: Recorded, configurable: true, writable: true })
          // And the message events the page's event socket brings, in order ("type:text").
          const RealSocket = window.WebSocket
          const heard = []
          window.heardEvents = heard
          class Heard extends RealSocket {
            constructor (...args) {
              super(...args)
              this.addEventListener('message', (m) => {
                try { const e = JSON.parse(String(m.data)); if (e && e.message && typeof e.message.text === 'string') heard.push(e.type + ':' + e.message.text) } catch (err) { /* not an event */ }
              })
            }
          }
          Object.defineProperty(window, 'WebSocket', { value: Heard, configurable: true, writable: true })
        })()`
      })
      const page = await context.newPage()
      await page.goto(node.url)
      await page.getByLabel(/Language|Sprache/).selectOption('en')
      await page.evaluate(() => { location.hash = '#/network' })
      const notes = async () => page.evaluate(() => (window as unknown as { shownNotes: Array<{ title: string, body?: string }> }).shownNotes)
      const bobSays = async (text: string) => await post('bob', text)
      const off = page.getByRole('radio', { name: 'Off', exact: true })
      await off.waitFor()
      assert.equal(await off.isChecked(), true, 'off by default')
      // The page has the message (the unread total in its title grows) before notifications are turned on.
      await page.getByRole('link', { name: /Works council/ }).first().waitFor()
      const before = await unreadTotal(page)
      await bobSays('Nobody is told of this')
      await waitFor(async () => await unreadTotal(page) > before ? true : null, { what: 'the message in the page', timeout: 30_000, interval: 200 })
      // Every copy of it reached the page (its log copy comes last; a live copy before it) while off.
      const heard = async () => page.evaluate(() => (window as unknown as { heardEvents: string[] }).heardEvents)
      await waitFor(async () => (await heard()).includes('message:Nobody is told of this') ? true : null, { what: 'the message\'s log copy in the page', timeout: 30_000, interval: 200 })
      await page.getByRole('radio', { name: 'Show who wrote where, without the text' }).check()
      await bobSays('Secret plan for Monday')
      const first = await waitFor(async () => { const n = await notes(); return n.length > 0 ? n : null }, { what: 'a notification', timeout: 30_000, interval: 200 })
      assert.deepEqual(first, [{ title: 'Works council', body: 'New message from bob' }], 'who and where, not the text, and none while off')
      await page.getByRole('radio', { name: /Also show the text/ }).check()
      await bobSays('Second plan')
      const second = await waitFor(async () => { const n = await notes(); return n.length > 1 ? n : null }, { what: 'a second notification', timeout: 30_000, interval: 200 })
      assert.deepEqual(second[1], { title: 'Works council', body: 'bob: Second plan' })
    } finally {
      await context.close()
    }
  })

  it('a chat opens at the first unread message, under a "New messages" line', async () => {
    const page = alice.page
    await page.getByLabel(/Language|Sprache/).selectOption('en')
    await page.evaluate((id) => { location.hash = `#/g/${encodeURIComponent(id)}` }, group)
    await page.getByRole('log').waitFor()
    // Opening the chat marked it read on the node; the page's total follows a moment later.
    await waitFor(async () => (await groupsOf('alice')).find((g) => g.id === group)?.unread === 0 ? true : null, { what: 'the chat read on the node', timeout: 30_000, interval: 200 })
    await page.evaluate(() => { location.hash = '#/' })
    const before = (await groupsOf('alice')).reduce((n, g) => n + (g.unread ?? 0), 0)
    await waitFor(async () => await unreadTotal(page) === before ? true : null, { what: 'the page\'s total settled', timeout: 30_000, interval: 200 })
    for (const text of ['Unread one', 'Unread two', 'Unread three']) await post('bob', text)
    await waitFor(async () => await unreadTotal(page) >= before + 3 ? true : null, { what: 'three unread', timeout: 30_000, interval: 200 })
    await page.evaluate((id) => { location.hash = `#/g/${encodeURIComponent(id)}` }, group)
    const mark = page.getByTestId('first-unread')
    await mark.waitFor()
    // The line stands right before Bob's first unread message.
    const next = await mark.evaluate((el) => el.nextElementSibling?.textContent ?? '')
    assert.match(next, /Unread one/)
    const inView = await mark.evaluate((el) => { const r = el.getBoundingClientRect(); return r.top >= 0 && r.bottom <= window.innerHeight })
    assert.ok(inView, 'the chat opens there, the line in view')
  })

  it('own messages show whether they reached another device (✓✓), on how many of the group\'s devices, or are only saved here (✓)', async () => {
    const page = alice.page
    await page.getByLabel(/Language|Sprache/).selectOption('en')
    await page.evaluate((id) => { location.hash = `#/g/${encodeURIComponent(id)}` }, group)
    const input = page.getByRole('textbox', { name: 'Message', exact: true })
    await input.fill('Did this arrive?')
    await input.press('Enter')
    const mine = page.getByRole('log').locator('li.msg', { hasText: 'Did this arrive?' })
    // Bob's node is connected: it fetches the message, and the mark says so.
    await mine.locator('[data-testid="delivery"][data-reached="true"]').waitFor({ timeout: 30_000 })
    // …and, once the group's presence names the member behind that connection, it is the group's one other device.
    await mine.locator('[data-testid="delivery"][data-devices="1"][data-of="1"]').waitFor({ timeout: 30_000 })
    assert.equal(await mine.getByTestId('delivery').getAttribute('aria-label'), 'Reached the other device of the group')
  })

  it('reactions: chosen by keyboard, shown as chips with counts, updated live when another member reacts, taken back by pressing one\'s own chip', async () => {
    const page = alice.page
    await page.getByLabel(/Language|Sprache/).selectOption('en')
    const { id } = await post('bob', 'Friday at 10 for the works meeting?')
    await page.evaluate((g) => { location.hash = `#/g/${encodeURIComponent(g)}` }, group)
    const msg = page.getByRole('log').locator(`li.msg[data-id="${id}"]`)
    await msg.waitFor()
    // Keyboard only: focus "React", open it with Enter, Tab to the first choice (👍), Enter.
    await msg.locator('summary', { hasText: 'React' }).focus()
    await page.keyboard.press('Enter')
    await page.keyboard.press('Tab')
    assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('aria-label')), 'React with 👍')
    await page.keyboard.press('Enter')
    const chip = msg.getByTestId('reaction')
    await waitFor(async () => (await chip.count()) === 1 && (await chip.textContent())?.replace(/\s+/g, ' ').trim() === '👍 1', { timeout: 15_000, what: 'a 👍 1 chip' })
    assert.equal(await chip.getAttribute('aria-pressed'), 'true', 'alice\'s own reaction is pressed')
    assert.equal(await msg.locator('details.react-picker').getAttribute('open'), null, 'the picker closed after choosing')
    // Bob agrees through his node: Alice's page shows it without a reload.
    const r = await cluster.node('bob').api({ method: 'PUT', path: `/api/groups/${encodeURIComponent(group)}/messages/${id}/reaction`, body: { emoji: '👍' } })
    assert.equal(r.status, 200, r.text)
    await waitFor(async () => (await chip.textContent())?.replace(/\s+/g, ' ').trim() === '👍 2', { timeout: 30_000, what: 'the chip to count bob too' })
    assert.match(await chip.getAttribute('aria-label') ?? '', /👍 from .*Bob/i)
    // Pressing her own chip takes alice's back: one left, not pressed.
    await chip.focus()
    await page.keyboard.press('Enter')
    await waitFor(async () => (await chip.textContent())?.replace(/\s+/g, ' ').trim() === '👍 1' && await chip.getAttribute('aria-pressed') === 'false', { timeout: 15_000, what: 'alice\'s reaction taken back' })
    const bobs = await cluster.node('bob').api({ path: `/api/groups/${encodeURIComponent(group)}/messages` })
    assert.deepEqual(bobs.json.find((m: { id: string }) => m.id === id).reactions.map((x: { emoji: string, members: string[] }) => [x.emoji, x.members.length]), [['👍', 1]], 'bob\'s node agrees')
  })

  it('the group\'s XMPP bridge shows as a bridge in the member list, with what it does, in English and German', async () => {
    const page = alice.page
    const bobId = (await cluster.node('bob').api({ path: '/api/whoami' })).json.id as string
    const reg = await cluster.node('alice').api({ method: 'POST', path: `/api/groups/${encodeURIComponent(group)}/bridge/members`, body: { member: bobId } })
    assert.equal(reg.status, 201, reg.text)
    try {
      await page.getByLabel(/Language|Sprache/).selectOption('en')
      await page.evaluate((g) => { location.hash = `#/g/${encodeURIComponent(g)}/members` }, group)
      const row = page.locator('ul.members li', { has: page.getByTestId('bridge-badge') })
      await row.waitFor()
      assert.equal(await page.getByTestId('bridge-badge').count(), 1, 'only the bridge')
      assert.match(await row.innerText(), /XMPP bridge/)
      assert.match(await row.getByRole('note').innerText(), /decrypts what is written in the rooms .* hands the text to the XMPP server/)
      await page.getByLabel(/Language|Sprache/).selectOption('de')
      await row.getByText('XMPP-Brücke').waitFor()
      assert.match(await row.getByRole('note').innerText(), /entschlüsselt/)
    } finally {
      await page.getByLabel(/Language|Sprache/).selectOption('en')
      const un = await cluster.node('alice').api({ method: 'DELETE', path: `/api/groups/${encodeURIComponent(group)}/bridge/members/${bobId}` })
      assert.equal(un.status, 200, un.text)
    }
  })

  it('every view in German and English, at 375 px and 1280 px: no placeholder left, nothing wider than the window (screenshots in test/artifacts/everyday)', async () => {
    const page = alice.page
    const shot = await screenshots('everyday')
    const pad = (await cluster.node('alice').api({ method: 'POST', path: `/api/groups/${encodeURIComponent(group)}/pads`, body: { title: 'Sweep', content: 'Some text' } })).json.id as string
    const g = encodeURIComponent(group)
    const views: Array<[string, string]> = [
      ['home', '#/'], ['chat', `#/g/${g}`], ['members', `#/g/${g}/members`], ['pads', `#/g/${g}/pads`],
      ['pad', `#/g/${g}/pads/${pad}`], ['meeting', `#/g/${g}/meeting`], ['invite', `#/g/${g}/invite`],
      ['network', '#/network'], ['new-group', '#/new'], ['join', '#/join'], ['onboarding', '#/onboarding']
    ]
    const problems: string[] = []
    try {
      for (const lang of ['de', 'en']) {
        await page.getByLabel(/Language|Sprache/).selectOption(lang)
        for (const width of [375, 1280]) {
          await page.setViewportSize({ width, height: 800 })
          for (const [name, hash] of views) {
            await page.evaluate((h) => { location.hash = h }, hash)
            await page.locator('main h1').first().waitFor()
            // Views that load something show it before they are looked at.
            await page.waitForFunction(() => document.querySelector('main [role="status"]')?.textContent?.match(/^(Loading|Wird geladen)/) == null, undefined, { timeout: 10_000 })
            const text = await page.locator('body').innerText()
            if (/\{\{|\}\}/.test(text)) problems.push(`${lang} ${width} ${name}: a placeholder shows`)
            const over = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)
            if (over > 0) problems.push(`${lang} ${width} ${name}: ${over} px wider than the window`)
            await shot(page, `${lang}-${width}-${name}`)
          }
        }
      }
    } finally {
      await page.setViewportSize({ width: 1100, height: 800 })
      await page.getByLabel(/Language|Sprache/).selectOption('en')
    }
    assert.deepEqual(problems, [])
  })

  // Last: it stops Bob's node.
  it('who is online now: the member list and the chat heading show Bob while his node is connected, and not once it stops', async () => {
    const page = alice.page
    await page.getByLabel(/Language|Sprache/).selectOption('en')
    await page.evaluate((id) => { location.hash = `#/g/${encodeURIComponent(id)}/members` }, group)
    const bobRow = page.locator('ul.members > li', { hasText: 'bob' })
    await bobRow.getByTestId('online').waitFor({ timeout: 30_000 })
    await page.evaluate((id) => { location.hash = `#/g/${encodeURIComponent(id)}` }, group)
    await page.getByTestId('online-now').getByText('Online now: bob').waitFor({ timeout: 30_000 })
    await cluster.node('bob').stop()
    await page.getByTestId('online-now').getByText('Nobody else is online right now.').waitFor({ timeout: 45_000 })
    await page.evaluate((id) => { location.hash = `#/g/${encodeURIComponent(id)}/members` }, group)
    await page.locator('ul.members > li', { hasText: 'bob' }).waitFor()
    assert.equal(await page.getByTestId('online').count(), 0, 'nobody shown online')
  })

})
