/**
 * `relay xmpp|allow|revoke|list|register|unregister`: the XMPP bridge (relay/src/xmpp), the
 * group's bridge allowlist and which member is its bridge (group state, admins only).
 */
import fs from 'node:fs'
import path from 'node:path'
import type { Command } from 'commander'
import type { BridgeAllowEntry, BridgeRegistration } from '@solidar/core'
import { isSolidarError } from '@solidar/core/errors'
import { clientOf, homeOf } from '../context.ts'
import { seg } from '../client.ts'
import { CliError, EXIT } from '../errors.ts'
import { chooseNetwork, describeNetwork, networkFlagConflict } from '../network.ts'
import { bootstrapArg } from '../parsers.ts'
import { note, print, printJson, printTable, sanitize } from '../output.ts'
import { untilSignal } from '../signals.ts'
import { readConfig, readDaemonInfo, readIdentity, writeConfig } from '@solidar/node/home'

const GROUP = 'group id or unambiguous name'
const ENTRY = 'a bare JID (anna@jabber.example.org) or a whole domain (jabber.example.org)'
const SECRET_ENV = 'SOLIDAR_XMPP_SECRET'

interface XmppOptions {
  group: string
  domain: string
  server: string
  secret?: string
  secretFile?: string
  join?: string
  bootstrap?: string[]
  publicDht?: boolean
  dht?: boolean
  verbose?: boolean
  unencryptedLink?: boolean
}

/** Whether `host` is this machine: the component link (XEP-0114) has no TLS and belongs on it. */
function isLoopback (host: string): boolean {
  const h = host.toLowerCase()
  return h === 'localhost' || h === '::1' || /^127(\.\d{1,3}){3}$/.test(h)
}

type AllowlistResult = { group: string, entries: BridgeAllowEntry[] }
type MembersResult = { group: string, members: BridgeRegistration[] }

function printAllowlist (result: AllowlistResult, json: boolean | undefined): void {
  if (json === true) return printJson(result)
  if (result.entries.length === 0) return print('The bridge allowlist of this group is empty: no Jabber user can use its bridge.')
  printTable(['ALLOWED', 'ADDED BY', 'SINCE'], result.entries.map(e => [sanitize(e.entry), e.addedBy, new Date(e.ts).toISOString()]))
}

function readSecret (opts: XmppOptions): string {
  if (opts.secret !== undefined && opts.secretFile !== undefined) throw new CliError('Give the component secret once: --secret or --secret-file', EXIT.USAGE)
  let secret = opts.secret ?? process.env[SECRET_ENV]
  if (opts.secretFile !== undefined) {
    try { secret = fs.readFileSync(opts.secretFile, 'utf8').trim() } catch (err) {
      throw new CliError(`Cannot read ${opts.secretFile}: ${(err as Error).message}`, EXIT.USAGE)
    }
  }
  if (secret === undefined || secret === '') throw new CliError(`The component secret is missing: --secret-file FILE, $${SECRET_ENV} or --secret SECRET`, EXIT.USAGE)
  return secret
}

