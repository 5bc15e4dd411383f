/** `status`: what the running node is doing. */
import type { Command } from 'commander'
import type { NodeStatus } from '@solidar/core'
import { clientOf } from '../context.ts'
import { describeNetwork } from '../network.ts'
import { print, printJson, printTable, sanitize } from '../output.ts'

/** Registers `status`. */
export function registerStatus (program: Command): void {
  program.command('status')
    .description('show the running node: identity, network, connections, groups')
    .option('--json', 'print the status as JSON')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      const client = clientOf(cmd)
      const status = await client.get<NodeStatus>('/api/status')
      if (opts.json === true) return printJson(status)
      print(`node:        ${sanitize(status.name)} (${status.id})`)
      print(`api:         ${client.info.url} (pid ${client.info.pid})`)
      print(`network:     ${describeNetwork(status.network)}`)
      print(`connections: ${status.network.connections}`)
      if (status.groups.length === 0) return print('groups:      none')
      print('')
      printTable(['GROUP', 'PEERS', 'ENTRIES', 'ID'], status.groups.map((g) => [g.name, String(g.peers), String(g.length), g.id]))
    })
}
