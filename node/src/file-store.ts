/**
 * `LocalStore` on disk: small files in the node's home, written atomically
 * (temp file, fsync, rename; see home.ts) with mode 0600 so a crash never leaves half
 * a file and no other user of the machine can read group keys.
 */
import fs from 'node:fs/promises'
import path from 'node:path'
import type { LocalStore } from '@solidar/core'
import { writeFileAtomic } from './home.ts'

export class FileStore implements LocalStore {
  readonly dir: string
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
    if (path.dirname(file) !== this.dir) await fs.mkdir(path.dirname(file), { recursive: true, mode: 0o700 })
    writeFileAtomic(file, text)
  }
}

/** Relative names of letters, digits, '.', '_', '-' in '/'-separated parts; never '..' or absolute. */
function safeName (name: string): string {
  if (!/^[A-Za-z0-9_-][A-Za-z0-9._-]*(\/[A-Za-z0-9_-][A-Za-z0-9._-]*)*$/.test(name)) throw new Error(`not a local file name: ${JSON.stringify(name)}`)
  return name
}
