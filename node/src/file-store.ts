/**
 * `LocalStore` on disk: small files in the node's home, written atomically
 * (temp file, fsync, rename; see home.ts) with mode 0600 so a crash never leaves half
 * a file and no other user of the machine can read group keys.
 */
import fs from 'node:fs/promises'
import path from 'node:path'
import type { LocalStore } from '@solidar/core'
import { writeFileAtomicAsync } from './home.ts'

export class FileStore implements LocalStore {
  readonly dir: string
  /** The last write of each file: writes of one file run one after another, in call order. */
  readonly #writes = new Map<string, Promise<void>>()
  constructor (dir: string) { this.dir = dir }

  async read (name: string): Promise<string | null> {
    try {
      return await fs.readFile(path.join(this.dir, safeName(name)), 'utf8')
    } catch (err: any) {
      if (err.code === 'ENOENT') return null
      throw err
    }
  }

  async write (name: string, text: string): Promise<void> {
    const file = path.join(this.dir, safeName(name))
    // Names may have folders (the pad snapshot cache: pads/<group>/<pad>.snap), made 0700.
    const previous = this.#writes.get(file) ?? Promise.resolve()
    const write = previous
      .catch(() => { /* the earlier write's caller got its error; this write starts afresh */ })
      .then(async () => {
        if (path.dirname(file) !== this.dir) await fs.mkdir(path.dirname(file), { recursive: true, mode: 0o700 })
        await writeFileAtomicAsync(file, text) // fsyncs off the event loop
      })
    this.#writes.set(file, write)
    try {
      await write
    } finally {
      if (this.#writes.get(file) === write) this.#writes.delete(file)
    }
  }
}

/** Relative names of letters, digits, '.', '_', '-' in '/'-separated parts; never '..' or absolute. */
function safeName (name: string): string {
  if (!/^[A-Za-z0-9_-][A-Za-z0-9._-]*(\/[A-Za-z0-9_-][A-Za-z0-9._-]*)*$/.test(name)) throw new Error(`not a local file name: ${JSON.stringify(name)}`)
  return name
}
