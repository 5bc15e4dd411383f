/**
 * The network of the TURN test (test/turn.test.ts builds it, test/turn/meeting.ts runs in it):
 *
 *   [alice ns] 10.78.1.2 ──veth── 10.78.1.1 [hub ns] 10.78.2.1 ──veth── 10.78.2.2 [bob ns]
 *                                  lo: 10.78.0.1 (TURN server's address, routed from both sides)
 *                                  lo: 10.78.9.1 (TURN relay address, routed from neither)
 *
 * The hub does not forward (ip_forward 0) and each browser namespace has routes only to its
 * own /30 and to 10.78.0.1, so the browsers have no route to each other, nor to the relay
 * address: the only working ICE pair is relay to relay, through coturn on the hub. The Solidar
 * nodes run on the hub's loopback (a loopback DHT); each browser reaches its node through a
 * TCP forwarder (127.0.0.1:PORT in its namespace → 10.78.0.1:PORT on the hub → 127.0.0.1:PORT),
 * so the page's origin is http://127.0.0.1:PORT as for a real user.
 */
export const TURN_ADDR = '10.78.0.1'
export const RELAY_ADDR = '10.78.9.1'
export const TURN_PORT = 3478
export const TURN_USER = 'solidar'
/** Made up for the test; carries an `@` to exercise percent-encoding in `--ice-server`. */
export const TURN_PASS = 'union@turn-pass-1'
export const TURN_REALM = 'solidar.test'

export interface BrowserHost { name: 'alice' | 'bob', ns: string, hubSide: string, hubAddr: string, addr: string }

/** The two browser namespaces' addresses (names are filled in by the outer test). */
export const SIDES = [
  { name: 'alice', hubAddr: '10.78.1.1', addr: '10.78.1.2' },
  { name: 'bob', hubAddr: '10.78.2.1', addr: '10.78.2.2' }
] as const
