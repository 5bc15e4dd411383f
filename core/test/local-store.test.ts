/** MemoryLocalStore runs the LocalStore acceptance suite (node's FileStore runs it in node/test/file-store.test.ts). */
import { MemoryLocalStore } from '../src/registry.ts'
import { localStoreSuite } from './local-store-suite.ts'

localStoreSuite('memory', async () => new MemoryLocalStore())
