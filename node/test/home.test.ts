import { describe, it, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { createIdentity, memberId, isSolidarError } from '@solidar/core'
import {
  resolveHome, ensureHome, writeFileAtomic, createFileAtomic, readIdentity, writeIdentity,
  loadOrCreateToken, readToken, readConfig, writeConfig, readDaemonInfo, writeDaemonInfo,
  removeDaemonInfo, isProcessAlive, homeWarning
} from '../src/home.ts'
import { openDiskStore } from '../src/disk-store.ts'

const mode = (file: string): number => fs.statSync(file).mode & 0o777

/** A pid that certainly belonged to a process that has exited. */
async function deadPid (): Promise<number> {
  const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' })
  const pid = child.pid!
  await new Promise((resolve) => child.once('exit', resolve))
  return pid
}

describe('home folder', () => {
  let root: string
  let oldUmask: number

  before(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'solidar-home-test-'))
    // A permissive umask proves the modes are set explicitly, not inherited.
    oldUmask = process.umask(0)
  })
  after(() => {
    process.umask(oldUmask)
    fs.rmSync(root, { recursive: true, force: true })
  })

  it('resolveHome: flag, then $SOLIDAR_HOME, then ~/.solidar; always absolute', () => {
    assert.equal(resolveHome('/x/flag', { SOLIDAR_HOME: '/x/env' }), '/x/flag')
    assert.equal(resolveHome(undefined, { SOLIDAR_HOME: '/x/env' }), '/x/env')
    assert.equal(resolveHome(undefined, {}), path.join(os.homedir(), '.solidar'))
    assert.equal(resolveHome('', { SOLIDAR_HOME: ' ' }), path.join(os.homedir(), '.solidar'))
    assert.equal(resolveHome('rel', {}), path.resolve('rel'))
  })

  it('creates the home (and parents) with mode 0700; makes an existing Solidar home private, leaves other folders alone and warns', () => {
    const home = path.join(root, 'a', 'b', 'home')
    ensureHome(home)
    assert.equal(mode(home), 0o700)
    assert.equal(homeWarning(home), null)

    // An empty folder the user pointed --home at: Solidar's from now on, so 0700.
    const empty = path.join(root, 'existing-empty')
    fs.mkdirSync(empty, { mode: 0o755 })
    assert.match(homeWarning(empty) ?? '', /mode 0755/)
    ensureHome(empty)
    assert.equal(mode(empty), 0o700)
    assert.equal(homeWarning(empty), null)

    // An existing Solidar home made readable by someone (cp -r, a 022 umask, a backup restore).
    const solidarHome = path.join(root, 'existing-home')
    fs.mkdirSync(solidarHome, { mode: 0o755 })
    fs.writeFileSync(path.join(solidarHome, 'identity.json'), '{}')
    ensureHome(solidarHome)
    assert.equal(mode(solidarHome), 0o700)

    // A folder with the user's own unrelated files: left alone, with a warning that says what to do.
    const documents = path.join(root, 'documents')
    fs.mkdirSync(documents, { mode: 0o755 })
    fs.writeFileSync(path.join(documents, 'minutes.odt'), 'x')
    ensureHome(documents)
    assert.equal(mode(documents), 0o755)
    const warning = homeWarning(documents) ?? ''
    assert.match(warning, /mode 0755/)
    assert.match(warning, /not Solidar's/)
    assert.match(warning, /chmod 700/)

    fs.writeFileSync(path.join(root, 'file'), '')
    assert.throws(() => ensureHome(path.join(root, 'file')), /not a folder/)
  })

  it('a home that belongs to another user is left alone, with a warning', { skip: process.getuid?.() !== 0 ? 'needs root (chown)' : false }, () => {
    const foreign = path.join(root, 'foreign')
    fs.mkdirSync(foreign, { mode: 0o755 })
    fs.chownSync(foreign, 12345, 12345)
    ensureHome(foreign)
    assert.equal(mode(foreign), 0o755)
    assert.match(homeWarning(foreign) ?? '', /belongs to another user/)
  })

  it('the store folder is 0700 (RocksDB makes its files with the umask)', async () => {
    const home = path.join(root, 'store-mode')
    ensureHome(home)
    const store = openDiskStore(home)
    await store.ready()
    await store.close()
    assert.equal(mode(path.join(home, 'store')), 0o700)
    // An existing store someone loosened is tightened on the next open.
    fs.chmodSync(path.join(home, 'store'), 0o755)
    const again = openDiskStore(home)
    await again.ready()
    await again.close()
    assert.equal(mode(path.join(home, 'store')), 0o700)
  })

  it('writes files atomically with mode 0600: a new inode, no temporary files left', () => {
    const dir = path.join(root, 'atomic')
    ensureHome(dir)
    const file = path.join(dir, 'f.json')
    writeFileAtomic(file, 'one')
    assert.equal(mode(file), 0o600)
    const before = fs.statSync(file).ino
    writeFileAtomic(file, 'two')
    assert.equal(fs.readFileSync(file, 'utf8'), 'two')
    assert.notEqual(fs.statSync(file).ino, before, 'replaced by rename, not rewritten in place')
    assert.equal(mode(file), 0o600)
    assert.equal(createFileAtomic(file, 'three'), false, 'createFileAtomic never replaces')
    assert.equal(fs.readFileSync(file, 'utf8'), 'two')
    assert.equal(createFileAtomic(path.join(dir, 'g'), 'g'), true)
    assert.deepEqual(fs.readdirSync(dir).sort(), ['f.json', 'g'])
  })

  it('identity: absent → null; written 0600; never overwritten (ALREADY_INITIALIZED)', () => {
    const home = path.join(root, 'id')
    assert.equal(readIdentity(home), null)
    const first = createIdentity('Alex')
    writeIdentity(home, first)
    assert.equal(mode(home), 0o700)
    assert.equal(mode(path.join(home, 'identity.json')), 0o600)
    const content = fs.readFileSync(path.join(home, 'identity.json'), 'utf8')
    assert.throws(() => writeIdentity(home, createIdentity('Other')), (err: unknown) => {
      assert.ok(isSolidarError(err))
      assert.equal(err.code, 'ALREADY_INITIALIZED')
      assert.ok(err.message.includes(memberId(first)), err.message)
      return true
    })
    assert.equal(fs.readFileSync(path.join(home, 'identity.json'), 'utf8'), content)
    const read = readIdentity(home)!
    assert.equal(read.name, 'Alex')
    assert.equal(memberId(read), memberId(first))
    assert.deepEqual(fs.readdirSync(home), ['identity.json'])
  })

  it('identity: a damaged file is a clear error', () => {
    const home = path.join(root, 'damaged-id')
    ensureHome(home)
    fs.writeFileSync(path.join(home, 'identity.json'), '{nope')
    assert.throws(() => readIdentity(home), /not valid JSON/)
  })

  it('token: 32 random bytes as hex, created once, mode 0600', () => {
    const home = path.join(root, 'token')
    assert.equal(readToken(home), null)
    const token = loadOrCreateToken(home)
    assert.match(token, /^[0-9a-f]{64}$/)
    assert.equal(loadOrCreateToken(home), token)
    assert.equal(readToken(home), token)
    assert.equal(mode(path.join(home, 'token')), 0o600)
    assert.notEqual(loadOrCreateToken(path.join(root, 'token2')), token)
    fs.writeFileSync(path.join(home, 'token'), 'short')
    assert.throws(() => loadOrCreateToken(home), /damaged/)
    assert.equal(readToken(home), null)
  })

  it('config: {} until written; round trip; validated', () => {
    const home = path.join(root, 'config')
    assert.deepEqual(readConfig(home), {})
    writeConfig(home, { network: { mode: 'bootstrap', bootstrap: ['127.0.0.1:49737'] } })
    assert.equal(mode(path.join(home, 'config.json')), 0o600)
    assert.deepEqual(readConfig(home), { network: { mode: 'bootstrap', bootstrap: ['127.0.0.1:49737'] } })
    fs.writeFileSync(path.join(home, 'config.json'), '{"network": {"mode": "carrier-pigeon", "bootstrap": []}}')
    assert.throws(() => readConfig(home), /invalid "network"/)
    writeConfig(home, { network: { mode: 'none', bootstrap: [] }, lan: true })
    assert.deepEqual(readConfig(home), { network: { mode: 'none', bootstrap: [] }, lan: true }, 'LAN mode chosen in the web app')
    fs.writeFileSync(path.join(home, 'config.json'), '{"lan": "yes"}')
    assert.throws(() => readConfig(home), /invalid "lan"/)
    fs.writeFileSync(path.join(home, 'config.json'), '[')
    assert.throws(() => readConfig(home), /not valid JSON/)
  })

  it('daemon.json: round trip, stale pid counts as no daemon, another live daemon is never overwritten or removed', async () => {
    const home = path.join(root, 'daemon')
    assert.equal(readDaemonInfo(home), null)
    const mine = { pid: process.pid, host: '127.0.0.1', port: 7420, url: 'http://127.0.0.1:7420' }
    assert.equal(writeDaemonInfo(home, mine), true)
    assert.equal(mode(path.join(home, 'daemon.json')), 0o600)
    assert.deepEqual(readDaemonInfo(home), mine)
    removeDaemonInfo(home)
    assert.equal(fs.existsSync(path.join(home, 'daemon.json')), false)

    // Stale: the pid is gone.
    const dead = await deadPid()
    assert.equal(isProcessAlive(dead), false)
    fs.writeFileSync(path.join(home, 'daemon.json'), JSON.stringify({ ...mine, pid: dead }))
    assert.equal(readDaemonInfo(home), null)
    assert.equal(writeDaemonInfo(home, mine), true, 'a stale file is replaced')
    assert.deepEqual(readDaemonInfo(home), mine)

    // Another live process owns it.
    const other = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)'], { stdio: 'ignore' })
    try {
      const theirs = { ...mine, pid: other.pid!, port: 7421 }
      fs.writeFileSync(path.join(home, 'daemon.json'), JSON.stringify(theirs))
      assert.deepEqual(readDaemonInfo(home), theirs)
      assert.equal(writeDaemonInfo(home, mine), false)
      removeDaemonInfo(home)
      assert.deepEqual(readDaemonInfo(home), theirs, 'our clean exit must not remove their file')
    } finally {
      other.kill()
    }

    // Garbage counts as no daemon.
    fs.writeFileSync(path.join(home, 'daemon.json'), 'garbage')
    assert.equal(readDaemonInfo(home), null)
  })
})
