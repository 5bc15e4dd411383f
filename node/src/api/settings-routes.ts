/**
 * Settings routes of the local API (see node/src/settings.ts), used by the web app's onboarding:
 * - GET /api/settings                                  → NodeSettings
 * - PUT /api/settings/name { name }                    → NodeSettings (403 NOT_PERMITTED once in a group)
 * - PUT /api/settings/network { mode, bootstrap?, lan? } → NodeSettings; applies at the next start
 *   (`lan`: LAN mode, mDNS discovery on the local network, at every start; omitted: unchanged)
 * - PUT /api/settings/ice-servers { servers: [{ urls, username?, credential? }] } → NodeSettings;
 *   the meetings' STUN/TURN servers, saved in config.json, used from the next meeting join on
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

const iceServersBody = {
  type: 'object',
  additionalProperties: false,
  properties: {
    servers: {
      type: 'array',
      maxItems: 32, // settings.ts refuses more than MAX_ICE_SERVERS with a clear message
      items: {
        type: 'object',
        additionalProperties: false,
        properties: {
          urls: { type: 'string', minLength: 1, maxLength: 300 },
          username: { type: 'string', maxLength: 300 },
          credential: { type: 'string', maxLength: 300 }
        },
        required: ['urls']
      }
    }
  },
  required: ['servers']
} as const

export function registerSettingsRoutes (app: FastifyInstance, settings: SettingsApi): void {
  app.get('/api/settings', async () => settings.get())
  app.put<{ Body: { name: string } }>('/api/settings/name', { schema: { body: nameBody } },
    async (req) => settings.setName(req.body.name))
  app.put<{ Body: { mode: NetworkChoice['mode'], bootstrap?: string[], lan?: boolean } }>('/api/settings/network', { schema: { body: networkBody } },
    async (req) => settings.setNetwork({ mode: req.body.mode, bootstrap: req.body.bootstrap ?? [] }, req.body.lan))
  app.put<{ Body: { servers: unknown[] } }>('/api/settings/ice-servers', { schema: { body: iceServersBody } },
    async (req) => settings.setIceServers(req.body.servers))
}
