/**
 * Key epochs in apply: rotations, the boxes a newcomer or new device brings, and grants.
 *
 * Two admins may rotate the same epoch at once (both saw a leave, each on its side of a
 * partition): the first in the order starts the epoch and its key seals from then on; the
 * other's rotation is kept as an *alternate* key of that epoch, because its author (and its
 * side) may already have sealed with it before the order settled. Readers try every key of an
 * epoch. Boxes count only for devices active at that point of the order, so a member removed
 * before never gets a key through a late rotation.
 *
 * From rules 3 every key is named by its key id (keys.ts `epochKeyId`), recorded per epoch with
 * its slot (0: the epoch's key, `k!device!epoch`; n: an alternate, `k!device!epoch!n`). A device
 * admitted or linked during the race got boxes only for the keys its admitting node knew; an
 * admin that holds another key of the epoch sees the empty slot and seals that key to it
 * (`epoch/grant`), so every current device ends up holding every key of every epoch it belongs
 * to. Before rules 3 ids are ignored and the first box of an epoch a newcomer brings is its key.
 */
import b4a from 'b4a'
import type { EpochBox, EpochGrant, EpochRotate, MemberBox } from './commands.ts'
import { activeMember, currentEpoch, reject, requireAdmin, type ApplyContext } from './apply-context.ts'
import { rulesOf } from './rules.ts'
import { activeDevices, K, type GroupMeta, type ViewTx } from './view.ts'

const hex = (b: Uint8Array) => b4a.toString(b, 'hex') as string

/** The rules version from which keys are named by id and `epoch/grant` is accepted. */
export const KEY_ID_RULES = 3

export interface KeyInfo { n: number }

const tracked = (meta: GroupMeta) => rulesOf(meta) >= KEY_ID_RULES
/** Where a device's box of key slot `n` of an epoch is (0: the epoch's key). */
export const slotKey = (device: string, epoch: number, n: number) => n === 0 ? K.epochKey(device, epoch) : K.epochKeyAlt(device, epoch, n)

async function isActiveDevice (tx: ViewTx, device: string): Promise<boolean> {
  const owner = await tx.get<{ member: string }>(K.device(device))
  const m = owner ? await activeMember(tx, owner.member) : null
  return !!m && activeDevices(m).some(d => d.device === device)
}

/** Stores each box for a current device whose slot `n` of `epoch` is empty; true if any was stored. */
async function fillSlot (tx: ViewTx, epoch: number, n: number, keys: MemberBox[]): Promise<boolean> {
  let stored = false
  for (const { member: device, box } of keys) {
    const id = hex(device)
    if (!(await isActiveDevice(tx, id)) || (await tx.get(slotKey(id, epoch, n))) !== null) continue
    tx.put(slotKey(id, epoch, n), box)
    stored = true
  }
  return stored
}

export async function rotateEpoch (ctx: ApplyContext<EpochRotate>) {
  const { tx, cmd } = ctx
  requireAdmin(ctx, 'start a new key epoch')
  const epoch = await currentEpoch(tx)
  if (cmd.epoch > epoch + 1) reject(`epoch ${cmd.epoch} does not follow the current epoch ${epoch}`)
  const named = tracked(ctx.meta) && cmd.id ? K.epochKeyInfo(cmd.epoch, hex(cmd.id)) : null
  const known = named ? await tx.get<KeyInfo>(named) : null
  if (known) { // a key this epoch already has: only the boxes it lacks
    if (await fillSlot(tx, cmd.epoch, known.n, cmd.keys)) await tx.next('keyset')
    return
  }
  const alternate = cmd.epoch <= epoch ? await tx.next('altkey') : 0
  // `member` in each box names the recipient device (a member's first device has the member's key).
  let sealedToFormer = false
  for (const { member: device, box } of cmd.keys) {
    const id = hex(device)
    if (await isActiveDevice(tx, id)) tx.put(slotKey(id, cmd.epoch, alternate), box)
    else sealedToFormer = true
  }
  if (named) { tx.put(named, { n: alternate } satisfies KeyInfo); await tx.next('keyset') }
  if (alternate) return
  tx.put(K.epoch, cmd.epoch)
  // A box apply skips is still in the entry, and its recipient opens it from the raw log: a
  // rotation written before its author saw a removal that the order puts first (two admins, each
  // cut off) gives the new key to the removed device. From rules 3 it starts the epoch (what was
  // sealed under it stays readable) but the removal still wants a rotation of its own.
  tx.put(K.rekey, sealedToFormer && tracked(ctx.meta) ? 1 : 0)
}

/**
 * Boxes of the epoch keys a newcomer (or new device) gets from the admitting node. A box whose
 * key id this log knows goes to that key's slot; any other (before rules 3, or a key rotated
 * before them) the old way: the first box of an epoch is its key, any further one an alternate.
 */
export async function storeEpochBoxes (tx: ViewTx, meta: GroupMeta, device: string, keys: EpochBox[]) {
  const epoch = await currentEpoch(tx)
  const seen = new Set<number>()
  for (const k of keys) {
    if (k.e > epoch) continue
    const info = tracked(meta) && k.id ? await tx.get<KeyInfo>(K.epochKeyInfo(k.e, hex(k.id))) : null
    if (info) {
      if ((await tx.get(slotKey(device, k.e, info.n))) === null) tx.put(slotKey(device, k.e, info.n), k.box)
      if (info.n === 0) seen.add(k.e)
    } else if (!seen.has(k.e) && !(await epochStartedByName(tx, meta, k.e))) {
      seen.add(k.e)
      tx.put(K.epochKey(device, k.e), k.box)
    } else {
      tx.put(K.epochKeyAlt(device, k.e, await tx.next('altkey')), k.box)
    }
  }
  if (tracked(meta)) await tx.next('keyset')
}

/** Whether the epoch's own key is named (then a box with an unknown id is never its key). */
async function epochStartedByName (tx: ViewTx, meta: GroupMeta, epoch: number): Promise<boolean> {
  if (!tracked(meta)) return false
  for (const key of await tx.keys(K.epochKeyInfo(epoch, ''))) {
    if ((await tx.get<KeyInfo>(key))?.n === 0) return true
  }
  return false
}

/** Rules 3: a key of an epoch, sealed to current devices that lack it. */
export async function grantEpochKey (ctx: ApplyContext<EpochGrant>) {
  const { tx, cmd } = ctx
  if (!tracked(ctx.meta)) reject(`epoch/grant needs rules ${KEY_ID_RULES}`)
  requireAdmin(ctx, 'hand out epoch keys')
  if (cmd.epoch > await currentEpoch(tx)) reject('no such epoch yet')
  const info = await tx.get<KeyInfo>(K.epochKeyInfo(cmd.epoch, hex(cmd.id)))
  if (!info) return reject('no such key in this epoch')
  // Two admins may grant the same key to the same device at once: the second changes nothing.
  if (await fillSlot(tx, cmd.epoch, info.n, cmd.keys)) await tx.next('keyset')
}
