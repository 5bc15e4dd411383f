/** `status`: what the running node is doing. */
import type { Command } from 'commander'
import type { NodeStatus, NodeStorage } from '@solidar/core'
import { describeCatchUp } from '@solidar/core/catch-up'
import { clientOf } from '../context.ts'
import { bootstrapProblem, describeNetwork } from '../network.ts'
import { print, printJson, printTable, sanitize } from '../output.ts'

/** Registers `status`. */
export function registerStatus (program: Command): void {
  program.command('status')
    .description('show the running node: identity, transports and their peers, groups with peers per transport and sync state (and, for a group not fully here yet, how far it is, from whom, and whether an admin is online), memory use of the daemon')
    .option('--json', 'print the status as JSON')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      const client = clientOf(cmd)
      const status = await client.get<NodeStatus>('/api/status')
      if (opts.json === true) return printJson(status)
      print(`node:        ${sanitize(status.name)} (${status.id})`)
      print(`api:         ${client.info.url} (pid ${client.info.pid})`)
      print(`network:     ${describeNetwork(status.network)}`)
      print(`connections: ${status.network.connections}`)
      if (status.storage !== undefined) print(`storage:     ${describeStorage(status.storage)}`)
      if (status.memory !== undefined) {
        const mb = (b: number): string => (b / 1048576).toFixed(0)
        const m = status.memory
        print(`memory:      rss ${mb(m.rss)} MB; heap ${mb(m.heapUsed)}/${mb(m.heapTotal)} MB; external ${mb(m.external)} MB (array buffers ${mb(m.arrayBuffers)} MB)`)
      }
      for (const t of status.network.transports) {
        const extra = [
          t.standby !== undefined && t.standby > 0 ? `${t.standby} standby` : null,
          t.discovery !== undefined && t.discovery.length > 0 ? `discovery: ${t.discovery.join(', ')}` : null,
          t.listening !== undefined && t.listening.length > 0 ? `listening: ${t.listening.join(' ')}` : null
        ].filter(x => x !== null)
        print(`transport:   ${t.name} up, ${t.active ?? t.connections} peer(s)${extra.length > 0 ? `; ${extra.join('; ')}` : ''}`)
        const problem = bootstrapProblem(t.bootstrap)
        if (problem !== null) print(`warning:     ${problem}`)
      }
      for (const l of status.leaving ?? []) {
        print(`leaving:     ${sanitize(l.name)} (${l.id}): the leave reaches the others when one of their devices is online`)
      }
      if (status.groups.length === 0) return print('groups:      none')
      print('')
      const perTransport = (g: NodeStatus['groups'][number]) => Object.entries(g.peersByTransport).map(([name, n]) => `${name} ${n}`).join(', ') || '-'
      const sync = (g: NodeStatus['groups'][number]) => g.sync.state + (g.sync.diverged !== undefined ? ` (this view differs from the one the admins signed: ${g.sync.diverged}; run \`solidar repair --force\` with a peer online)` : '') + (g.sync.missing > 0 ? ` (${g.sync.missing} to fetch)` : '') + (g.sync.unapplied > 0 ? ` (${g.sync.unapplied} to apply)` : '') + (g.sync.unsent > 0 ? ` (${g.sync.unsent} to send)` : '')
      printTable(['GROUP', 'PEERS', 'BY TRANSPORT', 'SYNC', 'ENTRIES', 'ID'], status.groups.map((g) => [
        g.name, String(g.peers), perTransport(g), sync(g), String(g.length), g.id
      ]))
      for (const g of status.groups) {
        if (g.upgradeRequired !== undefined) print(`${sanitize(g.name)}: needs a newer Solidar (format rules ${g.upgradeRequired.rules}; this one knows up to ${g.upgradeRequired.known})`)
        if (g.catchUp !== undefined) print(`${sanitize(g.name)}: ${g.catchUp.stage === 'admission' ? 'not admitted yet' : 'catching up'}: ${sanitize(describeCatchUp(g.catchUp))}`)
      }
    })
}

/** The store's state in words: read-only on a full disk says where and how much space it needs. */
export function describeStorage (s: NodeStorage): string {
  const mb = (b: number): string => (b / 1048576).toFixed(1)
  if (s.writable) return `writable (${mb(s.free)} MB free in ${sanitize(s.path)})`
  return `READ-ONLY: the disk is full (${mb(s.free)} MB free in ${sanitize(s.path)}; needs ${mb(s.needed)} MB). ` +
    'Everything saved can be read and exported; writes are refused. Free space there: Solidar becomes writable by itself.'
}
