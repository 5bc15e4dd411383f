/**
 * The home folder of one Solidar node (default `~/.solidar`, mode 0700).
 *
 * Files (all mode 0600, all written atomically: temporary file + fsync + rename):
 * - `identity.json`: the device key pair (core's `encodeIdentity`), never overwritten
 * - `token`: 32 random bytes as hex; the bearer token of the local API
 * - `config.json`: `{ network: { mode, bootstrap }, lan?, iceServers? }`, the remembered network choice,
 *   LAN mode and the meetings' STUN/TURN servers (with TURN credentials: the reason for 0600)
 * - `daemon.json`: `{ pid, host, port, url }` of the running daemon, removed on clean exit
 */
import { randomBytes } from 'node:crypto'
import fs from 'node:fs'
import fsp from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { errors } from '@solidar/core/errors'
import { decodeIdentity, encodeIdentity, memberId } from '@solidar/core/identity'
import type { Identity } from '@solidar/core'
import type { NetworkChoice } from './runtime.ts'
import { checkIceServers, type IceServer } from './ice-servers.ts'

const DIR_MODE = 0o700
const FILE_MODE = 0o600

export const IDENTITY_FILE = 'identity.json'
export const TOKEN_FILE = 'token'
export const CONFIG_FILE = 'config.json'
export const DAEMON_FILE = 'daemon.json'

/** Remembered settings of a home. Absent keys mean "not chosen yet". */
export interface HomeConfig {
  network?: NetworkChoice
  /** LAN mode (mDNS discovery, libp2p) at every start, chosen in the web app; `--no-lan` skips it for one run. */
  lan?: boolean
  /** STUN/TURN servers for video meetings (`serve --ice-server` or the web app), credentials included. */
  iceServers?: IceServer[]
}

/** What a running daemon publishes about itself; `url` is the API base URL without the token. */
export interface DaemonInfo {
  pid: number
  host: string
  port: number
  url: string
}

/**
 * Picks the home folder: the `--home` flag, else `$SOLIDAR_HOME`, else `~/.solidar`.
 * Always returns an absolute path.
 */
export function resolveHome (flag?: string, env: NodeJS.ProcessEnv = process.env): string {
  const chosen = nonEmpty(flag) ?? nonEmpty(env.SOLIDAR_HOME) ?? path.join(os.homedir(), '.solidar')
  return path.resolve(chosen)
}

function nonEmpty (value: string | undefined): string | undefined {
  return value !== undefined && value.trim() !== '' ? value : undefined
}

/** Entries that mark a folder as a Solidar home (any one of them). */
const HOME_MARKERS = ['identity.json', 'token', 'config.json', 'store', 'store-key', 'logs.json']

/**
 * Creates the home folder (and missing parents) with mode 0700 if it does not exist, and
 * makes an existing one that Solidar owns private: a folder of this user that is empty or
 * already holds a Solidar home (identity, token, store …) is set to 0700. Any other folder
 * (another user's, or one with unrelated files the user chose on purpose) is left as it is;
 * `homeWarning` says so. Returns true if it changed the folder's mode.
 */
export function ensureHome (home: string): boolean {
  if (fs.existsSync(home)) {
    const stat = fs.statSync(home)
    if (!stat.isDirectory()) throw errors.badRequest(`${home} exists and is not a folder`)
    if ((stat.mode & 0o077) === 0 || !ownsHome(home, stat)) return false
    try {
      fs.chmodSync(home, DIR_MODE)
      return true
    } catch (err: any) {
      // A read-only file system or an ACL refusing chmod: `homeWarning` reports the mode.
      if (err?.code === 'EPERM' || err?.code === 'EROFS' || err?.code === 'EACCES') return false
      throw err
    }
  }
  fs.mkdirSync(home, { recursive: true, mode: DIR_MODE })
  fs.chmodSync(home, DIR_MODE) // mkdir's mode is filtered by the umask
  syncDir(path.dirname(home))
  return true
}

function ownsHome (home: string, stat: fs.Stats): boolean {
  if (typeof process.getuid === 'function' && stat.uid !== process.getuid()) return false
  const entries = fs.readdirSync(home)
  return entries.length === 0 || entries.some((name) => HOME_MARKERS.includes(name))
}

/**
 * A warning for a home that others can read or enter (mode with group/other bits) and that
 * Solidar did not tighten, or null when the home is private.
 */
