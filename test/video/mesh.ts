/**
 * A three-person video meeting in three headless Chromium browsers (fake camera and
 * microphone), each with its own Solidar node, all on a private loopback DHT. Run by
 * test/video.test.ts inside a network namespace that has only `lo`, so every ICE candidate
 * pair must be loopback (asserted from getStats). Not a *.test.ts file: outside such a
 * namespace Chrome would use the machine's other interface.
 *
 * Bob's and Carol's nodes bind their DHT sockets to 127.0.0.2 and 127.0.0.3, and video.test.ts
 * drops every packet between those two addresses: their nodes can never connect, each reaches
 * only Alice's (127.0.0.1). Meeting signals travel between them through Alice's node; the
 * browsers' media still flows directly (WebRTC on 127.0.0.1).
 *
 * Checks: start, join from the group's meeting tab ("running, N participants"), two remote
 * videos decoding frames and audio packets arriving in every browser, mute shown to the
 * others, leave and rejoin, a removed member can no longer join. Screenshots go to
 * test/artifacts/video/.
 */
import { describe, it, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import type { Browser, Page } from 'playwright-core'
import { Cluster, makeTempDir, removeTempDir, type SolidarNode } from '../helpers/cluster.ts'
import { launchChromium, screenshots } from '../helpers/browser.ts'
import { waitFor } from '../helpers/wait.ts'
import { BOB_HOST, CAROL_HOST } from './hosts.ts'

/** Generous: on two loaded cores (other test suites running) three browsers encoding 6 streams get slow. */
const MEDIA_TIMEOUT = 90_000
const UI_TIMEOUT = 45_000

interface Person { name: string, node: SolidarNode, browser: Browser, page: Page, problems: string[] }
interface PeerStats { name: string, state: string, framesDecoded: number, audioPackets: number, pairs: Array<{ local: string, remote: string, remoteType: string }> }

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|\[?::1\]?):\d+$/

async function stats (p: Person): Promise<PeerStats[]> {
  return p.page.evaluate(async () => {
    const m = (window as any).solidarMeeting
    return m ? await m.stats() : []
  })
}

/** Waits until `p` decodes video from and receives audio of exactly `names`, over loopback pairs only. */
async function waitForMedia (p: Person, names: string[]): Promise<PeerStats[]> {
  let last: PeerStats[] = []
  try {
    await waitFor(async () => {
      last = await stats(p)
      const live = last.filter((s) => s.state === 'connected')
      return live.length === names.length &&
        names.every((n) => live.some((s) => s.name === n && s.framesDecoded > 0 && s.audioPackets > 0 && s.pairs.length > 0))
    }, { timeout: MEDIA_TIMEOUT, interval: 500, what: `${p.name} to decode video and receive audio from ${names.join(' and ')}` })
  } catch (err) {
    throw new Error(`${(err as Error).message}\n${p.name}'s connections: ${JSON.stringify(last)}\nproblems: ${p.problems.join('\n')}`)
  }
  for (const s of last) {
    for (const pair of s.pairs) {
      assert.match(pair.local, LOOPBACK, `${p.name}→${s.name}: local candidate ${pair.local} is loopback`)
      // Peer-reflexive remote with its address hidden by the browser: checked by `hiddenRemotesAreLoopback`.
      if (pair.remoteType === 'prflx' && pair.remote.startsWith(':')) continue
      assert.match(pair.remote, LOOPBACK, `${p.name}→${s.name}: remote candidate ${pair.remote} is loopback`)
    }
  }
  return last
}

/**
 * A remote candidate whose address the browser hides (peer-reflexive) is the other side's
 * local candidate of the same pair: its port must be one of that peer's loopback candidates
 * towards us.
 */
function hiddenRemotesAreLoopback (all: Array<{ person: Person, stats: PeerStats[] }>): void {
  for (const { person, stats: mine } of all) {
    for (const s of mine) {
      for (const pair of s.pairs) {
        if (!(pair.remoteType === 'prflx' && pair.remote.startsWith(':'))) continue
        const theirs = all.find((x) => x.person.name === s.name)?.stats.find((t) => t.name === person.name)
        const locals = theirs?.pairs.map((t) => t.local) ?? []
        assert.ok(locals.some((l) => LOOPBACK.test(l) && l.endsWith(pair.remote)),
          `${person.name}→${s.name}: hidden remote candidate ${pair.remote} is one of ${s.name}'s loopback candidates (${locals.join(', ')})`)
      }
    }
  }
}

