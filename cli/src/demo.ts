/**
 * `npm run demo`: a private loopback DHT and three members (Alice, Bob, Carol), each a
 * separate `solidar serve` process with its own home and web port, in one group with a
 * few messages. Everything stays on 127.0.0.1. Ctrl+C stops and cleans up all of it.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process'
import { promisify } from 'node:util'
import fs from 'node:fs/promises'
import path from 'node:path'
import readline from 'node:readline'
import { fileURLToPath } from 'node:url'

const exec = promisify(execFile)
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
const bin = path.join(root, 'cli/bin/solidar.js')
const demoDir = path.join(root, '.solidar-demo')
const children: ChildProcess[] = []

function cli (home: string, ...args: string[]) {
  return exec(process.execPath, [bin, '--home', home, ...args], { timeout: 90_000 }).then(r => r.stdout.trim())
}

/** Starts a long-running CLI command and resolves with its first stdout line. */
function start (args: string[], what: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
    children.push(child)
    let stderr = ''
    child.stderr!.on('data', (d) => { stderr += d })
    readline.createInterface({ input: child.stdout! }).once('line', resolve)
    child.once('exit', (code) => reject(new Error(`${what} exited with ${code}: ${stderr.trim()}`)))
  })
}

function stopAll () {
  for (const child of children) if (child.exitCode === null) child.kill('SIGTERM')
}

async function main () {
  await fs.rm(demoDir, { recursive: true, force: true })
  await fs.mkdir(demoDir, { recursive: true, mode: 0o700 })
  const bootstrap = await start(['dht', '--host', '127.0.0.1', '--port', '0'], 'the DHT')
  console.log(`Private DHT on ${bootstrap} (loopback only)`)

  const people = ['Alice', 'Bob', 'Carol']
  const homes: Record<string, string> = {}
  const urls: Record<string, string> = {}
  for (const name of people) {
    const home = homes[name] = path.join(demoDir, name.toLowerCase())
    await cli(home, 'init', '--name', name)
    urls[name] = await start(['--home', home, 'serve', '--port', '0', '--bootstrap', bootstrap], `${name}'s node`)
  }
  const group = JSON.parse(await cli(homes.Alice, 'group', 'create', 'Works council', '--json'))
  for (const name of ['Bob', 'Carol']) {
    const code = await cli(homes.Alice, 'invite', group.id)
    await cli(homes[name], 'join', code, '--timeout', '60s')
    console.log(`${name} joined "${group.name}"`)
  }
  await cli(homes.Alice, 'send', group.id, 'Welcome to the works council group! Minutes of Monday follow.')
  await cli(homes.Bob, 'send', group.id, 'Thanks Alice. Can we add the night-shift roster to the agenda?')
  await cli(homes.Carol, 'send', group.id, 'Agreed, I will bring the numbers.')

  console.log('\nThree members are running, each with its own node:')
  for (const name of people) console.log(`  ${name.padEnd(6)} ${urls[name]}`)
  console.log('\nTry, in another terminal (the `solidar` command: `npm run install:command` once, or `node cli/bin/solidar.js` in this folder):')
  console.log(`  solidar --home ${homes.Bob} log "Works council"`)
  console.log(`  solidar --home ${homes.Carol} send "Works council" "Hello from Carol"`)
  console.log(`  solidar --home ${homes.Alice} log "Works council" --follow`)
  console.log(`  solidar --home ${homes.Bob} dm "Alice" "A private word"`)
  console.log('\nPress Ctrl+C to stop the demo.')
}

process.on('SIGINT', () => { stopAll(); process.exit(0) })
process.on('SIGTERM', () => { stopAll(); process.exit(0) })
process.on('exit', stopAll)
main().catch((err) => {
  console.error(`demo failed: ${err.message}`)
  stopAll()
  process.exit(1)
})
