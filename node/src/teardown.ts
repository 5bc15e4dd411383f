/**
 * Closes what a start-up opened, newest first, in one place: a start that fails half-way and
 * a node that stops both run the same steps. Every step runs even when an earlier one fails,
 * so a failing close never leaves a later resource (RocksDB's lock, a socket) open.
 */
export interface TeardownFailure { step: string, error: Error }

export class Teardown {
  readonly #steps: Array<{ step: string, close: () => Promise<void> }> = []

  /** Registers how to close something that just opened. */
  add (step: string, close: () => Promise<void> | void): void {
    this.#steps.push({ step, close: async () => { await close() } })
  }

  /** Runs every step once, newest first; never throws; resolves with the steps that failed. */
  async run (): Promise<TeardownFailure[]> {
    const failures: TeardownFailure[] = []
    for (const { step, close } of this.#steps.splice(0).reverse()) {
      try {
        await close()
      } catch (err) {
        failures.push({ step, error: err instanceof Error ? err : new Error(String(err)) })
      }
    }
    return failures
  }

  /**
   * After a failed start: closes everything and rethrows `cause` (the error that stopped the
   * start). Failures while closing are reported through `report`, if given: they are a
   * consequence, and the cause is what the user needs to see.
   */
  async abort (cause: unknown, report?: (message: string, err: Error) => void): Promise<never> {
    for (const f of await this.run()) report?.(`closing ${f.step} after a failed start failed`, f.error)
    throw cause
  }
}
