import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { formatDuration, parseDuration } from '../src/duration.ts'

describe('parseDuration', () => {
  it('reads a number and a unit', () => {
    assert.equal(parseDuration('500ms'), 500)
    assert.equal(parseDuration('30s'), 30_000)
    assert.equal(parseDuration('10m'), 600_000)
    assert.equal(parseDuration('24h'), 86_400_000)
    assert.equal(parseDuration('7d'), 604_800_000)
    assert.equal(parseDuration('2w'), 1_209_600_000)
    assert.equal(parseDuration('1.5h'), 5_400_000)
    assert.equal(parseDuration(' 10M '), 600_000, 'case and surrounding spaces do not matter')
  })

  it('refuses a bare number and says how to fix it', () => {
    assert.throws(() => parseDuration('10'), /no unit; write e\.g\. 10s, 10m/)
  })

  it('refuses anything else with a readable message', () => {
    for (const bad of ['', 'soon', '10x', '-5m', 'm', '1h30m', '1e3s', '10 minutes', '0s', '0.0001ms', 'Infinityd']) {
      assert.throws(() => parseDuration(bad), /duration|unit|positive/, `"${bad}" should be refused`)
    }
  })

  it('refuses durations too large to be exact', () => {
    assert.throws(() => parseDuration('99999999999999w'), /positive duration/)
  })
})

describe('formatDuration', () => {
  it('formats compactly', () => {
    assert.equal(formatDuration(500), '500ms')
    assert.equal(formatDuration(60_000), '1m')
    assert.equal(formatDuration(90_000), '1m30s')
    assert.equal(formatDuration(86_400_000 + 3_600_000), '1d1h')
  })
})
