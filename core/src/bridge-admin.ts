/**
 * The XMPP bridge's group state as a member's node reads and writes it: the allowlist (entries
 * in clear from older nodes, sealed ones opened with the keyring), which member is the group's
 * bridge, and the fields of a sealed `bridge/post`. apply-bridge.ts enforces the same rules on
 * every peer; this module only prepares entries and reads the view.
 */
import b4a from 'b4a'
import type { BridgeAllow } from './commands.ts'
import type { Keyring, Sealed } from './content.ts'
import type { Group } from './group.ts'
import { bridgeAllows } from './bridge.ts'
import { bridgeTag, openBridgeEntry, senderPlaintext } from './sealed-meta.ts'

/** One opened allowlist entry; `ref` names it in entries (its tag if sealed, else the entry itself). */
export interface OpenedAllowEntry { entry: string, by: string, ts: number, ref: Buffer | string }

/**
 * The allowlist as this device can read it, one row per entry (the first added), by entry. A
 * sealed entry under an epoch this device lacks is left out: a removed member does not see it.
 */
export async function readAllowlist (group: Group, keyring: Keyring): Promise<OpenedAllowEntry[]> {
  const rows: OpenedAllowEntry[] = (await group.bridgeAllowlist()).map(r => ({ entry: r.entry, by: r.by, ts: r.ts, ref: r.entry }))
  for (const r of await group.sealedBridgeAllowlist()) {
    const entry = openBridgeEntry(keyring, r.sealed)
    if (entry !== null) rows.push({ entry, by: r.by, ts: r.ts, ref: b4a.from(r.tag, 'hex') })
  }
  rows.sort((a, b) => a.ts - b.ts)
  const first = new Map<string, OpenedAllowEntry>()
  for (const r of rows) if (!first.has(r.entry)) first.set(r.entry, r)
  return [...first.values()].sort((a, b) => a.entry < b.entry ? -1 : a.entry > b.entry ? 1 : 0)
}

/** Every ref of `entry` (it may be on the list more than once: concurrent admins, or sealed under two epochs). */
export async function allowRefs (group: Group, keyring: Keyring, entry: string): Promise<Array<Buffer | string>> {
  const refs: Array<Buffer | string> = (await group.bridgeAllowlist()).filter(r => r.entry === entry).map(r => r.entry)
  for (const r of await group.sealedBridgeAllowlist()) if (openBridgeEntry(keyring, r.sealed) === entry) refs.push(b4a.from(r.tag, 'hex'))
  return refs
}

/** The entry that lets `jid` in (the JID itself before its domain), or null. */
export function allowingEntry (list: OpenedAllowEntry[], jid: string): OpenedAllowEntry | null {
  const domain = jid.slice(jid.indexOf('@') + 1)
  return list.find(r => r.entry === jid) ?? list.find(r => r.entry === domain) ?? null
}

export function isAllowed (list: OpenedAllowEntry[], jid: string): boolean {
  return bridgeAllows(list.map(r => r.entry), jid)
}

/** A `bridge/allow` with the entry sealed under `epoch` and its tag. */
export function sealedAllow (keyring: Keyring, epoch: number, discoveryKey: Uint8Array, entry: string, ts: number): BridgeAllow {
  const sealed = keyring.seal(epoch, 'bridge-entry', b4a.from(entry))
  return { t: 'bridge/allow', sealed, tag: bridgeTag(keyring.get(epoch)!, discoveryKey, epoch, entry), ts }
}

/** A `bridge/revoke` of one ref of an entry. */
export function revokeRef (ref: Buffer | string, ts: number): BridgeAllow {
  return typeof ref === 'string' ? { t: 'bridge/revoke', entry: ref, ts } : { t: 'bridge/revoke', tag: ref, ts }
}

/** The sealed sender of a `bridge/post`. */
export function sealSender (keyring: Keyring, epoch: number, jid: string, nick?: string): Sealed {
  return keyring.seal(epoch, 'bridge-sender', senderPlaintext(jid, nick))
}

/** Whether `memberHex` is registered as the group's bridge. */
export async function isRegisteredBridge (group: Group, memberHex: string): Promise<boolean> {
  return (await group.bridgeMembers()).some(r => r.member === memberHex)
}
