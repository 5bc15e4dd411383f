/**
 * Shared by the hosts: message texts that carry a tag, and open-loop paced sending
 * (messages go out on a fixed schedule whether or not earlier ones are done, as users
 * would send them; a send that cannot start because too many are in flight is skipped
 * and counted, so an overloaded system fails the step instead of slowing the schedule).
 */
import { now } from './clock.ts'

/** `b|<tag>|xxxx…`, padded to `size` characters (ASCII, so also `size` bytes). */
export function makeText (tag: string, size: number): string {
  const head = `b|${tag}|`
  return head.length >= size ? head : head + 'x'.repeat(size - head.length)
}

export function tagOf (text: string): string | null {
  if (!text.startsWith('b|')) return null
  const end = text.indexOf('|', 2)
  return end === -1 ? null : text.slice(2, end)
}

export interface PacedArgs { rate: number, durationMs: number, prefix: string, size: number, maxInflight?: number }
export interface PacedResult { scheduled: number, started: number, skipped: number, failed: number, tStart: number, tEnd: number }

export function sendPaced (
  { rate, durationMs, prefix, size, maxInflight = 2000 }: PacedArgs,
  send: (text: string) => Promise<unknown>,
  emit: (event: string, data: unknown) => void
): Promise<PacedResult> {
  const total = Math.max(1, Math.round(rate * durationMs / 1000))
  const tStart = now()
  let i = 0
  let inflight = 0
  let skipped = 0
  let failed = 0
  return new Promise((resolve) => {
    const tick = () => {
      const due = Math.min(total, Math.floor((now() - tStart) * rate / 1000) + 1)
      while (i < due) {
        const tag = `${prefix}-${i++}`
        if (inflight >= maxInflight) { skipped++; continue }
        inflight++
        const t0 = now()
        emit('sent', { tag, t0 })
        send(makeText(tag, size)).catch(() => { failed++ }).finally(() => { inflight-- })
      }
      if (i < total) setTimeout(tick, 1)
      else resolve({ scheduled: total, started: total - skipped, skipped, failed, tStart, tEnd: now() })
    }
    tick()
  })
}
