import { MemoryNetwork } from '../src/memory-transport.ts'
import { runTransportSuite } from './transport-suite.ts'

runTransportSuite('memory', async () => {
  const network = new MemoryNetwork()
  return { make: async () => network.transport(), close: async () => {} }
})
