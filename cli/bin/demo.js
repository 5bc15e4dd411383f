#!/usr/bin/env node
// `npm run demo`: a self-contained Solidar network on this machine. Sources are TypeScript, run through tsx.
import { register } from 'tsx/esm/api'

register()
await import('../src/demo.ts')
