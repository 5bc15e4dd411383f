/**
 * Routes for pads (collaborative documents of a group): thin mappings of `SolidarApi.pads`,
 * like routes.ts. Binary Yjs data (state, client updates) travels as base64 in JSON.
 */
import type { FastifyInstance } from 'fastify'
import type { PadFormat, SolidarApi } from '@solidar/core'

type GroupParams = { group: string }
type PadParams = { group: string, pad: string }

const ref = { type: 'string', minLength: 1, maxLength: 256 } as const
const title = { type: 'string', minLength: 1, maxLength: 256 } as const
const object = (properties: Record<string, unknown>, required: string[] = []) => ({ type: 'object', additionalProperties: false, properties, required } as const)

const groupParams = object({ group: ref }, ['group'])
const padParams = object({ group: ref, pad: ref }, ['group', 'pad'])
const createBody = object({
  title,
  template: { type: 'string', enum: ['minutes'] },
  language: { type: 'string', enum: ['en', 'de'] },
  content: { type: 'string', maxLength: 900_000 },
  format: { type: 'string', enum: ['md', 'txt'] }
}, ['title'])
const listQuery = object({ archived: { type: 'string', enum: ['true', 'false'] } })
const patchBody = object({ title, archived: { type: 'boolean' } })
const exportQuery = object({ format: { type: 'string', enum: ['md', 'txt', 'html'] }, at: { type: 'string', pattern: '^[0-9]{1,12}$' } })
const appendBody = object({ text: { type: 'string', minLength: 1, maxLength: 100_000 }, inline: { type: 'boolean' } }, ['text'])
const updateBody = object({ update: { type: 'string', minLength: 1, maxLength: 700_000 } }, ['update'])
const presenceBody = object({ state: { type: ['object', 'null'] } }, ['state'])

export function registerPadRoutes (app: FastifyInstance, api: SolidarApi): void {
  app.get<{ Params: GroupParams, Querystring: { archived?: string } }>('/api/groups/:group/pads',
    { schema: { params: groupParams, querystring: listQuery } },
    async (req) => api.pads.list(req.params.group, { archived: req.query.archived === 'true' }))

  app.post<{ Params: GroupParams, Body: { title: string, template?: 'minutes', language?: 'en' | 'de', content?: string, format?: 'md' | 'txt' } }>('/api/groups/:group/pads',
    { schema: { params: groupParams, body: createBody } },
    async (req, reply) => {
      const { title, ...opts } = req.body
      return reply.code(201).send(await api.pads.create(req.params.group, title, opts))
    })

  app.get<{ Params: PadParams }>('/api/groups/:group/pads/:pad', { schema: { params: padParams } },
    async (req) => api.pads.get(req.params.group, req.params.pad))

  app.patch<{ Params: PadParams, Body: { title?: string, archived?: boolean } }>('/api/groups/:group/pads/:pad',
    { schema: { params: padParams, body: patchBody } },
    async (req) => {
      const { group, pad } = req.params
      let out = req.body.title !== undefined ? await api.pads.rename(group, pad, req.body.title) : await api.pads.get(group, pad)
      if (req.body.archived !== undefined) out = await api.pads.archive(group, out.id, req.body.archived)
      return out
    })

  app.get<{ Params: PadParams, Querystring: { format?: PadFormat, at?: string } }>('/api/groups/:group/pads/:pad/export',
    { schema: { params: padParams, querystring: exportQuery } },
    async (req) => api.pads.export(req.params.group, req.params.pad, {
      format: req.query.format ?? 'md', ...(req.query.at !== undefined ? { at: Number(req.query.at) } : {})
    }))

  app.post<{ Params: PadParams, Body: { text: string, inline?: boolean } }>('/api/groups/:group/pads/:pad/append',
    { schema: { params: padParams, body: appendBody } },
    async (req) => api.pads.append(req.params.group, req.params.pad, req.body.text, { inline: req.body.inline === true }))

  app.get<{ Params: PadParams }>('/api/groups/:group/pads/:pad/history', { schema: { params: padParams } },
    async (req) => api.pads.history(req.params.group, req.params.pad))

  // ?since=<base64 Yjs state vector>: only what that copy lacks (an open tab after a `pad` event).
  app.get<{ Params: PadParams, Querystring: { since?: string } }>('/api/groups/:group/pads/:pad/state',
    { schema: { params: padParams, querystring: object({ since: { type: 'string', maxLength: 65536, pattern: '^[A-Za-z0-9+/_-]*={0,2}$' } }, []) } },
    async (req) => {
      const since = req.query.since === undefined ? undefined : Buffer.from(req.query.since, 'base64')
      const { id, update, updates } = await api.pads.state(req.params.group, req.params.pad, { since })
      return { id, updates, update: Buffer.from(update).toString('base64') }
    })

  app.post<{ Params: PadParams, Body: { update: string } }>('/api/groups/:group/pads/:pad/updates',
    { schema: { params: padParams, body: updateBody } },
    async (req, reply) => {
      await api.pads.applyUpdate(req.params.group, req.params.pad, Buffer.from(req.body.update, 'base64'))
      return reply.code(202).send({ accepted: true })
    })

  app.get<{ Params: GroupParams }>('/api/groups/:group/present', { schema: { params: groupParams } },
    async (req) => api.pads.present(req.params.group))

  app.get<{ Params: PadParams }>('/api/groups/:group/pads/:pad/presence', { schema: { params: padParams } },
    async (req) => api.pads.presence(req.params.group, req.params.pad))
  app.put<{ Params: PadParams, Body: { state: Record<string, unknown> | null } }>('/api/groups/:group/pads/:pad/presence',
    { schema: { params: padParams, body: presenceBody } },
    async (req) => api.pads.setPresence(req.params.group, req.params.pad, req.body.state))
}
