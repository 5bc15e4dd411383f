/**
 * Follows a group's history sync after `join`: prints how far this node is (messages in its
 * view, blocks still to fetch and to apply) until it holds everything its peers have, on
 * stderr — one updating line on a terminal, a line every few seconds otherwise. Bounded:
 * it gives up (the node keeps syncing in the background) when no peer is online for a while,
 * when nothing moves for a while, or after `maxMs`.
 */
import type { NodeStatus } from '@solidar/core'
import type { ApiClient } from './client.ts'

/** Polling interval; the node answers `status` from memory. */
const POLL_MS = 500
/** A non-terminal gets a progress line this often (logs stay short). */
const LINE_EVERY_MS = 5_000
/** Reported done after this many polls in a row found the group synced (the view is caught up). */
const SYNCED_POLLS = 3
/** Without a peer for this long there is nobody to sync from: stop following. */
const OFFLINE_MS = 15_000
/** Nothing fetched or applied for this long: stop following (the node goes on). */
const STALLED_MS = 60_000

export interface SyncOutcome { state: 'synced' | 'offline' | 'stalled' | 'timeout', messages: number, ms: number }

type GroupStatus = NodeStatus['groups'][number]

const fmt = (n: number) => n.toLocaleString('en-US')

export function describeSync (g: GroupStatus): string {
  const left = g.sync.missing + g.sync.unapplied
  return left > 0
    ? `Syncing history: ${fmt(g.length)} messages here, ${fmt(left)} blocks to go (${fmt(g.sync.missing)} to fetch, ${fmt(g.sync.unapplied)} to apply)`
    : `Syncing history: ${fmt(g.length)} messages here`
}

export async function followSync (client: ApiClient, groupId: string, opts: { maxMs: number, write: (text: string) => void, tty: boolean }): Promise<SyncOutcome> {
  const started = Date.now()
  let synced = 0
  let lastLine = 0
  let lastProgress = started
  let lastSeenPeer = started
  let last: GroupStatus | undefined
  let printed = false
  const show = (line: string, force = false) => {
    if (opts.tty) { opts.write(`\r\x1b[2K${line}`); printed = true; return }
    if (force || Date.now() - lastLine >= LINE_EVERY_MS) { opts.write(line + '\n'); lastLine = Date.now() }
  }
  const end = (state: SyncOutcome['state']): SyncOutcome => {
    if (opts.tty && printed) opts.write('\n')
    return { state, messages: last?.length ?? 0, ms: Date.now() - started }
  }
  for (;;) {
    const status = await client.get<NodeStatus>('/api/status')
    const g = status.groups.find(x => x.id === groupId)
    const now = Date.now()
    if (g !== undefined) {
      if (last === undefined || g.length !== last.length || g.sync.missing + g.sync.unapplied !== last.sync.missing + last.sync.unapplied) lastProgress = now
      if (g.peers > 0) lastSeenPeer = now
      last = g
      synced = g.sync.state === 'synced' ? synced + 1 : 0
      if (synced >= SYNCED_POLLS) return end('synced')
      show(describeSync(g))
    }
    if (now - lastSeenPeer > OFFLINE_MS) return end('offline')
    if (now - lastProgress > STALLED_MS) return end('stalled')
    if (now - started > opts.maxMs) return end('timeout')
    await new Promise(resolve => setTimeout(resolve, POLL_MS))
  }
}
