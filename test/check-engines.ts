/**
 * Every installed package runs on the oldest Node.js the README promises (root package.json
 * `engines.node`): `npm ci` must not warn EBADENGINE, and a user on that Node must not meet a
 * package that refuses it. Reads package-lock.json; exits 1 naming each package that asks for
 * more. Where an upstream package asks for more, pin one that does not (`overrides` in the root
 * package.json) or raise the promise here, in the README and in CI together.
 */
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import semver from 'semver'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const root = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8'))
const lock = JSON.parse(readFileSync(path.join(ROOT, 'package-lock.json'), 'utf8'))
const promised = semver.minVersion(root.engines.node)
if (promised === null) throw new Error(`package.json engines.node "${root.engines.node}" names no version`)

const refusing: string[] = []
for (const [where, pkg] of Object.entries<{ version?: string, engines?: { node?: string } | string[] }>(lock.packages)) {
  const range = Array.isArray(pkg.engines) ? undefined : pkg.engines?.node
  if (where === '' || range === undefined) continue
  if (!semver.satisfies(promised, range)) refusing.push(`${where.replace(/^.*node_modules\//, '')}@${pkg.version ?? '?'} wants node ${range}`)
}
if (refusing.length > 0) {
  console.error(`engines: these packages refuse Node ${promised.version}, the oldest package.json promises (${root.engines.node}):\n  ${refusing.join('\n  ')}`)
  process.exit(1)
}
console.log(`engines: every package runs on Node ${promised.version} (package.json engines.node ${root.engines.node})`)
