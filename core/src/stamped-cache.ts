/**
 * Values read from a log's view, kept while the view's stamp stays the same (for membership:
 * Group.membershipStamp). A value is kept only when the stamp was the same, and not null (no
 * batch being applied), before and after its read: so a read that raced a change is used once
 * and not kept, and a kept value is dropped as soon as the stamp moves.
 */
export class StampedCache<K, V> {
  readonly #stamp: () => number | null
  #at: number | null = null
  readonly #values = new Map<K, V>()

  constructor (stamp: () => number | null) {
    this.#stamp = stamp
  }

  async get (key: K, read: () => Promise<V>): Promise<V> {
    const before = this.#stamp()
    if (before !== null && before === this.#at && this.#values.has(key)) return this.#values.get(key)!
    const value = await read()
    if (before !== null && this.#stamp() === before) {
      if (this.#at !== before) { this.#values.clear(); this.#at = before }
      this.#values.set(key, value)
    }
    return value
  }
}
