/**
 * The transport acceptance suite (core/test/transport-suite.ts) over hyperswarm on a
 * loopback DHT and over libp2p on 127.0.0.1 (peers dialled by address; no mDNS here).
 */
import crypto from 'hypercore-crypto'
import { runTransportSuite } from '@solidar/core/testing/transport-suite'
import { HyperswarmTransport } from '../src/hyperswarm-transport.ts'
import { Libp2pTransport } from '../src/lan/libp2p-transport.ts'
import { parseLanAddress, type LanAddress } from '../src/lan/addresses.ts'
import { listeningOn } from './helpers/lan.ts'
import { runDhtBootstrap } from '../src/runtime.ts'

runTransportSuite('hyperswarm', async () => {
  const dht = await runDhtBootstrap({ host: '127.0.0.1', port: 0 })
  return {
    async make () {
      const t = new HyperswarmTransport({ mode: 'bootstrap', bootstrap: [{ host: '127.0.0.1', port: dht.port }] }, { keyPair: crypto.keyPair() })
      // An announce made before the DHT node is bootstrapped reaches nobody until hyperswarm's next refresh.
      await t.dht.fullyBootstrapped()
      return t
    },
    close: () => dht.close()
  }
})

runTransportSuite('libp2p', async () => {
  const known: LanAddress[] = []
  return {
    async make () {
      const t = await Libp2pTransport.create({
        keyPair: crypto.keyPair(),
        listen: [parseLanAddress('127.0.0.1:0', { allowAnyPort: true })],
        peers: [...known]
      })
      known.push(listeningOn(t))
      return t
    },
    close: async () => {}
  }
})
