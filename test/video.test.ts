/**
 * Video meetings in real Chromium: runs test/video/mesh.ts (three nodes, three browsers, one
 * meeting) inside a network namespace of its own that has only the loopback interface up, so
 * WebRTC's ICE can only use 127.0.0.1 (Chrome offers no loopback candidates while another
 * interface exists; see ../shared/NOTES.md). The namespace and everything in it are removed
 * afterwards, also on failure or timeout.
 *
 * Inside the namespace an nftables rule drops all traffic between Bob's and Carol's nodes
 * (test/video/hosts.ts): they never connect to each other, only to Alice's node, so the
 * meeting works only if signals travel through a common member (mesh.ts checks that every UDP
 * socket of their nodes is bound to their own address, so the rule covers all their traffic).
 *
 * Needs root (ip netns), /usr/bin/chromium and the built app (npm test builds it).
 */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import path from 'node:path'
import { promisify } from 'node:util'
import { REPO_ROOT } from './helpers/cli.ts'
import { nft, removeNamespaces, runTestFileInNs } from './helpers/netns.ts'
import { BLOCK_RULES } from './video/hosts.ts'

const run = promisify(execFile)
const INNER = path.join('test', 'video', 'mesh.ts')
/** A quiet machine needs ~1.5 min; two loaded cores up to ~5. */
const INNER_TIMEOUT_MS = 420_000

describe('video meetings in Chromium', { timeout: INNER_TIMEOUT_MS + 60_000 }, () => {
  it('three browsers meet peer to peer over loopback only (in their own network namespace), two of whose nodes cannot connect', async () => {
    assert.ok(existsSync(path.join(REPO_ROOT, 'web', 'dist', 'index.html')), 'web/dist is missing: run `npm run build` first (npm test does)')
    const ns = `meet-video-${process.pid}`
    await run('ip', ['netns', 'add', ns])
    try {
      await run('ip', ['-n', ns, 'link', 'set', 'lo', 'up'])
      const { stdout: links } = await run('ip', ['-n', ns, '-brief', 'link'])
      assert.deepEqual(links.trim().split('\n').map((l) => l.split(/\s+/)[0]), ['lo'], 'the namespace has only the loopback interface')
      nft(ns, BLOCK_RULES)
      const { stdout: rules } = await run('ip', ['netns', 'exec', ns, 'nft', 'list', 'table', 'inet', 'meet'])
      assert.equal([...rules.matchAll(/ip saddr 127\.0\.0\.[23] ip daddr 127\.0\.0\.[23] counter packets \d+ bytes \d+ drop/g)].length, 2, `both block rules are in place:\n${rules}`)
      await runTestFileInNs(ns, INNER, { what: 'the meeting test', timeoutMs: INNER_TIMEOUT_MS })
    } finally {
      // Never throws here (that would hide the test's own error): problems are printed.
      for (const problem of removeNamespaces([ns])) console.error(`cleanup: ${problem}`)
    }
  })
})
