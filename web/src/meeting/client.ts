/** The node's meeting API (signalling only; see core/src/meetings/api.ts). */
import { request, type IceServer } from '../api.ts'
import type { MediaState, MeetingSignal, MeetingView } from '../types.ts'

export type { IceServer }
export interface MeetingConfig { iceServers: IceServer[], maxParticipants: number }

const enc = encodeURIComponent
const m = (group: string): string => `/api/groups/${enc(group)}/meetings`

export const meetingApi = {
  config: () => request<MeetingConfig>('GET', '/api/meetings/config'),
  list: (group: string) => request<MeetingView[]>('GET', m(group)),
  start: (group: string, session: string, media: MediaState, room?: string) =>
    request<MeetingView>('POST', m(group), { session, media, ...(room !== undefined ? { room } : {}) }),
  join: (group: string, meeting: string, session: string, media: MediaState) =>
    request<MeetingView>('PUT', `${m(group)}/${enc(meeting)}/participants/${enc(session)}`, { media }),
  leave: (group: string, meeting: string, session: string) =>
    request<void>('DELETE', `${m(group)}/${enc(meeting)}/participants/${enc(session)}`),
  signal: (group: string, meeting: string, body: { session: string, device: string, to: string, signal: MeetingSignal }) =>
    request<{ accepted: true }>('POST', `${m(group)}/${enc(meeting)}/signal`, body)
}
