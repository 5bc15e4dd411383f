/**
 * The blind mirror: an always-on blind-peer (holepunchto/blind-peer) that stores and
 * serves the cores of Solidar groups without being able to read them.
 *
 * Members' nodes dial the mirror by its public key through the DHT (blind-peering) and
 * ask it to keep their groups' cores; they send core keys and lengths, never the group
 * key. Every block of a group's Autobase is encrypted with the group key before hypercore
 * hashes and signs it, so the mirror verifies and serves ciphertext and never holds
 * anything that decrypts it. See docs/ARCHITECTURE.md ("Blind mirror").
 *
 * Storage folder (0700):
 *   mirror-key.json  the mirror's Ed25519 key pair (its identity on the DHT), 0600
 *   db/              RocksDB: blind-peer's records and the stored (encrypted) cores
 *
 * Network: like a node, the bootstrap list is explicit; the public DHT only with
 * `publicDht: true`. With loopback-only bootstrap nodes the DHT binds 127.0.0.1.
 */
import fs from 'node:fs'
import path from 'node:path'
import BlindPeer from 'blind-peer'
import Hyperswarm from 'hyperswarm'
import crypto from 'hypercore-crypto'
import IdEnc from 'hypercore-id-encoding'
import { createDht, parseHostPort, type HostPort, type HyperswarmNetwork } from '@solidar/node/hyperswarm-transport'
import { createFileAtomic } from '@solidar/node/home'

export const KEY_FILE = 'mirror-key.json'
export const DB_DIR = 'db'

export interface MirrorOptions {
  /** Folder of the mirror's key pair and data (created with mode 0700). */
  storage: string
  /** DHT bootstrap nodes as HOST:PORT (a private DHT). */
  bootstrap?: Array<string | HostPort>
  /** Use HyperDHT's public bootstrap nodes: only on an explicit choice. */
  publicDht?: boolean
  /** Address of the mirror's UDP socket; default 127.0.0.1 for loopback bootstrap nodes, else all. */
  host?: string
  /** UDP port of the mirror's DHT node (for firewall rules); default any free port. */
  port?: number
  /** Stored bytes above which blind-peer frees the least recently used cores (default 100 GB). */
  maxBytes?: number
  /** Receives what the mirror does (connections, cores added): for the operator's log. */
  onEvent?: (event: string, fields: Record<string, unknown>) => void
}

export interface MirrorStats {
  /** Cores the mirror keeps. */
  cores: number
  /** Bytes those cores take (blind-peer's accounting). */
  bytes: number
  /** Open connections to member devices. */
  connections: number
}

export interface RunningMirror {
  /** The mirror's public key: what members pass to `solidar mirror add`. */
  publicKey: Buffer
  /** The same, z-base-32 (52 characters). */
  key: string
  storage: string
  stats (): MirrorStats
  close (): Promise<void>
}

interface StoredKeyPair { publicKey: Buffer, secretKey: Buffer }

/** Creates `dir` with mode 0700 if missing; tightens an existing folder to 0700. */
function ensurePrivateDir (dir: string): void {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 })
  if (!fs.statSync(dir).isDirectory()) throw new Error(`${dir} is not a folder`)
  fs.chmodSync(dir, 0o700)
}

/** The mirror's key pair from `<storage>/mirror-key.json`, created (0600) on first start. */
export function loadOrCreateKeyPair (storage: string): StoredKeyPair {
  ensurePrivateDir(storage)
  const file = path.join(storage, KEY_FILE)
  if (!fs.existsSync(file)) {
    const kp = crypto.keyPair()
    // A concurrent first start may win the race: read back what is on disk either way.
    createFileAtomic(file, JSON.stringify({
      version: 1, publicKey: kp.publicKey.toString('hex'), secretKey: kp.secretKey.toString('hex')
    }, null, 2) + '\n')
  }
  let raw: any
  try { raw = JSON.parse(fs.readFileSync(file, 'utf8')) } catch { throw new Error(`${file} is damaged (not JSON)`) }
  const publicKey = typeof raw?.publicKey === 'string' ? Buffer.from(raw.publicKey, 'hex') : null
  const secretKey = typeof raw?.secretKey === 'string' ? Buffer.from(raw.secretKey, 'hex') : null
  if (raw?.version !== 1 || publicKey?.byteLength !== 32 || secretKey?.byteLength !== 64 || !crypto.validateKeyPair({ publicKey, secretKey })) {
    throw new Error(`${file} is damaged (not a key pair); restore it from a backup, or delete the storage folder to start a new mirror with a new key`)
  }
  fs.chmodSync(file, 0o600)
  return { publicKey, secretKey }
}

