/**
 * Exit codes of the `solidar` command and the errors that carry them.
 *
 * 0 success (also `--help`) · 1 the node or the home reported an error ·
 * 2 no node is running for this home · 64 usage error (unknown option, missing
 * argument, bad value such as a malformed duration; like sysexits' EX_USAGE).
 */
export const EXIT = {
  OK: 0,
  ERROR: 1,
  NO_DAEMON: 2,
  USAGE: 64
} as const

/** An error the CLI reports as `solidar: <message>` and exits with `exitCode`. */
export class CliError extends Error {
  readonly exitCode: number
  constructor (message: string, exitCode: number = EXIT.ERROR) {
    super(message)
    this.name = 'CliError'
    this.exitCode = exitCode
  }
}

/** No daemon answers for the home (exit 2). */
export class NoDaemonError extends CliError {
  constructor (home: string) {
    super(`No Solidar node is running for home ${home}; start one with \`solidar serve\``, EXIT.NO_DAEMON)
    this.name = 'NoDaemonError'
  }
}

/** An error response of the daemon's API: `code` is the API error code (exit 1). */
export class ApiError extends CliError {
  readonly code: string
  readonly status: number
  constructor (code: string, message: string, status: number) {
    super(message, EXIT.ERROR)
    this.name = 'ApiError'
    this.code = code
    this.status = status
  }
}
