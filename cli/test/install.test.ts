/**
 * `solidar` as a command on the PATH (README, docs/DEPLOY.md): `npm install -g ./cli` (what
 * `npm run install:command` runs after the build) into a temporary prefix, offline, then the
 * installed command used from a folder outside the checkout; and the systemd units in
 * deploy/systemd/ checked by `systemd-analyze verify` against that command, with the node's and
 * the mirror's command lines started for real (on 127.0.0.1, a temporary home, a local DHT).
 */
import { describe, it, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { execFile, spawn } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import { fileURLToPath } from 'node:url'
import { runDhtBootstrap } from '@solidar/node/runtime'

const exec = promisify(execFile)
const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..')
const UNITS = path.join(REPO, 'deploy', 'systemd')
const SYSTEMD_ANALYZE = '/usr/bin/systemd-analyze'

/** ExecStart of a unit as an argument list, ${VAR} and $VAR filled in from `env` (systemd's rules for these two forms). */
function execStart (unit: string, env: Record<string, string>): string[] {
  const line = /^ExecStart=(.+)$/m.exec(unit)?.[1]
  assert.ok(line !== undefined, 'the unit has an ExecStart')
  const words: string[] = []
  for (const word of line.trim().split(/\s+/)) {
    const whole = /^\$([A-Z_]+)$/.exec(word)
    // $VAR alone is split into words (and gone when empty); ${VAR} is one word.
    if (whole !== null) words.push(...(env[whole[1]] ?? '').split(/\s+/).filter((w) => w !== ''))
    else words.push(word.replace(/\$\{([A-Z_]+)\}/g, (_, name: string) => env[name] ?? ''))
  }
  return words
}

/** Runs a command until `ready` matches its stdout (or it exits), then stops it with SIGTERM. */
async function startsAndStops (argv: string[], env: NodeJS.ProcessEnv, ready: RegExp): Promise<{ stdout: string, code: number | null }> {
  const child = spawn(argv[0], argv.slice(1), { env, cwd: os.tmpdir(), stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d) => { stdout += d })
  child.stderr.on('data', (d) => { stderr += d })
  const exited = new Promise<number | null>((resolve) => child.once('close', resolve))
  try {
    const deadline = Date.now() + 60_000
    while (!ready.test(stdout)) {
      if (child.exitCode !== null || Date.now() > deadline) throw new Error(`${argv.join(' ')}: no ${ready} (exit ${child.exitCode})\n${stdout}\n${stderr}`)
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  } finally {
    if (child.exitCode === null) child.kill('SIGTERM')
  }
  return { stdout, code: await exited }
}

describe('the solidar command on the PATH, and the systemd units', { timeout: 300_000 }, () => {
  let prefix = ''
  let bin = ''

  before(async () => {
    prefix = fs.mkdtempSync(path.join(os.tmpdir(), 'solidar-install-'))
    await exec('npm', ['install', '-g', '--prefix', prefix, '--offline', '--no-audit', '--no-fund', './cli'], { cwd: REPO, timeout: 120_000 })
    bin = path.join(prefix, 'bin', 'solidar')
  })
  after(() => { if (prefix !== '') fs.rmSync(prefix, { recursive: true, force: true }) })

  it('npm install -g ./cli puts a working `solidar` on the PATH, usable outside the checkout', async () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(REPO, 'cli', 'package.json'), 'utf8'))
    const env = { ...process.env, PATH: `${path.join(prefix, 'bin')}:${process.env.PATH}` }
    const cwd = os.tmpdir()
    assert.equal((await exec('solidar', ['--version'], { env, cwd })).stdout.trim(), pkg.version)
    const home = path.join(prefix, 'home')
    await exec('solidar', ['--home', home, 'init', '--name', 'Office'], { env, cwd })
    const me = JSON.parse((await exec('solidar', ['--home', home, 'whoami', '--json'], { env, cwd })).stdout)
    assert.equal(me.name, 'Office')
  })

  it('every unit in deploy/systemd passes systemd-analyze verify with the installed command', async (t) => {
    if (!fs.existsSync(SYSTEMD_ANALYZE)) return t.skip('systemd-analyze is not installed (Debian: apt install systemd)')
    const units = fs.readdirSync(UNITS).filter((f) => f.endsWith('.service')).sort()
    assert.deepEqual(units, ['solidar-bridge.service', 'solidar-dht.service', 'solidar-mirror.service', 'solidar.service'])
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'solidar-units-'))
    try {
      for (const name of units) {
        const text = fs.readFileSync(path.join(UNITS, name), 'utf8')
        assert.match(text, /^ExecStart=\/usr\/local\/bin\/solidar /m, `${name} runs the installed command`)
        fs.writeFileSync(path.join(dir, name), text.replaceAll('/usr/local/bin/solidar', bin))
        const out = await exec(SYSTEMD_ANALYZE, ['verify', '--man=no', path.join(dir, name)]).catch((err) => err)
        assert.equal(out.code ?? 0, 0, `${name}: ${out.stderr}`)
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })

  it('the node unit\'s command line starts a node, and the mirror unit\'s a mirror', async () => {
    const home = path.join(prefix, 'node-home')
    const env = { ...process.env, SOLIDAR_HOME: home }
    await exec(bin, ['init', '--name', 'Office'], { env })
    const dht = await runDhtBootstrap({ host: '127.0.0.1', port: 0 })
    try {
      const bootstrap = `127.0.0.1:${dht.port}`
      // As the unit has it, but on a free port and with the test's DHT.
      const node = execStart(fs.readFileSync(path.join(UNITS, 'solidar.service'), 'utf8'), { SOLIDAR_NETWORK: `--bootstrap ${bootstrap}` })
      assert.deepEqual(node.slice(0, 2), ['/usr/local/bin/solidar', 'serve'])
      assert.deepEqual(node.slice(-2), ['--bootstrap', bootstrap], 'the network comes from solidar.env')
      const served = await startsAndStops([bin, ...node.slice(1).map((w) => w === '7420' ? '0' : w)], env, /^http:\/\/127\.0\.0\.1:\d+\/#token=/m)
      assert.equal(served.code, 0, 'a clean stop on SIGTERM')

      const mirror = execStart(fs.readFileSync(path.join(UNITS, 'solidar-mirror.service'), 'utf8'), { SOLIDAR_BOOTSTRAP: bootstrap })
      assert.deepEqual(mirror.slice(0, 3), ['/usr/local/bin/solidar', 'mirror', 'serve'])
      const local = mirror.slice(1).map((w) => w === '0.0.0.0' ? '127.0.0.1' : w === '49800' ? '0' : w)
      const mirrored = await startsAndStops([bin, ...local], { ...process.env, SOLIDAR_HOME: path.join(prefix, 'mirror-home') }, /^[a-z0-9]{52}\n/)
      assert.equal(mirrored.code, 0, 'a clean stop on SIGTERM')
    } finally {
      await dht.close()
    }
  })
})
