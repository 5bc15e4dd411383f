/**
 * A blind mirror process (`solidar mirror serve`) for integration tests: always on the
 * test's private loopback DHT, never the public one.
 */
import { REPO_ROOT, solidarArgv } from './cli.ts'
import { startProcess, type ManagedProcess } from './processes.ts'

/** z-base-32, 52 characters: a 32-byte key as Holepunch tools print it. */
export const MIRROR_KEY_LINE = /^[ybndrfg8ejkmcpqxot1uwisza345h769]{52}$/

export interface MirrorProcess {
  proc: ManagedProcess
  key: string
  storage: string
}

/** Starts `solidar --home HOME mirror serve --storage DIR --bootstrap BOOTSTRAP` and reads its key. */
export async function startMirrorProcess (opts: { home: string, storage: string, bootstrap: string, name?: string }): Promise<MirrorProcess> {
  const proc = startProcess(process.execPath, solidarArgv(opts.home, [
    'mirror', 'serve', '--storage', opts.storage, '--bootstrap', opts.bootstrap, '--verbose'
  ]), { name: opts.name ?? 'mirror serve', cwd: REPO_ROOT })
  let line: string
  try {
    line = (await proc.firstLine(60_000)).trim()
  } catch (err) {
    await proc.stop(5_000).catch(() => {})
    throw err
  }
  if (!MIRROR_KEY_LINE.test(line)) {
    await proc.stop(5_000).catch(() => {})
    throw new Error(`mirror serve printed "${line}" where a 52-character mirror key was expected\n${proc.describe()}`)
  }
  return { proc, key: line, storage: opts.storage }
}
