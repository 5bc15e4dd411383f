/**
 * Finding and describing a group's pads: a pad by id or title (resolve.ts; of pads with the
 * same title, those not archived), its title and summary opened with the group's keyring,
 * the members' names, and the checks and de-duplication of a new title.
 */
import b4a from 'b4a'
import { isMessageId, MAX_PAD_TITLE } from '../commands.ts'
import { errors } from '../errors.ts'
import { encodeKey } from '../ids.ts'
import { resolveOne, nameKey } from '../resolve.ts'
import type { MemberId, PadId, PadSummary } from '../types.ts'
import { readPad, readPads, type PadRecord } from './records.ts'
import type { PadLog } from './service.ts'

export const memberIdOfHex = (h: string) => encodeKey(b4a.from(h, 'hex')) as MemberId

/** The pad `ref` names: its id, else its title (as names compare). */
export async function findPad (log: PadLog, ref: string): Promise<PadRecord> {
  if (typeof ref !== 'string' || ref.trim() === '') throw errors.badRequest('missing pad')
  const text = ref.trim()
  if (isMessageId(text)) {
    const byId = await readPad(log.group.view, text)
    if (byId) return byId
  }
  return resolveOne(await readPads(log.group.view), text, {
    name: (p) => padTitle(log, p),
    prefer: (p) => !p.archived,
    missing: () => errors.badRequest('missing pad'),
    notFound: (ref) => errors.padNotFound(ref),
    ambiguous: (ref, matches) => errors.padAmbiguous(ref, matches.map(p => p.id))
  })
}

/** The pad's title, '' when this device cannot open it. */
export function padTitle (log: PadLog, p: PadRecord): string {
  const plain = log.keyring.open(p.title, 'pad-title')
  return plain ? b4a.toString(plain) : ''
}

/** `names`: the members' names by hex id (`memberNames`), else the creator's is read. */
export async function padSummary (log: PadLog, p: PadRecord, names?: Map<string, string>): Promise<PadSummary> {
  const plain = log.keyring.open(p.title, 'pad-title')
  const name = names ? names.get(p.createdBy) : (await log.group.member(p.createdBy))?.name
  const out: PadSummary = {
    id: p.id as PadId, title: plain ? b4a.toString(plain) : '', createdBy: memberIdOfHex(p.createdBy), createdByName: name ?? '?',
    ts: p.ts, changedTs: p.changedTs, updates: p.updates, archived: p.archived
  }
  if (!plain) out.unreadable = true
  return out
}

export async function memberNames (log: PadLog): Promise<Map<string, string>> {
  return new Map((await log.group.allMembers()).map(m => [m.id, m.name]))
}

/** `title`, or the first of "title (2)", "title (3)", … that no pad of the group has (archived ones too). */
export async function freeTitle (log: PadLog, title: string): Promise<string> {
  const taken = new Set((await readPads(log.group.view)).map(p => nameKey(padTitle(log, p))))
  if (!taken.has(nameKey(title))) return title
  for (let n = 2; ; n++) {
    const suffix = ` (${n})`
    const next = `${title.slice(0, MAX_PAD_TITLE - suffix.length)}${suffix}`
    if (!taken.has(nameKey(next))) return next
  }
}

export function checkTitle (title: unknown): string {
  if (typeof title !== 'string' || title.trim() === '') throw errors.badRequest('a pad needs a title')
  const clean = title.trim()
  if (clean.length > MAX_PAD_TITLE) throw errors.badRequest(`a pad title has at most ${MAX_PAD_TITLE} characters`)
  if (/\p{Cc}/u.test(clean)) throw errors.badRequest('a pad title cannot contain control characters')
  return clean
}
