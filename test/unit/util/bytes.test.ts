import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeUlong, encodeUlong } from '../../../src/util/bytes.js';

describe('CK_ULONG encoding', () => {
  it('round-trips 0, 2^32 − 1, 2^32, 2^53 − 1 as 8 little-endian bytes', () => {
    for (const v of [0, 1, 0xffff_ffff, 0x1_0000_0000, 0x12_3456_789a, Number.MAX_SAFE_INTEGER]) {
      const b = encodeUlong(v);
      const big = Buffer.alloc(8);
      big.writeBigUInt64LE(BigInt(v));
      assert.deepEqual(Buffer.from(b), big, String(v));
      assert.equal(decodeUlong(b), v);
    }
  });

  it('decodes 4-byte (32-bit client) values; other lengths and values beyond 2^53 − 1 are undefined', () => {
    assert.equal(decodeUlong(Uint8Array.of(1, 2, 3, 4)), 0x04030201);
    assert.equal(decodeUlong(new Uint8Array(3)), undefined);
    const beyond = Buffer.alloc(8);
    beyond.writeBigUInt64LE(BigInt(Number.MAX_SAFE_INTEGER) + 1n);
    assert.equal(decodeUlong(beyond), undefined);
    assert.equal(decodeUlong(new Uint8Array(8).fill(0xff)), undefined);
  });

  it('encodes integers beyond 2^53 exactly (up to 2^64 − 2048, the largest double below 2^64)', () => {
    for (const v of [2 ** 53, 2 ** 63, 2 ** 64 - 2048]) {
      assert.equal(Buffer.from(encodeUlong(v)).readBigUInt64LE(), BigInt(v));
    }
  });

  it('refuses what is not a CK_ULONG (negative, fractional, 2^64 and beyond) with a RangeError', () => {
    for (const v of [-1, 1.5, 2 ** 64, Number.NaN, Number.POSITIVE_INFINITY]) {
      assert.throws(() => encodeUlong(v), RangeError);
    }
  });
});
