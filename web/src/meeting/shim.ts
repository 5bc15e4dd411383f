/**
 * simple-peer 9 and its stream library were written for Node and browserify: they read
 * `process.nextTick`, `process.env` and `process.browser`. Vite bundles them without Node
 * globals (vite.config.ts maps `global` to `globalThis`), so this gives them the little
 * they use. Imported before simple-peer.
 */
const g = globalThis as unknown as { process?: Record<string, unknown> }
if (g.process === undefined) {
  g.process = {
    env: {},
    browser: true,
    version: '',
    versions: {},
    nextTick: (fn: (...args: unknown[]) => void, ...args: unknown[]) => queueMicrotask(() => fn(...args))
  }
}
export {}
