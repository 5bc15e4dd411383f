/** `solidar repair`: rebuild a damaged data store from the peers (see node/src/repair.ts). */
import type { Command } from 'commander'
import { ensureHome, readConfig, readDaemonInfo } from '@solidar/node/home'
import { CliError, EXIT } from '../errors.ts'
import { homeOf } from '../context.ts'
import { durationArg } from '../parsers.ts'
import { formatDuration } from '../duration.ts'
import { REPAIR_TIMEOUT_MS } from '../repair-defaults.ts'
import { addNetworkOptions, chooseLan, chooseNetwork, describeLan, describeNetwork, networkFlagConflict, type NetworkOptionFlags } from '../network.ts'
import { note, print, printJson, printTable } from '../output.ts'

interface RepairFlags extends NetworkOptionFlags {
  timeout: number
  force?: boolean
  finish?: boolean
  json?: boolean
}

const DEFAULT_TIMEOUT_MS = REPAIR_TIMEOUT_MS

export function registerRepair (program: Command): void {
  addNetworkOptions(program.command('repair')
    .description('rebuild a damaged data store from the other members\' devices (the node must be stopped)'), { remembered: false })
    .option('--timeout <duration>', `how long to wait for peers of each group (default ${formatDuration(DEFAULT_TIMEOUT_MS)})`, durationArg, DEFAULT_TIMEOUT_MS)
    .option('--force', 'rebuild even though the store opens (e.g. after disk errors it did not notice)')
    .option('--finish', 'give up on what an earlier repair could not fetch, so that `serve` starts again')
    .option('--json', 'print the result as JSON')
    .addHelpText('after', `
When \`solidar serve\` says the data store is damaged: stop nothing else, check the disk,
then run \`solidar repair\` while other members of your groups are online. It moves the
damaged store aside (<home>/store.damaged-<time>, kept for you), makes a new one with the
same keys and fetches this device's own entries back from the peers; \`serve\` then fetches
the rest as usual. What this device wrote but no peer received is lost with the damaged store.

If no peer had this device's entries of some group (nobody online, or you never wrote
there), repair says so and \`serve\` stays blocked: run \`solidar repair\` again later, or
\`solidar repair --finish\` to go on without them. A group you never wrote to, and the
device list of a member with a single device, are expected to have no peer.

Exit codes: 0 repaired, healthy or finished; 1 error or still incomplete.

Examples:
  $ solidar repair                              # with the remembered network
  $ solidar repair --bootstrap 192.0.2.10:49737 --timeout 5m
  $ solidar repair --finish`)
    .action(async (opts: RepairFlags, cmd: Command) => {
      const conflict = networkFlagConflict(opts)
      if (conflict !== null) cmd.error(`error: ${conflict}`, { exitCode: EXIT.USAGE, code: 'solidar.usage' })
      if (opts.force === true && opts.finish === true) cmd.error('error: choose either --force or --finish', { exitCode: EXIT.USAGE, code: 'solidar.usage' })
      const home = homeOf(cmd)
      ensureHome(home)
      const running = readDaemonInfo(home)
      if (running !== null) throw new CliError(`A Solidar node is running for home ${home} (pid ${running.pid}); stop it before repairing its store`)
      const config = readConfig(home)
      const network = chooseNetwork(opts, config).choice
      const lan = chooseLan(opts, config)
      if (opts.finish !== true && opts.json !== true) {
        const lanText = describeLan(lan)
        note(`Repairing the store of ${home}; network: ${describeNetwork(network)}${lanText !== null ? `; ${lanText}` : ''}.`)
      }
      const { repairStore } = await import('@solidar/node/repair')
      const last = new Map<string, string>()
      const report = await repairStore({
        home, network, lan, timeoutMs: opts.timeout, force: opts.force, finish: opts.finish,
        onProgress: (p) => {
          if (opts.json === true) return
          const line = p.phase === 'waiting'
            ? `${p.kind} ${p.id}: waiting for a peer…`
            : p.phase === 'no-peer'
              ? `${p.kind} ${p.id}: no peer had this device's entries`
              : `${p.kind} ${p.id}: ${p.have}/${p.length} of this device's entries${p.phase === 'done' ? ', done' : ''}`
          if (last.get(p.id) !== line) note(line)
          last.set(p.id, line)
        }
      })
      if (opts.json === true) printJson(report)
      else {
        if (report.damage !== null) note(`The store was damaged (${report.damage}).`)
        if (report.damaged !== null) note(`The damaged store is kept in ${home}/${report.damaged}.`)
        if (report.logs.length > 0) {
          printTable(['KIND', 'ID', 'STATE', 'OWN ENTRIES'], report.logs.map(l => [l.kind, l.id, l.state, String(l.entries)]))
        }
        switch (report.status) {
          case 'healthy': print('The store is fine: nothing to repair (use --force to rebuild it anyway).'); break
          case 'repaired': print('Repaired: start the node with `solidar serve`; it fetches the rest of every group from the peers.'); break
          case 'finished': print('Repair finished without the logs above: `solidar serve` starts again.'); break
          case 'incomplete': print('Not finished: no peer had this device\'s entries of the logs marked no-peer. Run `solidar repair` again while their members are online, or `solidar repair --finish` to go on without them.'); break
        }
      }
      if (report.status === 'incomplete') process.exitCode = EXIT.ERROR
    })
}
