/**
 * The `solidar` command tree (commander). Usage errors are thrown as CommanderError
 * (exitOverride) and turned into exit code 64 by main.ts; output goes through
 * `solidar: <message>` on stderr with a hint to --help.
 */
import { createRequire } from 'node:module'
import { Command } from 'commander'
import { registerIdentity } from './commands/identity.ts'
import { registerDht } from './commands/dht.ts'
import { registerMirror } from './commands/mirror.ts'
import { registerRelay } from './commands/relay.ts'
import { registerServe } from './commands/serve.ts'
import { registerRepair } from './commands/repair.ts'
import { registerGroups } from './commands/groups.ts'
import { registerInvites } from './commands/invites.ts'
import { registerMessages } from './commands/messages.ts'
import { registerLog } from './commands/log.ts'
import { registerStatus } from './commands/status.ts'
import { registerVerify } from './commands/verify.ts'
import { registerMembership } from './commands/membership.ts'
import { registerDevices } from './commands/devices.ts'
import { registerPads } from './commands/pads.ts'

const version = (createRequire(import.meta.url)('../package.json') as { version: string }).version

const EXAMPLES = `
Homes: every command works on one home folder (identity, data, API token): --home DIR,
else $SOLIDAR_HOME, else ~/.solidar. All commands except init, whoami, dht, serve and repair
talk to the node that \`solidar serve\` runs for that home.

Exit codes: 0 ok, 1 error reported by the node, 2 no node running for this home,
64 usage error (unknown option, missing argument, bad value).

Getting started:
  $ solidar init --name "Alex Muster"
  $ solidar serve --bootstrap 192.0.2.10:49737      # keep it running
  $ solidar group create "Betriebsrat Nord"         # in another terminal
  $ solidar invite "Betriebsrat Nord" --expires 24h
  $ solidar send "Betriebsrat Nord" "Hello everyone"
  $ solidar log "Betriebsrat Nord" --follow

An id that starts with '-' (possible for messages from the XMPP bridge and for ids made by
earlier versions) goes after --, which ends the options: solidar pad export G -- -Ab3…

Run \`solidar help COMMAND\` for details of a command.`

/**
 * Message and pad ids made by earlier versions could start with '-' (base64url); commander reads such an
 * id as an option. Say how to pass it: after `--`, which ends the options.
 */
function idHint (message: string): string {
  const m = /unknown option '(-[A-Za-z0-9_][A-Za-z0-9_-]{7,63})'/.exec(message)
  return m ? `(if ${m[1]} is an id, put -- before it: solidar … -- ${m[1]})\n` : ''
}

/** Builds the CLI program; every command registers itself from its own module. */
export function createProgram (): Command {
  const program = new Command()
  program
    .name('solidar')
    .description('Solidar: secure, serverless group chat for trade unions and works councils')
    .version(version, '-V, --version', 'print the version')
    .option('--home <dir>', 'home folder of this node (default: $SOLIDAR_HOME or ~/.solidar)')
    .helpOption('-h, --help', 'show help')
    .helpCommand('help [command]', 'show help for a command')
    .configureHelp({ showGlobalOptions: true, sortSubcommands: false })
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({
      outputError: (message, write) => write(`solidar: ${message.replace(/^error: /, '')}${idHint(message)}`)
    })
    .addHelpText('after', EXAMPLES)

  registerIdentity(program)
  registerServe(program)
  registerDht(program)
  registerMirror(program)
  registerRelay(program)
  registerGroups(program)
  registerMembership(program)
  registerDevices(program)
  registerInvites(program)
  registerMessages(program)
  registerPads(program)
  registerLog(program)
  registerStatus(program)
  registerRepair(program)
  registerVerify(program)
  return program
}
