/** Byte-level searches through what a node left on disk. */
import { readdir, readFile, lstat } from 'node:fs/promises'
import path from 'node:path'

export interface Hit { file: string, needle: string, offset: number }

/** Every regular file below `dir` (symlinks are not followed). */
export async function listFiles (dir: string): Promise<string[]> {
  const out: string[] = []
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name)
    if (entry.isDirectory()) out.push(...await listFiles(full))
    else if (entry.isFile()) out.push(full)
  }
  return out
}

/** Where the UTF-8 bytes of any of `needles` occur in `buf`. */
export function findInBuffer (buf: Buffer, needles: string[], file = '<buffer>'): Hit[] {
  const hits: Hit[] = []
  for (const needle of needles) {
    const bytes = Buffer.from(needle, 'utf8')
    const offset = buf.indexOf(bytes)
    if (offset !== -1) hits.push({ file, needle, offset })
  }
  return hits
}

/** Searches every file below `dir` for the UTF-8 bytes of each needle. */
export async function findInFiles (dir: string, needles: string[]): Promise<{ hits: Hit[], files: number, bytes: number }> {
  const hits: Hit[] = []
  let bytes = 0
  const files = await listFiles(dir)
  for (const file of files) {
    let buf: Buffer
    try {
      if (!(await lstat(file)).isFile()) continue
      buf = await readFile(file)
    } catch (err: any) {
      if (err?.code === 'ENOENT') continue // removed while we looked (a running daemon)
      throw err
    }
    bytes += buf.byteLength
    hits.push(...findInBuffer(buf, needles, file))
  }
  return { hits, files: files.length, bytes }
}
