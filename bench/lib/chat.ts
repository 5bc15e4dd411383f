/**
 * A chat of N members in one of the two systems, placed on the run's worker processes
 * (member i in worker i mod W), with the same surface for the scenarios:
 * - Solidar: a group created by member 0, everyone else joined with one invite code;
 * - Prosody: a MUC room that every @xmpp/client user joins.
 */
import { now, sleep } from './clock.ts'
import type { PacedArgs, PacedResult } from './pace.ts'
import type { Worker } from './procs.ts'
import { MUC, type Prosody } from './prosody.ts'

export interface Ctx {
  quick: boolean
  /** Temp folder of the run (homes, stores). */
  dir: string
  /** HOST:PORT of the run's DHT bootstrap on 127.0.0.1. */
  bootstrap: string
  workers: Worker[]
  prosody: Prosody | null
  log (line: string): void
}

export interface Member { id: string, worker: Worker }

export interface Chat {
  system: 'Solidar' | 'Prosody'
  members: Member[]
  send (i: number, text: string): Promise<{ t0: number, t1: number }>
  sendPaced (i: number, args: PacedArgs): Promise<PacedResult>
  close (): Promise<void>
}

/** Joins at a time (the admin answers each with its own log entry). */
const JOIN_BATCH = Number(process.env.BENCH_JOIN_BATCH ?? 4)
const JOIN_TIMEOUT = 30_000

/** Counted over the whole run, for the report. */
export const setupNotes = { joinRetries: 0 }

export const place = (ctx: Ctx, i: number): Worker => ctx.workers[i % ctx.workers.length]

async function inBatches<T> (items: T[], size: number, fn: (item: T) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < items.length; i += size) await Promise.all(items.slice(i, i + size).map(fn))
}

export async function solidarChat (ctx: Ctx, n: number, prefix: string): Promise<Chat & { group: string }> {
  const members: Member[] = Array.from({ length: n }, (_, i) => ({ id: `${prefix}${i}`, worker: place(ctx, i) }))
  const opened: Member[] = []
  const close = async () => {
    await Promise.all(opened.map(m => m.worker.call('solidar.close', { id: m.id }).catch(() => {})))
  }
  try {
    let t = now()
    await inBatches(members, 5, async (m) => {
      await m.worker.call('solidar.open', { id: m.id, dir: ctx.dir, bootstrap: ctx.bootstrap })
      opened.push(m)
    })
    const openMs = now() - t
    let joinRetries = 0
    const admin = members[0]
    const group: string = await admin.worker.call('solidar.createGroup', { id: admin.id, name: `bench ${prefix}` })
    if (n > 1) {
      t = now()
      // One single-use invite per joiner (as the multi-process tests do), a few joins at a time.
      await inBatches(members.slice(1), JOIN_BATCH, async (m) => {
        // Bounded retries: now and then a join request is never answered (seen under heavy
        // load); a second request with a fresh invite goes through. Retries are logged and counted.
        for (let attempt = 1; ; attempt++) {
          const code = await admin.worker.call('solidar.invite', { id: admin.id, group, uses: 1 })
          try {
            await m.worker.call('solidar.join', { id: m.id, code, timeoutMs: JOIN_TIMEOUT }, JOIN_TIMEOUT + 30_000)
            return
          } catch (err: any) {
            const message = String(err?.message)
            if (/already in group/i.test(message)) return // admitted; the timeout hit while it caught up
            if (attempt >= 3 || !/answered within|JOIN_TIMEOUT/.test(message)) throw err
            joinRetries++
            ctx.log(`${m.id}: join not answered within ${JOIN_TIMEOUT / 1000} s, retrying (${attempt}/2)`)
          }
        }
      })
    }
    const joinMs = now() - t
    t = now()
    // Everyone sees everyone before anything is measured.
    const deadline = now() + 120_000
    for (const m of members) {
      while ((await m.worker.call('solidar.members', { id: m.id, group })) < n) {
        if (now() > deadline) throw new Error(`${m.id} does not see all ${n} members`)
        await sleep(100)
      }
    }
    ctx.log(`Solidar group of ${n}: nodes started in ${(openMs / 1000).toFixed(1)} s, joined in ${(joinMs / 1000).toFixed(1)} s, all see all after ${((now() - t) / 1000).toFixed(1)} s more${joinRetries ? `; ${joinRetries} join retries` : ''}`)
    setupNotes.joinRetries += joinRetries
    return {
      system: 'Solidar',
      members,
      group,
      send: (i, text) => members[i].worker.call('solidar.send', { id: members[i].id, group, text }),
      sendPaced: (i, args) => members[i].worker.call('solidar.sendPaced', { id: members[i].id, group, ...args }, args.durationMs + 60_000),
      close
    }
  } catch (err) {
    await close()
    throw err
  }
}

export async function prosodyChat (ctx: Ctx, n: number, prefix: string): Promise<Chat> {
  const prosody = ctx.prosody
  if (!prosody) throw new Error('Prosody is not running')
  if (prosody.users.length < n) throw new Error(`only ${prosody.users.length} XMPP users registered`)
  const room = `${prefix.toLowerCase()}@${MUC}`
  const members: Member[] = Array.from({ length: n }, (_, i) => ({ id: `${prefix}${i}`, worker: place(ctx, i) }))
  const opened: Member[] = []
  const close = async () => {
    await Promise.all(opened.map(m => m.worker.call('xmpp.close', { id: m.id }).catch(() => {})))
  }
  try {
    await inBatches(members, 5, async (m, i = members.indexOf(m)) => {
      await m.worker.call('xmpp.connect', { id: m.id, port: prosody.port, domain: 'localhost', ...prosody.users[i], room })
      opened.push(m)
    })
    return {
      system: 'Prosody',
      members,
      send: (i, text) => members[i].worker.call('xmpp.send', { id: members[i].id, text }),
      sendPaced: (i, args) => members[i].worker.call('xmpp.sendPaced', { id: members[i].id, ...args }, args.durationMs + 60_000),
      close
    }
  } catch (err) {
    await close()
    throw err
  }
}
