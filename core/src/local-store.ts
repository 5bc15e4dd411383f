/**
 * The local store contract (types only): small named byte blobs kept on this device only,
 * never replicated — the registry of logs, read markers, verified keys, re-seal keys, pad
 * snapshots. Every implementation (core's MemoryLocalStore, node's FileStore on disk) runs the
 * acceptance suite core/test/local-store-suite.ts.
 *
 * Names are '/'-separated relative paths of letters, digits, '.', '_' and '-' (never '..').
 * Every method is async and never blocks the event loop.
 */
export interface LocalStore {
  /** The bytes stored under `name`, or null if nothing is. */
  get (name: string): Promise<Uint8Array | null>
  /** Stores `bytes` under `name`, durable (fsync) when it resolves. Puts of one name take effect in call order. */
  put (name: string, bytes: Uint8Array): Promise<void>
  /** Removes `name` (nothing happens if it is absent), durable when it resolves. */
  delete (name: string): Promise<void>
  /** Every stored name that starts with `prefix`, sorted. */
  list (prefix: string): Promise<string[]>
}
