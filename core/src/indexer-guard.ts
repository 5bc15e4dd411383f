/**
 * Autobase must always keep at least one *active* indexer (admins' writers are Solidar's
 * indexers). A writer made an indexer becomes active only once Autobase applies a block of it;
 * until then it is *pending* and does not count. Demoting or removing the last active
 * indexers while the new ones are still pending left Autobase 7.28 with no indexer at all: the
 * next migration derived view cores with no signers and the base crashed for good ("Invalid
 * checkout N for batch", see patches/README.md). `removeable(key)` answers for one key only,
 * so an admin with several devices needs the whole set checked at once.
 *
 * Deterministic: the indexer set is part of Autobase's system state at this point of the
 * linearized log, the same on every peer.
 */
import b4a from 'b4a'
import type { ApplyHost } from './apply-context.ts'

/** Whether `leaving` may all stop being indexers at once and an active indexer still remains. */
export function keepsAnIndexer (host: ApplyHost, leaving: Buffer[]): boolean {
  const gone = new Set(leaving.map(k => b4a.toString(k, 'hex')))
  const active = host.system.indexers.map(i => b4a.toString(i.key, 'hex'))
  const hit = active.filter(k => gone.has(k)).length
  return hit === 0 || hit < active.length
}

/** The audit reason when `keepsAnIndexer` says no. */
export const NO_INDEXER_LEFT = 'the other admins are not indexers of the log yet (none of their devices has written since they were made admin); try again once one has'
