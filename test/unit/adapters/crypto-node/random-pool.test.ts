import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RandomPool } from '../../../../src/adapters/crypto-node/random-pool.js';
import { toHex } from '../../../../src/util/bytes.js';

describe('random pool', () => {
  it('answers every length with fresh bytes, none handed out twice across refills', () => {
    const pool = new RandomPool();
    const seen = new Set<string>();
    for (let i = 0; i < 2000; i++) {
      const length = [16, 32, 33, 255, 256, 257, 1000][i % 7] as number;
      const b = pool.bytes(length);
      assert.equal(b.length, length);
      assert.ok(b instanceof Uint8Array && !Buffer.isBuffer(b));
      const hex = toHex(b.subarray(0, 16));
      assert.ok(!seen.has(hex), 'a 16-byte prefix repeated');
      seen.add(hex);
    }
    assert.equal(pool.bytes(0).length, 0);
  });

  it('bytes handed out are not shared with the pool (changing them changes nothing later)', () => {
    const pool = new RandomPool();
    const a = pool.bytes(32);
    a.fill(0);
    const b = pool.bytes(32);
    assert.notEqual(toHex(b), '00'.repeat(32));
  });

  it('draws the CSPRNG once per 4 KiB of small requests, directly for large ones, again after a fork', () => {
    const fills: number[] = [];
    const pool = new RandomPool((b) => {
      fills.push(b.length);
      b.fill(7);
    });
    for (let i = 0; i < 128; i++) pool.bytes(32);
    assert.deepEqual(fills, [4096]);
    assert.equal(toHex(pool.bytes(1)), '07');
    assert.deepEqual(fills, [4096, 4096]);
    pool.bytes(1000);
    assert.deepEqual(fills, [4096, 4096, 1000]);
    const realPid = process.pid;
    Object.defineProperty(process, 'pid', { value: realPid + 1, configurable: true });
    try {
      pool.bytes(32);
    } finally {
      Object.defineProperty(process, 'pid', { value: realPid, configurable: true });
    }
    assert.deepEqual(fills, [4096, 4096, 1000, 4096]);
  });

  it('zeroes in the pool every byte it hands out, and never hands out a zeroed (spent) byte', () => {
    let pool: Uint8Array | undefined;
    let next = 1;
    const random = new RandomPool((b) => {
      pool = b;
      for (let i = 0; i < b.length; i++) b[i] = (next++ % 255) + 1;
    });
    const out = random.bytes(40);
    assert.ok(out.every((x) => x !== 0));
    assert.ok(pool?.subarray(0, 40).every((x) => x === 0));
    assert.ok(pool?.subarray(40).every((x) => x !== 0));
    for (let i = 0; i < 200; i++) assert.ok(random.bytes(37).every((x) => x !== 0));
  });

  it('mix(seed): every later draw is the CSPRNG output XOR a keystream the seeds determine', () => {
    const zeros = () => new RandomPool((b) => b.fill(0));
    const a = zeros();
    assert.equal(toHex(a.bytes(32)), '00'.repeat(32), 'unseeded: the CSPRNG bytes as they come');
    a.mix(Buffer.from('seed one'));
    const seeded = a.bytes(32);
    assert.notEqual(toHex(seeded), '00'.repeat(32), 'the pool drawn before the seed was dropped');
    const b = zeros();
    b.mix(Buffer.from('seed one'));
    assert.equal(toHex(b.bytes(32)), toHex(seeded), 'the same seeds give the same keystream');
    const c = zeros();
    c.mix(Buffer.from('seed two'));
    assert.notEqual(toHex(c.bytes(32)), toHex(seeded));
    b.mix(Buffer.from('seed two'));
    assert.notEqual(
      toHex(b.bytes(32)),
      toHex(c.bytes(32)),
      'seeds chain: earlier ones still count',
    );
    // Large draws (straight from the CSPRNG) are mixed too, and no keystream block repeats.
    const big = a.bytes(1024);
    assert.notEqual(toHex(big.subarray(0, 16)), '00'.repeat(16));
    assert.equal(
      new Set(Array.from({ length: 64 }, (_, i) => toHex(big.subarray(i * 16, i * 16 + 16)))).size,
      64,
    );
  });

  it('mix(seed) over the real CSPRNG: two pools seeded alike still differ', () => {
    const a = new RandomPool();
    const b = new RandomPool();
    a.mix(Buffer.from('same'));
    b.mix(Buffer.from('same'));
    assert.notEqual(toHex(a.bytes(32)), toHex(b.bytes(32)));
  });
});
