/**
 * The run's own Prosody (the XMPP baseline): config, data and port in a temp folder,
 * bound to 127.0.0.1, no s2s, no rate limits, a MUC component with instant rooms. Started
 * in the foreground (`prosody --config FILE -F`) as a child of the run, users registered with
 * `prosodyctl`. A system Prosody, if any, is never used or touched.
 */
import { execFile } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { promisify } from 'node:util'
import { freePort, PROSODY_BIN, prosodyConfig, waitForPorts } from '@solidar/test/helpers/prosody-config'
import { spawnManaged, type Managed } from './procs.ts'

const run = promisify(execFile)

export const DOMAIN = 'localhost'
export const MUC = 'conference.localhost'

export function prosodyInstalled (): boolean {
  return PROSODY_BIN !== null
}

export interface Prosody { port: number, proc: Managed, users: Array<{ username: string, password: string }>, stop (): Promise<void> }

export async function startProsody (dir: string, userCount: number): Promise<Prosody> {
  fs.mkdirSync(path.join(dir, 'data'), { recursive: true })
  fs.mkdirSync(path.join(dir, 'certs'), { recursive: true })
  const port = await freePort()
  const config = path.join(dir, 'prosody.cfg.lua')
  fs.writeFileSync(config, prosodyConfig({ dir, domain: DOMAIN, c2sPort: port, muc: MUC, lowLatency: true, log: 'error' }))
  const proc = spawnManaged('prosody', 'prosody', ['--config', config, '-F'])
  await waitForPorts([port], () => proc.running, async () => {
    await proc.stop()
    return proc.output.slice(-3000)
  })
  const users: Prosody['users'] = []
  for (let i = 0; i < userCount; i++) users.push({ username: `u${i}`, password: `pw${i}` })
  // prosodyctl starts Lua each time (~0.2 s): register a few at a time.
  for (let i = 0; i < users.length; i += 4) {
    await Promise.all(users.slice(i, i + 4).map(u => run('prosodyctl', ['--config', config, 'register', u.username, DOMAIN, u.password], { timeout: 30_000 })))
  }
  return { port, proc, users, stop: () => proc.stop(5000) }
}
