/**
 * Stanza builders and parsing helpers for the bridge: XMPP errors (RFC 6120 §8.3), MUC
 * presence (XEP-0045), delayed delivery (XEP-0203), unique ids (XEP-0359), and the address
 * form of members (XEP-0106 escaping of display names).
 */
import xmppComponent from '@xmpp/component'

export const { xml, jid } = xmppComponent as unknown as { xml: XmlFactory, jid: JidFactory }

/** The parts of @xmpp/xml's Element the bridge uses (the package ships no types). */
export interface Element {
  name: string
  attrs: Record<string, string | undefined>
  children: Array<Element | string>
  is (name: string, xmlns?: string): boolean
  getChild (name: string, xmlns?: string): Element | undefined
  getChildren (name: string, xmlns?: string): Element[]
  getChildText (name: string, xmlns?: string): string | null
  text (): string
  toString (): string
}
type XmlFactory = (name: string, attrs?: Record<string, string | undefined>, ...children: Array<Element | string | null | undefined>) => Element
export interface Jid { local: string, domain: string, resource: string, bare (): Jid, toString (unescape?: boolean): string, getLocal (unescape?: boolean): string }
type JidFactory = ((s: string) => Jid) & { escapeLocal (s: string): string, unescapeLocal (s: string): string }

export const NS = {
  muc: 'http://jabber.org/protocol/muc',
  mucUser: 'http://jabber.org/protocol/muc#user',
  stanzas: 'urn:ietf:params:xml:ns:xmpp-stanzas',
  delay: 'urn:xmpp:delay',
  sid: 'urn:xmpp:sid:0',
  discoInfo: 'http://jabber.org/protocol/disco#info',
  discoItems: 'http://jabber.org/protocol/disco#items',
  ping: 'urn:xmpp:ping',
  correct: 'urn:xmpp:message-correct:0',
  retract: 'urn:xmpp:message-retract:1',
  fallback: 'urn:xmpp:fallback:0'
} as const

/** RFC 6120 §8.3.3 conditions the bridge uses, with their error type. */
export const CONDITIONS = {
  'bad-request': 'modify',
  conflict: 'cancel',
  forbidden: 'auth',
  'item-not-found': 'cancel',
  'jid-malformed': 'modify',
  'not-acceptable': 'modify',
  'not-allowed': 'cancel',
  'policy-violation': 'modify',
  'registration-required': 'auth',
  'internal-server-error': 'cancel',
  'service-unavailable': 'cancel',
  'feature-not-implemented': 'cancel'
} as const
export type Condition = keyof typeof CONDITIONS

/** A stanza that cannot be handled: the bridge answers it with this condition. */
export class StanzaError extends Error {
  constructor (readonly condition: Condition, text: string) { super(text) }
}

/** An <error/> element with its condition and a human-readable text. */
export function errorElement (condition: Condition, text: string): Element {
  return xml('error', { type: CONDITIONS[condition] },
    xml(condition, { xmlns: NS.stanzas }),
    xml('text', { xmlns: NS.stanzas, 'xml:lang': 'en' }, text))
}

/** The error reply to `stanza` (same kind and id, addresses swapped), as RFC 6120 §8.3 describes. */
export function errorReply (stanza: Element, condition: Condition, text: string): Element {
  const { from, to, id } = stanza.attrs
  return xml(stanza.name, { from: to, to: from, id, type: 'error' }, errorElement(condition, text))
}

export interface Affiliation { affiliation: 'owner' | 'admin' | 'member' | 'none', role: 'moderator' | 'participant' | 'visitor' | 'none' }

/** An occupant's presence as XEP-0045 §7.2.3 sends it (semi-anonymous room: no real JIDs). */
export function occupantPresence (from: string, to: string, item: Affiliation, opts: { unavailable?: boolean, codes?: string[], newNick?: string } = {}): Element {
  return xml('presence', { from, to, ...(opts.unavailable === true ? { type: 'unavailable' } : {}) },
    xml('x', { xmlns: NS.mucUser },
      xml('item', { affiliation: item.affiliation, role: opts.unavailable === true ? 'none' : item.role, ...(opts.newNick !== undefined ? { nick: opts.newNick } : {}) }),
      ...(opts.codes ?? []).map(code => xml('status', { code }))))
}

export function groupchat (from: string, to: string, id: string, body: string, opts: { room: string, stanzaId: string, delayed?: number, replaces?: string }): Element {
  return xml('message', { from, to, id, type: 'groupchat' },
    xml('body', {}, body),
    xml('stanza-id', { xmlns: NS.sid, id: opts.stanzaId, by: opts.room }),
    opts.replaces !== undefined ? xml('replace', { xmlns: NS.correct, id: opts.replaces }) : null,
    opts.delayed !== undefined ? xml('delay', { xmlns: NS.delay, from: opts.room, stamp: new Date(opts.delayed).toISOString() }) : null)
}

/** The id a client gave its message: origin-id (XEP-0359) if present, else the stanza id. */
export function clientMessageId (stanza: Element): string | null {
  const origin = stanza.getChild('origin-id', NS.sid)?.attrs.id
  return typeof origin === 'string' && origin !== '' ? origin : (stanza.attrs.id ?? null) || null
}

/** Parses a JID; a malformed one is a `jid-malformed` error. */
export function parseJid (text: string | undefined, what: string): Jid {
  if (typeof text !== 'string' || text === '') throw new StanzaError('jid-malformed', `missing ${what}`)
  try {
    return jid(text)
  } catch {
    throw new StanzaError('jid-malformed', `malformed ${what}`)
  }
}

/** XEP-0106: the local part that stands for a display name ("Maria Schmidt" → maria\20schmidt). */
export function memberLocal (name: string): string {
  return jid.escapeLocal(name.normalize('NFKC').toLowerCase())
}

/** XEP-0424: the message with stanza-id `id` was deleted (with a fallback body for older clients). */
export function retraction (from: string, to: string, id: string, type: 'groupchat' | 'chat'): Element {
  return xml('message', { from, to, id: `retract-${id}`, type },
    xml('retract', { xmlns: NS.retract, id }),
    xml('fallback', { xmlns: NS.fallback, for: NS.retract }),
    xml('body', {}, 'This message was deleted.'),
    xml('store', { xmlns: 'urn:xmpp:hints' }))
}