/** Registers `relay` and its subcommands. */
export function registerRelay (program: Command): void {
  const relay = program.command('relay')
    .description('XMPP bridge: link a group\'s rooms and members to Jabber users (see: relay xmpp --help)')
    .addHelpText('after', `
The bridge is a group member with its own home that connects to your XMPP server as an
external component (XEP-0114). Rooms appear as ROOM@DOMAIN, members as NAME@DOMAIN.
It decrypts the group's messages: Jabber users are protected by their server's TLS only.

  $ solidar relay allow "Betriebsrat Nord" jabber.example.org     # an admin, on their own node
  $ solidar relay register "Betriebsrat Nord" BRIDGE-ID            # the id \`solidar whoami\` prints in the bridge's home
  $ solidar relay xmpp --home /var/lib/solidar-bridge --group "Betriebsrat Nord" \\
      --domain bridge.example.org --server 127.0.0.1:5347 --secret-file /etc/solidar/bridge.secret`)

  relay.command('allow')
    .description('let a Jabber address or a whole domain use the group\'s bridge (admins only)')
    .argument('<group>', GROUP)
    .argument('<entry>', ENTRY)
    .option('--json', 'print {group, entries} as JSON')
    .addHelpText('after', '\nA domain covers its users, not its subdomains. Every member\'s node enforces the list.\n\nExample:\n  $ solidar relay allow "Betriebsrat Nord" anna@jabber.example.org')
    .action(async (group: string, entry: string, opts: { json?: boolean }, cmd: Command) => {
      const result = await clientOf(cmd).post<AllowlistResult>(`/api/groups/${seg(group)}/bridge/allowlist`, { entry })
      if (opts.json === true) return printJson(result)
      print(`${sanitize(entry.trim().toLowerCase())} may now use the bridge of this group (${result.entries.length} ${result.entries.length === 1 ? 'entry' : 'entries'} on the allowlist).`)
    })

  relay.command('revoke')
    .description('take a Jabber address or domain off the group\'s bridge allowlist (admins only)')
    .argument('<group>', GROUP)
    .argument('<entry>', 'the entry exactly as `relay list` shows it')
    .option('--json', 'print {group, entries} as JSON')
    .action(async (group: string, entry: string, opts: { json?: boolean }, cmd: Command) => {
      const result = await clientOf(cmd).request<AllowlistResult>('DELETE', `/api/groups/${seg(group)}/bridge/allowlist/${seg(entry)}`)
      if (opts.json === true) return printJson(result)
      print(`Removed ${sanitize(entry.trim().toLowerCase())} from the bridge allowlist; the bridge refuses its messages from now on.`)
    })

  relay.command('register')
    .description('name the member that is the group\'s bridge: only it may post Jabber users\' messages (admins only)')
    .argument('<group>', GROUP)
    .argument('<member>', 'the bridge\'s member id (solidar whoami --home BRIDGE-HOME); it need not have joined yet')
    .option('--json', 'print {group, members} as JSON')
    .addHelpText('after', '\nEvery member\'s node refuses bridged messages from anyone else.\n\nExample:\n  $ solidar relay register "Betriebsrat Nord" k3s95augrzb6uh4h5noqohq5ztergarzj8q7s15jxqfkcrd78zmy')
    .action(async (group: string, member: string, opts: { json?: boolean }, cmd: Command) => {
      const result = await clientOf(cmd).post<MembersResult>(`/api/groups/${seg(group)}/bridge/members`, { member })
      if (opts.json === true) return printJson(result)
      print(`${sanitize(member.trim())} is now registered as this group's bridge.`)
    })

  relay.command('unregister')
    .description('stop naming a member as the group\'s bridge; its bridged messages are refused from then on (admins only)')
    .argument('<group>', GROUP)
    .argument('<member>', 'the bridge\'s member id')
    .option('--json', 'print {group, members} as JSON')
    .action(async (group: string, member: string, opts: { json?: boolean }, cmd: Command) => {
      const result = await clientOf(cmd).request<MembersResult>('DELETE', `/api/groups/${seg(group)}/bridge/members/${seg(member)}`)
      if (opts.json === true) return printJson(result)
      print(`${sanitize(member.trim())} is no longer registered as this group's bridge.`)
    })

  relay.command('list')
    .description('show the group\'s bridge allowlist')
    .argument('<group>', GROUP)
    .option('--json', 'print {group, entries: [{entry, addedBy, ts}]} as JSON')
    .action(async (group: string, opts: { json?: boolean }, cmd: Command) => {
      printAllowlist(await clientOf(cmd).get<AllowlistResult>(`/api/groups/${seg(group)}/bridge/allowlist`), opts.json)
    })

  relay.command('xmpp')
    .description('run the XMPP bridge for a group until Ctrl+C (this home is the bridge member)')
    .requiredOption('--group <group>', GROUP)
    .requiredOption('--domain <domain>', 'the component\'s domain, as in the server\'s Component entry (e.g. bridge.example.org)')
    .requiredOption('--server <host:port>', 'the XMPP server\'s component port (Prosody: component_ports, usually 5347)')
    .option('--secret <secret>', `the component secret (visible to other local users in ps: prefer --secret-file or $${SECRET_ENV})`)
    .option('--secret-file <file>', 'read the component secret from this file')
    .option('--join <code>', 'first join the group with this invite code (made by an admin: solidar invite GROUP)')
    .option('--bootstrap <host:port,...>', 'DHT bootstrap nodes of your private network (remembered)', bootstrapArg)
    .option('--public-dht', 'use the public DHT (remembered)')
    .option('--no-dht', 'stay local for this run')
    .option('--verbose', 'log every bridged message and refusal as JSON lines on stderr')
    .option('--unencrypted-link', 'allow a --server that is not on this machine (the component link has no TLS: only over a private link you trust)')
    .addHelpText('after', `
The bridge runs the Solidar node of its home itself (do not also run \`solidar serve\` for
that home) and connects to the XMPP server as an external component (XEP-0114). Prosody:

  Component "bridge.example.org"
    component_secret = "a long random secret"

and component_ports / component_interfaces so the bridge can reach it. Then:
  ROOM@DOMAIN            each room of the group as a multi-user chat (join with a nickname)
  NAME@DOMAIN            direct messages to a member: display name in lower case with
                         XEP-0106 escapes (Maria Schmidt → maria\\20schmidt@DOMAIN), or
                         MEMBERID@DOMAIN; members answer by replying to the bridged message
An admin must register this home's member id as the group's bridge (solidar relay
register GROUP ID, before or after it joins): every node refuses bridged messages from
anyone else, and until then Jabber users' messages are refused (forbidden).
Only addresses on the group's allowlist (solidar relay allow) get in; the server's
TLS is all that protects Jabber users' messages. The component link itself has no TLS:
keep it on this machine (--server 127.0.0.1:PORT); another host needs --unencrypted-link. State (what was already passed on,
who is in which room) is kept in <home>/xmpp-bridge/; reconnects with backoff.

Example:
  $ solidar init --home /var/lib/solidar-bridge --name "Jabber bridge"
  $ solidar whoami --home /var/lib/solidar-bridge             # its id, for the admin:
  $ solidar relay register "Betriebsrat Nord" ID              # an admin, on their own node
  $ solidar relay xmpp --home /var/lib/solidar-bridge --bootstrap 192.0.2.10:49737 \\
      --join solidar1… --group "Betriebsrat Nord" --domain bridge.example.org \\
      --server 127.0.0.1:5347 --secret-file /etc/solidar/bridge.secret`)
    .action(async (opts: XmppOptions, cmd: Command) => {
      const conflict = networkFlagConflict(opts)
      if (conflict !== null) cmd.error(`error: ${conflict}`, { exitCode: EXIT.USAGE, code: 'solidar.usage' })
      const secret = readSecret(opts)
      const { splitHostPort, startXmppBridge } = await import('@solidar/relay/xmpp')
      let serverHost: string
      try { [serverHost] = splitHostPort(opts.server) } catch (err) { throw new CliError((err as Error).message, EXIT.USAGE) }
      if (!isLoopback(serverHost) && opts.unencryptedLink !== true) {
        throw new CliError(`--server ${opts.server} is not on this machine, and the component link (XEP-0114) is not encrypted: everything the bridge passes on, and its secret, would cross the network in clear. Run the bridge on the XMPP server's machine (--server 127.0.0.1:PORT), or add --unencrypted-link if the link is private (a VPN, a cable you trust)`, EXIT.USAGE)
      }
      const home = homeOf(cmd)
      if (readIdentity(home) === null) throw new CliError(`No identity in ${home} yet: run \`solidar init --home ${home} --name "Jabber bridge"\` first`)
      const daemon = readDaemonInfo(home)
      if (daemon !== null) throw new CliError(`A Solidar node is already running for home ${home} (pid ${daemon.pid}); the bridge runs its own node: stop that one, or give the bridge its own --home`)

      const config = readConfig(home)
      const decision = chooseNetwork(opts, config)
      if (decision.remember) writeConfig(home, { ...config, network: decision.choice })
      const { startNode } = await import('@solidar/node/runtime')
      const log = (event: string, fields: Record<string, unknown>) => note(JSON.stringify({ time: new Date().toISOString(), event, ...fields }))
      // The bridge only writes: on a full disk it fails at start rather than running read-only.
      const node = await startNode({ home, network: decision.choice, readOnlyWhenFull: false, onError: (err) => log('node-error', { message: err.message }) })
      let bridge: Awaited<ReturnType<typeof startXmppBridge>> | null = null
      const stop = async () => {
        const timer = setTimeout(() => { note('solidar: shutdown takes too long; exiting anyway'); process.exit(EXIT.ERROR) }, 15_000)
        await bridge?.close().catch(() => { /* closing: the other resources must still close, and a failed close has no caller left to tell */ })
        await node.close().catch(() => { /* closing: the other resources must still close, and a failed close has no caller left to tell */ })
        clearTimeout(timer)
      }
      try {
        if (opts.join !== undefined) {
          try {
            const joined = await node.api.join(opts.join)
            note(`Joined group ${joined.name} (${joined.id}).${joined.writable ? '' : ' Still catching up with its history: until then, messages from XMPP are refused (forbidden).'}`)
          } catch (err) {
            if (!(isSolidarError(err) && err.code === 'ALREADY_MEMBER')) throw err
          }
        }
        bridge = await startXmppBridge({
          solidar: node.solidar, group: opts.group, domain: opts.domain, server: opts.server, secret,
          stateDir: path.join(home, 'xmpp-bridge'),
          onEvent: (event, fields) => {
            if (opts.verbose === true || ['online', 'reconnecting', 'error', 'xmpp-error'].includes(event)) log(event, fields)
          }
        })
        note(`Bridging group ${bridge.group.name} (${bridge.group.id}) as ${opts.domain}; network: ${describeNetwork(decision.choice)}. Connecting to ${opts.server}…`)
        const self = node.solidar.whoami().id
        if (!(await node.solidar.bridgeMembers(bridge.group.id)).some(r => r.member === self)) {
          note(`This node is not (or not yet known to be) registered as the group's bridge: an admin runs \`solidar relay register ${bridge.group.id} ${self}\`. Until then Jabber users' messages are refused.`)
        }
        const online = new AbortController() // ends the signal wait once the bridge is online
        try {
          await Promise.race([bridge.online, untilSignal(online.signal).then((signal) => { if (signal !== null) throw new CliError('Stopped before the XMPP server accepted the bridge', EXIT.OK) })])
        } finally {
          online.abort()
        }
        print(`online ${opts.domain}`)
        note('Press Ctrl+C to stop.')
      } catch (err) {
        await stop()
        if (err instanceof CliError) throw err
        if (isSolidarError(err)) throw err
        throw new CliError((err as Error).message)
      }
      await untilSignal()
      note('Stopping the bridge…')
      await stop()
      process.exit(EXIT.OK)
    })
}
