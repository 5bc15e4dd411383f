import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { InvalidArgumentError } from 'commander'
import { chooseLan, chooseNetwork, networkFlagConflict } from '../src/network.ts'
import { bootstrapArg, parseHostPort, portArg, positiveIntArg } from '../src/parsers.ts'

describe('network choice of serve', () => {
  const remembered = { network: { mode: 'bootstrap' as const, bootstrap: ['10.0.0.1:49737'] } }

  it('an explicit choice wins and is remembered', () => {
    assert.deepEqual(chooseNetwork({ bootstrap: ['127.0.0.1:1', '127.0.0.1:1', '127.0.0.1:2'], dht: true }, remembered), {
      choice: { mode: 'bootstrap', bootstrap: ['127.0.0.1:1', '127.0.0.1:2'] }, source: 'flag', remember: true
    })
    assert.deepEqual(chooseNetwork({ publicDht: true, dht: true }, remembered), {
      choice: { mode: 'public', bootstrap: [] }, source: 'flag', remember: true
    })
  })

  it('without flags: the remembered choice, else local only', () => {
    assert.deepEqual(chooseNetwork({ dht: true }, remembered), { choice: remembered.network, source: 'config', remember: false })
    assert.deepEqual(chooseNetwork({ dht: true }, {}), { choice: { mode: 'none', bootstrap: [] }, source: 'default', remember: false })
  })

  it('--no-dht stays local for one run and is not remembered', () => {
    assert.deepEqual(chooseNetwork({ dht: false }, remembered), { choice: { mode: 'none', bootstrap: [] }, source: 'no-dht', remember: false })
  })

  it('LAN mode: --lan or --no-lan for the run, else the web app\'s remembered choice', () => {
    const lanOn = { lan: true }
    assert.deepEqual(chooseLan({}, lanOn), { mdns: true, listen: [], peers: [] }, 'remembered LAN mode applies')
    assert.deepEqual(chooseLan({}, { ...lanOn, network: { mode: 'none', bootstrap: [] } }), { mdns: true, listen: [], peers: [] })
    assert.equal(chooseLan({ lan: false }, lanOn).mdns, false, '--no-lan skips it for this run')
    assert.equal(chooseLan({}, {}).mdns, false, 'never chosen: off')
    assert.equal(chooseLan({}, { lan: false }).mdns, false)
    assert.equal(chooseLan({ lan: true }, {}).mdns, true, '--lan for this run')
    assert.deepEqual(chooseLan({ listen: ['0.0.0.0:4100'], peer: ['10.0.0.2:4100'] }, {}), { mdns: false, listen: ['0.0.0.0:4100'], peers: ['10.0.0.2:4100'] })
  })

  it('contradicting flags are a usage error', () => {
    assert.match(networkFlagConflict({ bootstrap: ['a:1'], publicDht: true })!, /either --bootstrap/)
    assert.match(networkFlagConflict({ dht: false, publicDht: true })!, /--no-dht/)
    assert.match(networkFlagConflict({ dht: false, bootstrap: ['a:1'] })!, /--no-dht/)
    assert.equal(networkFlagConflict({ bootstrap: ['a:1'], dht: true }), null)
    assert.equal(networkFlagConflict({}), null)
  })
})

describe('option parsers', () => {
  it('bootstrap lists: comma-separated, repeatable, checked', () => {
    assert.deepEqual(bootstrapArg('127.0.0.1:49737, dht.example.org:1'), ['127.0.0.1:49737', 'dht.example.org:1'])
    assert.deepEqual(bootstrapArg('[::1]:5', ['a:1']), ['a:1', '[::1]:5'])
    assert.deepEqual(parseHostPort('[::1]:5'), { host: '::1', port: 5 })
    for (const bad of ['', ',', 'host', 'host:', ':1', 'host:0', 'host:65536', 'a b:1', '::1:5', 'http://x:1']) {
      assert.throws(() => bootstrapArg(bad), InvalidArgumentError, bad)
    }
  })

  it('ports and counts', () => {
    assert.equal(portArg('0'), 0)
    assert.equal(portArg('65535'), 65535)
    for (const bad of ['-1', '65536', 'x', '1.5', '']) assert.throws(() => portArg(bad), InvalidArgumentError, bad)
    assert.equal(positiveIntArg('3'), 3)
    for (const bad of ['0', '-2', 'many', '1.5', '99999999999999999999']) assert.throws(() => positiveIntArg(bad), InvalidArgumentError, bad)
  })
})
