/**
 * Counter-mode hash expansion, the construction MGF1 (RFC 8017 §B.2.1, counter from 0) and the ANSI
 * X9.63 KDF of ECDH (SEC 1 §3.6.1, counter from 1, then the shared info) share: `length` bytes of
 * Hash(seed ‖ counter as 32 bits big-endian ‖ info), counter by counter. The hash comes from the
 * caller (the backend's accumulator), so this runs on either side of the crypto port. Layer L2.
 * @module
 */
import { type Accumulator, HASH_LENGTHS, type HashName } from './backend.js';

export function counterHash(
  newHash: (hash: HashName) => Accumulator,
  hash: HashName,
  seed: Uint8Array,
  firstCounter: 0 | 1,
  length: number,
  info: Uint8Array = new Uint8Array(0),
): Uint8Array {
  const out = new Uint8Array(length);
  const hLen = HASH_LENGTHS[hash];
  for (let counter = firstCounter, off = 0; off < length; counter++, off += hLen) {
    const h = newHash(hash);
    h.update(seed);
    h.update(Uint8Array.of(counter >>> 24, counter >>> 16, counter >>> 8, counter)); // each byte mod 256
    h.update(info);
    out.set(h.finish().subarray(0, Math.min(hLen, length - off)), off);
  }
  return out;
}
