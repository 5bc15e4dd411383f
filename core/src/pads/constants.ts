/** Tunables of the pad service, each with its reason. */

/**
 * Group commit: local edits within this window are merged (Y.mergeUpdates) into one log
 * entry. An append costs ~2.5 ms and ~257 bytes of overhead (docs/NOTES), a keystroke
 * ~20 bytes of Yjs update: 80 ms keeps typing live for peers (well under the ~150 ms
 * people notice) while cutting entries ~10–20× at typing speed.
 */
export const BATCH_MS = 80

/** Write a new snapshot once a pad has this many log updates beyond its last one. */
export const SNAPSHOT_EVERY = 256

/** Snapshot writes wait this long after the last change (a burst of typing writes once). */
export const SNAPSHOT_DELAY_MS = 2_000

/** Pads kept open (Y.Doc in memory) per node; the least recently used is closed first. */
export const MAX_OPEN_PADS = 32

/** Consecutive updates by one member less than this far apart form one history version. */
export const SESSION_GAP_MS = 5 * 60_000

/** Blocks per transaction when importing: each becomes one update, so an import splits into entries ≤ MAX_PAD_UPDATE. */
export const IMPORT_BLOCKS_PER_UPDATE = 64
