/**
 * The JSON routes of the local API: a thin mapping of `SolidarApi`. Group and member
 * references in paths may be ids or unambiguous names (the node resolves them).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { SolidarApi, Role } from '@solidar/core'
import * as s from './schemas.ts'

type GroupParams = { group: string }
type MessageParams = { group: string, id: string }
type MemberParams = { member: string }
type DmMessageParams = { member: string, id: string }
type Page = { before?: string, limit?: string }
const limitOf = (q: Page): number | undefined => q.limit === undefined ? undefined : Number(q.limit)

/** An AbortSignal that fires when the client goes away before the response is sent. */
function clientGone (request: FastifyRequest, reply: FastifyReply): AbortSignal {
  const controller = new AbortController()
  const onClose = (): void => { if (!reply.raw.writableFinished) controller.abort() }
  reply.raw.once('close', onClose)
  request.raw.once('aborted', () => controller.abort())
  return controller.signal
}

/** Registers every JSON route under /api. */
export function registerRoutes (app: FastifyInstance, api: SolidarApi): void {
  app.get('/api/whoami', async () => api.whoami())
  app.get('/api/status', async () => {
    const { rss, heapUsed, heapTotal, external, arrayBuffers } = process.memoryUsage()
    return { ...await api.status(), memory: { rss, heapUsed, heapTotal, external, arrayBuffers } }
  })

  app.get('/api/groups', async () => api.listGroups())
  app.post<{ Body: { name: string } }>('/api/groups', { schema: { body: s.createGroupBody } },
    async (req, reply) => reply.code(201).send(await api.createGroup(req.body.name)))

  app.get<{ Params: GroupParams }>('/api/groups/:group/members', { schema: { params: s.groupParams } },
    async (req) => api.members(req.params.group))

  app.get<{ Params: GroupParams }>('/api/groups/:group/rooms', { schema: { params: s.groupParams } },
    async (req) => api.rooms(req.params.group))
  app.post<{ Params: GroupParams, Body: { name: string } }>('/api/groups/:group/rooms',
    { schema: { params: s.groupParams, body: s.createRoomBody } },
    async (req, reply) => reply.code(201).send(await api.createRoom(req.params.group, req.body.name)))

  app.post<{ Params: GroupParams, Body: { role?: Role, expiresMs?: number, uses?: number } }>('/api/groups/:group/invites',
    { schema: { params: s.groupParams, body: s.inviteBody } },
    async (req, reply) => reply.code(201).send(await api.createInvite(req.params.group, req.body ?? {})))
  app.get<{ Params: GroupParams }>('/api/groups/:group/invites', { schema: { params: s.groupParams } },
    async (req) => api.listInvites(req.params.group))
  // The invite travels in the body: it may be a whole code (longer than a path segment should be).
  app.post<{ Params: GroupParams, Body: { invite: string } }>('/api/groups/:group/invites/revoke',
    { schema: { params: s.groupParams, body: s.revokeInviteBody } },
    async (req) => api.revokeInvite(req.params.group, req.body.invite))

  app.post<{ Body: { code: string, timeoutMs?: number } }>('/api/join', { schema: { body: s.joinBody } },
    async (req, reply) => {
      const signal = clientGone(req, reply)
      return api.join(req.body.code, { timeoutMs: req.body.timeoutMs, signal })
    })

  // A page of history, oldest first: the newest `limit` (default 100, at most 500) before message
  // `before`. Fewer than `limit` messages: the start of the history is reached.
  app.get<{ Params: GroupParams, Querystring: Page & { room?: string } }>('/api/groups/:group/messages',
    { schema: { params: s.groupParams, querystring: s.messagesQuery } },
    async (req) => api.messages(req.params.group, { room: req.query.room, before: req.query.before, limit: limitOf(req.query) }))
  // Whether this device's messages (sent since the node started) have reached a connected peer.
  app.get<{ Params: GroupParams, Querystring: { ids: string } }>('/api/groups/:group/delivery',
    { schema: { params: s.groupParams, querystring: s.deliveryQuery } },
    async (req) => api.messageDelivery(req.params.group, req.query.ids.split(',')))
  // The group is read up to message `id` on this node (the marker only moves forward); answers {unread}.
  app.post<{ Params: GroupParams, Body: { id: string } }>('/api/groups/:group/read',
    { schema: { params: s.groupParams, body: s.markReadBody } },
    async (req) => api.markRead(req.params.group, req.body.id))
  app.post<{ Params: GroupParams, Body: { text: string, room?: string, replyTo?: string } }>('/api/groups/:group/messages',
    { schema: { params: s.groupParams, body: s.sendBody } },
    async (req, reply) => {
      const { text, room, replyTo } = req.body
      return reply.code(201).send(await api.send(req.params.group, text, { room, replyTo }))
    })
  app.patch<{ Params: MessageParams, Body: { text: string } }>('/api/groups/:group/messages/:id',
    { schema: { params: s.messageParams, body: s.editBody } },
    async (req) => api.edit(req.params.group, req.params.id, req.body.text))
  app.delete<{ Params: MessageParams }>('/api/groups/:group/messages/:id',
    { schema: { params: s.messageParams } },
    async (req) => api.deleteMessage(req.params.group, req.params.id))
  // This member's reaction to a message: PUT sets it (one emoji, replacing the one before), DELETE takes it back.
  app.put<{ Params: MessageParams, Body: { emoji: string } }>('/api/groups/:group/messages/:id/reaction',
    { schema: { params: s.messageParams, body: s.reactBody } },
    async (req) => api.react(req.params.group, req.params.id, req.body.emoji))
  app.delete<{ Params: MessageParams }>('/api/groups/:group/messages/:id/reaction',
    { schema: { params: s.messageParams } },
    async (req) => api.react(req.params.group, req.params.id, null))

  app.get<{ Params: GroupParams }>('/api/groups/:group/audit', { schema: { params: s.groupParams } },
    async (req) => api.audit(req.params.group))

  // The direct conversations this node holds, with their unread counts; marking read as for groups.
  app.get('/api/dms', async () => api.listDms())
  app.post<{ Params: MemberParams, Body: { id: string } }>('/api/dms/:member/read',
    { schema: { params: s.memberParams, body: s.markReadBody } },
    async (req) => api.markDmRead(req.params.member, req.body.id))
  app.get<{ Params: MemberParams, Querystring: Page }>('/api/dms/:member/messages',
    { schema: { params: s.memberParams, querystring: s.dmMessagesQuery } },
    async (req) => api.dmMessages(req.params.member, { before: req.query.before, limit: limitOf(req.query) }))
  app.post<{ Params: MemberParams, Body: { text: string, replyTo?: string } }>('/api/dms/:member/messages',
    { schema: { params: s.memberParams, body: s.dmBody } },
    async (req, reply) => reply.code(201).send(await api.dm(req.params.member, req.body.text, { replyTo: req.body.replyTo })))
  app.patch<{ Params: DmMessageParams, Body: { text: string } }>('/api/dms/:member/messages/:id',
    { schema: { params: s.dmMessageParams, body: s.editBody } },
    async (req) => api.dmEdit(req.params.member, req.params.id, req.body.text))
  app.delete<{ Params: DmMessageParams }>('/api/dms/:member/messages/:id',
    { schema: { params: s.dmMessageParams } },
    async (req) => api.dmDelete(req.params.member, req.params.id))
  app.put<{ Params: DmMessageParams, Body: { emoji: string } }>('/api/dms/:member/messages/:id/reaction',
    { schema: { params: s.dmMessageParams, body: s.reactBody } },
    async (req) => api.dmReact(req.params.member, req.params.id, req.body.emoji))
  app.delete<{ Params: DmMessageParams }>('/api/dms/:member/messages/:id/reaction',
    { schema: { params: s.dmMessageParams } },
    async (req) => api.dmReact(req.params.member, req.params.id, null))

  app.get<{ Params: MemberParams }>('/api/members/:member/verification', { schema: { params: s.memberParams } },
    async (req) => api.verify(req.params.member))
  app.post<{ Params: MemberParams, Body: { mark: boolean } }>('/api/members/:member/verification',
    { schema: { params: s.memberParams, body: s.verificationBody } },
    async (req) => api.verify(req.params.member, req.body.mark ? { mark: true } : { unmark: true }))
}
