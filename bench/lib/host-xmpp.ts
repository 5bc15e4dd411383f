/**
 * @xmpp/client users inside a worker process: the Prosody baseline. Each user logs in to the
 * run's own Prosody on 127.0.0.1, joins the MUC room (no history) and reports every
 * groupchat message with a benchmark tag the moment its stanza arrives.
 */
import { client, xml } from '@xmpp/client'
import { now } from './clock.ts'
import { sendPaced, tagOf, type PacedArgs } from './pace.ts'

interface User { id: string, xmpp: any, room: string }
const users = new Map<string, User>()

function user (id: string): User {
  const u = users.get(id)
  if (!u) throw new Error(`no XMPP user ${id} in this worker`)
  return u
}

function groupchat (room: string, text: string) {
  return xml('message', { to: room, type: 'groupchat' }, xml('body', {}, text))
}

export const ops = {
  async connect ({ id, port, domain, username, password, room }: { id: string, port: number, domain: string, username: string, password: string, room: string }, emit: (e: string, d: unknown) => void) {
    // A resource of its own per connection: a later chat reusing the account never collides with an earlier session.
    const xmpp = client({ service: `xmpp://127.0.0.1:${port}`, domain, resource: `${id}-${Date.now().toString(36)}`, username, password })
    xmpp.on('error', (err: any) => emit('log', { node: id, line: `xmpp error: ${err?.message ?? err}` }))
    xmpp.reconnect?.stop?.()
    let joined: () => void = () => {}
    const inRoom = new Promise<void>((resolve) => { joined = resolve })
    xmpp.on('stanza', (stanza: any) => {
      if (stanza.is('message') && stanza.attrs.type === 'groupchat') {
        const body = stanza.getChildText('body')
        const tag = typeof body === 'string' ? tagOf(body) : null
        if (tag !== null) emit('recv', { node: id, tag, t: now() })
        return
      }
      // Our own presence in the room (status 110) means we are in.
      if (stanza.is('presence') && typeof stanza.attrs.from === 'string' && stanza.attrs.from.startsWith(room + '/')) {
        const x = stanza.getChild('x', 'http://jabber.org/protocol/muc#user')
        if (x && x.getChildren('status').some((s: any) => s.attrs.code === '110')) joined()
      }
    })
    await xmpp.start()
    xmpp.socket?.setNoDelay?.(true) // no Nagle on our side either (see prosody.ts)
    await xmpp.send(xml('presence', { to: `${room}/${id}` },
      xml('x', { xmlns: 'http://jabber.org/protocol/muc' }, xml('history', { maxstanzas: '0' }))))
    let timer: NodeJS.Timeout | undefined
    await Promise.race([inRoom, new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`${id}: no room join after 20 s`)), 20_000) })])
    clearTimeout(timer)
    users.set(id, { id, xmpp, room })
    return { id }
  },

  async send ({ id, text }: { id: string, text: string }) {
    const u = user(id)
    const t0 = now()
    await u.xmpp.send(groupchat(u.room, text))
    return { t0, t1: now() }
  },

  async sendPaced ({ id, ...paced }: { id: string } & PacedArgs, emit: (e: string, d: unknown) => void) {
    const u = user(id)
    return sendPaced(paced, (text) => u.xmpp.send(groupchat(u.room, text)), emit)
  },

  async close ({ id }: { id: string }) {
    const u = users.get(id)
    if (!u) return
    users.delete(id)
    await u.xmpp.stop().catch(() => {})
  }
}

export async function shutdown () {
  for (const id of [...users.keys()]) await ops.close({ id }).catch(() => {})
}
