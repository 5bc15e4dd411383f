/**
 * Routes for membership management (admins): remove a member, change a role, rename
 * the group; and leaving a group. Thin mappings of `SolidarApi`, like routes.ts.
 */
import type { FastifyInstance } from 'fastify'
import type { Role, SolidarApi } from '@solidar/core'
import * as s from './schemas.ts'

type GroupParams = { group: string }
type GroupMemberParams = { group: string, member: string }

export function registerMembershipRoutes (app: FastifyInstance, api: SolidarApi): void {
  // Devices of this member (multi-device).
  app.get('/api/devices', async () => api.devices())
  app.post<{ Body: { expiresMs?: number } }>('/api/devices/link', { schema: { body: s.deviceLinkBody } },
    async (req, reply) => reply.code(201).send(await api.deviceLink({ expiresMs: req.body?.expiresMs })))
  app.post<{ Body: { code: string, timeoutMs?: number } }>('/api/devices/add', { schema: { body: s.joinBody } },
    async (req) => api.deviceAdd(req.body.code, { timeoutMs: req.body.timeoutMs }))
  app.delete<{ Params: { device: string } }>('/api/devices/:device', { schema: { params: s.deviceParams } },
    async (req) => api.revokeDevice(req.params.device))

  app.delete<{ Params: GroupMemberParams }>('/api/groups/:group/members/:member',
    { schema: { params: s.groupMemberParams } },
    async (req) => api.removeMember(req.params.group, req.params.member))

  app.put<{ Params: GroupMemberParams, Body: { role: Role } }>('/api/groups/:group/members/:member/role',
    { schema: { params: s.groupMemberParams, body: s.roleBody } },
    async (req) => api.setRole(req.params.group, req.params.member, req.body.role))

  app.post<{ Params: GroupParams }>('/api/groups/:group/leave',
    { schema: { params: s.groupParams } },
    async (req) => api.leaveGroup(req.params.group))

  app.patch<{ Params: GroupParams, Body: { name: string } }>('/api/groups/:group',
    { schema: { params: s.groupParams, body: s.createGroupBody } },
    async (req) => api.renameGroup(req.params.group, req.body.name))
}
