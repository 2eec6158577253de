import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { CURVES } from '../../../src/adapters/crypto-node/ecdsa/curves.js';
import {
  bigIntToBytes,
  bytesToBigInt,
  digestToInteger,
  modInverse,
} from '../../../src/util/bigint.js';

const hexOf = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** Reference inverse by Fermat: a^(m−2) mod m, square-and-multiply. */
function fermatInverse(a: bigint, m: bigint): bigint {
  let result = 1n;
  let base = a % m;
  for (let e = m - 2n; e > 0n; e >>= 1n) {
    if (e & 1n) result = (result * base) % m;
    base = (base * base) % m;
  }
  return result;
}

describe('bytesToBigInt / bigIntToBytes', () => {
  it('round-trips every length from 0 to 70 bytes at any offset', () => {
    for (let len = 0; len <= 70; len++) {
      const buf = new Uint8Array(randomBytes(len + 5));
      const x = bytesToBigInt(buf, 3, len);
      assert.equal(x, len === 0 ? 0n : BigInt(`0x${hexOf(buf.subarray(3, 3 + len))}`));
      assert.equal(hexOf(bigIntToBytes(x, len)), hexOf(buf.subarray(3, 3 + len)));
    }
  });

  it('left-pads to the requested width and writes at an offset', () => {
    assert.equal(hexOf(bigIntToBytes(0x1234n, 4)), '00001234');
    assert.equal(hexOf(bigIntToBytes(0x123n, 3)), '000123');
    assert.equal(hexOf(bigIntToBytes(0n, 2)), '0000');
    const out = new Uint8Array(6).fill(0xee);
    bigIntToBytes(0xabn, 2, out, 3);
    assert.equal(hexOf(out), 'eeeeee00abee');
  });

  it('refuses a negative value or one that does not fit', () => {
    assert.throws(() => bigIntToBytes(-1n, 4), RangeError);
    assert.throws(() => bigIntToBytes(0x10000n, 2), RangeError);
  });
});

describe('digestToInteger (FIPS 186-4 §6.4 leftmost bits)', () => {
  it('uses a digest no longer than the order as is', () => {
    const d = new Uint8Array(randomBytes(20));
    assert.equal(digestToInteger(d, 256), BigInt(`0x${hexOf(d)}`));
    assert.equal(digestToInteger(new Uint8Array(0), 256), 0n);
  });

  it('keeps the leftmost 256 bits of a SHA-512 digest on P-256', () => {
    const d = new Uint8Array(randomBytes(64));
    assert.equal(digestToInteger(d, 256), BigInt(`0x${hexOf(d.subarray(0, 32))}`));
  });

  it('keeps the leftmost 521 bits of a 66-byte digest on P-521', () => {
    const d = new Uint8Array(randomBytes(66)).fill(0xff, 0, 1);
    assert.equal(digestToInteger(d, 521), BigInt(`0x${hexOf(d)}`) >> 7n);
    assert.equal(digestToInteger(new Uint8Array(70).fill(0xff), 521), (1n << 521n) - 1n);
  });

  it('keeps a 64-byte SHA-512 digest whole on P-521 (shorter than the order)', () => {
    const d = new Uint8Array(randomBytes(64));
    assert.equal(digestToInteger(d, 521), BigInt(`0x${hexOf(d)}`));
  });
});

describe('modInverse (Lehmer)', () => {
  for (const c of Object.values(CURVES)) {
    it(`matches Fermat's inverse for random values mod n and p of ${c.name}`, () => {
      for (const m of [c.n, c.p]) {
        for (let i = 0; i < 200; i++) {
          const a = bytesToBigInt(new Uint8Array(randomBytes(c.size + 8))) % m || 1n;
          const inv = modInverse(a, m);
          assert.equal((inv * a) % m, 1n);
          if (i < 5) assert.equal(inv, fermatInverse(a, m));
        }
      }
    });

    it(`handles edge values mod n of ${c.name}`, () => {
      const { n } = c;
      for (const a of [1n, 2n, 3n, n - 1n, n - 2n, n + 5n, 1n << 200n, (n >> 1n) + 1n, -7n]) {
        assert.equal((modInverse(a, n) * (((a % n) + n) % n)) % n, 1n, `a = ${a}`);
      }
    });
  }

  it('throws a RangeError for zero or a value sharing a factor with the modulus', () => {
    const n = CURVES['P-256'].n;
    assert.throws(() => modInverse(0n, n), RangeError);
    assert.throws(() => modInverse(n, n), RangeError);
    assert.throws(() => modInverse(6n, 9n), RangeError);
    assert.throws(() => modInverse(3n * (1n << 100n), 3n * ((1n << 127n) - 1n)), RangeError);
  });
});
