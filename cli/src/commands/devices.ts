/** `device link|add|list|revoke`: one person, several devices, one member id. */
import type { Command } from 'commander'
import { clientOf } from '../context.ts'
import { seg } from '../client.ts'
import { boundedDurationArg } from '../parsers.ts'
import { note, print, printJson, printTable, sanitize } from '../output.ts'

const JOIN_MAX_MS = 24 * 3600 * 1000

/** Registers the device commands. */
export function registerDevices (program: Command): void {
  const device = program.command('device')
    .description('use Solidar on several devices as one person (see: device link --help)')

  device.command('link')
    .description('on your first device: print a one-time code (valid 10 minutes) to link another device')
    .option('--json', 'print {code, expires} as JSON')
    .addHelpText('after', `
Then, on the new device (a fresh home folder with \`solidar init\` and a running \`solidar serve\`):
  $ solidar device add CODE
It becomes a device of the same member: same id, same groups, same history, and it can write.`)
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      const link = await clientOf(cmd).post<{ code: string, expires: number }>('/api/devices/link', {})
      if (opts.json === true) return printJson(link)
      print(link.code)
      note(`Valid until ${new Date(link.expires).toLocaleTimeString()}, once. On the new device: solidar device add CODE`)
    })

  device.command('add')
    .description('on a fresh device: join the member whose first device printed CODE')
    .argument('<code>', 'the code from `solidar device link`')
    .option('--timeout <duration>', 'how long to wait for the first device (default 60s)', boundedDurationArg(JOIN_MAX_MS))
    .option('--json', 'print {member, device, linked} as JSON (member is null while linked is false)')
    .addHelpText('after', `
Once your first device has admitted this one, the link is made. If the first device goes
offline before this one has its vault, the command says so (linked: false) and the link
completes by itself when the vault arrives: keep \`solidar serve\` running here and check
\`solidar whoami\`.`)
    .action(async (code: string, opts: { timeout?: number, json?: boolean }, cmd: Command) => {
      const timeoutMs = opts.timeout ?? 60_000
      const added = await clientOf(cmd).post<{ member: string | null, device: string, linked: boolean }>('/api/devices/add', { code, timeoutMs }, { timeoutMs: timeoutMs + 30_000 })
      if (opts.json === true) return printJson(added)
      if (added.linked) print(`This device now belongs to member ${added.member}; your groups are syncing.`)
      else print('Your first device admitted this one. The link completes as soon as this device has received your vault: keep your first device online and `solidar serve` running here; `solidar whoami` shows your member id then.')
    })

  device.command('list')
    .description('list the devices of your member id')
    .option('--json', 'print [{id, name, current, revoked?}] as JSON')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      const devices = await clientOf(cmd).get<Array<{ id: string, name: string, current: boolean, revoked?: number }>>('/api/devices')
      if (opts.json === true) return printJson(devices)
      printTable(['DEVICE', 'NAME', 'STATE'], devices.map(d => [d.id, sanitize(d.name), d.current ? 'this device' : d.revoked ? 'revoked' : 'active']))
    })

  device.command('revoke')
    .description('revoke another of your devices: it is removed from every group and reads nothing new')
    .argument('<device>', 'device id (see `solidar device list`)')
    .option('--json', 'print {id, logs, pending} as JSON')
    .action(async (id: string, opts: { json?: boolean }, cmd: Command) => {
      const revoked = await clientOf(cmd).request<{ id: string, logs: number, pending: number }>('DELETE', `/api/devices/${seg(id)}`)
      if (opts.json === true) return printJson(revoked)
      print(`Revoked ${revoked.id} in ${revoked.logs} logs; new group keys are sealed without it.`)
      if (revoked.pending > 0) print(`In ${revoked.pending} of them no other device has the revocation yet: it reaches them when one connects (keep this node running).`)
    })
}
