import type { Libp2pTransport } from '../../src/lan/libp2p-transport.ts'
import { parseLanAddress, type LanAddress } from '../../src/lan/addresses.ts'

/** The IPv4 TCP address a libp2p transport listens on, from its status info. */
export function listeningOn (t: Libp2pTransport): LanAddress {
  const ma = t.info()[0].listening?.map(a => /^\/ip4\/([\d.]+)\/tcp\/(\d+)/.exec(a)).find(m => m !== null)
  if (!ma) throw new Error('libp2p transport listens nowhere')
  return parseLanAddress(`${ma[1]}:${ma[2]}`)
}
