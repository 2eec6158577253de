import assert from 'node:assert/strict';
import { randomFillSync } from 'node:crypto';
import { describe, it } from 'node:test';
import { CURVES } from '../../../../../src/adapters/crypto-node/ecdsa/curves.js';
import { NoncePool } from '../../../../../src/adapters/crypto-node/ecdsa/nonce-pool.js';
import {
  BlindingSource,
  type FillRandom,
} from '../../../../../src/adapters/crypto-node/ecdsa/random.js';
import { bigIntToBytes, bytesToBigInt } from '../../../../../src/util/bigint.js';

const hexOf = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** A nonce source that serves the given candidates in order, then the CSPRNG. */
function scripted(candidates: Uint8Array[]): FillRandom {
  return (buf) => {
    for (let off = 0; off < buf.length; ) {
      const next = candidates.shift();
      if (next === undefined) {
        randomFillSync(buf.subarray(off));
        return;
      }
      buf.set(next.subarray(0, buf.length - off), off);
      off += next.length;
    }
  };
}

describe('NoncePool', () => {
  for (const c of Object.values(CURVES)) {
    it(`${c.name}: every nonce is in [1, n−1] and w·k·β ≡ 1 (mod n)`, () => {
      const pool = new NoncePool(c, new BlindingSource(c), { batch: 8 });
      const k = new Uint8Array(c.size);
      for (let i = 0; i < 20; i++) {
        const { w, beta } = pool.take(k);
        const kv = bytesToBigInt(k);
        assert.ok(kv >= 1n && kv < c.n);
        assert.ok(beta >= 1n && beta < c.n);
        assert.equal((((w * kv) % c.n) * beta) % c.n, 1n);
      }
    });
  }

  it('never hands out the same nonce twice (10,000 nonces over many batches)', () => {
    const c = CURVES['P-256'];
    const pool = new NoncePool(c, new BlindingSource(c), { batch: 64 });
    const k = new Uint8Array(c.size);
    const seen = new Set<string>();
    for (let i = 0; i < 10_000; i++) {
      pool.take(k);
      seen.add(hexOf(k));
    }
    assert.equal(seen.size, 10_000);
  });

  it('redraws candidates that are 0, n or above n (rejection sampling)', () => {
    const c = CURVES['P-521'];
    const good = bigIntToBytes(12345n, c.size);
    const draw = scripted([
      new Uint8Array(c.size),
      bigIntToBytes(c.n, c.size),
      bigIntToBytes((1n << 521n) - 1n, c.size),
      good,
    ]);
    const pool = new NoncePool(c, new BlindingSource(c), { batch: 1, drawNonce: draw });
    const k = new Uint8Array(c.size);
    pool.take(k);
    assert.equal(hexOf(k), hexOf(good));
  });

  it('masks the bits above the order: a P-521 candidate of all ones becomes 2^521 − 1, then is redrawn', () => {
    const c = CURVES['P-521'];
    const allOnes = new Uint8Array(c.size).fill(0xff);
    const masked = bigIntToBytes(c.n - 1n, c.size);
    masked[0] = 0xff;
    const pool = new NoncePool(c, new BlindingSource(c), {
      batch: 1,
      drawNonce: scripted([allOnes, masked]),
    });
    const k = new Uint8Array(c.size);
    pool.take(k);
    assert.equal(bytesToBigInt(k), c.n - 1n);
  });

  it('throws a batch of nonces away after the process id changes (fork, snapshot)', () => {
    const c = CURVES['P-256'];
    const pool = new NoncePool(c, new BlindingSource(c), { batch: 16 });
    const k = new Uint8Array(c.size);
    pool.take(k);
    assert.equal(pool.remaining, 15);
    const realPid = process.pid;
    Object.defineProperty(process, 'pid', { value: realPid + 1, configurable: true });
    try {
      assert.equal(pool.remaining, 0);
      pool.take(k);
      assert.equal(pool.remaining, 15);
    } finally {
      Object.defineProperty(process, 'pid', { value: realPid, configurable: true });
    }
    assert.equal(pool.remaining, 0);
  });

  it('rejects a batch size that is not a positive integer', () => {
    const c = CURVES['P-256'];
    assert.throws(() => new NoncePool(c, new BlindingSource(c), { batch: 0 }), RangeError);
    assert.throws(() => new NoncePool(c, new BlindingSource(c), { batch: 1.5 }), RangeError);
  });
});
