/**
 * The XMPP bridge's side of a node (relay/src/xmpp uses it): a group's allowlist of Jabber
 * users and domains (sealed, bridge-admin.ts), which member is the group's bridge, and the
 * bridged posts and direct messages a Jabber user writes through it (idempotent by the id the
 * bridge chooses). A service over a narrow host, like Pads and Meetings: the facade (solidar.ts)
 * wires it and delegates the SolidarApi methods to it.
 */
import b4a from 'b4a'
import { checkText, isMessageId } from './commands.ts'
import { MAX_NICK, normalizeBareJid, normalizeBridgeEntry } from './bridge.ts'
import { allowingEntry, allowRefs, isAllowed, isRegisteredBridge, readAllowlist, revokeRef, sealedAllow, sealSender } from './bridge-admin.ts'
import type { Keyring } from './content.ts'
import { encodeKey, decodeKey } from './ids.ts'
import { errors } from './errors.ts'
import type { Group } from './group.ts'
import type { BridgeAllowEntry, BridgeRegistration, MemberId, MessageView } from './types.ts'
import { describe } from './describe.ts'

/** A log as the bridge service sees it. */
export interface BridgeLog { group: Group, keyring: Keyring, kind: 'group' | 'dm' | 'vault' }

export interface BridgeHost {
  /** The group `ref` names, reopened if its storage had failed. */
  group (ref: string): Promise<BridgeLog>
  /** The member `ref` names (hex), never this device's own member (BAD_REQUEST). */
  dmPeer (ref: string): Promise<string>
  /** The DM log to write to with `peer` (opened if none is writable), and every DM log with them. */
  dmLogs (peer: string): Promise<{ write: BridgeLog, all: BridgeLog[] }>
  /** Opens the epoch keys of `log` this device was given since the last look. */
  refreshKeys (log: BridgeLog): Promise<void>
  requireAdmin (log: BridgeLog, what: string): Promise<void>
  /** The epoch to seal metadata under (starts a due epoch first). */
  metadataEpoch (log: BridgeLog): Promise<number>
  /** The current epoch, or NOT_PERMITTED without its key. */
  currentEpoch (log: BridgeLog): Promise<number>
  append (log: BridgeLog, cmd: Parameters<Group['append']>[0]): Promise<void>
  /** The message with `id` in `log` as members see it (MESSAGE_NOT_FOUND if none). */
  messageView (log: BridgeLog, id: string): Promise<MessageView>
  /** This device's member (hex). */
  self (): string
  now (): number
}

/** A Jabber user's message as the XMPP bridge hands it to `sendBridged` / `dmBridged`. */
export interface BridgedText {
  /** Chosen by the bridge, deterministic per stanza (8–64 url-safe characters). */
  id: string
  text: string
  /** The sender's bare JID. */
  jid: string
  /** The sender's room nickname. */
  nick?: string
  replyTo?: string
}

const z32OfHex = (h: string): MemberId => encodeKey(b4a.from(h, 'hex')) as MemberId

