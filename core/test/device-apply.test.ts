/**
 * Someone adds a device to another member (SECURITY.md): a device enters a log only with a
 * certificate signed by its member's key and a binding signed by the device itself. Exercised on
 * `applyNodes` directly, so every branch a hostile admin or member could write is reached.
 */
import test from 'node:test'
import assert from 'node:assert/strict'
import { applyNodes } from '../src/apply.ts'
import { signBinding } from '../src/binding.ts'
import type { Command } from '../src/commands.ts'
import { createIdentity, signDeviceCert } from '../src/identity.ts'
import { RecordingHost, bees, dump, hex, node, randomKey } from './lab.ts'

test('applyNodes: a device joins a member only with that member\'s certificate and the device\'s own binding', async (t) => {
  const [view] = await bees(t)
  const boot = randomKey()
  const host = new RecordingHost(boot)
  const alice = createIdentity('alice')
  const bob = createIdentity('bob')
  const carol = createIdentity('carol')
  const bobWriter = randomKey()
  const phone = createIdentity('a phone') // the device's own key pair
  const phoneWriter = randomKey()
  const stranger = createIdentity('stranger device')
  const strangerWriter = randomKey()

  // A device of alice's, added by alice (author), as Solidar writes it.
  const aliceDevice = (device: typeof phone, writer: Buffer, over: Partial<Command> = {}): Command => ({
    t: 'member/device', device: device.publicKey, writer, name: 'phone',
    cert: signDeviceCert(device.publicKey, alice.secretKey), sig: signBinding(boot, writer, device.secretKey), ts: 3, ...over
  } as Command)

  await applyNodes([
    node(boot, { t: 'group/create', kind: 'group', name: 'G', member: alice.publicKey, memberName: 'alice', sig: signBinding(boot, boot, alice.secretKey), ts: 1 }),
    node(boot, { t: 'member/add', member: bob.publicKey, writer: bobWriter, name: 'bob', role: 'member', sig: signBinding(boot, bobWriter, bob.secretKey), ts: 2 }),
    // alice (an admin) admits carol with a stranger's device: the certificate is alice's, not carol's.
    node(boot, { t: 'member/add', member: carol.publicKey, writer: strangerWriter, name: 'carol', role: 'member', sig: signBinding(boot, strangerWriter, stranger.secretKey), device: stranger.publicKey, cert: signDeviceCert(stranger.publicKey, alice.secretKey), ts: 3 }),
    // bob adds a device to himself with a certificate alice signed: refused.
    node(bobWriter, { t: 'member/device', device: stranger.publicKey, writer: strangerWriter, name: 'x', cert: signDeviceCert(stranger.publicKey, alice.secretKey), sig: signBinding(boot, strangerWriter, stranger.secretKey), ts: 4 }),
    // alice adds a device whose binding another key signed (the device never agreed).
    node(boot, aliceDevice(phone, phoneWriter, { sig: signBinding(boot, phoneWriter, stranger.secretKey) } as any)),
    // alice adds bob's own member key as "her" device: bob never certified it for her.
    node(boot, aliceDevice(bob, randomKey(), { cert: signDeviceCert(bob.publicKey, bob.secretKey) } as any)),
    // The real thing: accepted once.
    node(boot, aliceDevice(phone, phoneWriter)),
    node(boot, aliceDevice(phone, randomKey())),
    node(boot, aliceDevice(createIdentity('tablet'), bobWriter))
  ], view, host, boot)

  const audit = (await dump(view)).filter(([k]) => k.startsWith('a!')).map(([, v]) => [(v as any).type, (v as any).reason])
  assert.deepEqual(audit, [
    ['member/add', 'bad device certificate'],
    ['member/device', 'bad device certificate'],
    ['member/device', 'bad device binding signature'],
    ['member/device', 'bad device certificate'],
    ['member/device', 'device already known'],
    ['member/device', 'writer already belongs to a member']
  ])
  assert.deepEqual(host.added.map(a => a.key), [hex(bobWriter), hex(phoneWriter)], 'only bob and alice\'s real phone write')
  const devices = (await dump(view)).filter(([k]) => k.startsWith('dv!')).map(([k, v]) => [k.slice(3), (v as any).member])
  assert.deepEqual(devices.sort(), [
    [hex(alice.publicKey), hex(alice.publicKey)], [hex(bob.publicKey), hex(bob.publicKey)], [hex(phone.publicKey), hex(alice.publicKey)]
  ].sort())
})
