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
      return await fs.readFile(path.join(this.dir, name), 'utf8')
    } catch (err: any) {
      if (err.code === 'ENOENT') return null
      throw err
    }
  }

  async write (name: string, text: string): Promise<void> {
    writeFileAtomic(path.join(this.dir, name), text)
  }
}
