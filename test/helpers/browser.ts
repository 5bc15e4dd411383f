/**
 * Real headless Chromium for the browser tests (Debian's /usr/bin/chromium driven by
 * playwright-core): launch options, a watch on each page for errors and requests off the
 * node's origin, and screenshots into test/artifacts/ (ignored by git) for a reviewer.
 */
import { existsSync } from 'node:fs'
import { mkdir } from 'node:fs/promises'
import path from 'node:path'
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core'
import { REPO_ROOT } from './cli.ts'
import { Cluster, makeTempDir, removeTempDir, type SolidarNode } from './cluster.ts'

export const CHROMIUM = '/usr/bin/chromium'

const BASE_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync']
/** Camera and microphone: fake devices, permission granted without a prompt. */
const MEDIA_ARGS = ['--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream']
/** WebRTC between browsers on one host (loopback candidates, playback without a click). */
const WEBRTC_ARGS = ['--allow-loopback-in-peer-connection', '--autoplay-policy=no-user-gesture-required']

/**
 * Chromium with its temp files in `tmp` (the test removes it). `executablePath`: a wrapper that
 * starts /usr/bin/chromium elsewhere (e.g. `ip netns exec NS`); `webrtc: 'playback'` allows
 * playback without a click but no loopback candidates (browsers in separate namespaces).
 */
export function launchChromium (tmp: string, opts: { media?: boolean, webrtc?: boolean | 'playback', executablePath?: string } = {}): Promise<Browser> {
  const webrtc = opts.webrtc === true ? WEBRTC_ARGS : opts.webrtc === 'playback' ? WEBRTC_ARGS.filter((a) => !a.includes('loopback')) : []
  const args = [...BASE_ARGS, ...(opts.media === true ? MEDIA_ARGS : []), ...webrtc]
  return chromium.launch({ executablePath: opts.executablePath ?? CHROMIUM, args, env: { ...process.env, TMPDIR: tmp }, timeout: 30_000 })
}

/** Throws unless the built app is there (`npm test` builds it; alone: `npm run build`). */
export function requireBuiltApp (): void {
  if (!existsSync(path.join(REPO_ROOT, 'web', 'dist', 'index.html'))) {
    throw new Error('web/dist is missing: run `npm run build` first (npm test does)')
  }
}

/** Records console errors, CSP refusals, page errors and any request off the node's origin. */
export function watch (page: Page, origin: string, problems: string[]): void {
  page.on('console', (msg) => { if (msg.type() === 'error') problems.push(`console: ${msg.text()}`) })
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`))
  page.on('request', (req) => {
    const url = req.url()
    if (!url.startsWith(origin) && !url.startsWith('data:') && !url.startsWith('blob:')) problems.push(`external request: ${url}`)
  })
}

/** A person at a node: a browser context of their own (storage apart, like two browsers) and one page. */
export interface BrowserMember { node: SolidarNode, context: BrowserContext, page: Page, problems: string[] }

/** Opens a desktop-sized English page for `node` (not yet at its address), watched for problems. */
export async function openMember (browser: Browser, node: SolidarNode, opts: { acceptDownloads?: boolean } = {}): Promise<BrowserMember> {
  const context = await browser.newContext({ viewport: { width: 1100, height: 800 }, locale: 'en-US', acceptDownloads: opts.acceptDownloads === true })
  const page = await context.newPage()
  page.setDefaultTimeout(15_000)
  const problems: string[] = []
  watch(page, `http://127.0.0.1:${node.port}`, problems)
  return { node, context, page, problems }
}

/** Screenshots of one test file, into test/artifacts/<folder>/. */
export async function screenshots (folder: string): Promise<(page: Page, name: string) => Promise<void>> {
  const dir = path.join(REPO_ROOT, 'test', 'artifacts', folder)
  await mkdir(dir, { recursive: true })
  return async (page, name) => { await page.screenshot({ path: path.join(dir, `${name}.png`), fullPage: true }) }
}

/** A pad editor's text without the remote carets' name labels. */
export const editorText = (page: Page, title: string): Promise<string> => page.getByRole('textbox', { name: `Text of ${title}` }).evaluate((el) => {
  const copy = el.cloneNode(true) as HTMLElement
  for (const caret of copy.querySelectorAll('.caret')) caret.remove()
  return copy.textContent ?? ''
})

/** Alice and bob as daemons, alice's page open in Chromium: the set-up of the small browser suites. */
/**
 * Waits until the pad editor named `Text of <title>` has its caret (a collapsed selection) at the
 * start or end of a top-level block (`block`: its index, negative from the end; `text`: its
 * text) in
 * ProseMirror's own state, which Enter splits at. The DOM caret moves with a key at once; an
 * editor that has just rendered can take the move in a moment later, and keys pressed in between
 * act on the old position.
 */
export async function waitForEditorCaret (page: Page, title: string, where: { block?: number, text?: string, at: 'start' | 'end' }, timeout = 10_000): Promise<void> {
  await page.waitForFunction(({ label, block, text, at }) => {
    interface Pos { depth: number, parentOffset: number, parent: { textContent: string, content: { size: number } }, index: (depth: number) => number }
    interface Pm { state: { doc: { childCount: number }, selection: { empty: boolean, $from: Pos } } }
    const pm = (document.querySelector(`[aria-label="${label}"]`) as (Element & { editor?: Pm }) | null)?.editor
    if (pm === undefined) return false
    const { selection, doc } = pm.state
    const { $from } = selection
    const want = block === null ? $from.index(0) : block < 0 ? doc.childCount + block : block
    return selection.empty && $from.depth === 1 && $from.index(0) === want &&
      (text === null || $from.parent.textContent === text) &&
      $from.parentOffset === (at === 'start' ? 0 : $from.parent.content.size)
  }, { label: `Text of ${title}`, block: where.block ?? null, text: where.text ?? null, at: where.at }, { timeout })
}

export interface BrowserPair { cluster: Cluster, browser: Browser, alice: BrowserMember, close: () => Promise<void> }

export async function startBrowserPair (prefix: string): Promise<BrowserPair> {
  requireBuiltApp()
  const tmp = await makeTempDir(prefix)
  const cluster = await Cluster.start({ names: ['alice', 'bob'] })
  const browser = await launchChromium(tmp)
  const alice = await openMember(browser, cluster.node('alice'))
  return {
    cluster,
    browser,
    alice,
    async close () {
      // A browser that will not close must not keep the daemons alive: they are stopped next.
      await browser.close().catch(() => { /* see above */ })
      await cluster.close()
      await removeTempDir(tmp)
    }
  }
}
