/**
 * A writer process for reliability tests whose daemons live in a network namespace (their
 * API on the namespace's 127.0.0.1 is out of the test runner's reach): run inside the
 * namespace with `ip netns exec NS node --import tsx api-writer.ts PORT TOKEN GROUP PAD NAME SEED`.
 * It posts chat messages and pad appends to the daemon's local API until SIGTERM, and prints
 * one line per acknowledged write (`ACK chat ID` / `ACK pad TEXT`); on SIGTERM it finishes
 * the request in flight, prints `DONE attempts failures` and exits 0.
 */
import { apiRequest } from '@solidar/node/testing/api'
import { Rng } from './seeded.ts'
import { sleep } from './wait.ts'

const [port, token, group, pad, name, seed] = process.argv.slice(2)
if (seed === undefined) {
  console.error('usage: api-writer.ts PORT TOKEN GROUP PAD NAME SEED')
  process.exit(64)
}
let done = false
process.on('SIGTERM', () => { done = true })
const rng = new Rng(Number(seed))
let attempts = 0
let failures = 0
while (!done) {
  attempts++
  const isPad = rng.next() < 0.3
  const text = `${name}-${isPad ? 'pad' : 'chat'}-${attempts}-${seed}`
  try {
    const r = await apiRequest({
      port: Number(port),
      token,
      method: 'POST',
      path: isPad ? `/api/groups/${group}/pads/${pad}/append` : `/api/groups/${group}/messages`,
      body: { text },
      timeout: 20_000
    })
    if (r.status === 200 || r.status === 201) console.log(isPad ? `ACK pad ${text}` : `ACK chat ${r.json.id}`)
    else { failures++; console.error(`refused ${r.status} ${r.text.slice(0, 200)}`) }
  } catch (err: any) {
    failures++
    console.error(`failed: ${err.message}`)
  }
  await sleep(rng.int(50, 300))
}
console.log(`DONE ${attempts} ${failures}`)
