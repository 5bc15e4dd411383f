// Vite build of the web app: one bundle of scripts and styles in dist/assets, no inline
// script or style (the node serves it under a CSP of 'self' only), nothing fetched from
// elsewhere at run time.
import { defineConfig } from 'vite'

export default defineConfig({
  root: import.meta.dirname,
  base: '/',
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  resolve: { dedupe: ['yjs', 'y-protocols', 'lib0', '@tiptap/pm', '@tiptap/core'] },
  // simple-peer (video meetings) and its stream library expect Node's `global`; `process` is shimmed in src/meeting/shim.ts.
  define: { global: 'globalThis' },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // Vite's modulepreload polyfill and small-asset inlining would both need inline code or data.
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    chunkSizeWarningLimit: 1500,
    sourcemap: false
  }
})
