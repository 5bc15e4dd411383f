/**
 * An admin's node seals the keys it holds to current devices that lack them (rules 3,
 * `epoch/grant`, apply-epochs.ts). A device admitted or linked by one admin while another
 * rotated the same epoch got boxes only for the keys its admitting node knew: without this,
 * whatever was sealed under the other key would stay unreadable to it for good.
 *
 * Looks only when the log's `keyset` counter moved (a device or key was added), when this
 * node opened a new key, or after a reorder. Several admins may grant the same box at once:
 * apply keeps the first and the others change nothing.
 */
import b4a from 'b4a'
import { MAX_EPOCH_BOXES, type EpochGrant, type MemberBox } from './commands.ts'
import type { Keyring } from './content.ts'
import { slotKey, type KeyInfo } from './apply-epochs.ts'
import { epochKeyId, sealEpochKey } from './keys.ts'
import { activeDevices, getRecord, K, type Bee, type MemberRecord } from './view.ts'

/** What the grants need of a log and of the node. */
export interface GrantHost {
  readonly view: Bee
  readonly keyring: Keyring
  readonly discoveryKey: Buffer
  /** Current members (not those that left). */
  members (): Promise<MemberRecord[]>
  append (cmd: EpochGrant): Promise<void>
  now (): number
}

export class EpochGrants {
  #checked = ''

  /** Forget what was checked: the log's tail was reordered. */
  reset (): void { this.#checked = '' }

  /** Appends a grant for every key this node holds that some current device lacks. */
  async run (host: GrantHost): Promise<number> {
    const state = `${(await getRecord<number>(host.view, K.counter('keyset'))) ?? 0}|${host.keyring.size}`
    if (state === this.#checked) return 0
    const grants = await missingGrants(host)
    for (const grant of grants) await host.append(grant)
    // Only once every grant went out: a failed append is looked at again on the next update.
    this.#checked = state
    return grants.length
  }
}

async function missingGrants (host: GrantHost): Promise<EpochGrant[]> {
  const { view, keyring, discoveryKey } = host
  const current = (await getRecord<number>(view, K.epoch)) ?? 0
  const devices = (await host.members()).flatMap(m => activeDevices(m).map(d => d.device))
  const out: EpochGrant[] = []
  for (let epoch = 1; epoch <= current; epoch++) {
    for (const key of keyring.all(epoch)) {
      const id = epochKeyId(discoveryKey, epoch, key)
      const info = await getRecord<KeyInfo>(view, K.epochKeyInfo(epoch, b4a.toString(id, 'hex')))
      if (!info) continue // a key rotated before rules 3: not named, nothing to compare
      const keys: MemberBox[] = []
      for (const device of devices) {
        if (await getRecord(view, slotKey(device, epoch, info.n)) !== null) continue
        const member = b4a.from(device, 'hex')
        keys.push({ member, box: sealEpochKey(discoveryKey, epoch, key, member) })
      }
      for (let i = 0; i < keys.length; i += MAX_EPOCH_BOXES) out.push({ t: 'epoch/grant', epoch, id, keys: keys.slice(i, i + MAX_EPOCH_BOXES), ts: host.now() })
    }
  }
  return out
}
