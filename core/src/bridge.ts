/**
 * XMPP bridge rules that every peer applies the same way (no I/O here): the syntax of the
 * allowlist entries kept in group state (`bridge/allow`, `bridge/revoke`), whether a JID is
 * allowed by them, and the deterministic message id of a bridged stanza. The bridge itself
 * (an XEP-0114 component) lives in relay/src/xmpp.
 */
import b4a from 'b4a'
import sodium from 'sodium-universal'

/** Characters of an allowlist entry or a bridged JID (a bare JID; RFC 7622 allows 3071 bytes, nobody needs that). */
export const MAX_JID = 255
/** Characters of the nickname a Jabber user chose in a room. */
export const MAX_NICK = 64

const LABEL = '[\\p{Ll}\\p{Lo}\\p{N}](?:[\\p{Ll}\\p{Lo}\\p{N}-]*[\\p{Ll}\\p{Lo}\\p{N}])?'
const DOMAIN = new RegExp(`^${LABEL}(?:\\.${LABEL})*$`, 'u')
/** RFC 7622 localpart: no spaces, controls, or the characters " & ' / : < > @. */
const LOCAL = /^[^\s\p{Cc}"&'/:<>@]+$/u

/**
 * A bare JID (`user@domain`) or a domain, in the form stored in group state: Unicode NFKC,
 * lower case (a simplification of nodeprep/nameprep, which compare case-insensitively),
 * without a resource. Returns null if `text` is neither.
 */
export function normalizeBridgeEntry (text: unknown): string | null {
  if (typeof text !== 'string') return null
  const s = text.trim().normalize('NFKC').toLowerCase()
  if (s.length === 0 || s.length > MAX_JID) return null
  const at = s.indexOf('@')
  if (at === -1) return DOMAIN.test(s) ? s : null
  const local = s.slice(0, at)
  const domain = s.slice(at + 1)
  return LOCAL.test(local) && DOMAIN.test(domain) ? s : null
}

/** A bare JID (not a bare domain) in stored form, or null. */
export function normalizeBareJid (text: unknown): string | null {
  const s = normalizeBridgeEntry(text)
  return s !== null && s.includes('@') ? s : null
}

/** Whether `jid` (a bare JID in stored form) is allowed by the entries: the JID itself or its whole domain. */
export function bridgeAllows (entries: Iterable<string>, jid: string): boolean {
  const domain = jid.slice(jid.indexOf('@') + 1)
  for (const e of entries) if (e === jid || e === domain) return true
  return false
}

/**
 * The Solidar message id of a bridged stanza: BLAKE2b-128 over the conversation, the sender's
 * bare JID and the stanza id, base64url (22 characters). The same stanza forwarded again (the
 * bridge restarted before it remembered having forwarded it, or the client resent it) gets the
 * same id, which apply refuses as a duplicate: nothing appears twice.
 */
export function bridgedMessageId (conversation: string, jid: string, stanzaId: string): string {
  const out = b4a.alloc(16)
  sodium.crypto_generichash(out, b4a.from(`solidar/xmpp-bridge/v1\n${conversation}\n${jid}\n${stanzaId}`))
  return b4a.toString(out, 'base64url')
}
