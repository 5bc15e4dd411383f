/**
 * Value parsers for command-line options. They throw commander's InvalidArgumentError,
 * which the CLI reports as a usage error (exit 64).
 */
import { isIP } from 'node:net'
import { InvalidArgumentError } from 'commander'
import { validateName } from '@solidar/core/identity'
import { formatDuration, parseDuration } from './duration.ts'
import { parseIceServer, type IceServer } from '@solidar/node/ice-servers'
import { CliError, EXIT } from './errors.ts'

/** `--port N`: 0 (any free port) to 65535. */
export function portArg (value: string): number {
  if (!/^\d+$/.test(value) || Number(value) > 65535) throw new InvalidArgumentError('use a port number from 0 to 65535 (0 picks a free port).')
  return Number(value)
}

/** An IPv4 or IPv6 address (no name, no port). */
export function ipArg (value: string): string {
  if (isIP(value.trim()) === 0) throw new InvalidArgumentError('use an IP address such as 127.0.0.2.')
  return value.trim()
}

/** A positive whole number, e.g. `--uses 3`. */
export function positiveIntArg (value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1 || !Number.isSafeInteger(Number(value))) {
    throw new InvalidArgumentError('use a whole number of 1 or more.')
  }
  return Number(value)
}

/** A duration such as `30s`, `10m`, `24h`, `7d`, as milliseconds. */
export function durationArg (value: string): number {
  try {
    return parseDuration(value)
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message + '.')
  }
}

/** Like `durationArg`, but refuses durations longer than `maxMs`. */
export function boundedDurationArg (maxMs: number): (value: string) => number {
  return (value: string) => {
    const ms = durationArg(value)
    if (ms > maxMs) throw new InvalidArgumentError(`"${value}" is too long; the most is ${formatDuration(maxMs)}.`)
    return ms
  }
}

/** A display name (1–64 characters, no control characters). */
export function nameArg (value: string): string {
  try {
    return validateName(value)
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message + '.')
  }
}

/** Splits and checks one `HOST:PORT` entry (IPv6 hosts in brackets). */
export function parseHostPort (entry: string): { host: string, port: number } {
  const match = /^(\[[0-9a-fA-F:.]+\]|[^\s:[\]]+):(\d{1,5})$/.exec(entry.trim())
  if (match === null || Number(match[2]) < 1 || Number(match[2]) > 65535) {
    throw new InvalidArgumentError(`"${entry}" is not HOST:PORT (e.g. 192.0.2.10:49737).`)
  }
  return { host: match[1].replace(/^\[|\]$/g, ''), port: Number(match[2]) }
}

/** `--bootstrap HOST:PORT[,HOST:PORT…]`, repeatable; collects all entries. */
export function bootstrapArg (value: string, previous: string[] = []): string[] {
  const entries = value.split(',').map((e) => e.trim()).filter((e) => e !== '')
  if (entries.length === 0) throw new InvalidArgumentError('give at least one HOST:PORT.')
  for (const entry of entries) parseHostPort(entry)
  return [...previous, ...entries]
}

/**
 * `--ice-server URL` (repeatable): collects the STUN/TURN servers for video meetings. A usage
 * error of its own (exit 64), not InvalidArgumentError: commander would echo the argument,
 * password included.
 */
export function iceServerArg (value: string, previous: IceServer[] = []): IceServer[] {
  try {
    return [...previous, parseIceServer(value)]
  } catch (err) {
    throw new CliError(`--ice-server: ${(err as Error).message}. (run with --help for usage)`, EXIT.USAGE)
  }
}
