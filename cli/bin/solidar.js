#!/usr/bin/env node
// The `solidar` command. The sources are TypeScript, run directly through tsx.
import { register } from 'tsx/esm/api'

register()
await import('../src/main.ts')