export function homeWarning (home: string): string | null {
  let stat: fs.Stats
  try { stat = fs.statSync(home) } catch { return null } // not there yet: ensureHome creates it 0700
  const mode = stat.mode & 0o777
  if ((mode & 0o077) === 0) return null
  const why = typeof process.getuid === 'function' && stat.uid !== process.getuid()
    ? 'it belongs to another user'
    : ownsHome(home, stat) ? 'changing its mode failed' : 'it holds files that are not Solidar\'s'
  return `the home folder ${home} has mode ${mode.toString(8).padStart(4, '0')}, so other users of this machine may read ` +
    `its keys; Solidar left it as it is because ${why}. Run: chmod 700 ${JSON.stringify(home)}, or use another --home`
}

function tmpName (file: string): string {
  return `${file}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`
}

/** True for the name of an atomic write's temporary file (tmpName), which is never content. */
export const isTempName = (name: string): boolean => /\.\d+\.[0-9a-f]{12}\.tmp$/.test(name)

function writeTmp (file: string, data: string): string {
  const tmp = tmpName(file)
  const fd = fs.openSync(tmp, 'wx', FILE_MODE)
  try {
    fs.writeFileSync(fd, data)
    fs.fsyncSync(fd)
  } finally {
    fs.closeSync(fd)
  }
  fs.chmodSync(tmp, FILE_MODE) // the umask may have removed bits, never added: make it exact
  return tmp
}

/** Writes `data` to `file` atomically with mode 0600; readers see the old or the new content, never a mix. */
export function writeFileAtomic (file: string, data: string): void {
  const tmp = writeTmp(file, data)
  try {
    fs.renameSync(tmp, file)
  } catch (err) {
    fs.rmSync(tmp, { force: true })
    throw err
  }
  syncDir(path.dirname(file))
}

/**
 * `writeFileAtomic` without blocking the event loop (file and folder fsyncs on the thread
 * pool), for the writes of a running node. Callers serialise writes of one file (FileStore does).
 */
export async function writeFileAtomicAsync (file: string, data: string | Uint8Array): Promise<void> {
  const tmp = tmpName(file)
  const handle = await fsp.open(tmp, 'wx', FILE_MODE)
  try {
    await handle.writeFile(data)
    await handle.sync()
  } finally {
    await handle.close()
  }
  try {
    await fsp.chmod(tmp, FILE_MODE) // the umask may have removed bits, never added: make it exact
    await fsp.rename(tmp, file)
  } catch (err) {
    await fsp.rm(tmp, { force: true })
    throw err
  }
  await syncDirAsync(path.dirname(file))
}

/** syncDir off the event loop: a new name, a rename or a removal in `dir` survives a power cut. */
export async function syncDirAsync (dir: string): Promise<void> {
  const handle = await fsp.open(dir, 'r')
  try { await handle.sync() } finally { await handle.close() }
}

/**
 * fsyncs a folder, so that a rename or a new file in it survives a power cut (the file's own
 * fsync does not cover its name: a disk that went read-only right after a rename had only the
 * `.tmp` file of logs.json left).
 */
export function syncDir (dir: string): void {
  const fd = fs.openSync(dir, 'r')
  try { fs.fsyncSync(fd) } finally { fs.closeSync(fd) }
}

/**
 * Like `writeFileAtomic`, but fails (returns false) if `file` already exists.
 * A hard link is created atomically and never replaces an existing name.
 */
export function createFileAtomic (file: string, data: string): boolean {
  const tmp = writeTmp(file, data)
  try {
    fs.linkSync(tmp, file)
    syncDir(path.dirname(file))
    return true
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false
    throw err
  } finally {
    fs.rmSync(tmp, { force: true })
  }
}

