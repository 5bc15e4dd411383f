/**
 * Autobase itself (patches/autobase+7.28.1.patch): demoting the last active indexer with
 * `addWriter(key, { indexer: false })` while the new indexer is still pending (its writer has
 * written nothing yet) is refused like `removeWriter` of the last indexer, instead of leaving
 * the base with no indexer, which crashed it for good ("Invalid checkout N for batch").
 * And Solidar's own guard (core/src/indexer-guard.ts), which never asks Autobase for that.
 */
import test from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import Autobase from 'autobase'
import b4a from 'b4a'
import Corestore from 'corestore'
import type { ApplyHost } from '../src/apply-context.ts'
import { keepsAnIndexer } from '../src/indexer-guard.ts'
import { waitFor } from './helpers.ts'
import { Lab, converged, hex } from './lab.ts'

type Op = { add?: string, demote?: string, refused?: string }

test('Autobase patch: demoting the last active indexer while the new one is pending is refused, not a crash; once the new one has written, it works', async (t) => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'solidar-abidx-'))
  const errors: Error[] = []
  const open = (store: any) => store.get('view', { valueEncoding: 'json' })
  const apply = async (nodes: Array<{ value: Op }>, view: any, host: any) => {
    for (const { value } of nodes) {
      if (value.add) await host.addWriter(b4a.from(value.add, 'hex'), { indexer: true })
      if (value.demote) {
        try {
          await host.addWriter(b4a.from(value.demote, 'hex'), { indexer: false })
        } catch (err) {
          // what an application does with a refused change: keep a record of it, go on
          await view.append({ refused: (err as Error).message })
          continue
        }
      }
      await view.append(value)
    }
  }
  const make = (name: string, key: Buffer | null) => {
    const base = new Autobase(new Corestore(path.join(dir, name)), key, { open, apply, valueEncoding: 'json', ackInterval: 50 })
    base.on('error', (err: Error) => errors.push(err))
    return base
  }
  const alice = make('alice', null)
  await alice.ready()
  const bob = make('bob', alice.key)
  await bob.ready()
  const streams: any[] = []
  t.after(async () => {
    for (const s of streams) s.destroy()
    await alice.close()
    await bob.close()
    await fs.rm(dir, { recursive: true, force: true })
  })
  const hexOf = (b: Buffer) => b4a.toString(b, 'hex')
  const entries = async (b: any): Promise<Op[]> => {
    const out: Op[] = []
    for (let i = 0; i < b.view.length; i++) out.push(await b.view.get(i))
    return out
  }

  // bob becomes an indexer while his writer is empty: pending, not yet active
  await alice.append({ add: hexOf(bob.local.key) })
  assert.deepEqual(alice.system.indexers.map((i: any) => hexOf(i.key)), [hexOf(alice.local.key)])
  assert.equal(alice.system.pendingIndexers.length, 1)
  // alice steps down at once: refused, alice stays the (only active) indexer
  await alice.append({ demote: hexOf(alice.local.key) })
  assert.deepEqual(await entries(alice), [{ add: hexOf(bob.local.key) }, { refused: 'Not allowed to remove the last indexer' }])
  assert.deepEqual(alice.system.indexers.map((i: any) => hexOf(i.key)), [hexOf(alice.local.key)])

  // connected only now, so bob cannot ack before alice's demotion is in her log (an ack
  // concurrent with it could be ordered first, and then the demotion is rightly accepted)
  const [s1, s2] = [alice.store.replicate(true), bob.store.replicate(false)]
  streams.push(s1, s2)
  s1.pipe(s2).pipe(s1)
  // once bob's writer has written (an ack), he is active and alice may step down. bob acks
  // by himself (its ack timer), but not always before the timer backs off: ask for it here.
  await waitFor(async () => {
    await bob.update()
    await bob.ack()
    await alice.update()
    return alice.system.pendingIndexers.length === 0
  }, 'bob is an active indexer', 30_000)
  await alice.append({ demote: hexOf(alice.local.key) })
  await waitFor(async () => {
    await alice.update()
    await bob.update()
    return [alice, bob].every(b => b.system.indexers.length === 1 && b4a.equals(b.system.indexers[0].key, bob.local.key))
  }, 'bob is the only indexer on both', 30_000)
  for (const b of [alice, bob]) {
    assert.deepEqual(await entries(b), [{ add: hexOf(bob.local.key) }, { refused: 'Not allowed to remove the last indexer' }, { demote: hexOf(alice.local.key) }])
  }
  assert.deepEqual(errors.map(e => e.message), [])
})

test('keepsAnIndexer: a change may take writers out of the indexer set only while an active indexer outside them remains (all of an admin\'s devices at once)', () => {
  const k = (n: number) => b4a.alloc(32, n) as Buffer
  const host = (active: Buffer[]) => ({ system: { indexers: active.map(key => ({ key })) } }) as unknown as ApplyHost
  assert.equal(keepsAnIndexer(host([k(1)]), [k(1)]), false, 'the only active indexer (the new admin still pending)')
  assert.equal(keepsAnIndexer(host([k(1), k(2)]), [k(1), k(2)]), false, 'both devices of the only active admin: removeable() says yes to each alone')
  assert.equal(keepsAnIndexer(host([k(1), k(2), k(3)]), [k(1), k(2)]), true)
  assert.equal(keepsAnIndexer(host([k(1), k(2)]), [k(1)]), true)
  assert.equal(keepsAnIndexer(host([k(1)]), [k(4)]), true, 'writers that are not indexers')
  assert.equal(keepsAnIndexer(host([k(1)]), []), true)
})

test('Solidar: an admin steps down while another admin is active and a third is still pending: accepted, and Autobase does not crash (only an empty indexer set did)', async (t) => {
  const lab = await Lab.create(t, 'solidar-abidx-')
  const alice = await lab.creator('alice')
  const carol = await lab.member(alice, 'carol')
  const bob = await lab.member(alice, 'bob')
  const all = [alice, bob, carol]
  const failed: Error[] = []
  for (const p of all) p.group.on('error', (err: Error) => failed.push(err))
  await alice.group.append({ t: 'member/role', member: carol.id.publicKey, role: 'admin', ts: Date.now() })
  await converged(all.map(p => p.group), 'carol is admin')
  await alice.group.settleIndexers() // carol is an active indexer
  for (const s of lab.streams) s.destroy() // bob cannot ack before alice's next two entries
  lab.streams.clear()
  await alice.group.append({ t: 'member/role', member: bob.id.publicKey, role: 'admin', ts: Date.now() })
  assert.equal(alice.group.base.system.pendingIndexers.length, 1, 'bob is a pending indexer')
  await alice.group.append({ t: 'member/role', member: alice.id.publicKey, role: 'member', ts: Date.now() })
  lab.connect(alice, bob)
  lab.connect(alice, carol)
  await converged(all.map(p => p.group), 'alice stepped down')
  for (const p of all) {
    await p.group.settleIndexers()
    assert.deepEqual((await p.group.members()).map(m => [m.name, m.role]).sort(), [['alice', 'member'], ['bob', 'admin'], ['carol', 'admin']])
    assert.deepEqual(p.group.base.system.indexers.map((i: { key: Buffer }) => hex(i.key)).sort(), [hex(bob.group.localWriterKey), hex(carol.group.localWriterKey)].sort())
  }
  assert.deepEqual(failed.map(e => e.message), [])
})
