/**
 * What a node offers about video meetings (`SolidarApi.meetings`). The media flows between
 * browsers (WebRTC, peer to peer); the node carries only the signalling: who is in which
 * meeting, and offers, answers and ICE candidates addressed to one participant, over the
 * group's encrypted meeting channel (see service.ts). Group references are ids or unambiguous
 * names. Errors: GROUP_NOT_FOUND, MEETING_NOT_FOUND, MEETING_FULL, NOT_PERMITTED (removed
 * members, devices without the group's current key), BAD_REQUEST.
 */
import type { MediaState, MeetingId, MeetingSignal, MeetingView } from '../types.ts'

export interface MeetingJoinOptions {
  /** The browser tab's session id (8–64 url-safe characters), new for every join. */
  session: string
  media: MediaState
  /** Only when starting a meeting: the room it belongs to. */
  room?: string
}

export interface MeetingSignalOptions {
  /** The sending session (this node's). */
  session: string
  /** The addressee: its device (z-base-32) and session, as listed in the meeting. */
  device: string
  to: string
  signal: MeetingSignal
}

export interface MeetingApi {
  /** The most participants a meeting can have (a full mesh: every browser sends to every other). */
  readonly maxParticipants: number
  /** Meetings running in a group (known from this node's participants and those announced through its connected peers, who relay for others). */
  list (group: string): Promise<MeetingView[]>
  get (group: string, meeting: string): Promise<MeetingView>
  /** Starts a meeting with this session as its first participant. */
  start (group: string, opts: MeetingJoinOptions): Promise<MeetingView>
  /** Joins a running meeting, or renews/updates this session's participation (call every few seconds). */
  join (group: string, meeting: string, opts: MeetingJoinOptions): Promise<MeetingView>
  /** This session leaves the meeting. */
  leave (group: string, meeting: string, session: string): Promise<void>
  /** Sends a WebRTC signal to one participant of the meeting, signed by this device and sealed for the group. */
  signal (group: string, meeting: string, opts: MeetingSignalOptions): Promise<void>
}

export type { MeetingId }
