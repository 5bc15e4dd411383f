/**
 * Settings a user changes from the web app (onboarding): the display name while this device
 * is in no group yet, and the remembered network choice (config.json): a DHT mode and whether
 * to find peers on the local network (LAN mode, as `serve --lan`). The network a node uses is
 * fixed while it runs: a changed choice applies at the next `solidar serve`, and
 * `restartRequired` says so. The meetings' STUN/TURN servers (config.json `iceServers`) apply
 * at once: the web app reads them from `GET /api/meetings/config` whenever it joins a meeting.
 */
import path from 'node:path'
import { encodeIdentity, errors, validateName } from '@solidar/core'
import type { Solidar } from '@solidar/core'
import { IDENTITY_FILE, readConfig, writeConfig, writeFileAtomic } from './home.ts'
import { normalizeIceServers, type IceServer } from './ice-servers.ts'
import { parseHostPort } from './hyperswarm-transport.ts'
import type { NetworkChoice } from './runtime.ts'

/** Most bootstrap nodes accepted in one choice. */
const MAX_BOOTSTRAP = 16

export type { NodeSettings } from '@solidar/core/local-api-types'
import type { NodeSettings } from '@solidar/core/local-api-types'

export interface SettingsApi {
  get (): Promise<NodeSettings>
  setName (name: string): Promise<NodeSettings>
  /** Remembers a network choice; `lan` undefined keeps the remembered LAN mode. */
  setNetwork (choice: NetworkChoice, lan?: boolean): Promise<NodeSettings>
  /** Remembers the meetings' STUN/TURN servers (replacing the list; [] for none). Throws BAD_REQUEST. */
  setIceServers (servers: unknown): Promise<NodeSettings>
  /** The remembered STUN/TURN servers, read from config.json at every call. */
  iceServers (): IceServer[]
}

const sameNetwork = (a: NetworkChoice, b: NetworkChoice): boolean =>
  a.mode === b.mode && a.bootstrap.join(',') === b.bootstrap.join(',')

/** Checks and normalises a network choice from a client; throws BAD_REQUEST. */
export function normalizeNetwork (choice: { mode: string, bootstrap?: string[] }): NetworkChoice {
  if (choice.mode === 'none' || choice.mode === 'public') {
    if (choice.bootstrap !== undefined && choice.bootstrap.length > 0) throw errors.badRequest(`bootstrap addresses belong to mode "bootstrap", not "${choice.mode}"`)
    return { mode: choice.mode, bootstrap: [] }
  }
  if (choice.mode !== 'bootstrap') throw errors.badRequest(`unknown network mode "${choice.mode}"`)
  const list = [...new Set((choice.bootstrap ?? []).map((b) => b.trim()).filter((b) => b !== ''))]
  if (list.length === 0) throw errors.badRequest('a private DHT needs at least one bootstrap address HOST:PORT')
  if (list.length > MAX_BOOTSTRAP) throw errors.badRequest(`at most ${MAX_BOOTSTRAP} bootstrap addresses`)
  for (const b of list) {
    try { parseHostPort(b) } catch (err: any) { throw errors.badRequest(err.message) }
  }
  return { mode: 'bootstrap', bootstrap: list }
}

/** `solidar`: the node, or a function returning the node open now (a read-only node reopens it once writable). */
export function createSettings (opts: { home: string, solidar: Solidar | (() => Solidar), running: NetworkChoice, runningLan?: boolean }): SettingsApi {
  const { home, running } = opts
  const node = opts.solidar
  const solidarOf = typeof node === 'function' ? node : () => node
  const runningLan = opts.runningLan ?? false
  const canRename = async (): Promise<boolean> =>
    (await solidarOf().listGroups()).length === 0 && (await solidarOf().devices()).length <= 1
  const get = async (): Promise<NodeSettings> => {
    const config = readConfig(home)
    const saved = config.network ?? null
    const savedLan = config.lan ?? null
    return {
      name: solidarOf().identity.name,
      canRename: await canRename(),
      network: {
        running,
        saved,
        lan: { running: runningLan, saved: savedLan },
        restartRequired: (saved !== null && !sameNetwork(saved, running)) || (savedLan !== null && savedLan !== runningLan)
      },
      meetings: { iceServers: config.iceServers ?? [] }
    }
  }
  return {
    get,
    async setName (name) {
      const valid = validateName(name)
      if (!(await canRename())) {
        throw errors.notPermitted('The name can only be changed before this device creates or joins a group (the other members already know it)')
      }
      const solidar = solidarOf()
      solidar.identity.name = valid
      writeFileAtomic(path.join(home, IDENTITY_FILE), encodeIdentity(solidar.identity))
      return get()
    },
    async setNetwork (choice, lan) {
      const network = normalizeNetwork(choice)
      if (lan !== undefined && typeof lan !== 'boolean') throw errors.badRequest('lan must be true or false')
      const config = readConfig(home)
      writeConfig(home, { ...config, network, ...(lan !== undefined ? { lan } : {}) })
      return get()
    },
    async setIceServers (servers) {
      const iceServers = normalizeIceServers(servers)
      writeConfig(home, { ...readConfig(home), iceServers })
      return get()
    },
    iceServers: () => readConfig(home).iceServers ?? []
  }
}
