/**
 * A wrong bootstrap address is noticed (bootstrap-probe.ts): a transport pointed at a port
 * where no DHT node runs reports that its bootstrap node does not answer, and reports it
 * answering once a DHT bootstrap node starts there. All on 127.0.0.1.
 */
import test from 'node:test'
import assert from 'node:assert/strict'
import { freeUdpPort } from './helpers/ports.ts'
import { HyperswarmTransport } from '../src/hyperswarm-transport.ts'
import { runDhtBootstrap } from '../src/runtime.ts'
import { waitFor } from '@solidar/core/testing/wait'


test('bootstrap probe: a bootstrap address with nothing there is reported, and reported answering once a DHT node runs there', async (t) => {
  const port = await freeUdpPort()
  const transport = new HyperswarmTransport({ mode: 'bootstrap', bootstrap: [{ host: '127.0.0.1', port }] }, { probe: { retryMs: 200, intervalMs: 200 } })
  t.after(() => transport.close())
  assert.deepEqual(transport.info()[0].bootstrap, { nodes: 1, answering: 0, checked: false, silent: [] }, 'unchecked at first')
  const silent = await waitFor(() => transport.info()[0].bootstrap?.checked === true ? transport.info()[0].bootstrap : null, 'the first check', 30_000)
  assert.deepEqual(silent, { nodes: 1, answering: 0, checked: true, silent: [`127.0.0.1:${port}`] })

  const dht = await runDhtBootstrap({ host: '127.0.0.1', port })
  t.after(() => dht.close())
  const answering = await waitFor(() => transport.info()[0].bootstrap?.answering === 1 ? transport.info()[0].bootstrap : null, 'the bootstrap node answers', 30_000)
  assert.deepEqual(answering, { nodes: 1, answering: 1, checked: true, silent: [] })
})

test('bootstrap probe: a transport closes at once while its first check still waits', async () => {
  const port = await freeUdpPort()
  const transport = new HyperswarmTransport({ mode: 'bootstrap', bootstrap: [{ host: '127.0.0.1', port }] })
  await transport.close()
  assert.equal(transport.info()[0].bootstrap?.checked, false)
})
