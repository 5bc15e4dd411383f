/**
 * Mirror routes of the local API (see node/src/mirrors.ts):
 * - GET  /api/groups/:group/mirrors          → { group, active, mirrors: [{ key, connected, localLength, mirroredLength }] }
 * - POST /api/groups/:group/mirrors { key }  → 201 the same plus { key, added }
 * A key that is not a 32-byte key (z-base-32 or hex) is a 400 BAD_REQUEST.
 */
import type { FastifyInstance } from 'fastify'
import type { MirrorApi } from '../mirrors.ts'
import { groupParams } from './schemas.ts'

type GroupParams = { group: string }

export const addMirrorBody = {
  type: 'object',
  additionalProperties: false,
  properties: { key: { type: 'string', minLength: 1, maxLength: 128 } },
  required: ['key']
} as const

/** Registers the mirror routes. */
export function registerMirrorRoutes (app: FastifyInstance, mirrors: MirrorApi): void {
  app.get<{ Params: GroupParams }>('/api/groups/:group/mirrors', { schema: { params: groupParams } },
    async (req) => mirrors.list(req.params.group))
  app.post<{ Params: GroupParams, Body: { key: string } }>('/api/groups/:group/mirrors',
    { schema: { params: groupParams, body: addMirrorBody } },
    async (req, reply) => reply.code(201).send(await mirrors.add(req.params.group, req.body.key)))
}
