/**
 * A Jabber user for tests: @xmpp/client logged in to the test's Prosody on 127.0.0.1 that
 * records every stanza it receives, with bounded waits for the ones a test expects.
 */
import { client, xml } from '@xmpp/client'
import { waitFor } from './wait.ts'

export { xml }

/** The subset of @xmpp/xml's Element the tests read. */
export interface Stanza {
  name: string
  attrs: Record<string, string | undefined>
  is (name: string, xmlns?: string): boolean
  getChild (name: string, xmlns?: string): Stanza | undefined
  getChildren (name: string, xmlns?: string): Stanza[]
  getChildText (name: string, xmlns?: string): string | null
  toString (): string
}

export const MUC = 'http://jabber.org/protocol/muc'
export const MUC_USER = 'http://jabber.org/protocol/muc#user'
export const STANZAS = 'urn:ietf:params:xml:ns:xmpp-stanzas'

/** The error condition of an error stanza (e.g. 'forbidden'), or null. */
export function errorCondition (s: Stanza): string | null {
  const error = s.getChild('error')
  if (!error) return null
  const child = (error as any).children.find((c: any) => typeof c !== 'string' && c.attrs.xmlns === STANZAS && c.name !== 'text')
  return child?.name ?? null
}

export class JabberUser {
  readonly jid: string
  readonly received: Stanza[] = []
  readonly xmpp: any
  #id = 0

  private constructor (jid: string, xmpp: any) {
    this.jid = jid
    this.xmpp = xmpp
  }

  /** Logs in as user@domain with a resource of its own. */
  static async connect (opts: { port: number, domain: string, username: string, password: string, resource: string }): Promise<JabberUser> {
    const xmpp = client({ service: `xmpp://127.0.0.1:${opts.port}`, domain: opts.domain, resource: opts.resource, username: opts.username, password: opts.password })
    xmpp.reconnect?.stop?.() // the tests reconnect explicitly, with a new client
    xmpp.on('error', () => {}) // a server going away is part of the tests
    const user = new JabberUser(`${opts.username}@${opts.domain}/${opts.resource}`, xmpp)
    xmpp.on('stanza', (s: Stanza) => { user.received.push(s) })
    await xmpp.start()
    await xmpp.send(xml('presence', {}))
    return user
  }

  nextId (prefix = 'm'): string { return `${prefix}-${++this.#id}-${Math.random().toString(36).slice(2, 8)}` }

  send (stanza: unknown): Promise<void> { return this.xmpp.send(stanza) }

  /** Waits for a received stanza matching `match` (searching from index `from`). */
  async expect (match: (s: Stanza) => boolean, what: string, opts: { from?: number, timeout?: number } = {}): Promise<Stanza> {
    return waitFor(() => this.received.slice(opts.from ?? 0).find(match), { what: `${this.jid}: ${what}`, timeout: opts.timeout ?? 20_000, interval: 25 })
  }

  /** Joins `room` as `nick`; resolves with its own presence (status 110), or the error presence. */
  async join (room: string, nick: string, history: Record<string, string> = { maxstanzas: '20' }, timeout = 20_000): Promise<Stanza> {
    const from = this.received.length
    await this.send(xml('presence', { to: `${room}/${nick}` }, xml('x', { xmlns: MUC }, xml('history', history))))
    return this.expect(s => s.is('presence') && s.attrs.from === `${room}/${nick}` &&
      (s.attrs.type === 'error' || (s.getChild('x', MUC_USER)?.getChildren('status') ?? []).some(st => st.attrs.code === '110')), `own presence in ${room}`, { from, timeout })
  }

  /** Groupchat bodies received from `room`, with the sender's nick and whether it was history (delay). */
  groupchat (room: string): Array<{ nick: string, body: string, id: string | undefined, stanzaId: string | undefined, delayed: boolean }> {
    return this.received.filter(s => s.is('message') && s.attrs.type === 'groupchat' && (s.attrs.from ?? '').startsWith(`${room}/`) && s.getChildText('body') !== null)
      .map(s => ({
        nick: s.attrs.from!.slice(room.length + 1),
        body: s.getChildText('body')!,
        id: s.attrs.id,
        stanzaId: s.getChild('stanza-id', 'urn:xmpp:sid:0')?.attrs.id,
        delayed: s.getChild('delay', 'urn:xmpp:delay') !== undefined
      }))
  }

  async stop (): Promise<void> {
    await this.xmpp.stop().catch(() => {})
  }
}
