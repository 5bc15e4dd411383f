/**
 * What a node reports about itself and its groups: `status` (network, peers, sync and
 * catch-up per group, groups being left) and `listGroups` (role, members, unread counts).
 * It knows the rest of the node only through `OverviewHost`.
 */
import { StampedCache } from '../stamped-cache.ts'
import type { NodeStatus } from '../api.ts'
import { catchUpState, type CatchUp } from '../catch-up.ts'
import { memberId, type Identity } from '../identity.ts'
import { groupIdOf } from '../ids.ts'
import { countUnread, type ReadMarkers } from '../read-markers.ts'
import { groupSync } from '../sync-state.ts'
import type { Transport } from '../transport.ts'
import type { GroupSummary, SolidarEvent } from '../types.ts'
import { upgradeOf } from '../upgrade.ts'
import type { LogIndex, OpenLog } from './shared.ts'

export interface OverviewHost {
  logs: LogIndex
  /** Reopens a log whose storage failed (STORAGE_FAILED if it cannot be yet). */
  healthy (log: OpenLog): Promise<void>
  /** Opens the epoch keys of `log` this device was given since the last look. */
  refreshKeys (log: OpenLog): Promise<void>
  read: ReadMarkers
  /** Member hex by a connected peer's transport key hex, per group topic (Presence.membersByPeer). */
  membersByPeer (discoveryKey: Buffer): Map<string, string>
  transport: Transport | null
  network: { mode: NodeStatus['network']['mode'], bootstrap: string[] }
  identity: Identity
  /** The member this device acts for (hex). */
  self (): string
  emit (event: SolidarEvent): void
}

export class Overview {
  readonly #host: OverviewHost
  /** Per group log: the name the group list last showed. */
  readonly #names = new Map<string, string>()
  readonly #metaNames = new WeakMap<OpenLog, StampedCache<'name', string>>()
  constructor (host: OverviewHost) { this.#host = host }

  /**
   * After each update of a group log: a `group` event when its name changed — it arrived (the
   * log caught up, e.g. after a repair), or another member renamed it — so lists shown elsewhere
   * (the web app's) load it again instead of keeping "(syncing)" or the old name.
   */
  async onUpdate (log: OpenLog): Promise<void> {
    if (log.record.kind !== 'group') return
    // A group's name changes only with commands that move the membership stamp (a rename, new keys for its sealed name).
    let cache = this.#metaNames.get(log)
    if (cache === undefined) this.#metaNames.set(log, cache = new StampedCache(() => log.group.membershipStamp))
    const name = await cache.get('name', async () => (await log.group.meta())?.name ?? '')
    const before = this.#names.get(log.record.key)
    this.#names.set(log.record.key, name)
    if (before !== undefined && before !== name) this.#host.emit({ type: 'group', group: groupIdOf(log.group.key) })
  }

  /** Which transport carries replication with a peer (its transport key). */
  #carrier = (remotePublicKey: Uint8Array): string => this.#host.transport?.carrier?.(remotePublicKey) ?? this.#host.transport?.name ?? 'none'

  async status (): Promise<NodeStatus> {
    const groups: NodeStatus['groups'] = []
    for (const log of this.#host.logs.groupLogs()) {
      const meta = await log.group.meta()
      const { peers, peersByTransport, sync } = groupSync(log.group.base, this.#carrier, log.group.warning)
      const catchUp = await this.#catchUp(log)
      groups.push({ id: groupIdOf(log.group.key), name: meta?.name ?? '(syncing)', peers, peersByTransport, length: await log.group.messageCount(), sync, ...(catchUp ? { catchUp } : {}), ...upgradeOf(log.group) })
    }
    const leaving: NodeStatus['leaving'] = []
    for (const log of this.#host.logs.all()) {
      if (log.record.leaving === undefined) continue
      leaving.push({ id: groupIdOf(log.group.key), name: (await log.group.meta())?.name ?? '', since: log.record.leaving })
    }
    const t = this.#host.transport
    return {
      leaving,
      id: memberId(this.#host.identity),
      name: this.#host.identity.name,
      network: {
        mode: this.#host.network.mode,
        bootstrap: this.#host.network.bootstrap,
        connections: t?.connectionCount ?? 0,
        transports: t ? (t.info?.() ?? [{ name: t.name, connections: t.connectionCount }]) : []
      },
      groups
    }
  }

  async listGroups (): Promise<GroupSummary[]> {
    const out: GroupSummary[] = []
    for (const log of this.#host.logs.groupLogs()) {
      try {
        // A log whose storage failed is closing: reopen it (reads work on a read-only disk too).
        await this.#host.healthy(log)
      } catch {
        // It cannot be opened now: list it all the same; opening it reports the cause.
        out.push({ id: groupIdOf(log.group.key), name: '(storage failed)', role: null, members: 0 })
        continue
      }
      await this.#host.refreshKeys(log)
      const meta = await log.group.meta()
      const members = await log.group.members()
      const me = members.find(m => m.id === this.#host.self())
      const catchUp = await this.#catchUp(log)
      const marker = await this.#host.read.get(log.record.key)
      const unread = await countUnread(log.group, marker, this.#host.self())
      out.push({ id: groupIdOf(log.group.key), name: meta?.name ?? '(syncing)', role: me?.role ?? null, members: members.length, unread, ...(marker !== null ? { lastRead: marker.id } : {}), ...(catchUp ? { catchUp } : {}), ...upgradeOf(log.group) })
    }
    return out
  }

  /** How far a group that has not fully reached this device is (catch-up.ts); null once it has. */
  async #catchUp (log: OpenLog): Promise<CatchUp | null> {
    return catchUpState(log.group.base, await log.group.allMembers(), this.#host.membersByPeer(log.group.discoveryKey))
  }
}
