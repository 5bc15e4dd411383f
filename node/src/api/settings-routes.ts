/**
 * Settings routes of the local API (see node/src/settings.ts), used by the web app's onboarding:
 * - GET /api/settings                                  → NodeSettings
 * - PUT /api/settings/name { name }                    → NodeSettings (403 NOT_PERMITTED once in a group)
 * - PUT /api/settings/network { mode, bootstrap?, lan? } → NodeSettings; applies at the next start
 *   (`lan`: LAN mode, mDNS discovery on the local network, at every start; omitted: unchanged)
 */
import type { FastifyInstance } from 'fastify'
import type { NetworkChoice } from '../runtime.ts'
import type { SettingsApi } from '../settings.ts'

const nameBody = {
  type: 'object',
  additionalProperties: false,
  properties: { name: { type: 'string', minLength: 1, maxLength: 256 } },
  required: ['name']
} as const

const networkBody = {
  type: 'object',
  additionalProperties: false,
  properties: {
    mode: { type: 'string', enum: ['none', 'bootstrap', 'public'] },
    bootstrap: { type: 'array', maxItems: 64, items: { type: 'string', minLength: 1, maxLength: 300 } },
    lan: { type: 'boolean' }
  },
  required: ['mode']
} as const

export function registerSettingsRoutes (app: FastifyInstance, settings: SettingsApi): void {
  app.get('/api/settings', async () => settings.get())
  app.put<{ Body: { name: string } }>('/api/settings/name', { schema: { body: nameBody } },
    async (req) => settings.setName(req.body.name))
  app.put<{ Body: { mode: NetworkChoice['mode'], bootstrap?: string[], lan?: boolean } }>('/api/settings/network', { schema: { body: networkBody } },
    async (req) => settings.setNetwork({ mode: req.body.mode, bootstrap: req.body.bootstrap ?? [] }, req.body.lan))
}
