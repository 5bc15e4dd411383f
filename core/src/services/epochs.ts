/**
 * Key epochs of a node's logs: opening the epoch keys sealed to this device, sealing them to
 * newcomers, starting the next epoch after someone left (admins), and sealing held keys to
 * current devices that lack them (epoch-grants.ts). See ARCHITECTURE.md, "Content and key epochs".
 * It knows the rest of the node only through `EpochHost`.
 */
import b4a from 'b4a'
import { randomKey } from '../content.ts'
import type { EpochBox } from '../commands.ts'
import { errors } from '../errors.ts'
import type { Identity } from '../identity.ts'
import { epochKeyId, openEpochKey, sealEpochKey } from '../keys.ts'
import { StampedCache } from '../stamped-cache.ts'
import { activeDevices } from '../view.ts'
import type { OpenLog } from './shared.ts'

export interface EpochHost {
  /** This device's identity: epoch keys are sealed to its key. */
  identity: Identity
  /** The member this device acts for (hex). */
  self (): string
  /** This device's own key (hex). */
  device (): string
  now (): number
}

export class Epochs {
  readonly #host: EpochHost
  /** Each log's current epoch, kept while its members and keys stay as they are. */
  readonly #current = new WeakMap<OpenLog, StampedCache<'epoch', number>>()
  /** The membership stamp at each log's last complete look at its boxes (refreshKeys). */
  readonly #refreshedAt = new WeakMap<OpenLog, number>()
  constructor (host: EpochHost) { this.#host = host }

  /** For the update loop: open new keys first (before messages are read)… */
  readonly keys = {
    rewind: async (log: OpenLog): Promise<void> => { log.grants.reset() },
    onUpdate: (log: OpenLog): Promise<void> => this.refreshKeys(log)
  }

  /** …and, after the other services, start a due epoch and grant missing keys (groups and the vault). */
  readonly upkeep = {
    onUpdate: async (log: OpenLog): Promise<void> => {
      if (log.record.kind === 'dm') return
      await this.rotateIfNeeded(log)
      await this.#grantMissingKeys(log)
    }
  }

  /** Opens the epoch keys sealed to this member that the keyring does not hold yet. */
  async refreshKeys (log: OpenLog) {
    // Boxes come only with commands that move the membership stamp: none since the last full look, nothing to open.
    const stamp = log.group.membershipStamp
    if (stamp !== null && this.#refreshedAt.get(log) === stamp) return
    for (const { epoch, box, alt } of await log.group.epochBoxes(this.#host.device())) {
      // Re-open when the box changed: two admins may rotate to the same epoch at once, and the
      // log can reorder so that the other's rotation (and key) wins after ours was applied here.
      // The keyring keeps the key it replaces, and the other rotation's key, as alternates.
      const slot = alt ? `${epoch}!${alt}` : String(epoch)
      const id = b4a.toString(box, 'hex')
      if (log.boxes.get(slot) === id) continue
      const key = openEpochKey(box, log.group.discoveryKey, epoch, this.#host.identity)
      if (!key) continue
      if (alt) log.keyring.addAlternate(epoch, key)
      else log.keyring.add(epoch, key)
      log.boxes.set(slot, id)
    }
    if (stamp !== null && log.group.membershipStamp === stamp) this.#refreshedAt.set(log, stamp)
  }

  /** Every epoch key after 0 (which comes with the log key), sealed to a newcomer. */
  async epochKeysFor (log: OpenLog, member: Buffer): Promise<EpochBox[]> {
    const current = await log.group.epoch()
    const out: EpochBox[] = []
    for (let e = 1; e <= current; e++) {
      // The epoch's key first (apply takes the first box of an epoch as its key), then its alternates.
      // Each box names its key (rules 3), so apply puts it in that key's slot whatever the order did.
      for (const key of log.keyring.all(e)) out.push({ e, box: sealEpochKey(log.group.discoveryKey, e, key, member), id: epochKeyId(log.group.discoveryKey, e, key) })
    }
    return out
  }

  /**
   * Starts a new epoch if one is due (someone left or was removed since the last one):
   * a fresh key sealed to every current member. Serialized per log; the key enters our
   * keyring only by opening our own box of the accepted entry, so a concurrent rotation
   * by another admin (apply accepts one per epoch) can never leave us with a wrong key.
   */
  rotate (log: OpenLog): Promise<void> {
    log.rotation = log.rotation.catch(() => { /* the earlier call got its own error; this one runs regardless */ }).then(() => this.#rotateNow(log))
    return log.rotation
  }

  async #rotateNow (log: OpenLog): Promise<void> {
    const { group } = log
    if (!group.writable || !(await group.rekeyPending())) return
    const epoch = (await group.epoch()) + 1
    const key = randomKey()
    // One box per current device of every current member.
    const keys = (await group.members()).flatMap(m => activeDevices(m).map(d => {
      const device = b4a.from(d.device, 'hex')
      return { member: device, box: sealEpochKey(group.discoveryKey, epoch, key, device) }
    }))
    await group.append({ t: 'epoch/rotate', epoch, keys, id: epochKeyId(group.discoveryKey, epoch, key), ts: this.#host.now() })
    await this.refreshKeys(log)
  }

  /** After someone left, the first admin online starts the next epoch (apply accepts one). */
  async rotateIfNeeded (log: OpenLog) {
    if (!log.group.writable || !(await log.group.rekeyPending())) return
    const me = await log.group.member(this.#host.self())
    if (!me || me.left || me.role !== 'admin') return
    await this.rotate(log)
  }

  /** An admin's node seals the keys it holds to current devices that lack them (epoch-grants.ts). */
  async #grantMissingKeys (log: OpenLog) {
    const { group } = log
    if (!group.writable) return
    const me = await group.member(this.#host.self())
    if (!me || me.left || me.role !== 'admin') return
    await log.grants.run({
      view: group.view, keyring: log.keyring, discoveryKey: group.discoveryKey, now: this.#host.now,
      members: () => group.members(),
      append: async (cmd) => { await group.append(cmd) }
    })
  }

  /**
   * The epoch to seal metadata under (sealed-meta.ts): the current one, after starting the next
   * epoch if one is due (someone left and no admin has rotated yet), so a member removed a moment
   * ago cannot open it. Callers are admins.
   */
  async metadataEpoch (log: OpenLog): Promise<number> {
    await this.rotateIfNeeded(log)
    return this.currentEpoch(log)
  }

  /** The current epoch and its key, or NOT_PERMITTED if this device was not given it. */
  async currentEpoch (log: OpenLog): Promise<number> {
    // Read from the view once per change of members or keys (every send seals under it).
    let cache = this.#current.get(log)
    if (cache === undefined) this.#current.set(log, cache = new StampedCache(() => log.group.membershipStamp))
    const epoch = await cache.get('epoch', async () => {
      const e = await log.group.epoch()
      await this.refreshKeys(log) // also when we hold a key for it: the box may have changed
      return e
    })
    if (!log.keyring.has(epoch)) throw errors.notPermitted('This device does not hold the current key of this group (removed from it?)')
    return epoch
  }
}
