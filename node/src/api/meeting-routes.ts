/**
 * Routes for video meetings: thin mappings of `SolidarApi.meetings` (signalling only; the
 * media flows browser to browser), plus the ICE servers the browsers may use (`solidar serve
 * --ice-server URL` or the web app's network page, remembered in config.json; none by default:
 * host candidates only, no STUN or TURN contacted). The browser reads them at every join.
 * Signals from peers reach the browser as `meeting-signal` events on WS /api/events, changes
 * of a meeting's participants as `meeting-update`.
 */
import type { FastifyInstance } from 'fastify'
import type { MediaState, MeetingSignal, SolidarApi } from '@solidar/core'
import type { IceServer } from '../ice-servers.ts'

export { parseIceServer, type IceServer } from '../ice-servers.ts'

type GroupParams = { group: string }
type MeetingParams = { group: string, meeting: string }
type SessionParams = MeetingParams & { session: string }
type MediaBody = { media: MediaState }

const ref = { type: 'string', minLength: 1, maxLength: 256 } as const
const id = { type: 'string', pattern: '^[A-Za-z0-9_-]{8,64}$' } as const
const object = (properties: Record<string, unknown>, required: string[] = []) => ({ type: 'object', additionalProperties: false, properties, required } as const)

const groupParams = object({ group: ref }, ['group'])
const meetingParams = object({ group: ref, meeting: id }, ['group', 'meeting'])
const sessionParams = object({ group: ref, meeting: id, session: id }, ['group', 'meeting', 'session'])
const media = object({ audio: { type: 'boolean' }, video: { type: 'boolean' }, screen: { type: 'boolean' } }, ['audio', 'video', 'screen'])
const startBody = object({ session: id, media, room: { type: 'string', minLength: 1, maxLength: 48 } }, ['session', 'media'])
const joinBody = object({ media }, ['media'])
// A signal is a simple-peer object ({type, sdp} or {type, candidate}); core checks its shape.
const signalBody = object({
  session: id,
  device: { type: 'string', minLength: 52, maxLength: 64 },
  to: id,
  signal: { type: 'object', required: ['type'], properties: { type: { type: 'string', maxLength: 32 } }, maxProperties: 8 }
}, ['session', 'device', 'to', 'signal'])

/** The ICE servers: a fixed list, or a function read at every request (the remembered list, editable while running). */
export type IceServerSource = IceServer[] | (() => IceServer[])

export function registerMeetingRoutes (app: FastifyInstance, api: SolidarApi, opts: { iceServers?: IceServerSource } = {}): void {
  const source = opts.iceServers ?? []
  const iceServers = typeof source === 'function' ? source : () => source

  // Inside the token scope (server.ts): TURN credentials go only to holders of the API token.
  app.get('/api/meetings/config', async () => ({ iceServers: iceServers(), maxParticipants: api.meetings.maxParticipants }))

  app.get<{ Params: GroupParams }>('/api/groups/:group/meetings', { schema: { params: groupParams } },
    async (req) => api.meetings.list(req.params.group))

  app.post<{ Params: GroupParams, Body: { session: string, media: MediaState, room?: string } }>('/api/groups/:group/meetings',
    { schema: { params: groupParams, body: startBody } },
    async (req, reply) => reply.code(201).send(await api.meetings.start(req.params.group, req.body)))

  app.get<{ Params: MeetingParams }>('/api/groups/:group/meetings/:meeting', { schema: { params: meetingParams } },
    async (req) => api.meetings.get(req.params.group, req.params.meeting))

  // Join, or renew (every few seconds: a tab that stops renewing leaves after 20 s) and update media.
  app.put<{ Params: SessionParams, Body: MediaBody }>('/api/groups/:group/meetings/:meeting/participants/:session',
    { schema: { params: sessionParams, body: joinBody } },
    async (req) => api.meetings.join(req.params.group, req.params.meeting, { session: req.params.session, media: req.body.media }))

  app.delete<{ Params: SessionParams }>('/api/groups/:group/meetings/:meeting/participants/:session',
    { schema: { params: sessionParams } },
    async (req, reply) => {
      await api.meetings.leave(req.params.group, req.params.meeting, req.params.session)
      return reply.code(204).send()
    })

  app.post<{ Params: MeetingParams, Body: { session: string, device: string, to: string, signal: MeetingSignal } }>('/api/groups/:group/meetings/:meeting/signal',
    { schema: { params: meetingParams, body: signalBody } },
    async (req, reply) => {
      await api.meetings.signal(req.params.group, req.params.meeting, req.body)
      return reply.code(202).send({ accepted: true })
    })
}
