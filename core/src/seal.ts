/**
 * Anonymous sealed boxes addressed to a member's Ed25519 identity (converted to
 * X25519). Used for DM offers/accepts inside a group log: every member stores the
 * box, only the addressee can open it.
 */
import sodium from 'sodium-universal'
import b4a from 'b4a'

function curvePublic (edPublic: Uint8Array): Buffer {
  const out = b4a.alloc(sodium.crypto_box_PUBLICKEYBYTES)
  sodium.crypto_sign_ed25519_pk_to_curve25519(out, edPublic)
  return out
}

function curveSecret (edSecret: Uint8Array): Buffer {
  const out = b4a.alloc(sodium.crypto_box_SECRETKEYBYTES)
  sodium.crypto_sign_ed25519_sk_to_curve25519(out, edSecret)
  return out
}

export function seal (message: Uint8Array, recipientEdPublic: Uint8Array): Buffer {
  const out = b4a.alloc(message.byteLength + sodium.crypto_box_SEALBYTES)
  sodium.crypto_box_seal(out, message, curvePublic(recipientEdPublic))
  return out
}

/** Returns null when the box is not for us or was tampered with. */
export function openSealed (box: Uint8Array, edPublic: Uint8Array, edSecret: Uint8Array): Buffer | null {
  if (box.byteLength <= sodium.crypto_box_SEALBYTES) return null
  const out = b4a.alloc(box.byteLength - sodium.crypto_box_SEALBYTES)
  const pk = curvePublic(edPublic)
  const sk = curveSecret(edSecret)
  try {
    return sodium.crypto_box_seal_open(out, box, pk, sk) ? out : null
  } catch {
    return null
  } finally {
    sodium.sodium_memzero(sk)
  }
}
