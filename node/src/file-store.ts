/**
 * `LocalStore` (core/src/local-store.ts) on disk: small files in the node's home, written atomically
 * (temp file, fsync, rename; see home.ts) with mode 0600 so a crash never leaves half
 * a file and no other user of the machine can read group keys.
 */
import fs from 'node:fs/promises'
import path from 'node:path'
import type { LocalStore } from '@solidar/core'
import { isTempName, syncDirAsync, writeFileAtomicAsync } from './home.ts'

export class FileStore implements LocalStore {
  readonly dir: string
  /** The last put or delete of each file: they run one after another, in call order. */
  readonly #writes = new Map<string, Promise<void>>()
  constructor (dir: string) { this.dir = dir }

  async get (name: string): Promise<Uint8Array | null> {
    try {
      return await fs.readFile(path.join(this.dir, safeName(name)))
    } catch (err: any) {
      if (err.code === 'ENOENT') return null
      throw err
    }
  }

  async put (name: string, bytes: Uint8Array): Promise<void> {
    const file = path.join(this.dir, safeName(name))
    await this.#inOrder(file, async () => {
      // Names may have folders (the pad snapshot cache: pads/<group>/<pad>.ysnap), made 0700.
      if (path.dirname(file) !== this.dir) await fs.mkdir(path.dirname(file), { recursive: true, mode: 0o700 })
      await writeFileAtomicAsync(file, bytes) // fsyncs off the event loop
    })
  }

  async delete (name: string): Promise<void> {
    const file = path.join(this.dir, safeName(name))
    await this.#inOrder(file, async () => {
      try {
        await fs.unlink(file)
      } catch (err: any) {
        if (err.code === 'ENOENT') return // nothing there: nothing to make durable
        throw err
      }
      await syncDirAsync(path.dirname(file)) // the removal survives a power cut
    })
  }

  async list (prefix: string): Promise<string[]> {
    const out: string[] = []
    const walk = async (rel: string): Promise<void> => {
      let entries
      try {
        entries = await fs.readdir(path.join(this.dir, rel), { withFileTypes: true })
      } catch (err: any) {
        if (err.code === 'ENOENT') return
        throw err
      }
      for (const e of entries) {
        const name = rel === '' ? e.name : `${rel}/${e.name}`
        // Only what a put can have made (no temp files of an atomic write, nothing unsafe);
        // a folder is walked only if names under it can still start with the prefix.
        if (!SAFE.test(name)) continue
        if (e.isDirectory()) {
          if (prefix.startsWith(`${name}/`) || `${name}/`.startsWith(prefix)) await walk(name)
        } else if (e.isFile() && name.startsWith(prefix) && !isTempName(e.name)) out.push(name)
      }
    }
    await walk('')
    return out.sort()
  }

  /** Runs `op` on `file` after the earlier puts and deletes of it, whatever became of them. */
  async #inOrder (file: string, op: () => Promise<void>): Promise<void> {
    const previous = this.#writes.get(file) ?? Promise.resolve()
    const write = previous
      .catch(() => { /* the earlier call's caller got its error; this one starts afresh */ })
      .then(op)
    this.#writes.set(file, write)
    try {
      await write
    } finally {
      if (this.#writes.get(file) === write) this.#writes.delete(file)
    }
  }
}

/** Relative names of letters, digits, '.', '_', '-' in '/'-separated parts; never '..' or absolute. */
const SAFE = /^[A-Za-z0-9_-][A-Za-z0-9._-]*(\/[A-Za-z0-9_-][A-Za-z0-9._-]*)*$/
function safeName (name: string): string {
  if (!SAFE.test(name)) throw new Error(`not a local file name: ${JSON.stringify(name)}`)
  return name
}
