/**
 * Metadata sealed under the current content epoch, like message text (content.ts): group
 * renames, display names of members admitted later, XMPP bridge allowlist entries and the
 * JIDs and nicknames of bridged senders. A member removed before that epoch keeps the log key
 * and sees that these entries exist, but not what they say (docs/SECURITY.md).
 *
 * `apply` never opens anything (it runs on peers without the key, and must reach the same
 * state everywhere); what it must compare it compares by a keyed hash, `bridgeTag`, which
 * only holders of the epoch key can compute. Readers open with the keyring of their device
 * and fall back to what an older entry said in clear (see `revealMeta`).
 */
import b4a from 'b4a'
import sodium from 'sodium-universal'
import { decode, encode } from './codec.ts'
import { normalizeBareJid, normalizeBridgeEntry, MAX_NICK } from './bridge.ts'
import type { Keyring, Sealed } from './content.ts'
import type { GroupMeta, MemberRecord, MessageRecord } from './view.ts'

/** Sealed renames a group keeps: enough to show the newest one a reader holds the key of (older renames fall off). */
export const MAX_SEALED_NAMES = 8
/** What a reader shows for a member whose name is sealed under an epoch it does not hold. */
export const HIDDEN_NAME = '?'

/**
 * The allowlist tag of `entry` (a bare JID or a domain in stored form) under one epoch's key:
 * BLAKE2b-256 keyed with the epoch key over the log's discovery key, the epoch and the entry.
 * Equal entries of one epoch have equal tags; without the key a tag says nothing about its entry.
 */
export function bridgeTag (epochKey: Uint8Array, discoveryKey: Uint8Array, epoch: number, entry: string): Buffer {
  const out = b4a.alloc(32)
  sodium.crypto_generichash(out, b4a.from(`solidar/bridge-tag/v1\n${b4a.toString(discoveryKey, 'hex')}\n${epoch}\n${entry}`), epochKey)
  return out
}

function openText (keyring: Keyring, sealed: Sealed, kind: 'group-name' | 'member-name' | 'bridge-entry'): string | null {
  const plain = keyring.open(sealed, kind)
  return plain ? b4a.toString(plain) : null
}

/** The group's name as this device may read it: the newest sealed rename it can open, else the name in clear. */
export function revealMeta (meta: GroupMeta, keyring: Keyring | null): GroupMeta {
  if (!meta.sealedNames || meta.sealedNames.length === 0) return meta
  if (keyring) {
    for (let i = meta.sealedNames.length - 1; i >= 0; i--) {
      const name = openText(keyring, meta.sealedNames[i], 'group-name')
      if (name !== null) return { ...meta, name }
    }
  }
  return meta
}

/** A member record with its display name opened (HIDDEN_NAME when sealed under an epoch this device lacks). */
export function revealMember (m: MemberRecord, keyring: Keyring | null): MemberRecord {
  if (!m.sealedName) return m
  const name = keyring ? openText(keyring, m.sealedName, 'member-name') : null
  return { ...m, name: name ?? HIDDEN_NAME }
}

/** A bridged sender, `{jid, nick?}`, for sealing (kind 'bridge-sender'). */
export function senderPlaintext (jid: string, nick?: string): Buffer {
  return encode(nick !== undefined ? { jid, nick } : { jid })
}

/**
 * Who wrote a bridged message: in clear (older entries) or opened; `{ jid: '' }` when it is
 * sealed under an epoch this device lacks or does not hold a valid sender; undefined when the
 * message was not bridged.
 */
export function revealBridged (m: MessageRecord, keyring: Keyring | null): { jid: string, nick?: string } | undefined {
  if (m.bridged) return m.bridged
  if (!m.bridgedSealed) return undefined
  const plain = keyring?.open(m.bridgedSealed, 'bridge-sender') ?? null
  const p = plain ? decode(plain) as any : null
  const jid = normalizeBareJid(p?.jid)
  if (jid === null) return { jid: '' }
  const nick = typeof p.nick === 'string' && p.nick.length <= MAX_NICK ? p.nick : undefined
  return nick !== undefined ? { jid, nick } : { jid }
}

/** A sealed allowlist entry, opened and checked, or null. */
export function openBridgeEntry (keyring: Keyring, sealed: Sealed): string | null {
  const text = openText(keyring, sealed, 'bridge-entry')
  const entry = normalizeBridgeEntry(text)
  return entry !== null && entry === text ? entry : null
}
