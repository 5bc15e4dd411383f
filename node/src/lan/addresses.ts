/**
 * HOST:PORT for `serve --listen` and `serve --peer`, turned into libp2p TCP multiaddrs.
 * HOST is an IPv4 or IPv6 address (IPv6 in brackets: [fe80::1]:4100) or a host name.
 */
import net from 'node:net'

export interface LanAddress { host: string, port: number, multiaddr: string }

const HOST_NAME = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*\.?$/i

/** Throws an Error with a message fit for the user when `text` is not a usable address. */
export function parseLanAddress (text: string, opts: { allowAnyPort?: boolean } = {}): LanAddress {
  const trimmed = text.trim()
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d+)$/.exec(trimmed)
  if (!m) throw new Error(`"${text}" is not HOST:PORT (e.g. 192.168.1.20:4100, or [fd00::1]:4100 for IPv6)`)
  const host = m[1] ?? m[2]
  const port = Number(m[3])
  const min = opts.allowAnyPort === true ? 0 : 1
  if (!Number.isInteger(port) || port < min || port > 65535) {
    throw new Error(`"${text}": the port must be ${min}–65535${min === 0 ? ' (0 picks a free one)' : ''}`)
  }
  const family = net.isIP(host)
  if (m[1] !== undefined && family !== 6) throw new Error(`"${text}": only IPv6 addresses go in brackets`)
  if (family === 4) return { host, port, multiaddr: `/ip4/${host}/tcp/${port}` }
  if (family === 6) return { host, port, multiaddr: `/ip6/${host}/tcp/${port}` }
  if (!HOST_NAME.test(host) || /^[\d.]+$/.test(host)) throw new Error(`"${text}": "${host}" is not an IP address or host name`)
  return { host, port, multiaddr: `/dns/${host}/tcp/${port}` }
}

export const formatLanAddress = (a: { host: string, port: number }): string => a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`
