/** A Solidar node run by its CLI inside a network namespace (`serve`, then commands with `--json`). */
import { formatResult, type CliResult } from './cli.ts'
import type { LogEntry } from './cluster.ts'
import { cliInNs, startInNs } from './netns.ts'
import type { ManagedProcess } from './processes.ts'
import { waitFor } from './wait.ts'

export class NsNode {
  proc: ManagedProcess | null = null
  output = ''
  /** The port of the node's local API and its token (known once `serve` printed its address). */
  apiPort = 0
  token = ''
  constructor (readonly name: string, readonly ns: string, readonly home: string) {}

  async run (args: string[], timeout?: number): Promise<CliResult> { return cliInNs(this.ns, this.home, args, timeout) }
  async ok (args: string[], timeout?: number): Promise<string> {
    const r = await this.run(args, timeout)
    if (r.code !== 0) throw new Error(`${this.name}: \`solidar ${args.join(' ')}\` failed\n${formatResult(r)}`)
    return r.stdout.trim()
  }
  async json<T = any> (args: string[], timeout?: number): Promise<T> { return JSON.parse(await this.ok([...args, '--json'], timeout)) as T }

  async serve (args: string[]): Promise<void> {
    await this.ok(['init', '--name', this.name])
    const proc = startInNs(this.ns, this.home, ['serve', '--port', '0', ...args], `${this.name} serve`, { SOLIDAR_LOG_LEVEL: 'debug' })
    this.proc = proc
    // Everything the node prints, for the "learns nothing" checks (the process keeps only a tail).
    proc.child.stdout?.on('data', (c: string) => { this.output += c })
    proc.child.stderr?.on('data', (c: string) => { this.output += c })
    const line = (await proc.firstLine(60_000)).trim()
    const url = /^http:\/\/127\.0\.0\.1:(\d+)\/#token=(\S+)$/.exec(line)
    if (url === null) throw new Error(`${this.name}: serve printed "${line}"\n${proc.describe()}`)
    this.apiPort = Number(url[1])
    this.token = decodeURIComponent(url[2])
    await waitFor(async () => (await this.run(['status'], 20_000)).code === 0, { timeout: 30_000, interval: 300, what: `${this.name}'s API` })
  }

  status (): Promise<any> { return this.json(['status']) }
  log (group: string): Promise<LogEntry[]> { return this.json<LogEntry[]>(['log', group, '--all']) }

  async waitForLog (group: string, ids: string[], timeout = 60_000): Promise<LogEntry[]> {
    let last: LogEntry[] = []
    try {
      await waitFor(async () => {
        last = await this.log(group)
        const have = new Set(last.map(m => m.id))
        return ids.every(id => have.has(id))
      }, { timeout, interval: 500, what: `${this.name} to hold ${ids.length} messages` })
    } catch (err: any) {
      throw new Error(`${err.message}\n${this.name} has ${JSON.stringify(last.map(m => [m.id, m.text]))}\n${await this.status().then(JSON.stringify, String)}`)
    }
    return last
  }

  describe (): string { return this.proc?.describe() ?? `${this.name}: not started` }

  async stop (): Promise<void> { if (this.proc?.running === true) await this.proc.stop(10_000) }
}
