/** Ports for tests, on 127.0.0.1 only. */
import dgram from 'node:dgram'

/** A UDP port nothing listens on right now (bound, read, released): e.g. a bootstrap address with nothing behind it. */
export async function freeUdpPort (): Promise<number> {
  const socket = dgram.createSocket('udp4')
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve))
  const { port } = socket.address()
  await new Promise<void>((resolve) => socket.close(() => resolve()))
  return port
}
