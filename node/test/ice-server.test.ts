/** `serve --ice-server`: STUN/TURN URLs for video meetings, TURN credentials taken out of the URL. */
import test from 'node:test'
import assert from 'node:assert/strict'
import { parseIceServer } from '../src/api/meeting-routes.ts'
import { iceServerArg } from '../src/cli/parsers.ts'

test('ice servers: STUN and TURN URLs parse, credentials move out of the URL', () => {
  assert.deepEqual(parseIceServer('stun:turn.example.org:3478'), { urls: 'stun:turn.example.org:3478' })
  assert.deepEqual(parseIceServer('turn:solidar:SECRET@turn.example.org:3478?transport=tcp'),
    { urls: 'turn:turn.example.org:3478?transport=tcp', username: 'solidar', credential: 'SECRET' })
  assert.deepEqual(parseIceServer('turns:a:p%40ss@[::1]:5349'), { urls: 'turns:[::1]:5349', username: 'a', credential: 'p@ss' })
  assert.deepEqual(iceServerArg('stun:b.example', iceServerArg('stun:a.example')), [{ urls: 'stun:a.example' }, { urls: 'stun:b.example' }])
})

test('ice servers: bad URLs are usage errors with the reason', () => {
  assert.throws(() => parseIceServer('turn:host:3478'), /needs credentials/)
  assert.throws(() => parseIceServer('http://example.org'), /not a STUN or TURN URL/)
  assert.throws(() => parseIceServer('stun:u:p@host'), /takes no credentials/)
  assert.throws(() => parseIceServer('stun:host:99999'), /bad port/)
  assert.throws(() => parseIceServer('stun:host?transport=udp'), /TURN servers only/)
  assert.throws(() => iceServerArg('stun:'), (err: Error) => err.name === 'InvalidArgumentError' || /not a STUN/.test(err.message))
})
