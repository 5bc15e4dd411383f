/**
 * The participants of a meeting as a node holds them, and the `MeetingView` the API and the
 * `meeting-update` event show of them. Pure; the service (service.ts) keeps them per group.
 */
import b4a from 'b4a'
import { encodeKey } from '../ids.ts'
import type { GroupId, MediaState, MeetingId, MeetingParticipant, MeetingView, MemberId } from '../types.ts'

export interface Participant {
  member: string
  device: string
  session: string
  since: number
  media: MediaState
  room?: string
  /** Last heard (remote: announcement; local: the tab's renewal), by this node's clock. */
  seen: number
  self: boolean
}

export const hex = (b: Uint8Array) => b4a.toString(b, 'hex') as string
export const z32 = (h: string) => encodeKey(b4a.from(h, 'hex'))
/** A participant's key in its meeting: device (hex) and session. */
export const keyOf = (device: string, session: string) => `${device}/${session}`

/** The view of meeting `id`: participants in the order they joined; `name` gives a member's display name. */
export async function meetingView (id: string, group: GroupId, parts: Iterable<Participant>, name: (member: string) => Promise<string>): Promise<MeetingView> {
  const sorted = [...parts].sort((a, b) => a.since - b.since || a.session.localeCompare(b.session))
  const participants: MeetingParticipant[] = []
  for (const p of sorted) {
    participants.push({
      member: z32(p.member) as MemberId, name: await name(p.member), device: z32(p.device), session: p.session,
      self: p.self, since: p.since, media: { ...p.media }
    })
  }
  const room = sorted.find(p => p.room !== undefined)?.room
  return { id: id as MeetingId, group, ...(room !== undefined ? { room } : {}), started: sorted[0]?.since ?? 0, participants }
}
