/**
 * Entry point of the `solidar` command (loaded by cli/bin/solidar.js through tsx).
 * Maps every failure to `solidar: <message>` on stderr and an exit code (see errors.ts).
 */
import { CommanderError } from 'commander'
import { isSolidarError } from '@solidar/core/errors'
import { createProgram } from './program.ts'
import { CliError, EXIT } from './errors.ts'

/** Exit code for a failure, after reporting it on stderr. */
export function reportError (err: unknown): number {
  if (err instanceof CommanderError) {
    // commander already printed the message (or the help text). Help that was asked for
    // (--help, `help CMD`) and --version exit 0; help shown for a missing command is a usage error.
    if (err.exitCode === 0) return EXIT.OK
    return EXIT.USAGE
  }
  if (err instanceof CliError) {
    process.stderr.write(`solidar: ${err.message}\n`)
    return err.exitCode
  }
  if (isSolidarError(err)) {
    process.stderr.write(`solidar: ${err.message}\n`)
    return EXIT.ERROR
  }
  const message = err instanceof Error ? err.message : String(err)
  process.stderr.write(`solidar: ${message}\n`)
  if (process.env.SOLIDAR_DEBUG !== undefined && err instanceof Error) process.stderr.write(`${err.stack ?? ''}\n`)
  return EXIT.ERROR
}

/** Runs the CLI with `argv` (as in process.argv) and resolves to the exit code. */
export async function main (argv: string[] = process.argv): Promise<number> {
  try {
    await createProgram().parseAsync(argv)
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT.OK
  } catch (err) {
    return reportError(err)
  }
}

// `solidar log GROUP | head -1`: a reader that goes away is not an error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? EXIT.OK)
  throw err
})

// Everything the CLI creates (home, keys, the store's RocksDB files) is private to this user,
// whatever the shell's umask; files that must be shared are none.
process.umask(0o077)
process.exitCode = await main()
