/**
 * Binary encoding of log entries and view records: CBOR (cbor-x), so binary fields
 * (keys, sealed boxes, later Yjs updates) travel as bytes, not base64 in JSON.
 * Decoding never throws: malformed input yields `null` and the caller rejects it.
 */
import { Encoder } from 'cbor-x'

// Plain maps only: no record extension (its shared structures would make the bytes
// depend on what an encoder saw before, and peers must decode each entry alone).
const cbor = new Encoder({ useRecords: false, mapsAsObjects: true, tagUint8Array: false })

export function encode (value: unknown): Buffer {
  return cbor.encode(value)
}

export function decode (buf: Uint8Array): unknown {
  try {
    return cbor.decode(buf)
  } catch {
    return null
  }
}

export function toBuffer (u: Uint8Array): Buffer {
  return Buffer.isBuffer(u) ? u : Buffer.from(u.buffer, u.byteOffset, u.byteLength)
}