function networkOf (opts: MirrorOptions): HyperswarmNetwork {
  const bootstrap = (opts.bootstrap ?? []).map((b) => typeof b === 'string' ? parseHostPort(b) : b)
  if (opts.publicDht === true) {
    if (bootstrap.length > 0) throw new Error('choose either bootstrap nodes (a private DHT) or the public DHT, not both')
    return { mode: 'public' }
  }
  if (bootstrap.length === 0) throw new Error('a mirror needs bootstrap nodes (HOST:PORT of a private DHT) or an explicit choice of the public DHT')
  return { mode: 'bootstrap', bootstrap }
}

const short = (key: Uint8Array | null | undefined): string | null => key ? IdEnc.normalize(key).slice(0, 12) : null

/** Reports connections and blind-peer's core events: keys shortened, never any content (there is none to see). */
function watch (peer: any, swarm: any, emit: NonNullable<MirrorOptions['onEvent']>): void {
  swarm.on('connection', (conn: any) => {
    const remote = short(conn.remotePublicKey)
    emit('connection', { remote })
    conn.once('close', () => emit('disconnection', { remote }))
  })
  peer.on('add-cores-received', (_stream: any, request: any) => emit('add-cores', {
    referrer: short(request.referrer), cores: request.cores.map((c: any) => `${short(c.key)}@${c.length}`)
  }))
  peer.on('add-new-core', (record: any) => emit('new-core', { core: short(record.key), referrer: short(record.referrer) }))
  // Block traffic is summed up: at most one line per core every two seconds.
  const changed = new Map<string, any>()
  let timer: NodeJS.Timeout | null = null
  peer.on('core-activity', (core: any) => {
    changed.set(short(core.key) ?? '?', core)
    timer ??= setTimeout(() => {
      timer = null
      for (const [id, c] of changed) emit('core', { core: id, length: c.length, stored: c.contiguousLength })
      changed.clear()
    }, 2000)
  })
  peer.once('close', () => { if (timer !== null) clearTimeout(timer) })
}

/** Starts a blind mirror; resolves once it is announced on the DHT and reachable by its key. */
export async function startMirror (opts: MirrorOptions): Promise<RunningMirror> {
  const network = networkOf(opts)
  const storage = path.resolve(opts.storage)
  const keyPair = loadOrCreateKeyPair(storage)
  const dbDir = path.join(storage, DB_DIR)
  ensurePrivateDir(dbDir)

  const dht = createDht(network, { host: opts.host, port: opts.port })
  const swarm = new Hyperswarm({ dht, keyPair })
  // No trusted keys: no member can make the mirror announce cores on the DHT or delete them.
  const peer = new BlindPeer(dbDir, { swarm, maxBytes: opts.maxBytes })
  if (opts.onEvent !== undefined) watch(peer, swarm, opts.onEvent)
  try {
    await peer.ready()
    await peer.listen()
    await swarm.flush()
  } catch (err) {
    await peer.close().catch(() => { /* closing: the other resources must still close, and a failed close has no caller left to tell */ })
    await swarm.destroy().catch(() => { /* closing: the other resources must still close, and a failed close has no caller left to tell */ })
    const message = (err as Error).message ?? String(err)
    if (/lock/i.test(message)) throw new Error(`${dbDir} is in use by another mirror process (${message})`)
    throw err
  }

  let closing: Promise<void> | null = null
  return {
    publicKey: keyPair.publicKey,
    key: IdEnc.normalize(keyPair.publicKey),
    storage,
    stats: () => ({
      cores: peer.digest?.cores ?? 0,
      bytes: peer.digest?.bytesAllocated ?? 0,
      connections: swarm.connections.size
    }),
    close () {
      closing ??= (async () => {
        await peer.close()
        await swarm.destroy()
      })()
      return closing
    }
  }
}
