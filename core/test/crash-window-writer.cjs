// A non-indexer Autobase writer for autobase-crash-window.test.ts, run as its own process.
// argv: storeDir baseKeyHex port mode
//   mode 'kill:N': append entries; on the N-th append's flush, SIGKILL this process in the window
//     between Autobase's first atom flush and the rest of ApplyState._flush (where the original
//     7.28 order had not yet handed the linearizer updates and the boot record to the atom).
//   mode 'settle': append nothing; print this writer's view every 250 ms until killed.
// Prints JSON lines: {local}, {writable}, {killing}, {view}, {warning}.
'use strict'
const net = require('node:net')
const fs = require('node:fs')
const path = require('node:path')
const { createRequire } = require('node:module')
const req = createRequire(path.join(__dirname, '..', 'package.json'))
const Autobase = req('autobase')
const ApplyState = req('autobase/lib/apply-state.js')
const Corestore = req('corestore')
const b4a = req('b4a')

const [dir, keyHex, port, mode] = process.argv.slice(2)
const say = (obj) => fs.writeSync(1, JSON.stringify(obj) + '\n')

if (mode.startsWith('kill:')) {
  const at = Number(mode.slice(5))
  let appends = 0
  const append = ApplyState.prototype._appendLocalNodes
  ApplyState.prototype._appendLocalNodes = async function (localNodes) {
    await append.call(this, localNodes)
    if (++appends !== at) return
    // The local checkpoint is updated right after the first atom flush of this _flush.
    this.localCheckpoint.update = async () => {
      say({ killing: appends })
      process.kill(process.pid, 'SIGKILL')
      await new Promise(() => {})
    }
  }
}

async function main () {
  const store = new Corestore(dir)
  const base = new Autobase(store, b4a.from(keyHex, 'hex'), {
    fastForward: false,
    valueEncoding: 'json',
    ackInterval: 1000,
    open: (viewStore) => viewStore.get('view', { valueEncoding: 'json' }),
    apply: async (nodes, view, host) => {
      for (const node of nodes) {
        if (node.value === null) continue
        if (node.value.add) { await host.addWriter(b4a.from(node.value.add, 'hex'), { indexer: false }); continue }
        await view.append({ m: node.value.m })
      }
    }
  })
  base.on('warning', (err) => say({ warning: String(err && err.message) }))
  await base.ready()
  const socket = net.connect(Number(port), '127.0.0.1')
  const stream = store.replicate(true)
  socket.pipe(stream).pipe(socket)
  socket.on('error', () => { /* the parent ends the connection when it is done */ })
  stream.on('error', () => { /* same */ })
  say({ local: b4a.toString(base.local.key, 'hex') })
  if (!base.writable) await new Promise((resolve) => base.once('writable', resolve))
  say({ writable: true })
  // Bounded: the parent ends this process long before; if it does not, it ends itself.
  const until = Date.now() + 60_000
  if (mode === 'settle') {
    while (Date.now() < until) {
      await base.update()
      const view = base.view
      const content = []
      for (let i = 0; i < view.length; i++) content.push((await view.get(i)).m)
      say({ view: { length: view.length, signedLength: view.signedLength, content } })
      await new Promise((resolve) => setTimeout(resolve, 250))
    }
    process.exit(0)
  }
  for (let i = 0; i < 10_000 && Date.now() < until; i++) {
    await base.append({ m: `bob-${process.pid}-${i}` })
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  process.exit(0)
}

main().catch((err) => { say({ error: String(err && err.stack) }); process.exit(1) })
