/**
 * XMPP bridge allowlist routes of the local API (group state: `bridge/allow`, `bridge/revoke`):
 * - GET    /api/groups/:group/bridge/allowlist          → { group, entries: [{ entry, addedBy, ts }] }
 * - POST   /api/groups/:group/bridge/allowlist { entry } → 201, the same after adding (admins only)
 * - DELETE /api/groups/:group/bridge/allowlist/:entry    → the same after removing (admins only)
 * `entry` is a bare JID (user@example.org) or a domain (example.org); anything else is a 400.
 * The group's registered bridge members (`bridge/register`, `bridge/unregister`):
 * - GET    /api/groups/:group/bridge/members             → { group, members: [{ member, addedBy, ts }] }
 * - POST   /api/groups/:group/bridge/members { member }   → 201, the same after registering (admins only)
 * - DELETE /api/groups/:group/bridge/members/:member      → the same after unregistering (admins only)
 */
import type { FastifyInstance } from 'fastify'
import type { SolidarApi } from '@solidar/core'

const ref = { type: 'string', minLength: 1, maxLength: 256 } as const
const groupParams = { type: 'object', additionalProperties: false, properties: { group: ref }, required: ['group'] } as const
const entryParams = { type: 'object', additionalProperties: false, properties: { group: ref, entry: ref }, required: ['group', 'entry'] } as const
const memberParams = { type: 'object', additionalProperties: false, properties: { group: ref, member: ref }, required: ['group', 'member'] } as const
const memberBody = { type: 'object', additionalProperties: false, properties: { member: ref }, required: ['member'] } as const
const entryBody = { type: 'object', additionalProperties: false, properties: { entry: ref }, required: ['entry'] } as const

/** Registers the bridge allowlist routes. */
export function registerBridgeRoutes (app: FastifyInstance, api: SolidarApi): void {
  app.get<{ Params: { group: string } }>('/api/groups/:group/bridge/allowlist', { schema: { params: groupParams } },
    async (req) => ({ group: req.params.group, entries: await api.bridgeAllowlist(req.params.group) }))
  app.post<{ Params: { group: string }, Body: { entry: string } }>('/api/groups/:group/bridge/allowlist',
    { schema: { params: groupParams, body: entryBody } },
    async (req, reply) => reply.code(201).send({ group: req.params.group, entries: await api.bridgeAllow(req.params.group, req.body.entry) }))
  app.delete<{ Params: { group: string, entry: string } }>('/api/groups/:group/bridge/allowlist/:entry', { schema: { params: entryParams } },
    async (req) => ({ group: req.params.group, entries: await api.bridgeRevoke(req.params.group, req.params.entry) }))
  app.get<{ Params: { group: string } }>('/api/groups/:group/bridge/members', { schema: { params: groupParams } },
    async (req) => ({ group: req.params.group, members: await api.bridgeMembers(req.params.group) }))
  app.post<{ Params: { group: string }, Body: { member: string } }>('/api/groups/:group/bridge/members',
    { schema: { params: groupParams, body: memberBody } },
    async (req, reply) => reply.code(201).send({ group: req.params.group, members: await api.bridgeRegister(req.params.group, req.body.member) }))
  app.delete<{ Params: { group: string, member: string } }>('/api/groups/:group/bridge/members/:member', { schema: { params: memberParams } },
    async (req) => ({ group: req.params.group, members: await api.bridgeRegister(req.params.group, req.params.member, false) }))
}