function readText (file: string): string | null {
  try {
    return fs.readFileSync(file, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null
    throw err
  }
}

/** The identity stored in `home`, or null if there is none yet. Throws BAD_REQUEST for a damaged file. */
export function readIdentity (home: string): Identity | null {
  const text = readText(path.join(home, IDENTITY_FILE))
  return text === null ? null : decodeIdentity(text)
}

/** Stores a new identity; refuses (ALREADY_INITIALIZED) to replace an existing one. */
export function writeIdentity (home: string, identity: Identity): void {
  ensureHome(home)
  if (!createFileAtomic(path.join(home, IDENTITY_FILE), encodeIdentity(identity))) {
    const existing = readIdentity(home)
    throw errors.alreadyInitialized(existing !== null ? memberId(existing) : path.join(home, IDENTITY_FILE))
  }
}

const TOKEN_PATTERN = /^[0-9a-f]{64}$/

/** The API bearer token of this home, created (32 random bytes, hex) on first use. */
export function loadOrCreateToken (home: string): string {
  ensureHome(home)
  const file = path.join(home, TOKEN_FILE)
  let text = readText(file)
  if (text === null) {
    createFileAtomic(file, randomBytes(32).toString('hex') + '\n') // a concurrent creator may win: read back
    text = readText(file) ?? ''
  }
  const token = text.trim()
  if (!TOKEN_PATTERN.test(token)) {
    throw errors.badRequest(`${file} is damaged; stop the node, delete that file and start the node again`)
  }
  return token
}

/** The token if it exists (for clients: they never create one). */
export function readToken (home: string): string | null {
  const text = readText(path.join(home, TOKEN_FILE))
  if (text === null) return null
  const token = text.trim()
  return TOKEN_PATTERN.test(token) ? token : null
}

/** Checks the shape of a network choice read from disk or a request. */
export function parseNetworkChoice (raw: unknown): NetworkChoice | null {
  if (typeof raw !== 'object' || raw === null) return null
  const { mode, bootstrap } = raw as Record<string, unknown>
  if (mode !== 'none' && mode !== 'bootstrap' && mode !== 'public') return null
  if (!Array.isArray(bootstrap) || !bootstrap.every((b) => typeof b === 'string')) return null
  return { mode, bootstrap: [...bootstrap] }
}

/** The remembered settings; `{}` when nothing was chosen yet. Throws BAD_REQUEST for a damaged file. */
export function readConfig (home: string): HomeConfig {
  const file = path.join(home, CONFIG_FILE)
  const text = readText(file)
  if (text === null) return {}
  let raw: unknown
  try { raw = JSON.parse(text) } catch { throw errors.badRequest(`${file} is not valid JSON`) }
  if (typeof raw !== 'object' || raw === null) throw errors.badRequest(`${file} is not a JSON object`)
  const config: HomeConfig = {}
  const network = (raw as Record<string, unknown>).network
  if (network !== undefined) {
    const choice = parseNetworkChoice(network)
    if (choice === null) throw errors.badRequest(`${file} holds an invalid "network" entry`)
    config.network = choice
  }
  const lan = (raw as Record<string, unknown>).lan
  if (lan !== undefined) {
    if (typeof lan !== 'boolean') throw errors.badRequest(`${file} holds an invalid "lan" entry (true or false)`)
    config.lan = lan
  }
  const ice = (raw as Record<string, unknown>).iceServers
  if (ice !== undefined) {
    try {
      config.iceServers = checkIceServers(ice)
    } catch (err) {
      throw errors.badRequest(`${file} holds an invalid "iceServers" entry: ${(err as Error).message}`)
    }
  }
  return config
}

/** Replaces the remembered settings. */
export function writeConfig (home: string, config: HomeConfig): void {
  ensureHome(home)
  writeFileAtomic(path.join(home, CONFIG_FILE), JSON.stringify(config, null, 2) + '\n')
}

/** True if a process with this pid exists (it may belong to another user). */
export function isProcessAlive (pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

function parseDaemonInfo (raw: unknown): DaemonInfo | null {
  if (typeof raw !== 'object' || raw === null) return null
  const { pid, host, port, url } = raw as Record<string, unknown>
  if (typeof pid !== 'number' || typeof host !== 'string' || typeof port !== 'number' || typeof url !== 'string') return null
  return { pid, host, port, url }
}

/**
 * The running daemon of this home, or null if none runs. A missing, unreadable or stale
 * `daemon.json` (its pid is gone) counts as "no daemon".
 */
export function readDaemonInfo (home: string): DaemonInfo | null {
  const text = readText(path.join(home, DAEMON_FILE))
  if (text === null) return null
  let info: DaemonInfo | null
  try { info = parseDaemonInfo(JSON.parse(text)) } catch { return null }
  if (info === null || !isProcessAlive(info.pid)) return null
  return info
}

/**
 * Publishes the daemon's address. Fails (returns false) if another live daemon has
 * published first; a stale file is replaced.
 */
export function writeDaemonInfo (home: string, info: DaemonInfo): boolean {
  ensureHome(home)
  const file = path.join(home, DAEMON_FILE)
  const data = JSON.stringify(info, null, 2) + '\n'
  if (createFileAtomic(file, data)) return true
  const current = readDaemonInfo(home)
  if (current !== null && current.pid !== info.pid) return false
  writeFileAtomic(file, data)
  return true
}

/** Removes `daemon.json` if it belongs to `pid` (default: this process), so a clean exit never removes another daemon's file. */
export function removeDaemonInfo (home: string, pid: number = process.pid): void {
  const file = path.join(home, DAEMON_FILE)
  const text = readText(file)
  if (text === null) return
  let info: DaemonInfo | null = null
  try { info = parseDaemonInfo(JSON.parse(text)) } catch { /* damaged: remove */ }
  if (info !== null && info.pid !== pid && isProcessAlive(info.pid)) return
  fs.rmSync(file, { force: true })
}
