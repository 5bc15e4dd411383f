/**
 * How errors cross the local API: `{ error: { code, message } }` with an HTTP status
 * derived from the code. The CLI maps the same codes back (see cli/src/client.ts).
 */
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { ErrorCode } from '@solidar/core'

/** Codes the API adds to core's: authentication, host checks, unknown routes, bugs, a store that waits for `repair`. */
export type ApiErrorCode = ErrorCode | 'UNAUTHORIZED' | 'FORBIDDEN' | 'NOT_FOUND' | 'UNSUPPORTED_MEDIA_TYPE' | 'PAYLOAD_TOO_LARGE' | 'INTERNAL' | 'REPAIR_NEEDED'

/** The JSON body of every error response. */
export interface ApiErrorBody {
  error: { code: ApiErrorCode, message: string }
}

const STATUS: Record<ApiErrorCode, number> = {
  BAD_REQUEST: 400,
  INVITE_MALFORMED: 400,
  UNAUTHORIZED: 401,
  NOT_PERMITTED: 403,
  FORBIDDEN: 403,
  NO_SHARED_GROUP: 403,
  NOT_FOUND: 404,
  GROUP_NOT_FOUND: 404,
  MEMBER_NOT_FOUND: 404,
  MESSAGE_NOT_FOUND: 404,
  ROOM_NOT_FOUND: 404,
  PAD_NOT_FOUND: 404,
  MEETING_NOT_FOUND: 404,
  INVITE_NOT_FOUND: 404,
  GROUP_AMBIGUOUS: 409,
  ALREADY_MEMBER: 409,
  ROOM_EXISTS: 409,
  PAD_AMBIGUOUS: 409,
  MEETING_FULL: 409,
  NOT_INITIALIZED: 409,
  ALREADY_INITIALIZED: 409,
  INVITE_EXPIRED: 410,
  INVITE_USED: 410,
  INVITE_REJECTED: 410,
  INVITE_REVOKED: 410,
  INVITE_ORPHANED: 410,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  PAD_CONTENT_REJECTED: 422,
  UPGRADE_REQUIRED: 426,
  INTERNAL: 500,
  NO_NETWORK: 503,
  CLOSED: 503,
  BUSY: 503,
  REPAIR_NEEDED: 503,
  LOG_FAILED: 500,
  LOG_WARNING: 500,
  LISTENER_FAILED: 500,
  JOIN_TIMEOUT: 504,
  ADMISSION_FAILED: 503,
  STORAGE_FAILED: 507,
  DISK_FULL: 507
}

/** HTTP status for an error code; unknown codes are server errors. */
export function statusForCode (code: string): number {
  return Object.hasOwn(STATUS, code) ? STATUS[code as ApiErrorCode] : 500
}

/** Builds the JSON error body. */
export function errorBody (code: ApiErrorCode, message: string): ApiErrorBody {
  return { error: { code, message } }
}

/** True if `value` looks like an `ApiErrorBody` (used by clients). */
export function isApiErrorBody (value: unknown): value is ApiErrorBody {
  if (typeof value !== 'object' || value === null) return false
  const error = (value as { error?: unknown }).error
  return typeof error === 'object' && error !== null &&
    typeof (error as { code?: unknown }).code === 'string' &&
    typeof (error as { message?: unknown }).message === 'string'
}

/** Answers with a coded error. */
export function send (reply: FastifyReply, code: ApiErrorCode, message: string, status = statusForCode(code)): FastifyReply {
  return reply.code(status).send(errorBody(code, message))
}

/**
 * Refuses a request in a guard or hook. A refused WebSocket handshake also gets its socket
 * destroyed once the answer is out: nothing else would, and a lingering upgrade socket
 * keeps `close()` from ever finishing.
 */
export function deny (request: FastifyRequest, reply: FastifyReply, code: ApiErrorCode, message: string): FastifyReply {
  if (request.headers.upgrade !== undefined) {
    const socket = request.raw.socket
    reply.raw.once('finish', () => socket.destroy())
    reply.raw.once('close', () => socket.destroy())
    reply.header('Connection', 'close')
  }
  return send(reply, code, message)
}
