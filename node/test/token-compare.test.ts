/**
 * The API token is compared in constant time: both sides are hashed to 32 bytes and compared
 * with `crypto.timingSafeEqual`, whatever their lengths, so neither where two tokens differ nor
 * whether their lengths differ changes the work done. Checked by construction (every comparison
 * reaches timingSafeEqual with two 32-byte buffers), not by timing, which a test cannot judge.
 */
import test, { mock } from 'node:test'
import assert from 'node:assert/strict'
import crypto from 'node:crypto'
import { syncBuiltinESMExports } from 'node:module'

test('token comparison: every candidate goes through timingSafeEqual on equal-length digests', async () => {
  const calls: Array<[number, number]> = []
  const real = crypto.timingSafeEqual
  mock.method(crypto, 'timingSafeEqual', (a: NodeJS.ArrayBufferView, b: NodeJS.ArrayBufferView) => {
    calls.push([a.byteLength, b.byteLength])
    return real(a, b)
  })
  // Named imports of builtins follow the module object only after a sync.
  syncBuiltinESMExports()
  try {
    const { tokenMatches } = await import('../src/api/security.ts')
    const token = crypto.randomBytes(32).toString('base64url')
    const wrong = [
      '', 'x', token.slice(0, -1), token + 'x', 'y' + token.slice(1), token.slice(0, -1) + 'y',
      token.toUpperCase() === token ? token.toLowerCase() : token.toUpperCase(), 'z'.repeat(10_000)
    ]
    for (const candidate of wrong) assert.equal(tokenMatches(candidate, token), false, `accepted ${candidate.slice(0, 20)}`)
    assert.equal(tokenMatches(undefined, token), false)
    assert.equal(tokenMatches(token, token), true)
    // One constant-time comparison per presented token (undefined is refused before any work on
    // the secret), always of two 32-byte digests.
    assert.equal(calls.length, wrong.length + 1)
    for (const [a, b] of calls) assert.deepEqual([a, b], [32, 32])
  } finally {
    mock.restoreAll()
    syncBuiltinESMExports()
  }
})
