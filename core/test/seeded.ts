/**
 * Seeded randomness for replayable reliability tests. Every test that draws random choices
 * (kill points, partition schedules) takes its seed from `SOLIDAR_SEED` if set, else a fresh
 * one, and prints it so a failure can be replayed with `SOLIDAR_SEED=… npm run test:…`.
 */
import { randomInt } from 'node:crypto'

/** Long variants (`SOLIDAR_LONG=1`): more rounds, longer soaks. */
export const LONG = process.env.SOLIDAR_LONG === '1'

/** Mulberry32: small, fast, good enough to pick test schedules; deterministic for a seed. */
export class Rng {
  #state: number
  constructor (readonly seed: number) { this.#state = seed >>> 0 }

  /** A float in [0, 1). */
  next (): number {
    this.#state = (this.#state + 0x6d2b79f5) >>> 0
    let t = this.#state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }

  /** An integer in [min, max]. */
  int (min: number, max: number): number { return min + Math.floor(this.next() * (max - min + 1)) }
  pick<T> (items: readonly T[]): T { return items[Math.floor(this.next() * items.length)] }
}

/** The seed for test `name`: `SOLIDAR_SEED` or a fresh one, printed either way. */
export function testSeed (name: string): Rng {
  const fromEnv = process.env.SOLIDAR_SEED
  const seed = fromEnv !== undefined && fromEnv !== '' ? Number(fromEnv) >>> 0 : randomInt(0, 2 ** 31)
  console.log(`# ${name}: seed ${seed} (replay with SOLIDAR_SEED=${seed})`)
  return new Rng(seed)
}
