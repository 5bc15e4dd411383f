/**
 * Summarizes V8 CPU profiles (`npm run bench -- --cpu-prof DIR` writes one per worker):
 * self time by package/file and the top functions, over all profiles given.
 *   node --import tsx bench/lib/profile.ts DIR/CPU.*.0.*.cpuprofile   (main threads; thread ids other than 0 are tsx's loader)
 */
import fs from 'node:fs'

interface Node { id: number, callFrame: { functionName: string, url: string, lineNumber: number }, hitCount?: number, children?: number[] }
interface Profile { nodes: Node[], startTime: number, endTime: number, samples: number[], timeDeltas: number[] }

function where (url: string): string {
  if (!url) return '(native/idle)'
  const nm = url.lastIndexOf('node_modules/')
  if (nm !== -1) {
    const rest = url.slice(nm + 'node_modules/'.length).split('/')
    return rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]
  }
  const m = /\/(core|node|bench|relay)\/(src|lib|scenarios)\/(.*)$/.exec(url)
  if (m) return `${m[1]}/${m[2]}/${m[3]}`
  if (url.startsWith('node:')) return url
  return url.replace(/^file:\/\//, '')
}

const byWhere = new Map<string, number>()
const byFn = new Map<string, number>()
let total = 0
for (const file of process.argv.slice(2)) {
  const p: Profile = JSON.parse(fs.readFileSync(file, 'utf8'))
  const nodes = new Map(p.nodes.map(n => [n.id, n]))
  for (let i = 0; i < p.samples.length; i++) {
    const n = nodes.get(p.samples[i])!
    const dt = (p.timeDeltas[i] ?? 0) / 1000
    const fn = n.callFrame.functionName || '(anonymous)'
    if (fn === '(idle)' || fn === '(program)' || fn === '(garbage collector)') {
      byWhere.set(fn, (byWhere.get(fn) ?? 0) + dt)
      if (fn !== '(idle)') total += dt
      continue
    }
    total += dt
    const w = where(n.callFrame.url)
    byWhere.set(w, (byWhere.get(w) ?? 0) + dt)
    const key = `${fn} ${w}:${n.callFrame.lineNumber + 1}`
    byFn.set(key, (byFn.get(key) ?? 0) + dt)
  }
}
const show = (m: Map<string, number>, n: number) => [...m.entries()].sort((a, b) => b[1] - a[1]).slice(0, n)
  .map(([k, v]) => `${(v).toFixed(0).padStart(8)} ms ${(v / total * 100).toFixed(1).padStart(5)}%  ${k}`).join('\n')
console.log(`busy (not idle) CPU: ${total.toFixed(0)} ms\n\nself time by package/file:\n${show(byWhere, 25)}\n\ntop functions (self):\n${show(byFn, 30)}`)
