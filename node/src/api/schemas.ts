/**
 * JSON schemas of the local API's requests. Fastify validates with them before a
 * handler runs; a violation becomes a 400 BAD_REQUEST. Unknown body fields are rejected.
 */

const ref = { type: 'string', minLength: 1, maxLength: 256 } as const
const text = { type: 'string', minLength: 1, maxLength: 100_000 } as const
const name = { type: 'string', minLength: 1, maxLength: 256 } as const

/** Longest join wait the API accepts: one day. */
export const MAX_JOIN_TIMEOUT_MS = 24 * 60 * 60 * 1000
/** Longest invite lifetime the API accepts: one year. */
export const MAX_INVITE_EXPIRY_MS = 366 * 24 * 60 * 60 * 1000

function object (properties: Record<string, unknown>, required: string[] = []) {
  return { type: 'object', additionalProperties: false, properties, required } as const
}

export const groupParams = object({ group: ref }, ['group'])
export const messageParams = object({ group: ref, id: ref }, ['group', 'id'])
export const memberParams = object({ member: ref }, ['member'])
export const dmMessageParams = object({ member: ref, id: ref }, ['member', 'id'])
export const deviceParams = object({ device: ref }, ['device'])
export const deviceLinkBody = object({ expiresMs: { type: 'integer', minimum: 10_000, maximum: 24 * 3600 * 1000 } })
export const groupMemberParams = object({ group: ref, member: ref }, ['group', 'member'])
export const roleBody = object({ role: { type: 'string', enum: ['admin', 'member', 'observer'] } }, ['role'])

export const createGroupBody = object({ name }, ['name'])
export const createRoomBody = object({ name }, ['name'])
export const inviteBody = object({
  role: { type: 'string', enum: ['member', 'admin', 'observer'] },
  expiresMs: { type: 'integer', minimum: 1000, maximum: MAX_INVITE_EXPIRY_MS },
  uses: { type: 'integer', minimum: 1, maximum: 10_000 }
})
/** An invite id (from the listing) or the invite code itself. */
export const revokeInviteBody = object({ invite: { type: 'string', minLength: 1, maxLength: 4096 } }, ['invite'])
export const joinBody = object({
  code: { type: 'string', minLength: 1, maxLength: 4096 },
  timeoutMs: { type: 'integer', minimum: 1, maximum: MAX_JOIN_TIMEOUT_MS }
}, ['code'])
export const sendBody = object({ text, room: name, replyTo: ref }, ['text'])
export const editBody = object({ text }, ['text'])
/** One emoji (core's reactions.ts decides which strings are one). */
export const reactBody = object({ emoji: { type: 'string', minLength: 1, maxLength: 32 } }, ['emoji'])
export const dmBody = object({ text, replyTo: ref }, ['text'])
/** A message id (commands.ts `isMessageId`). */
const messageId = { type: 'string', pattern: '^[A-Za-z0-9_-]{8,64}$' } as const
/**
 * A page of history (core/src/history.ts): before a message id, at most `limit` messages. Query
 * values are strings (no coercion): `limit` is digits here, and core refuses it beyond MAX_PAGE.
 */
const page = { before: messageId, limit: { type: 'string', pattern: '^[1-9][0-9]{0,2}$' } } as const
export const messagesQuery = object({ room: name, ...page })
export const dmMessagesQuery = object(page)
export const markReadBody = object({ id: messageId }, ['id'])
/** Up to 100 message ids, comma-separated. */
export const deliveryQuery = object({ ids: { type: 'string', minLength: 1, maxLength: 6500, pattern: '^[A-Za-z0-9_-]{8,64}(,[A-Za-z0-9_-]{8,64}){0,99}$' } }, ['ids'])
export const verificationBody = object({ mark: { type: 'boolean' } }, ['mark'])
