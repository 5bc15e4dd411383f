/**
 * Coded errors. Every error Solidar raises on purpose carries a stable `code`;
 * the local API maps codes to HTTP statuses and the CLI maps them to messages
 * and exit codes (see node/src/api/errors.ts).
 */
export type ErrorCode =
  | 'BAD_REQUEST'
  | 'NOT_INITIALIZED'
  | 'ALREADY_INITIALIZED'
  | 'GROUP_NOT_FOUND'
  | 'GROUP_AMBIGUOUS'
  | 'MEMBER_NOT_FOUND'
  | 'MESSAGE_NOT_FOUND'
  | 'ROOM_NOT_FOUND'
  | 'ROOM_EXISTS'
  | 'PAD_NOT_FOUND'
  | 'PAD_AMBIGUOUS'
  | 'PAD_CONTENT_REJECTED'
  | 'MEETING_NOT_FOUND'
  | 'MEETING_FULL'
  | 'NOT_PERMITTED'
  | 'NO_SHARED_GROUP'
  | 'INVITE_MALFORMED'
  | 'INVITE_EXPIRED'
  | 'INVITE_USED'
  | 'INVITE_REJECTED'
  | 'INVITE_REVOKED'
  | 'INVITE_ORPHANED'
  | 'INVITE_NOT_FOUND'
  | 'ALREADY_MEMBER'
  | 'JOIN_TIMEOUT'
  | 'ADMISSION_FAILED'
  | 'NO_NETWORK'
  | 'CLOSED'
  | 'STORAGE_FAILED'
  | 'DISK_FULL'
  | 'LOG_FAILED'
  | 'LOG_WARNING'
  | 'LISTENER_FAILED'
  | 'BUSY'
  | 'UPGRADE_REQUIRED'

export class SolidarError extends Error {
  readonly code: ErrorCode
  constructor (code: ErrorCode, message: string) {
    super(message)
    this.name = 'SolidarError'
    this.code = code
  }
}

export function isSolidarError (err: unknown): err is SolidarError {
  return err instanceof SolidarError
}

export const errors = {
  badRequest: (msg: string) => new SolidarError('BAD_REQUEST', msg),
  notInitialized: () => new SolidarError('NOT_INITIALIZED', 'No identity yet: run `solidar init --name NAME` first'),
  alreadyInitialized: (id: string) => new SolidarError('ALREADY_INITIALIZED', `This home already has an identity (${id})`),
  groupNotFound: (ref: string) => new SolidarError('GROUP_NOT_FOUND', `No group matches "${ref}"`),
  groupAmbiguous: (ref: string, ids: string[]) =>
    new SolidarError('GROUP_AMBIGUOUS', `"${ref}" matches several groups; use an id: ${ids.join(', ')}`),
  memberNotFound: (ref: string) => new SolidarError('MEMBER_NOT_FOUND', `No member matches "${ref}"`),
  messageNotFound: (id: string) => new SolidarError('MESSAGE_NOT_FOUND', `No message with id "${id}"`),
  roomNotFound: (room: string) => new SolidarError('ROOM_NOT_FOUND', `No room "${room}" in this group`),
  roomExists: (room: string) => new SolidarError('ROOM_EXISTS', `Room "${room}" already exists`),
  padNotFound: (ref: string) => new SolidarError('PAD_NOT_FOUND', `No pad matches "${ref}" in this group`),
  padAmbiguous: (ref: string, ids: string[]) =>
    new SolidarError('PAD_AMBIGUOUS', `"${ref}" matches several pads; use an id: ${ids.join(', ')}`),
  meetingNotFound: (id: string) => new SolidarError('MEETING_NOT_FOUND', `No meeting "${id}" is running in this group`),
  meetingFull: (max: number) => new SolidarError('MEETING_FULL', `This meeting already has ${max} participants, the most a meeting can have`),
  notPermitted: (what: string) => new SolidarError('NOT_PERMITTED', what),
  noSharedGroup: (member: string) =>
    new SolidarError('NO_SHARED_GROUP', `You share no group with ${member}; direct messages need one`),
  inviteMalformed: (why: string) => new SolidarError('INVITE_MALFORMED', `This invite code is not valid: ${why}`),
  /** `when` unknown (an admin said so): no date, rather than a wrong one. */
  inviteExpired: (when?: number) =>
    new SolidarError('INVITE_EXPIRED', when ? `This invite expired on ${new Date(when).toISOString()}` : 'This invite has expired'),
  inviteUsed: () => new SolidarError('INVITE_USED', 'This invite has already been used'),
  inviteRejected: () => new SolidarError('INVITE_REJECTED', 'A group admin refused this invite'),
  inviteRevoked: () => new SolidarError('INVITE_REVOKED', 'An admin of the group revoked this invite; ask for a new code'),
  inviteOrphaned: () =>
    new SolidarError('INVITE_ORPHANED', 'The admin who made this invite is no longer an admin of the group, so the invite no longer admits anyone; ask a current admin for a new code'),
  inviteNotFound: (ref: string) => new SolidarError('INVITE_NOT_FOUND', `No invite "${ref}" in this group (use the id from "invite list" or the code itself)`),
  alreadyMember: (group: string) => new SolidarError('ALREADY_MEMBER', `You are already in group ${group}`),
  admissionFailed: () =>
    new SolidarError('ADMISSION_FAILED', 'The admin\'s node received your request but could not write your admission (its storage or log failed; the admin sees why). The invite is not used up: try again later'),
  joinTimeout: (ms: number) =>
    new SolidarError('JOIN_TIMEOUT', `No member of the group answered within ${Math.round(ms / 1000)} s; is one of them online and on the same network?`),
  noNetwork: () =>
    new SolidarError('NO_NETWORK', 'This node is not connected to any network yet: restart it with --bootstrap HOST:PORT (a private DHT) or --public-dht'),
  closed: () => new SolidarError('CLOSED', 'This node is shutting down'),
  /** `problem`: what the system said about the disk, when it said it (see `failureError` in failure.ts). */
  storageFailed: (detail: string, problem: 'full' | 'read-only' | null = null) =>
    new SolidarError('STORAGE_FAILED', problem === 'read-only'
      ? `Could not save to disk: the disk has become read-only (${detail}); nothing was acknowledged. The system does this to a failing disk or SD card. What is saved can still be read: check the disk (fsck), then restart Solidar once it is writable again.`
      : problem === 'full'
        ? `Could not save to disk: the disk is full (${detail}); nothing was acknowledged. Free some space: Solidar saves again by itself a few seconds after at least 64 MB are free (with less, restart Solidar).`
        : `Could not save to disk (${detail}): nothing was acknowledged. Is the disk full or read-only? Free some space, then restart Solidar.`),
  /** The log's Autobase stopped for a reason other than the disk (an internal error). */
  logFailed: (detail: string) =>
    new SolidarError('LOG_FAILED', `This group's log stopped after an internal error (${detail}): nothing was acknowledged. Restart Solidar to reopen it; if it happens again, please report it.`),
  /** A newer Solidar moved the group to apply rules this one does not know (upgrade.ts). */
  upgradeRequired: (rules: number, known: number) =>
    new SolidarError('UPGRADE_REQUIRED', `This group needs a newer Solidar: a member's newer version moved it to format rules ${rules}, and this one knows up to ${known}. What came before can still be read; update Solidar to write to the group and to see what came after.`),
  busy: (what: string) => new SolidarError('BUSY', what),
  /** The node runs read-only because its disk was too full to open the store for writing (node/src/read-only.ts). */
  diskFull: (message: string) => new SolidarError('DISK_FULL', message)
}
