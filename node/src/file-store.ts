/**
 * `LocalStore` on disk: small files in the node's home, written atomically
 * (temp file, fsync, rename) with mode 0600 so a crash never leaves half a file
 * and no other user of the machine can read group keys.
 */
import fs from 'node:fs/promises'
import path from 'node:path'
import crypto from 'node:crypto'
import type { LocalStore } from '@solidar/core'

export async function writeFileAtomic (file: string, data: string | Uint8Array, mode = 0o600): Promise<void> {
  const tmp = `${file}.${crypto.randomBytes(4).toString('hex')}.tmp`
  const handle = await fs.open(tmp, 'w', mode)
  try {
    await handle.writeFile(data)
    await handle.sync()
  } finally {
    await handle.close()
  }
  await fs.rename(tmp, file)
  await fs.chmod(file, mode) // rename keeps the temp file's mode; make it explicit anyway
}

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
    await writeFileAtomic(path.join(this.dir, name), text)
  }
}
