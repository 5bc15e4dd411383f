/** `solidar dht`: run a DHT bootstrap node for a private network. */
import type { Command } from 'commander'
import { note, print } from '../output.ts'
import { portArg } from '../parsers.ts'
import { untilSignal } from '../signals.ts'

/** Registers `dht`. */
export function registerDht (program: Command): void {
  program.command('dht')
    .description('run a DHT bootstrap node: the meeting point of a private Solidar network')
    .option('--host <host>', 'address to listen on; use a LAN or public address so other machines can reach it', '127.0.0.1')
    .option('--port <port>', 'UDP port; 0 picks a free one (use a fixed port so the address stays the same)', portArg, 0)
    .addHelpText('after', `
Prints HOST:PORT alone on stdout once ready, then runs until Ctrl+C (SIGINT) or SIGTERM.
Give that address to every node with \`solidar serve --bootstrap HOST:PORT\`.

Example:
  $ solidar dht --host 192.0.2.10 --port 49737
  192.0.2.10:49737`)
    .action(async (opts: { host: string, port: number }) => {
      const { runDhtBootstrap } = await import('@solidar/node/runtime')
      const dht = await runDhtBootstrap({ host: opts.host, port: opts.port })
      const address = `${dht.host.includes(':') ? `[${dht.host}]` : dht.host}:${dht.port}`
      print(address)
      note(`DHT bootstrap node running; start nodes with --bootstrap ${address}. Press Ctrl+C to stop.`)
      await untilSignal()
      await dht.close()
    })
}
