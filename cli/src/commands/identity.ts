/** `solidar init` and `solidar whoami`: the device identity, read from the home folder directly. */
import type { Command } from 'commander'
import { errors } from '@solidar/core/errors'
import { createIdentity, fingerprint, memberId } from '@solidar/core/identity'
import type { Identity, WhoAmI } from '@solidar/core'
import { homeWarning, readIdentity, writeIdentity } from '@solidar/node/home'
import { homeOf } from '../context.ts'
import { nameArg } from '../parsers.ts'
import { note, print, printJson } from '../output.ts'

/** The public facts of an identity. */
export function whoamiOf (identity: Identity): WhoAmI {
  return { id: memberId(identity), name: identity.name, fingerprint: fingerprint(identity.publicKey) }
}

function printWhoami (me: WhoAmI, json: boolean): void {
  if (json) return printJson(me)
  print(`name:        ${me.name}`)
  print(`id:          ${me.id}`)
  print(`fingerprint: ${me.fingerprint}`)
}

/** Registers `init` and `whoami`. */
export function registerIdentity (program: Command): void {
  program.command('init')
    .description('create this device\'s identity (a new key pair) in the home folder')
    .requiredOption('--name <name>', 'your display name as other members will see it', nameArg)
    .option('--json', 'print {id, name, fingerprint} as JSON')
    .addHelpText('after', '\nExample:\n  $ solidar init --name "Alex Muster"\n\nCompare fingerprints in person or by phone to make sure nobody swapped a key.')
    .action((opts: { name: string, json?: boolean }, cmd: Command) => {
      const home = homeOf(cmd)
      const identity = createIdentity(opts.name)
      writeIdentity(home, identity)
      const permissive = homeWarning(home)
      if (permissive !== null) note(`Warning: ${permissive}`)
      const me = whoamiOf(identity)
      if (opts.json === true) return printJson(me)
      print(`Created identity for ${me.name} in ${home}`)
      print(`id:          ${me.id}`)
      print(`fingerprint: ${me.fingerprint}`)
    })

  program.command('whoami')
    .description('show this device\'s id, name and fingerprint (works without a running node)')
    .option('--json', 'print {id, name, fingerprint} as JSON')
    .action((opts: { json?: boolean }, cmd: Command) => {
      const identity = readIdentity(homeOf(cmd))
      if (identity === null) throw errors.notInitialized()
      printWhoami(whoamiOf(identity), opts.json === true)
    })
}
