/**
 * A short description of an untrusted value for an error message. `String(x)` is not safe on
 * decoded input: a CBOR map or JSON object with a `toString` (or `valueOf`) key that is not a
 * function makes it throw a TypeError, which turned "this entry is malformed" into a crash of
 * the decoder (fuzz-decoders found one in LAN matching frames).
 */
export function describe (x: unknown, max = 40): string {
  if (typeof x === 'string') return x.slice(0, max)
  if (typeof x === 'number' || typeof x === 'boolean' || typeof x === 'bigint' || x === undefined || x === null) return String(x)
  if (Array.isArray(x)) return 'an array'
  return typeof x === 'object' ? 'an object' : typeof x
}
