/**
 * Autobase's "new heads" hints (protomux-wakeup), hardened against hostile peers.
 *
 * protomux-wakeup 2.9 pairs every incoming `wakeup` channel and reads its id as a topic
 * without checking it: a peer that opens the protocol with no id (or a short one) made
 * `b4a.toString(null)` throw inside an async handler, an unhandled rejection that ended the
 * whole daemon (found by test/hostile-peers.test.ts). Ids that are not 32-byte topics are
 * ignored here, before the library sees them.
 */
import ProtomuxWakeup from 'protomux-wakeup'

export class Wakeup extends ProtomuxWakeup {
  async _onpair (id: unknown, stream: unknown): Promise<unknown> {
    if (!(id instanceof Uint8Array) || id.byteLength !== 32) return // not a topic: a malformed or hostile session
    return super._onpair(id, stream)
  }
}
