/**
 * Key verification through the local API and the real `solidar` CLI. One offline daemon
 * has no other members, so alice's node runs in this process with two more nodes ("bob"
 * and a second "bob" with another key) on an in-memory network; her API server is real
 * and her home's daemon.json points the CLI at it.
 */
import { describe, it, before, after } from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import pino from 'pino'
import Corestore from 'corestore'
import { createIdentity, MemoryLocalStore, MemoryNetwork, Solidar } from '@solidar/core'
import type { MemberView, VerificationResult } from '@solidar/core'
import { startApiServer } from '@solidar/node/api/server'
import type { ApiServer } from '@solidar/node/api/server'
import { loadOrCreateToken, writeDaemonInfo, writeIdentity } from '@solidar/node/home'
import { raw } from '@solidar/node/testing/http'
import { run } from './helpers/cli.ts'

async function until (fn: () => Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
}

describe('key verification: API and CLI', { timeout: 120_000 }, () => {
  let root: string
  let home: string
  let server: ApiServer
  let token: string
  let group: string
  let alice: Solidar
  let bob: Solidar
  let newBob: Solidar
  const nodes: Solidar[] = []
  const network = new MemoryNetwork()

  const open = async (name: string, identity = createIdentity(name)): Promise<Solidar> => {
    const node = await Solidar.open({
      identity, store: new Corestore(path.join(root, `store-${nodes.length}`)), local: new MemoryLocalStore(), transport: network.transport()
    })
    nodes.push(node)
    return node
  }
  const cli = (args: string[]) => run(['--home', home, ...args])
  const api = (p: string, body?: unknown) =>
    raw({ port: server.port, path: p, token, ...(body !== undefined ? { method: 'POST', body } : {}) })

  before(async () => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'solidar-verify-test-'))
    home = path.join(root, 'alice')
    const identity = createIdentity('alice')
    writeIdentity(home, identity)
    token = loadOrCreateToken(home)
    alice = await open('alice', identity)
    bob = await open('bob')
    group = (await alice.createGroup('Council')).id
    await bob.join((await alice.createInvite(group)).code, { timeoutMs: 10_000 })
    await until(async () => (await alice.members(group)).length === 2, 'alice to see bob')
    server = await startApiServer({ api: alice, port: 0, token, logger: pino({ level: 'silent' }) })
    assert.ok(writeDaemonInfo(home, { pid: process.pid, host: '127.0.0.1', port: server.port, url: server.url }))
  })

  after(async () => {
    await server?.close()
    for (const node of nodes) { await node.close(); await node.transport?.close(); await node.store.close() }
    fs.rmSync(root, { recursive: true, force: true })
  })

  it('GET and POST /api/members/:member/verification; strict bodies; error codes', async () => {
    const id = bob.whoami().id
    const shown = await api(`/api/members/${id}/verification`)
    assert.equal(shown.status, 200, shown.text)
    const v = shown.json as VerificationResult
    assert.equal(v.member, id)
    assert.equal(v.name, 'bob')
    assert.equal(v.fingerprint, bob.whoami().fingerprint)
    assert.equal(v.ownFingerprint, alice.whoami().fingerprint)
    assert.match(v.safetyNumber, /^\d{5}( \d{5}){11}$/)
    assert.equal(v.verified, false)
    assert.equal(v.safetyNumber, (await bob.verify('alice')).safetyNumber, 'both ends see one safety number')

    for (const body of [{}, { mark: 'true' }, { mark: 1 }, { mark: true, extra: 1 }]) {
      const r = await api(`/api/members/${id}/verification`, body)
      assert.equal(r.status, 400, `${JSON.stringify(body)}: ${r.text}`)
      assert.equal(r.json.error.code, 'BAD_REQUEST')
    }
    const nobody = await api('/api/members/nobody/verification')
    assert.equal(nobody.status, 404, nobody.text)
    assert.equal(nobody.json.error.code, 'MEMBER_NOT_FOUND')
    const self = await api(`/api/members/${alice.whoami().id}/verification`, { mark: true })
    assert.equal(self.status, 400, self.text)
    assert.match(self.json.error.message, /cannot verify yourself/)

    const marked = await api(`/api/members/${id}/verification`, { mark: true })
    assert.equal(marked.status, 200, marked.text)
    assert.equal(marked.json.verified, true)
    const unmarked = await api('/api/members/bob/verification', { mark: false })
    assert.equal(unmarked.json.verified, false, 'a display name works as reference too')
    assert.equal((await api(`/api/members/${id}/verification`)).json.verified, false)
  })

  it('CLI: verify prints the block, --mark marks, members shows ✓ and --json verified', async () => {
    const [shown, self, unknown, both] = await Promise.all([
      cli(['verify', 'bob']), cli(['verify', 'alice']), cli(['verify', 'nobody']), cli(['verify', 'bob', '--mark', '--unmark'])
    ])
    assert.equal(shown.code, 0, shown.stderr)
    const number = (await alice.verify('bob')).safetyNumber.split(' ')
    assert.ok(shown.stdout.includes(number.slice(0, 4).join(' ')) && shown.stdout.includes(number.slice(8).join(' ')), shown.stdout)
    assert.ok(shown.stdout.includes(bob.whoami().fingerprint) && shown.stdout.includes(alice.whoami().fingerprint), shown.stdout)
    assert.match(shown.stdout, /in person or on a call you trust/)
    assert.match(shown.stdout, /Status: not verified/)
    assert.equal(self.code, 1)
    assert.match(self.stderr, /^solidar: You cannot verify yourself/)
    assert.equal(unknown.code, 1)
    assert.match(unknown.stderr, /No member matches "nobody"/)
    assert.equal(both.code, 64, both.stderr)

    const marked = await cli(['verify', 'bob', '--mark', '--json'])
    assert.equal(marked.code, 0, marked.stderr)
    assert.equal(JSON.parse(marked.stdout).verified, true)

    const [json, table] = await Promise.all([cli(['members', 'Council', '--json']), cli(['members', 'Council'])])
    assert.equal(json.code, 0, json.stderr)
    const members = JSON.parse(json.stdout) as MemberView[]
    assert.deepEqual(Object.fromEntries(members.map((m) => [m.name, [m.role, m.verified]])), { alice: ['admin', false], bob: ['member', true] })
    assert.equal(table.code, 0, table.stderr)
    assert.match(table.stdout, /^NAME\s+ROLE\s+VERIFIED\s+ID$/m)
    assert.match(table.stdout, new RegExp(`^bob\\s+member\\s+✓\\s+${bob.whoami().id}$`, 'm'))
    assert.doesNotMatch(table.stdout, /KEY CHANGED/)
  })

  it('CLI: a second "bob" with another key is shown loudly as a changed key', async () => {
    newBob = await open('bob')
    await newBob.join((await alice.createInvite(group)).code, { timeoutMs: 10_000 })
    await until(async () => (await alice.members(group)).length === 3, 'alice to see the second bob')

    const [json, table, ambiguous, report] = await Promise.all([
      cli(['members', 'Council', '--json']), cli(['members', 'Council']), cli(['verify', 'bob']), cli(['verify', newBob.whoami().id])
    ])
    const members = JSON.parse(json.stdout) as MemberView[]
    const fresh = members.find((m) => m.id === newBob.whoami().id)!
    assert.equal(fresh.verified, false)
    assert.equal(fresh.keyChanged, true)
    assert.equal(members.find((m) => m.id === bob.whoami().id)!.verified, true)
    assert.match(table.stdout, new RegExp(`^!! KEY CHANGED: bob was verified with another key; this is ${newBob.whoami().id}\\.$`, 'm'))
    assert.match(table.stdout, new RegExp(`^bob\\s+member\\s+!!\\s+${newBob.whoami().id}$`, 'm'))
    assert.equal(ambiguous.code, 1)
    assert.match(ambiguous.stderr, /matches several members/)
    assert.equal(report.code, 0, report.stderr)
    assert.match(report.stdout, /^!! KEY CHANGED: you verified "bob" with another key/m)
    assert.ok(report.stdout.includes(bob.whoami().fingerprint), 'the warning names the verified key')
    assert.match(report.stdout, /Status: !! KEY CHANGED/)
  })
  it('CLI: a look-alike of a verified name is KEY CHANGED; unverified look-alikes are flagged in members and log', async () => {
    const fakeBob = await open('b\u043Eb') // Cyrillic small o
    const carol = await open('carol')
    const fakeCarol = await open('c\u0430rol\u200B') // Cyrillic small a and a zero-width space
    for (const node of [fakeBob, carol, fakeCarol]) await node.join((await alice.createInvite(group)).code, { timeoutMs: 10_000 })
    await until(async () => (await alice.members(group)).length === 6, 'alice to see the look-alikes')
    await fakeBob.send(group, 'trust me')
    await carol.send(group, 'hello from carol')
    await until(async () => (await alice.messages(group)).length === 2, 'alice to get the messages')

    const [json, table, log] = await Promise.all([cli(['members', 'Council', '--json']), cli(['members', 'Council']), cli(['log', 'Council'])])
    assert.equal(json.code, 0, json.stderr)
    const members = JSON.parse(json.stdout) as MemberView[]
    const byId = (node: Solidar) => members.find((m) => m.id === node.whoami().id)!
    assert.equal(byId(fakeBob).keyChanged, true, 'a Cyrillic "bob" is a changed key of the verified bob')
    assert.deepEqual(byId(fakeBob).lookAlike?.sort(), [bob.whoami().id, newBob.whoami().id].sort())
    assert.equal(byId(carol).keyChanged, undefined, 'nobody verified a carol')
    assert.deepEqual(byId(carol).lookAlike, [fakeCarol.whoami().id])
    assert.deepEqual(byId(fakeCarol).lookAlike, [carol.whoami().id])
    assert.equal(byId(alice).lookAlike, undefined)

    assert.equal(table.code, 0, table.stderr)
    assert.match(table.stdout, new RegExp(`^!! KEY CHANGED: b<U\\+043E>b looks like the name of a member you verified with another key; this is ${fakeBob.whoami().id}\\.$`, 'm'))
    assert.match(table.stdout, new RegExp(`^carol\\s+member\\s+≈\\s+${carol.whoami().id}$`, 'm'))
    const carols = table.stdout.split('\n').filter((l) => l.startsWith('!! LOOK-ALIKE:') && l.includes(carol.whoami().id))
    assert.equal(carols.length, 1, table.stdout)
    assert.ok(carols[0].includes(`c<U+0430>rol<U+200B> (${fakeCarol.whoami().id})`), carols[0])

    assert.equal(log.code, 0, log.stderr)
    assert.match(log.stdout, /^\[\d\d:\d\d\] b\u043Eb \[!! KEY CHANGED\]: trust me$/m)
    assert.match(log.stdout, /^\[\d\d:\d\d\] carol \[!! LOOK-ALIKE\]: hello from carol$/m)
    assert.match(log.stderr, /KEY CHANGED or LOOK-ALIKE/)
  })
})
