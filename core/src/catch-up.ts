/**
 * How far a group that has not fully reached this device is (issue 16, item 6): while this
 * device cannot write yet (its admission has not arrived) or still fetches or applies history,
 * `solidar status`, `group list` and the web app say how much of the log it holds, from which
 * peers it is fetching, and whether an admin (who can admit devices) is online. A device that
 * is not admitted yet and sees no admin says it waits for one.
 *
 * Read from the hypercore replication sessions of the log's writer cores (each peer announces
 * the length it holds) and from group presence (pads/presence.ts), which names the member
 * behind a connected peer once its signed presence checked out.
 */
import b4a from 'b4a'
import { encodeKey, memberIdOf } from './ids.ts'
import type { CatchUp, CatchUpPeer, CatchUpWriter } from './types.ts'
import type { MemberRecord } from './view.ts'

export type { CatchUp, CatchUpPeer, CatchUpWriter }

/** Characters of a z-base-32 key shown for a peer or writer without a known name. */
const SHORT_KEY = 8

interface PeerLike { remotePublicKey?: Uint8Array, remoteLength?: number }
interface CoreLike { key?: Uint8Array, length: number, contiguousLength?: number, peers?: PeerLike[] }
/** What this reads of an Autobase. */
export interface CatchUpBase {
  writable: boolean
  core?: { peers?: PeerLike[] } | null
  activeWriters?: Iterable<{ core: CoreLike, length?: number }>
}

const hex = (b: Uint8Array): string => b4a.toString(b, 'hex')
const short = (b: Uint8Array): string => encodeKey(b).slice(0, SHORT_KEY)

/**
 * The catch-up state of one log, or null when it has fully reached this device (writable, and
 * nothing left to fetch or apply). `members`: everyone the view knows (names already revealed);
 * `peerMembers`: member hex by a connected peer's transport key hex (Presence.membersByPeer).
 */
export function catchUpState (base: CatchUpBase, members: MemberRecord[], peerMembers: Map<string, string>): CatchUp | null {
  const byId = new Map(members.map(m => [m.id, m]))
  const byWriter = new Map<string, MemberRecord>()
  for (const m of members) {
    for (const w of m.writers) byWriter.set(w, m)
    for (const d of m.devices ?? []) if (d.writer) byWriter.set(d.writer, m)
  }
  const peers = new Map<string, CatchUpPeer>()
  for (const p of base.core?.peers ?? []) {
    if (!p.remotePublicKey) continue
    const memberHex = peerMembers.get(hex(p.remotePublicKey)) ?? null
    const m = memberHex === null ? undefined : byId.get(memberHex)
    peers.set(hex(p.remotePublicKey), {
      peer: short(p.remotePublicKey),
      member: memberHex === null ? null : memberIdOf(b4a.from(memberHex, 'hex')),
      name: m?.name ?? null,
      admin: m !== undefined && m.left === undefined && m.role === 'admin',
      ahead: 0
    })
  }
  const writers: CatchUpWriter[] = []
  let have = 0
  let known = 0
  let applied = 0
  for (const w of base.activeWriters ?? []) {
    const held = w.core.contiguousLength ?? w.core.length
    let best = held
    for (const p of w.core.peers ?? []) {
      const remote = p.remoteLength ?? 0
      best = Math.max(best, remote)
      const peer = p.remotePublicKey ? peers.get(hex(p.remotePublicKey)) : undefined
      if (peer && remote > held) peer.ahead += remote - held
    }
    have += held
    known += best
    applied += w.length ?? held
    const owner = w.core.key ? byWriter.get(hex(w.core.key)) : undefined
    writers.push({
      writer: w.core.key ? short(w.core.key) : '?',
      member: owner ? memberIdOf(b4a.from(owner.id, 'hex')) : null,
      name: owner?.name ?? null,
      have: held,
      known: best
    })
  }
  if (base.writable && known === have && applied >= have) return null
  const list = [...peers.values()].sort((a, b) => b.ahead - a.ahead || a.peer.localeCompare(b.peer))
  const adminOnline = list.some(p => p.admin)
  return {
    stage: base.writable ? 'history' : 'admission',
    have,
    known,
    applied,
    writers,
    peers: list,
    adminOnline,
    waitingForAdmin: !base.writable && !adminOnline
  }
}

/** One line for people (CLI): how far, from whom, and what it waits for. */
export function describeCatchUp (c: CatchUp): string {
  const who = (p: CatchUpPeer): string => p.name ?? p.peer
  const fetching = c.peers.filter(p => p.ahead > 0)
  const parts = [`${c.have} of ${c.known} blocks fetched, ${c.applied} applied`]
  if (fetching.length > 0) parts.push(`fetching from ${fetching.map(p => `${who(p)} (${p.ahead})`).join(', ')}`)
  else if (c.peers.length > 0) parts.push(`connected to ${c.peers.map(who).join(', ')}, nothing more to fetch`)
  else parts.push('no peer online')
  if (c.waitingForAdmin) parts.push('waiting for an admin to come online to admit this device')
  else if (c.stage === 'admission') parts.push('an admin is online; waiting for this device\'s admission to arrive')
  return parts.join('; ')
}
