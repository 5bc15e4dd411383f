/**
 * Waits until the machine has digested the previous batch: the worker processes' CPU use
 * (process.cpuUsage, all their threads) over 300 ms windows drops below `quietCores`, or stops
 * falling (a plateau: idle nodes never use zero). Bounded by `timeoutMs`. Called before every
 * measured batch of either system, so neither is measured while the other's tail work runs
 * (e.g. Autobase acknowledgements a second after a burst of Solidar messages).
 */
import { now, sleep } from './clock.ts'
import type { Worker } from './procs.ts'

async function cpuMs (workers: Worker[]): Promise<number> {
  const all = await Promise.all(workers.map(w => w.call<{ cpu: { user: number, system: number } }>('usage', {}, 10_000)))
  return all.reduce((sum, u) => sum + (u.cpu.user + u.cpu.system) / 1000, 0)
}

export async function settle (workers: Worker[], { quietCores = 0.15, windowMs = 300, minMs = 600, timeoutMs = 15_000 } = {}): Promise<{ ms: number, cores: number }> {
  const start = now()
  let prev = await cpuMs(workers)
  let last = Infinity
  for (;;) {
    await sleep(windowMs)
    const cur = await cpuMs(workers)
    const cores = (cur - prev) / windowMs
    prev = cur
    const elapsed = now() - start
    const plateau = elapsed >= 2000 && cores >= last * 0.8
    if ((elapsed >= minMs && cores < quietCores) || plateau || elapsed >= timeoutMs) return { ms: elapsed, cores }
    last = Math.min(last, cores)
  }
}