/** Local addresses (HOST:PORT) of the UDP sockets of process `pid`, from `ss`. */
async function udpAddresses (pid: number): Promise<string[]> {
  const { stdout } = await promisify(execFile)('ss', ['-Huanp'])
  return stdout.split('\n').filter((l) => l.includes(`pid=${pid},`)).map((l) => l.trim().split(/\s+/)[3])
}

const participants = (p: Person) => p.page.getByRole('list', { name: 'Participants' })

describe('video meeting of three browsers', { timeout: 420_000 }, () => {
  let cluster: Cluster | null = null
  let tmp = ''
  const people: Person[] = []
  let group = ''
  let shot: (page: Page, name: string) => Promise<void>

  before(async () => {
    shot = await screenshots('video')
    tmp = await makeTempDir('solidar-video-')
    cluster = await Cluster.start({ names: ['alice', 'bob', 'carol'], serveArgs: { bob: ['--dht-host', BOB_HOST], carol: ['--dht-host', CAROL_HOST] } })
    const [alice, bob, carol] = cluster.nodes
    // The meeting starts as soon as everyone is in the group: no waiting for connections.
    group = (await cluster.createGroup(alice, 'Works council', [bob, carol])).id
    // Everything Bob's and Carol's nodes send over the network leaves from their own address,
    // which video.test.ts's rule cuts off from the other's: they can only reach Alice's node.
    for (const [node, host] of [[bob, BOB_HOST], [carol, CAROL_HOST]] as const) {
      const bound = await udpAddresses(node.proc!.pid)
      assert.ok(bound.length > 0 && bound.every((a) => a.startsWith(`${host}:`)), `${node.name}'s UDP sockets are all on ${host}: ${bound.join(', ')}`)
    }
    for (const node of cluster.nodes) {
      // One browser each (not contexts of one): three independent WebRTC stacks, like three colleagues.
      const browser = await launchChromium(tmp, { media: true, webrtc: true })
      const context = await browser.newContext({ viewport: { width: 1000, height: 760 }, locale: 'en-US' })
      const page = await context.newPage()
      page.setDefaultTimeout(UI_TIMEOUT)
      const problems: string[] = []
      page.on('pageerror', (err) => problems.push(`page error: ${err.message}`))
      page.on('console', (msg) => { if (msg.type() === 'error') problems.push(`console: ${msg.text()}`) })
      people.push({ name: node.name, node, browser, page, problems })
    }
    await Promise.all(people.map(async (p) => {
      await p.page.goto(p.node.url)
      await p.page.getByRole('heading', { name: /Hello, / }).waitFor()
      await p.page.evaluate((g) => { location.hash = `#/g/${encodeURIComponent(g)}/meeting` }, group)
      await p.page.getByRole('heading', { name: 'Video meeting' }).waitFor()
    }))
  })

  after(async () => {
    for (const p of people) await p.browser.close().catch(() => {})
    await cluster?.close()
    if (tmp !== '') await removeTempDir(tmp)
  })

  it('all three join one meeting; each decodes two remote videos and receives audio, over loopback', async () => {
    const [alice, bob, carol] = people
    await alice.page.getByRole('button', { name: 'Start meeting' }).click()
    await participants(alice).getByText('alice (you').waitFor()
    // The others see it in the group as running, with the participants so far, and join with one click.
    for (const [i, p] of [bob, carol].entries()) {
      await p.page.getByRole('link', { name: new RegExp(`Meeting\\s*running, ${i + 1} participants?$`) }).waitFor({ timeout: 30_000 }).catch(async (err) => {
        throw new Error(`${err.message}\n${p.name}'s page: ${await p.page.locator('main').innerText()}\n${p.name}'s node: ${(await p.node.api({ path: `/api/groups/${encodeURIComponent(group)}/meetings` })).text}\nproblems: ${p.problems.join('\n')}\n${await cluster!.statuses()}`)
      })
      await p.page.getByRole('button', { name: 'Join meeting' }).waitFor()
      // While it runs, joining is the one way in: no second meeting beside it.
      assert.equal(await p.page.getByRole('button', { name: 'Start meeting' }).count(), 0, `${p.name} is offered no second meeting`)
      await p.page.getByRole('button', { name: 'Join meeting' }).click()
      await participants(p).getByText(`${p.name} (you`).waitFor()
    }
    const [a, b, c] = await Promise.all([
      waitForMedia(alice, ['bob', 'carol']),
      waitForMedia(bob, ['alice', 'carol']),
      waitForMedia(carol, ['alice', 'bob'])
    ])
    hiddenRemotesAreLoopback([{ person: alice, stats: a }, { person: bob, stats: b }, { person: carol, stats: c }])
    await alice.page.getByRole('link', { name: /Meeting\s*running, 3 participants/ }).waitFor()
    for (const p of people) {
      assert.equal(await p.page.locator('video').count(), 3, `${p.name} shows own video and two remote ones`)
      await shot(p.page, `01-meeting-${p.name}`)
    }
  })

  it('mute shows on the others', async () => {
    const [alice, bob, carol] = people
    await bob.page.getByRole('button', { name: 'Mute microphone' }).click()
    await bob.page.getByRole('button', { name: 'Unmute microphone' }).waitFor()
    for (const p of [alice, carol]) await participants(p).getByText(/^bob \(.*microphone off/).waitFor({ timeout: UI_TIMEOUT })
    assert.equal(await participants(alice).getByText(/^carol \(.*microphone off/).count(), 0, 'carol is not shown muted')
    await bob.page.getByRole('button', { name: 'Unmute microphone' }).click()
    await participants(alice).getByText(/^bob \((?!.*microphone off)/).waitFor({ timeout: UI_TIMEOUT })
  })

  it('one leaves and rejoins: the others drop and then regain her', async () => {
    const [alice, bob, carol] = people
    await carol.page.getByRole('button', { name: 'Leave meeting' }).click()
    await carol.page.getByRole('button', { name: 'Join meeting' }).waitFor({ timeout: UI_TIMEOUT })
    for (const p of [alice, bob]) {
      await waitFor(async () => (await participants(p).getByRole('listitem').count()) === 2, { timeout: UI_TIMEOUT, interval: 200, what: `${p.name} lists two participants` })
    }
    await carol.page.getByRole('button', { name: 'Join meeting' }).click()
    await participants(carol).getByText('carol (you').waitFor()
    const [a, b, c] = await Promise.all([
      waitForMedia(alice, ['bob', 'carol']),
      waitForMedia(bob, ['alice', 'carol']),
      waitForMedia(carol, ['alice', 'bob'])
    ])
    hiddenRemotesAreLoopback([{ person: alice, stats: a }, { person: bob, stats: b }, { person: carol, stats: c }])
    await shot(carol.page, '02-rejoined-carol')
  })

  it('a member removed from the group is dropped from the meeting and cannot join again', async () => {
    const [alice, bob, carol] = people
    await alice.node.ok(['remove', group, carol.node.id])
    for (const p of [alice, bob]) {
      await waitFor(async () => (await participants(p).getByRole('listitem').count()) === 2, { timeout: 30_000, interval: 300, what: `${p.name} no longer lists carol` })
    }
    const m = await alice.node.api({ path: `/api/groups/${encodeURIComponent(group)}/meetings` })
    assert.equal(m.status, 200)
    const id = m.json[0].id
    const tryJoin = () => carol.node.api({ method: 'PUT', path: `/api/groups/${encodeURIComponent(group)}/meetings/${id}/participants/carol-again-1`, body: { media: { audio: true, video: true, screen: false } } })
    const refused = await waitFor(async () => { const r = await tryJoin(); return r.status === 403 ? r : null }, { timeout: 30_000, interval: 500, what: 'carol\'s node to refuse joining once it knows she was removed' })
    assert.equal(refused.json.error.code, 'NOT_PERMITTED')
    for (const p of people) assert.deepEqual(p.problems.filter((x) => x.startsWith('page error')), [], `${p.name}: no page errors`)
  })
})
