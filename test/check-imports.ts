/**
 * Every workspace declares what it imports (issue 17: packages depend one way, each declares
 * what it imports). Scans the TypeScript and JavaScript files of each workspace for module
 * specifiers — static, dynamic, type-only, `export … from`, `require()` — and fails when:
 *   - a package is imported that the workspace's package.json does not declare (files under
 *     `src/` and `bin/` need `dependencies`; tests, benchmarks and tools may use `devDependencies`);
 *   - a relative import leaves the workspace's folder (go through the other package's exports);
 *   - a workspace imports or declares a workspace it must not depend on. Packages depend one way:
 *     core ← node ← relay ← cli (web uses core only; test and bench may use everything), so
 *     node never reaches relay or the CLI, and relay never the CLI.
 *
 *   node --import tsx test/check-imports.ts        (part of `npm test`)
 */
import fs from 'node:fs'
import path from 'node:path'
import { builtinModules } from 'node:module'
import { fileURLToPath } from 'node:url'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const rootPkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { workspaces: string[] }
const BUILTINS = new Set(builtinModules)
const SPECIFIER = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+|\brequire\s*\(\s*)(['"])([^'"\s]+)\1/g
const SKIP_DIRS = new Set(['node_modules', 'dist', 'artifacts', '.vite'])

/**
 * The Solidar workspaces each workspace may depend on (imports and package.json declarations,
 * tests included); test and bench may depend on every one. A workspace missing here is itself
 * a problem, so a new workspace gets its place in the order.
 */
const LAYERS: Record<string, string[] | 'any'> = {
  '@solidar/core': [],
  '@solidar/node': ['@solidar/core'],
  '@solidar/relay': ['@solidar/core', '@solidar/node'],
  '@solidar/cli': ['@solidar/core', '@solidar/node', '@solidar/relay'],
  '@solidar/web': ['@solidar/core'],
  '@solidar/test': 'any',
  '@solidar/bench': 'any'
}

interface Pkg { name: string, dependencies?: Record<string, string>, devDependencies?: Record<string, string>, peerDependencies?: Record<string, string> }

function files (dir: string): string[] {
  const out: string[] = []
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    if (SKIP_DIRS.has(entry.name) || entry.name.startsWith('.')) continue
    const full = path.join(dir, entry.name)
    if (entry.isDirectory()) out.push(...files(full))
    else if (/\.(ts|tsx|mts|js|mjs)$/.test(entry.name) && !entry.name.endsWith('.d.ts')) out.push(full)
  }
  return out
}

function describeLayer (layer: string[] | 'any' | undefined): string {
  if (layer === undefined || layer === 'any') return 'every workspace'
  return layer.length === 0 ? 'no other workspace' : layer.join(', ')
}

/** The package a bare specifier names: `@scope/name` or `name`. */
function packageOf (spec: string): string {
  const parts = spec.split('/')
  return spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]
}

/** Specifiers in `text`, comments stripped roughly (block and line comments). */
function specifiers (text: string): string[] {
  const code = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '')
  return [...code.matchAll(SPECIFIER)].map(m => m[2])
}

const problems: string[] = []
const workspaceNames = new Set(rootPkg.workspaces.map((ws) =>
  (JSON.parse(fs.readFileSync(path.join(ROOT, ws, 'package.json'), 'utf8')) as Pkg).name))
for (const ws of rootPkg.workspaces) {
  const dir = path.join(ROOT, ws)
  const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as Pkg
  const layer = LAYERS[pkg.name]
  if (layer === undefined) {
    problems.push(`${ws}/package.json: ${pkg.name} has no place in the dependency order (LAYERS in test/check-imports.ts)`)
  }
  /** Whether depending on workspace `name` goes against the order. */
  const against = (name: string): boolean =>
    workspaceNames.has(name) && name !== pkg.name && layer !== undefined && layer !== 'any' && !layer.includes(name)
  for (const field of ['dependencies', 'devDependencies', 'peerDependencies'] as const) {
    for (const name of Object.keys(pkg[field] ?? {})) {
      if (against(name)) problems.push(`${ws}/package.json: declares ${name} in ${field}, against the dependency order (${pkg.name} may use ${describeLayer(layer)})`)
    }
  }
  const runtime = new Set([...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.peerDependencies ?? {})])
  const all = new Set([...runtime, ...Object.keys(pkg.devDependencies ?? {})])
  for (const file of files(dir)) {
    const rel = path.relative(ROOT, file)
    const shipped = /^(src|bin)\//.test(path.relative(dir, file))
    for (const spec of specifiers(fs.readFileSync(file, 'utf8'))) {
      if (spec.startsWith('node:') || BUILTINS.has(spec) || spec.startsWith('virtual:') || spec.startsWith('/') || spec.includes('${')) continue
      if (spec.startsWith('.')) {
        const target = path.resolve(path.dirname(file), spec)
        if (!target.startsWith(dir + path.sep)) problems.push(`${rel}: relative import "${spec}" leaves ${ws}/ (import the other package by name)`)
        continue
      }
      const name = packageOf(spec)
      if (name === pkg.name) continue
      if (against(name)) problems.push(`${rel}: imports "${spec}", against the dependency order (${pkg.name} may use ${describeLayer(layer)})`)
      if (!(shipped ? runtime : all).has(name)) {
        problems.push(`${rel}: imports "${name}", which ${ws}/package.json does not declare${shipped ? ' in dependencies' : ''}`)
      }
    }
  }
}

if (problems.length > 0) {
  console.error(`Undeclared, cross-workspace or backward imports (${problems.length}):\n  ${problems.join('\n  ')}`)
  process.exit(1)
}
console.log(`imports: every workspace declares what it imports and depends one way, core ← node ← relay ← cli (${rootPkg.workspaces.join(', ')})`)