export class BridgeService {
  readonly #host: BridgeHost
  constructor (host: BridgeHost) { this.#host = host }

  /** The group's bridge allowlist: bare JIDs and domains whose users may use its XMPP bridge. */
  async allowlist (ref: string): Promise<BridgeAllowEntry[]> {
    const log = await this.#host.group(ref)
    await this.#host.refreshKeys(log)
    return (await readAllowlist(log.group, log.keyring)).map(r => ({ entry: r.entry, addedBy: z32OfHex(r.by), ts: r.ts }))
  }

  /** Admins: allow a bare JID or a whole domain (sealed under the current epoch). */
  async allow (ref: string, text: string): Promise<BridgeAllowEntry[]> {
    const entry = checkBridgeEntry(text)
    const log = await this.#host.group(ref)
    await this.#host.requireAdmin(log, 'change the bridge allowlist')
    await this.#host.refreshKeys(log)
    if ((await readAllowlist(log.group, log.keyring)).some(r => r.entry === entry)) throw errors.badRequest(`${entry} is already on the bridge allowlist`)
    const epoch = await this.#host.metadataEpoch(log)
    await this.#host.append(log, sealedAllow(log.keyring, epoch, log.group.discoveryKey, entry, this.#host.now()))
    return this.allowlist(ref)
  }

  /** Admins: take a bare JID or domain off the allowlist (exactly as it was added). */
  async revoke (ref: string, text: string): Promise<BridgeAllowEntry[]> {
    const entry = checkBridgeEntry(text)
    const log = await this.#host.group(ref)
    await this.#host.requireAdmin(log, 'change the bridge allowlist')
    await this.#host.refreshKeys(log)
    const refs = await allowRefs(log.group, log.keyring, entry)
    if (refs.length === 0) throw errors.badRequest(`${entry} is not on the bridge allowlist`)
    for (const r of refs) await this.#host.append(log, revokeRef(r, this.#host.now()))
    return this.allowlist(ref)
  }

  /** Whether the user with this (bare or full) JID may use the group's bridge. */
  async allowed (ref: string, jid: string): Promise<boolean> {
    const bare = normalizeBareJid(typeof jid === 'string' ? jid.split('/')[0] : jid)
    if (bare === null) return false
    const log = await this.#host.group(ref)
    await this.#host.refreshKeys(log)
    return isAllowed(await readAllowlist(log.group, log.keyring), bare)
  }

  /** The members registered as the group's XMPP bridge (only they may post bridged messages). */
  async members (ref: string): Promise<BridgeRegistration[]> {
    const { group } = await this.#host.group(ref)
    return (await group.bridgeMembers()).map(r => ({ member: z32OfHex(r.member), addedBy: z32OfHex(r.by), ts: r.ts }))
  }

  /** Admins: name the member (by id: it may not have joined yet) that is the group's bridge, or stop naming it. */
  async register (ref: string, memberRef: string, register = true): Promise<BridgeRegistration[]> {
    const log = await this.#host.group(ref)
    await this.#host.requireAdmin(log, 'register the group\'s bridge')
    const member = b4a.toString(decodeKey(memberRef, 'member id'), 'hex')
    const registered = await isRegisteredBridge(log.group, member)
    if (register && registered) throw errors.badRequest(`${z32OfHex(member)} is already registered as this group's bridge`)
    if (!register && !registered) throw errors.badRequest(`${z32OfHex(member)} is not registered as this group's bridge`)
    await this.#host.append(log, { t: register ? 'bridge/register' : 'bridge/unregister', member: b4a.from(member, 'hex'), ts: this.#host.now() })
    return this.members(ref)
  }

  /** What a Jabber user wrote in a room; posting the same id again changes nothing (`duplicate: true`). */
  async send (ref: string, msg: BridgedText & { room: string }): Promise<{ message: MessageView, duplicate: boolean }> {
    const log = await this.#host.group(ref)
    if (!(await log.group.room(msg.room))) throw errors.roomNotFound(msg.room)
    return this.#post([log], log, msg.room, msg)
  }

  /** A Jabber user's direct message to a member (idempotent by `id` like `send`). */
  async dm (ref: string, msg: BridgedText, room: string): Promise<{ message: MessageView, duplicate: boolean }> {
    const peer = await this.#host.dmPeer(ref)
    checkText(msg.text) // before a DM log may be opened for it
    const { write, all } = await this.#host.dmLogs(peer)
    return this.#post(all, write, room, msg)
  }

  async #post (seen: BridgeLog[], log: BridgeLog, room: string, msg: BridgedText): Promise<{ message: MessageView, duplicate: boolean }> {
    const plain = checkText(msg.text)
    const jid = normalizeBareJid(msg.jid)
    if (jid === null) throw errors.badRequest(`"${describe(msg.jid, 80)}" is not a bare JID`)
    if (!isMessageId(msg.id)) throw errors.badRequest('message ids are 8 to 64 characters A-Z a-z 0-9 _ -')
    if (msg.nick !== undefined && (typeof msg.nick !== 'string' || msg.nick.trim() === '' || msg.nick.length > MAX_NICK || /\p{Cc}/u.test(msg.nick))) {
      throw errors.badRequest(`nicknames are 1 to ${MAX_NICK} characters without control characters`)
    }
    for (const l of seen) {
      if (await l.group.messageById(msg.id)) return { message: await this.#host.messageView(l, msg.id), duplicate: true }
    }
    if (msg.replyTo !== undefined && (!isMessageId(msg.replyTo) || !(await log.group.messageById(msg.replyTo)))) throw errors.messageNotFound(describe(msg.replyTo, 64))
    const epoch = await this.#host.currentEpoch(log)
    let allow: Buffer | string | undefined
    if (log.kind === 'group') {
      const self = this.#host.self()
      if (!(await isRegisteredBridge(log.group, self))) throw errors.notPermitted(`This node is not registered as the group's bridge: an admin runs \`solidar relay register GROUP ${z32OfHex(self)}\``)
      const entry = allowingEntry(await readAllowlist(log.group, log.keyring), jid)
      if (entry === null) throw errors.notPermitted(`${jid} is not on the bridge allowlist`)
      allow = entry.ref
    }
    const body = log.keyring.seal(epoch, 'message', b4a.from(plain))
    await this.#host.append(log, {
      t: 'bridge/post', id: msg.id, room, body, from: sealSender(log.keyring, epoch, jid, msg.nick), ts: this.#host.now(),
      ...(allow !== undefined ? { allow } : {}), ...(msg.replyTo !== undefined ? { replyTo: msg.replyTo } : {})
    })
    return { message: await this.#host.messageView(log, msg.id), duplicate: false }
  }
}

function checkBridgeEntry (text: string): string {
  const entry = normalizeBridgeEntry(text)
  if (entry === null) throw errors.badRequest(`"${describe(text, 80)}" is neither a bare JID (user@example.org, no /resource) nor a domain (example.org)`)
  return entry
}
