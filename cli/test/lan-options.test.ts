import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { InvalidArgumentError } from 'commander'
import { parseLanAddress } from '@solidar/node/lan/addresses'
import { describeLan, listenArg, peerArg } from '../src/network.ts'
import { lanEnabled, parseLanChoice } from '@solidar/node/runtime'

describe('LAN options', () => {
  it('HOST:PORT becomes a libp2p TCP address', () => {
    assert.deepEqual(parseLanAddress('192.168.1.20:4100'), { host: '192.168.1.20', port: 4100, multiaddr: '/ip4/192.168.1.20/tcp/4100' })
    assert.equal(parseLanAddress('[fd00::1]:4100').multiaddr, '/ip6/fd00::1/tcp/4100')
    assert.equal(parseLanAddress('laptop.local:4100').multiaddr, '/dns/laptop.local/tcp/4100')
    assert.equal(parseLanAddress('0.0.0.0:0', { allowAnyPort: true }).port, 0)
  })

  it('bad addresses get a message that says what is wrong', () => {
    const cases: Array<[string, RegExp]> = [
      ['192.168.1.20', /is not HOST:PORT/],
      ['192.168.1.20:', /is not HOST:PORT/],
      [':4100', /is not HOST:PORT/],
      ['192.168.1.20:70000', /port must be 1–65535/],
      ['192.168.1.20:0', /port must be 1–65535/],
      ['[laptop]:4100', /only IPv6 addresses go in brackets/],
      ['fd00::1:4100', /is not HOST:PORT/],
      ['300.1.1.1:4100', /not an IP address or host name/],
      ['bad_host!:4100', /not an IP address or host name/]
    ]
    for (const [text, message] of cases) assert.throws(() => parseLanAddress(text), message, text)
  })

  it('--listen and --peer are usage errors when malformed, repeatable otherwise', () => {
    assert.deepEqual(peerArg('10.0.0.2:4100', ['10.0.0.1:4100']), ['10.0.0.1:4100', '10.0.0.2:4100'])
    assert.deepEqual(listenArg('0.0.0.0:0'), ['0.0.0.0:0'])
    assert.throws(() => peerArg('10.0.0.2:0'), InvalidArgumentError)
    assert.throws(() => listenArg('nonsense'), InvalidArgumentError)
  })

  it('LAN mode is on with mDNS or any address; the runtime names the option of a bad address', () => {
    assert.equal(lanEnabled(undefined), false)
    assert.equal(lanEnabled({ mdns: false, listen: [], peers: [] }), false)
    assert.equal(lanEnabled({ mdns: false, listen: [], peers: ['10.0.0.1:1'] }), true)
    assert.throws(() => parseLanChoice({ mdns: true, listen: [], peers: ['x'] }), /--peer: "x" is not HOST:PORT/)
    assert.equal(describeLan({ mdns: false, listen: [], peers: [] }), null)
    assert.match(describeLan({ mdns: true, listen: [], peers: ['10.0.0.1:1'] })!, /mDNS discovery; peers 10\.0\.0\.1:1/)
  })
})
