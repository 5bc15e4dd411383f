/**
 * The XMPP bridge against a real Prosody (Debian's package) that the test starts and stops
 * itself on loopback, with its own config, ports and data folder. Two Jabber users
 * (@xmpp/client; anna and ben on the allowlist, eve not), two Solidar members (alice, admin,
 * and bob: `solidar serve` processes on a private loopback DHT), and the bridge (`solidar
 * relay xmpp`, its own home, admitted by invite).
 *
 * Checked: MUC messages both ways with occupant presence and history on join; DMs both ways;
 * eve refused with XMPP errors and nothing of hers in Solidar; malformed stanzas answered
 * with errors; restarting the bridge and restarting Prosody mid-conversation lose nothing and
 * duplicate nothing.
 */
import { describe, it, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { Cluster, type GroupRef, type LogEntry, type SolidarNode } from './helpers/cluster.ts'
import { solidarArgv, solidarOk, solidar, REPO_ROOT } from './helpers/cli.ts'
import { startProcess, type ManagedProcess } from './helpers/processes.ts'
import { PROSODY_BIN, Prosody } from './helpers/prosody.ts'
import { JabberUser, MUC, MUC_USER, errorCondition, xml, type Stanza } from './helpers/xmpp.ts'
import { waitFor } from './helpers/wait.ts'

const DOMAIN = 'localhost'
const BRIDGE = 'bridge.localhost'
const SECRET = randomBytes(12).toString('hex')
const CORRECT = 'urn:xmpp:message-correct:0'
const RETRACT = 'urn:xmpp:message-retract:1'
const ROOM = `general@${BRIDGE}`
const PASSWORDS: Record<string, string> = { anna: 'pw-anna', ben: 'pw-ben', eve: 'pw-eve' }
/** A second, independent XMPP client (Perl, Net::XMPP): Debian's sendxmpp. */
const SENDXMPP = fs.existsSync('/usr/bin/sendxmpp') ? '/usr/bin/sendxmpp' : null

interface BridgedEntry extends LogEntry { bridged?: { jid: string, nick?: string }, editedTs?: number, deleted?: boolean }

describe('XMPP bridge', { timeout: 300_000, skip: PROSODY_BIN === null ? 'prosody is not installed' : false }, () => {
  let cluster: Cluster
  let alice: SolidarNode
  let bob: SolidarNode
  let prosody: Prosody
  let bridgeHome: string
  let bridge: ManagedProcess | null = null
  let group: GroupRef
  let bridgeId: string
  const users: JabberUser[] = []
  const timings: Record<string, number> = {}

  const connect = async (name: string, resource: string): Promise<JabberUser> => {
    const u = await JabberUser.connect({ port: prosody.c2sPort, domain: DOMAIN, username: name, password: PASSWORDS[name], resource })
    users.push(u)
    return u
  }

  const startBridge = async (extra: string[] = []): Promise<void> => {
    const proc = startProcess(process.execPath, solidarArgv(bridgeHome, [
      'relay', 'xmpp', '--bootstrap', cluster.bootstrap, '--group', group.id, '--domain', BRIDGE,
      '--server', `127.0.0.1:${prosody.componentPort}`, '--secret', SECRET, '--verbose', ...extra
    ]), { name: 'bridge', cwd: REPO_ROOT })
    bridge = proc
    const line = (await proc.firstLine(90_000)).trim()
    assert.equal(line, `online ${BRIDGE}`, proc.describe())
  }

  /** Every process's output appended to a failure. */
  const withLogs = async <T>(fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn()
    } catch (err: any) {
      const extra = `\n\n=== process output ===\n${cluster?.describe()}\n\n${bridge?.describe() ?? ''}\n\n${prosody?.describe() ?? ''}`
      if (err instanceof Error) { err.message += extra; throw err }
      throw new Error(String(err) + extra)
    }
  }
  const step = async <T>(name: string, fn: () => Promise<T>): Promise<T> => {
    const started = Date.now()
    try { return await withLogs(fn) } finally { timings[name] = Date.now() - started }
  }

  /** Alice's log of the group, polled through the API until `ok` holds. */
  const aliceSees = (ok: (log: BridgedEntry[]) => boolean, what: string) =>
    waitFor(async () => {
      const log = await alice.apiList<BridgedEntry>(`/api/groups/${group.id}/messages`)
      return ok(log) ? log : null
    }, { what: `alice: ${what}`, timeout: 45_000, interval: 150 })

  const groupchat = (u: JabberUser, body: string, id = u.nextId()) =>
    u.send(xml('message', { to: ROOM, type: 'groupchat', id }, xml('body', {}, body)))

  before(async () => {
    cluster = await Cluster.start({ names: ['alice', 'bob'] })
    ;[alice, bob] = cluster.nodes
    bridgeHome = path.join(cluster.dir, 'bridge')
    await step('setup', async () => {
      prosody = await Prosody.create({ dir: path.join(cluster.dir, 'prosody'), domain: DOMAIN, components: { [BRIDGE]: SECRET } })
      await prosody.start()
      for (const [user, pw] of Object.entries(PASSWORDS)) await prosody.register(user, pw)
      group = await cluster.createGroup(alice, 'Works council', [bob])
      await solidarOk(bridgeHome, ['init', '--name', 'Jabber bridge'])
      bridgeId = JSON.parse(await solidarOk(bridgeHome, ['whoami', '--json'])).id
    })
  }, { timeout: 180_000 })

  after(async () => {
    for (const u of users) await u.stop()
    await bridge?.stop(10_000).catch(() => {})
    await prosody?.stop().catch(() => {})
    await cluster?.close()
    console.log(`# xmpp bridge timings (ms): ${JSON.stringify(timings)}`)
  })

  it('admins manage the allowlist; the bridge joins by invite and connects as a component', async () => {
    await step('allowlist', async () => {
      // Refusals through the API (the same routes the CLI uses; CLI processes are slow on a loaded box).
      const allowlist = `/api/groups/${group.id}/bridge/allowlist`
      const refused = await bob.api({ method: 'POST', path: allowlist, body: { entry: 'anna@localhost' } })
      assert.equal(refused.status, 403, refused.text)
      assert.match(refused.json.message ?? refused.text, /Only admins/)
      const bad = await alice.api({ method: 'POST', path: allowlist, body: { entry: 'anna@localhost/phone' } })
      assert.equal(bad.status, 400, bad.text)
      assert.match(bad.text, /neither a bare JID/)
      assert.match(await alice.ok(['relay', 'allow', group.id, 'Anna@Localhost']), /anna@localhost may now use the bridge/)
      assert.equal((await alice.api({ method: 'POST', path: allowlist, body: { entry: 'ben@localhost' } })).status, 201)
      const list = await alice.json<{ entries: Array<{ entry: string, addedBy: string }> }>(['relay', 'list', group.id])
      assert.deepEqual(list.entries.map(e => [e.entry, e.addedBy]), [['anna@localhost', alice.id], ['ben@localhost', alice.id]])
    })
    await step('bridge start', async () => {
      // The admin registers the bridge's id before it joins: only it may post Jabber users' messages.
      assert.match(await alice.ok(['relay', 'register', group.id, bridgeId]), /is now registered as this group's bridge/)
      // Written for the group only, before the bridge was admitted: never handed to the XMPP side.
      await alice.send(group.id, 'before the bridge was admitted')
      const code = await alice.ok(['invite', group.id])
      // A wrong component secret: Prosody refuses it (not-authorized) and closes the socket; the
      // bridge says why and exits, instead of retrying for ever behind the socket's error.
      const wrong = startProcess(process.execPath, solidarArgv(bridgeHome, [
        'relay', 'xmpp', '--bootstrap', cluster.bootstrap, '--group', group.id, '--domain', BRIDGE,
        '--server', `127.0.0.1:${prosody.componentPort}`, '--secret', 'not-the-secret', '--join', code
      ]), { name: 'bridge-wrong-secret', cwd: REPO_ROOT })
      const exit = await Promise.race([wrong.exited, new Promise<null>((resolve) => setTimeout(() => resolve(null), 90_000))])
      if (exit === null) await wrong.stop(5_000)
      assert.notEqual(exit, null, `a refused secret ends the bridge: ${wrong.describe()}`)
      assert.equal(exit!.code, 1, wrong.describe())
      assert.match(wrong.stderr, /refused the component bridge\.localhost \(not-authorized\): check the domain and secret/, wrong.describe())
      await startBridge(['--join', code])
      await alice.waitForMembers(group.id, [alice.id, bob.id, bridgeId])
      // The members list says which one is the bridge and what it does.
      const members = await alice.ok(['members', group.id])
      assert.match(members, /Jabber bridge \(XMPP bridge\)/)
      assert.match(members, /it decrypts what is written in the rooms and hands the text to its XMPP server/)
    })
  })

  it('MUC: presence of members, messages both ways, history on join', async () => {
    await step('muc', async () => {
      const before = await alice.send(group.id, 'before anyone joined')
      const anna = await connect('anna', 'laptop')
      // The bridge may not have replicated alice's first message yet: it then arrives live.
      const self = await anna.join(ROOM, 'Anna')
      assert.equal(self.attrs.type, undefined, self.toString())
      await anna.expect(s => s.is('presence') && s.attrs.from === `${ROOM}/alice` && s.getChild('x', MUC_USER)?.getChild('item')?.attrs.role === 'moderator', 'alice as a moderator occupant')
      await anna.expect(s => s.is('presence') && s.attrs.from === `${ROOM}/bob`, 'bob as an occupant')
      await anna.expect(s => s.is('message') && s.attrs.from === ROOM && s.getChildText('subject') === 'Works council: general', 'the subject')
      await anna.expect(() => anna.groupchat(ROOM).some(m => m.body === before.text && m.nick === 'alice'), 'alice\'s first message (history or live)')
      // The history came before the subject: what was written before the bridge was admitted is not in it.
      assert.equal(anna.groupchat(ROOM).some(m => m.body === 'before the bridge was admitted'), false, 'nothing from before the bridge joined')

      const fromAlice = await alice.send(group.id, 'hello jabber')
      await anna.expect(() => anna.groupchat(ROOM).some(m => m.body === 'hello jabber'), 'alice\'s message')
      const live = anna.groupchat(ROOM).find(m => m.body === 'hello jabber')!
      assert.deepEqual([live.nick, live.stanzaId, live.delayed], ['alice', fromAlice.id, false])

      await groupchat(anna, 'hello solidar', 'anna-1')
      const reflected = await anna.expect(s => s.is('message') && s.attrs.id === 'anna-1' && s.attrs.from === `${ROOM}/Anna`, 'the reflection of her message')
      const log = await aliceSees(l => l.some(m => m.text === 'hello solidar'), 'anna\'s message')
      const m = log.find(m => m.text === 'hello solidar')!
      assert.deepEqual([m.author, m.authorName, m.bridged], [bridgeId, 'Jabber bridge', { jid: 'anna@localhost', nick: 'Anna' }])
      assert.equal(reflected.getChild('stanza-id', 'urn:xmpp:sid:0')?.attrs.id, m.id)
      await bob.waitForLog(group.id, [m.id])
      const printed = await bob.ok(['log', group.id])
      assert.match(printed, /Anna <anna@localhost> via Jabber bridge: hello solidar/)

      const ben = await connect('ben', 'desktop')
      const benFrom = ben.received.length
      assert.equal((await ben.join(ROOM, 'Ben', { maxstanzas: '2' })).attrs.type, undefined)
      await ben.expect(s => s.is('message') && s.attrs.from === ROOM && s.getChild('subject') !== undefined, 'the subject, after the history', { from: benFrom })
      const history = ben.groupchat(ROOM)
      assert.deepEqual(history.map(h => [h.nick, h.body, h.delayed]), [['alice', 'hello jabber', true], ['Anna', 'hello solidar', true]])
      assert.ok(ben.received.slice(benFrom).some(s => s.is('presence') && s.attrs.from === `${ROOM}/Anna`), 'ben sees anna')
      await anna.expect(s => s.is('presence') && s.attrs.from === `${ROOM}/Ben` && s.attrs.type === undefined, 'anna sees ben join')
      await groupchat(ben, 'ben here')
      await anna.expect(() => anna.groupchat(ROOM).some(x => x.body === 'ben here' && x.nick === 'Ben'), 'ben\'s message reaches anna')
      await aliceSees(l => l.some(x => x.text === 'ben here' && x.bridged?.jid === 'ben@localhost'), 'ben\'s message')
    })
  })

  it('DMs both ways: NAME@bridge reaches the member, the member\'s reply reaches the Jabber user', async () => {
    await step('dm', async () => {
      const anna = users[0]
      await anna.send(xml('message', { to: `alice@${BRIDGE}`, type: 'chat', id: 'dm-1' }, xml('body', {}, 'psst alice')))
      const dms = await waitFor(async () => {
        const log = await alice.apiList<BridgedEntry>(`/api/dms/${bridgeId}/messages`)
        return log.some(m => m.text === 'psst alice') ? log : null
      }, { what: 'alice gets anna\'s DM', timeout: 45_000, interval: 150 })
      assert.deepEqual(dms.find(m => m.text === 'psst alice')!.bridged, { jid: 'anna@localhost' })
      await alice.ok(['dm', bridgeId, 'hi anna, alice here'])
      const reply = await anna.expect(s => s.is('message') && s.attrs.type === 'chat' && s.getChildText('body') === 'hi anna, alice here', 'alice\'s reply')
      assert.equal(reply.attrs.from, `alice@${BRIDGE}`)
      // Its stanza-id is the bridge's, not one claiming anna's own archive (XEP-0359 `by`).
      assert.equal(reply.getChild('stanza-id', 'urn:xmpp:sid:0')?.attrs.by, `alice@${BRIDGE}`)

      // bob writes to the bridge before any Jabber user wrote to him: he is told, nothing goes out
      await bob.ok(['dm', bridgeId, 'hello, anyone?'])
      await waitFor(async () => (await bob.apiList<BridgedEntry>(`/api/dms/${bridgeId}/messages`)).some(m => m.author === bridgeId && /^Not delivered/.test(m.text)),
        { what: 'bob is told his DM has no recipient', timeout: 45_000, interval: 150 })
      // a private message inside the room to a member's nickname is a DM to that member
      await anna.send(xml('message', { to: `${ROOM}/bob`, type: 'chat', id: 'pm-1' }, xml('body', {}, 'psst bob, from the room')))
      const bobs = await waitFor(async () => {
        const log = await bob.apiList<BridgedEntry>(`/api/dms/${bridgeId}/messages`)
        return log.find(m => m.text === 'psst bob, from the room')
      }, { what: 'bob gets anna\'s private room message', timeout: 45_000, interval: 150 })
      assert.deepEqual(bobs.bridged, { jid: 'anna@localhost', nick: 'Anna' })
      assert.ok(!users.some(u => u.received.some(st => st.getChildText('body') === 'hello, anyone?')), 'bob\'s undeliverable DM reached no Jabber user')
    })
  })

  it('edits and deletions both ways (XEP-0308 corrections, XEP-0424 retractions)', async () => {
    await step('edits', async () => {
      const [anna, ben] = users
      const m = await alice.send(group.id, 'typo here')
      await anna.expect(() => anna.groupchat(ROOM).some(x => x.body === 'typo here'), 'alice\'s message')
      await alice.ok(['edit', group.id, m.id, 'typo fixed'])
      const corrected = await anna.expect(s => s.is('message') && s.getChild('replace', CORRECT)?.attrs.id === m.id, 'the correction')
      assert.equal(corrected.getChildText('body'), 'typo fixed')
      await alice.ok(['delete', group.id, m.id])
      await anna.expect(s => s.is('message') && s.getChild('retract', RETRACT)?.attrs.id === m.id, 'the retraction')

      await groupchat(anna, 'anna tpyo', 'anna-typo')
      const mine = (await aliceSees(l => l.some(x => x.text === 'anna tpyo'), 'anna\'s message')).find(x => x.text === 'anna tpyo')!
      await anna.send(xml('message', { to: ROOM, type: 'groupchat', id: 'anna-typo-2' }, xml('body', {}, 'anna typo'), xml('replace', { xmlns: CORRECT, id: 'anna-typo' })))
      await aliceSees(l => l.some(x => x.id === mine.id && x.text === 'anna typo' && x.editedTs !== undefined), 'her correction')
      await ben.expect(s => s.is('message') && s.getChild('replace', CORRECT)?.attrs.id === 'anna-typo' && s.getChildText('body') === 'anna typo', 'ben sees her correction')
      // ben's correction of anna's message names his own stanza id space: no such message
      await ben.send(xml('message', { to: ROOM, type: 'groupchat', id: 'ben-forge' }, xml('body', {}, 'forged'), xml('replace', { xmlns: CORRECT, id: 'anna-typo' })))
      assert.equal(errorCondition(await ben.expect(s => s.attrs.id === 'ben-forge' && s.attrs.type === 'error', 'error for his correction')), 'item-not-found')
      await ben.send(xml('message', { to: ROOM, type: 'groupchat', id: 'ben-retract' }, xml('retract', { xmlns: RETRACT, id: mine.id }), xml('body', {}, 'x')))
      assert.equal(errorCondition(await ben.expect(s => s.attrs.id === 'ben-retract' && s.attrs.type === 'error', 'error for his retraction')), 'forbidden')
      await anna.send(xml('message', { to: ROOM, type: 'groupchat', id: 'anna-retract' }, xml('retract', { xmlns: RETRACT, id: mine.id }), xml('body', {}, 'This message was retracted')))
      await aliceSees(l => l.some(x => x.id === mine.id && x.deleted === true), 'her retraction')
      await ben.expect(s => s.is('message') && s.getChild('retract', RETRACT)?.attrs.id === mine.id, 'ben sees her retraction')
    })
  })

  it('a second client implementation (sendxmpp) reaches a member through the bridge', { skip: SENDXMPP === null ? 'sendxmpp is not installed (apt-get install sendxmpp)' : false }, async () => {
    await step('sendxmpp', async () => {
      // sendxmpp cannot join MUC rooms on Prosody 0.12: it sends a DM to bob, as ben.
      const text = `from sendxmpp ${randomBytes(3).toString('hex')}`
      const child = execFile(SENDXMPP!, ['-u', 'ben', '-p', PASSWORDS.ben, '-j', `127.0.0.1:${prosody.c2sPort}`, '-o', DOMAIN,
        '-r', 'perl', '--messages-type', 'chat', `bob@${BRIDGE}`], { timeout: 30_000 })
      child.stdin!.end(text + '\n')
      const code = await new Promise<number | null>(resolve => child.once('exit', resolve))
      assert.equal(code, 0, 'sendxmpp exits 0')
      const dms = await waitFor(async () => {
        const log = await bob.apiList<BridgedEntry>(`/api/dms/${bridgeId}/messages`)
        return log.some(m => m.text.trim() === text) ? log : null
      }, { what: 'bob gets the DM sendxmpp sent', timeout: 45_000, interval: 150 })
      assert.deepEqual(dms.find(m => m.text.trim() === text)!.bridged, { jid: 'ben@localhost' })
    })
  })

  it('a JID not on the allowlist gets XMPP errors and reaches nothing; malformed stanzas get errors', async () => {
    await step('refusals', async () => {
      const eve = await connect('eve', 'x')
      const joined = await eve.join(ROOM, 'Eve')
      assert.equal(joined.attrs.type, 'error')
      assert.equal(errorCondition(joined), 'registration-required')
      await groupchat(eve, 'eve in the room', 'eve-1')
      assert.equal(errorCondition(await eve.expect(s => s.attrs.id === 'eve-1' && s.attrs.type === 'error', 'error for her groupchat')), 'forbidden')
      await eve.send(xml('message', { to: `alice@${BRIDGE}`, type: 'chat', id: 'eve-2' }, xml('body', {}, 'eve to alice')))
      assert.equal(errorCondition(await eve.expect(s => s.attrs.id === 'eve-2' && s.attrs.type === 'error', 'error for her DM')), 'forbidden')
      await eve.send(xml('iq', { to: BRIDGE, type: 'get', id: 'eve-3' }, xml('query', { xmlns: 'http://jabber.org/protocol/disco#items' })))
      await eve.expect(s => s.attrs.id === 'eve-3' && s.attrs.type === 'error', 'error for her disco')
      assert.equal(errorCondition(await eve.expect(s => s.attrs.id === 'eve-3' && s.attrs.type === 'error', 'error for her disco')), 'forbidden', eve.received.filter(s => s.attrs.id === 'eve-3').map(String).join('\n'))
      assert.ok(!users[0].received.some(s => s.attrs.from === `${ROOM}/Eve`), 'anna never saw eve')

      const anna = users[0]
      const cases: Array<[string, Stanza | unknown, string]> = [
        ['subject change', xml('message', { to: ROOM, type: 'groupchat', id: 'bad-1' }, xml('subject', {}, 'new subject')), 'forbidden'],
        ['unknown room', xml('message', { to: `nowhere@${BRIDGE}`, type: 'groupchat', id: 'bad-2' }, xml('body', {}, 'x')), 'item-not-found'],
        ['unknown member', xml('message', { to: `nobody@${BRIDGE}`, type: 'chat', id: 'bad-3' }, xml('body', {}, 'x')), 'item-not-found'],
        ['join without nickname', xml('presence', { to: ROOM, id: 'bad-4' }, xml('x', { xmlns: MUC })), 'jid-malformed'],
        ['nickname of a member', xml('presence', { to: `${ROOM}/bob`, id: 'bad-5' }, xml('x', { xmlns: MUC })), 'conflict'],
        ['unknown iq', xml('iq', { to: BRIDGE, type: 'get', id: 'bad-6' }, xml('query', { xmlns: 'jabber:iq:version:nonsense' })), 'service-unavailable'],
        ['bad history request', xml('presence', { to: `${ROOM}/Anna`, id: 'bad-7' }, xml('x', { xmlns: MUC }, xml('history', { since: 'yesterday' }))), 'bad-request'],
        ['groupchat without joining', xml('message', { to: `random@${BRIDGE}`, type: 'groupchat', id: 'bad-8' }, xml('body', {}, 'x')), 'item-not-found'],
        // Protocol details clients rely on (issue 20 item 5):
        ['joining a room that does not exist', xml('presence', { to: `nowhere@${BRIDGE}/Anna`, id: 'bad-9' }, xml('x', { xmlns: MUC })), 'item-not-found'],
        ['self-ping (XEP-0410) as a nick one does not hold', xml('iq', { to: `${ROOM}/Ghost`, type: 'get', id: 'bad-10' }, xml('ping', { xmlns: 'urn:xmpp:ping' })), 'not-acceptable']
      ]
      for (const [what, stanza, condition] of cases) {
        await anna.send(stanza)
        const id = (stanza as any).attrs.id
        const err = await anna.expect(s => s.attrs.id === id && s.attrs.type === 'error', `error for: ${what}`)
        assert.equal(errorCondition(err), condition, `${what}: ${err.toString()}`)
      }
      // A self-ping as the nick one holds succeeds; the room says it takes corrections and retractions.
      await anna.send(xml('iq', { to: `${ROOM}/Anna`, type: 'get', id: 'ping-1' }, xml('ping', { xmlns: 'urn:xmpp:ping' })))
      assert.equal((await anna.expect(s => s.attrs.id === 'ping-1', 'the self-ping answer')).attrs.type, 'result')
      await anna.send(xml('iq', { to: ROOM, type: 'get', id: 'disco-1' }, xml('query', { xmlns: 'http://jabber.org/protocol/disco#info' })))
      const info = await anna.expect(s => s.attrs.id === 'disco-1' && s.attrs.type === 'result', 'the room\'s disco#info')
      const vars = info.getChild('query')!.getChildren('feature').map(f => f.attrs.var)
      for (const v of [CORRECT, RETRACT, 'urn:xmpp:ping']) assert.ok(vars.includes(v), `the room announces ${v}: ${vars.join(' ')}`)
      // eve (not on the allowlist) gets the answer a real room gives her: nothing to tell rooms apart.
      const nowhere = await eve.join(`nowhere@${BRIDGE}`, 'Eve')
      assert.equal(errorCondition(nowhere), 'registration-required')

      // still alive and well
      await groupchat(anna, 'after the refusals')
      const log = await aliceSees(l => l.some(m => m.text === 'after the refusals'), 'anna\'s message after the refusals')
      assert.ok(!log.some(m => m.text.includes('eve') || m.bridged?.jid === 'eve@localhost'), 'nothing of eve in Solidar')
      const dms = await alice.apiList<BridgedEntry>(`/api/dms/${bridgeId}/messages`)
      assert.ok(!dms.some(m => m.text === 'eve to alice'), 'no DM from eve')
    })
  })

  it('a nickname that looks like a member\'s or an occupant\'s (Cyrillic, Greek) is refused with conflict', async () => {
    await step('look-alike nicks', async () => {
      const anna = users[0]
      const seenBy = anna.received.length
      const thief = await connect('ben', 'phone')
      const cases: Array<[string, string]> = [
        ['\u0430lice', 'Cyrillic a in the member alice'],
        ['\u0392ob', 'Greek capital beta in the member bob'],
        ['\u0410nna', 'Cyrillic A in the occupant Anna'],
        ['ALICE', 'the member alice in capitals']
      ]
      for (const [nick, what] of cases) {
        const joined = await thief.join(ROOM, nick)
        assert.equal(joined.attrs.type, 'error', `${what}: ${joined.toString()}`)
        assert.equal(errorCondition(joined), 'conflict', `${what}: ${joined.toString()}`)
        assert.match(joined.getChild('error')?.getChildText('text', 'urn:ietf:params:xml:ns:xmpp-stanzas') ?? '', /looks like/, what)
      }
      // a nickname of its own is fine, so the refusals were about the names
      assert.equal((await thief.join(ROOM, 'Ben on the phone')).attrs.type, undefined)
      const fakes = new Set(cases.map(([nick]) => `${ROOM}/${nick}`))
      assert.ok(!anna.received.slice(seenBy).some(s => s.is('presence') && fakes.has(s.attrs.from ?? '')), 'anna never saw a look-alike occupant')
      await thief.send(xml('presence', { to: `${ROOM}/Ben on the phone`, type: 'unavailable' }))
      await anna.expect(s => s.is('presence') && s.attrs.from === `${ROOM}/Ben on the phone` && s.attrs.type === 'unavailable', 'the second session leaves', { from: seenBy })
    })
  })

  it('restarting the bridge mid-conversation loses and duplicates nothing', async () => {
    await step('bridge restart', async () => {
      const [anna, ben] = users
      await bridge!.stop(15_000)
      const whileDown = await alice.send(group.id, 'while the bridge was down')
      await startBridge()
      // anna and ben stayed in the room across the restart (the bridge remembers its occupants)
      await anna.expect(() => anna.groupchat(ROOM).some(m => m.body === whileDown.text), 'the message written while the bridge was down')
      await ben.expect(() => ben.groupchat(ROOM).some(m => m.body === whileDown.text), 'ben too')
      // the same stanza twice (a client resending after an error): one message in Solidar
      await groupchat(anna, 'sent twice', 'anna-twice')
      await groupchat(anna, 'sent twice', 'anna-twice')
      await groupchat(anna, 'after the bridge restart')
      await aliceSees(l => l.some(m => m.text === 'after the bridge restart'), 'anna\'s message after the restart')
      await alice.send(group.id, 'alice after the bridge restart')
      await ben.expect(() => ben.groupchat(ROOM).some(m => m.body === 'alice after the bridge restart'), 'alice\'s message after the restart')
    })
  })

  it('restarting Prosody mid-conversation loses and duplicates nothing', async () => {
    await step('prosody restart', async () => {
      for (const u of users) await u.stop()
      await prosody.stop()
      const whileDown = await alice.send(group.id, 'while prosody was down')
      await prosody.start()
      const anna = await connect('anna', 'laptop2')
      // The bridge reconnects with backoff: until then the join bounces.
      await waitFor(async () => (await anna.join(ROOM, 'Anna', { maxstanzas: '50' }, 3000)).attrs.type === undefined,
        { what: 'anna back in the room after the restart', timeout: 60_000, interval: 200 })
      await anna.expect(() => anna.groupchat(ROOM).some(m => m.body === whileDown.text), 'the message written while prosody was down')
      await groupchat(anna, 'after the prosody restart')
      await aliceSees(l => l.some(m => m.text === 'after the prosody restart'), 'anna\'s message after the prosody restart')
      await bob.send(group.id, 'bob after the prosody restart')
      await anna.expect(() => anna.groupchat(ROOM).some(m => m.body === 'bob after the prosody restart' && !m.delayed), 'bob\'s message live')

      // No duplicates and no losses, on either side.
      const log = (await alice.apiList<BridgedEntry>(`/api/groups/${group.id}/messages`)).filter(m => m.deleted !== true)
      const texts = log.map(m => m.text)
      assert.deepEqual(texts.filter((t, i) => texts.indexOf(t) !== i), [], `no text twice in Solidar: ${JSON.stringify(texts)}`)
      for (const t of ['hello solidar', 'ben here', 'after the refusals', 'sent twice', 'after the bridge restart', 'after the prosody restart']) {
        assert.ok(texts.includes(t), `Solidar has "${t}"`)
      }
      const seen = anna.groupchat(ROOM)
      const liveIds = seen.filter(m => !m.delayed).map(m => m.stanzaId)
      assert.deepEqual(liveIds.filter((id, i) => liveIds.indexOf(id) !== i), [], 'no message live twice')
      const all = new Set(seen.map(m => m.stanzaId))
      // Everything but what was written before the bridge was admitted (never handed to XMPP).
      for (const m of log) assert.equal(all.has(m.id), m.text !== 'before the bridge was admitted', `anna (history + live) has "${m.text}" exactly when it was written after the bridge's admission`)
    })
  })

  it('an admin taking a JID off the allowlist removes it from its rooms and refuses it from then on', async () => {
    await step('revoke', async () => {
      const anna = users[users.length - 1]
      const from = anna.received.length
      await alice.ok(['relay', 'revoke', group.id, 'anna@localhost'])
      const gone = await anna.expect(s => s.is('presence') && s.attrs.from === `${ROOM}/Anna` && s.attrs.type === 'unavailable', 'her removal from the room', { from, timeout: 45_000 })
      assert.deepEqual(gone.getChild('x', MUC_USER)!.getChildren('status').map(st => st.attrs.code).sort(), ['110', '321'])
      await groupchat(anna, 'after the revocation', 'anna-revoked')
      assert.equal(errorCondition(await anna.expect(s => s.attrs.id === 'anna-revoked' && s.attrs.type === 'error', 'error for her message')), 'forbidden')
      const log = await alice.apiList<BridgedEntry>(`/api/groups/${group.id}/messages`)
      assert.ok(!log.some(m => m.text === 'after the revocation'))
    })
  })
})
