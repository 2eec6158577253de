/**
 * Hashes, HMACs and AES-CMAC over node:crypto, as running accumulators.
 * CMAC is not exposed by Node, so it is built here from AES-ECB per NIST SP 800-38B.
 * @module
 */
import { createCipheriv, createHash, createHmac } from 'node:crypto';
import type { Accumulator, HashName } from '../../crypto/backend.js';

export function hashAccumulator(hash: HashName): Accumulator {
  const h = createHash(hash);
  return {
    update: (d) => {
      h.update(d);
    },
    finish: () => new Uint8Array(h.digest()),
  };
}

export function hmacAccumulator(hash: HashName, key: Uint8Array): Accumulator {
  const h = createHmac(hash, key);
  return {
    update: (d) => {
      h.update(d);
    },
    finish: () => new Uint8Array(h.digest()),
  };
}

const BLOCK = 16;

/** Doubling in GF(2^128) as SP 800-38B §6.1 defines it for subkey generation. */
function dbl(b: Uint8Array): Uint8Array {
  const out = new Uint8Array(BLOCK);
  let carry = 0;
  for (let i = BLOCK - 1; i >= 0; i--) {
    const v = b[i] as number;
    out[i] = ((v << 1) | carry) & 0xff;
    carry = v >> 7;
  }
  if (carry) out[BLOCK - 1] = (out[BLOCK - 1] as number) ^ 0x87;
  return out;
}

export function cmacAccumulator(key: Uint8Array): Accumulator {
  if (key.length !== 16 && key.length !== 24 && key.length !== 32) {
    throw new Error(`AES key must be 16, 24 or 32 bytes, got ${key.length}`);
  }
  const algo = `aes-${key.length * 8}-ecb`;
  const encryptBlock = (block: Uint8Array): Uint8Array => {
    const c = createCipheriv(algo, key, null);
    c.setAutoPadding(false);
    return new Uint8Array(c.update(block));
  };
  const k1 = dbl(encryptBlock(new Uint8Array(BLOCK)));
  const k2 = dbl(k1);
  // CBC-MAC over all complete blocks except the last one, which needs the subkey.
  const cbc = createCipheriv(`aes-${key.length * 8}-cbc`, key, new Uint8Array(BLOCK));
  cbc.setAutoPadding(false);
  let pending = new Uint8Array(0);
  let state = new Uint8Array(BLOCK);
  return {
    update(d) {
      const all = new Uint8Array(pending.length + d.length);
      all.set(pending);
      all.set(d, pending.length);
      // Keep at least one byte back: the final block is treated differently.
      const keep = all.length === 0 ? 0 : ((all.length - 1) % BLOCK) + 1;
      const full = all.subarray(0, all.length - keep);
      if (full.length > 0) {
        const out = cbc.update(full);
        state = new Uint8Array(out.subarray(out.length - BLOCK));
      }
      pending = all.slice(all.length - keep);
    },
    finish() {
      const last = new Uint8Array(BLOCK);
      let sub: Uint8Array;
      if (pending.length === BLOCK) {
        last.set(pending);
        sub = k1;
      } else {
        last.set(pending);
        last[pending.length] = 0x80;
        sub = k2;
      }
      for (let i = 0; i < BLOCK; i++) {
        last[i] = (last[i] as number) ^ (sub[i] as number) ^ (state[i] as number);
      }
      return encryptBlock(last);
    },
  };
}
