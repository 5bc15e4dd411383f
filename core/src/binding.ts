/**
 * Device binding: a member's identity key signs "this writer core writes for me in
 * this base". Apply checks it, so an admin cannot attribute a writer to someone who
 * never asked, and a stolen writer key cannot claim another identity.
 * It covers the base's discovery key (not the base key) because an invitee signs it
 * before it has been admitted and learns the base key.
 */
import b4a from 'b4a'
import crypto from 'hypercore-crypto'
import { sign, verify } from './identity.ts'

const DOMAIN = b4a.from('solidar/device-binding/v1')

function message (baseKey: Uint8Array, writer: Uint8Array): Buffer {
  return bindingMessage(crypto.discoveryKey(baseKey), writer)
}

function bindingMessage (discoveryKey: Uint8Array, writer: Uint8Array): Buffer {
  return b4a.concat([DOMAIN, discoveryKey, writer])
}

export function signBinding (baseKey: Uint8Array, writer: Uint8Array, secretKey: Uint8Array): Buffer {
  return sign(message(baseKey, writer), secretKey)
}

export function verifyBinding (baseKey: Uint8Array, writer: Uint8Array, member: Uint8Array, sig: Uint8Array): boolean {
  return verify(sig, message(baseKey, writer), member)
}

/** For an invitee, who knows only the discovery key before admission. */
export function signBindingForDiscoveryKey (discoveryKey: Uint8Array, writer: Uint8Array, secretKey: Uint8Array): Buffer {
  return sign(bindingMessage(discoveryKey, writer), secretKey)
}

export function verifyBindingForDiscoveryKey (discoveryKey: Uint8Array, writer: Uint8Array, member: Uint8Array, sig: Uint8Array): boolean {
  return verify(sig, bindingMessage(discoveryKey, writer), member)
}
