import assert from 'node:assert/strict';
import { createECDH, randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { CURVES, type CurveParams } from '../../../../../src/adapters/crypto-node/ecdsa/curves.js';
import {
  type AffinePoint,
  addPoints,
  decodeUncompressed,
  encodeUncompressed,
  isOnCurve,
  sumXMatches,
} from '../../../../../src/adapters/crypto-node/ecdsa/point.js';
import { bigIntToBytes, bytesToBigInt } from '../../../../../src/util/bigint.js';

function mulG(c: CurveParams, k: bigint): AffinePoint {
  const ecdh = createECDH(c.opensslName);
  ecdh.setPrivateKey(bigIntToBytes(((k % c.n) + c.n) % c.n, c.size));
  const pub = ecdh.getPublicKey();
  return { x: bytesToBigInt(pub, 1, c.size), y: bytesToBigInt(pub, 1 + c.size, c.size) };
}

function powMod(b: bigint, e: bigint, m: bigint): bigint {
  let result = 1n;
  for (b %= m; e > 0n; e >>= 1n, b = (b * b) % m) if (e & 1n) result = (result * b) % m;
  return result;
}

/** √v mod p (Tonelli–Shanks; P-224's p is 1 mod 4), or undefined when v is not a square. */
function sqrtMod(v: bigint, p: bigint): bigint | undefined {
  if (v === 0n) return 0n;
  if (powMod(v, (p - 1n) / 2n, p) !== 1n) return undefined;
  let q = p - 1n;
  let s = 0n;
  for (; q % 2n === 0n; s++) q /= 2n;
  let z = 2n;
  while (powMod(z, (p - 1n) / 2n, p) !== p - 1n) z++;
  let [m, c, t, r] = [s, powMod(z, q, p), powMod(v, q, p), powMod(v, (q + 1n) / 2n, p)];
  while (t !== 1n) {
    let i = 0n;
    for (let t2 = t; t2 !== 1n; i++) t2 = (t2 * t2) % p;
    const b = powMod(c, 1n << (m - i - 1n), p);
    [m, c, t, r] = [i, (b * b) % p, (t * b * b) % p, (r * b) % p];
  }
  return r;
}

/** The first curve point with x ≥ x0. */
function pointWithXAtOrAbove(c: CurveParams, x0: bigint): AffinePoint {
  for (let x = x0; ; x++) {
    const y = sqrtMod((((x * x + c.a) % c.p) * x + c.b) % c.p, c.p);
    if (y !== undefined) return { x, y };
  }
}

const randomScalar = (c: CurveParams) =>
  (bytesToBigInt(new Uint8Array(randomBytes(c.size + 8))) % (c.n - 1n)) + 1n;

describe('affine points', () => {
  for (const c of Object.values(CURVES)) {
    it(`${c.name}: a·G + b·G = (a+b)·G, as OpenSSL computes it`, () => {
      for (let i = 0; i < 5; i++) {
        const a = randomScalar(c);
        const b = randomScalar(c);
        assert.deepEqual(addPoints(c, mulG(c, a), mulG(c, b)), mulG(c, a + b));
      }
    });

    it(`${c.name}: P + P doubles and P + (−P) is infinity`, () => {
      const a = randomScalar(c);
      const p = mulG(c, a);
      assert.deepEqual(addPoints(c, p, p), mulG(c, 2n * a));
      assert.equal(addPoints(c, p, { x: p.x, y: c.p - p.y }), undefined);
    });

    it(`${c.name}: encodes and decodes 04‖X‖Y; rejects off-curve, short and non-04 input`, () => {
      const p = mulG(c, randomScalar(c));
      const bytes = encodeUncompressed(c, p);
      assert.equal(bytes.length, 1 + 2 * c.size);
      assert.deepEqual(decodeUncompressed(c, bytes), p);
      const off = Uint8Array.from(bytes);
      off[off.length - 1] = (off[off.length - 1] ?? 0) ^ 1;
      assert.equal(decodeUncompressed(c, off), undefined);
      assert.equal(decodeUncompressed(c, bytes.subarray(0, bytes.length - 1)), undefined);
      const hybrid = Uint8Array.from(bytes);
      hybrid[0] = 0x06;
      assert.equal(decodeUncompressed(c, hybrid), undefined);
      assert.equal(decodeUncompressed(c, new Uint8Array(1 + 2 * c.size)), undefined);
    });

    it(`${c.name}: sumXMatches agrees with addPoints, including doubling and P = −Q`, () => {
      for (let i = 0; i < 5; i++) {
        const a = mulG(c, randomScalar(c));
        const b = mulG(c, randomScalar(c));
        const r = (addPoints(c, a, b)?.x ?? 0n) % c.n;
        assert.ok(sumXMatches(c, a, b, r));
        assert.ok(!sumXMatches(c, a, b, (r + 1n) % c.n));
      }
      const a = mulG(c, randomScalar(c));
      assert.ok(sumXMatches(c, a, a, (addPoints(c, a, a)?.x ?? 0n) % c.n));
      assert.ok(!sumXMatches(c, a, { x: a.x, y: c.p - a.y }, a.x % c.n));
    });

    it(`${c.name}: sumXMatches accepts x(P + Q) = r + n (x above the order)`, () => {
      // R: a curve point with n ≤ x < p, written as the sum (R − G) + G.
      const R = pointWithXAtOrAbove(c, c.n);
      const x = R.x;
      const G = { x: c.gx, y: c.gy };
      const minusG = { x: c.gx, y: c.p - c.gy };
      const P = addPoints(c, R, minusG);
      assert.ok(P !== undefined);
      assert.deepEqual(addPoints(c, P, G), R);
      assert.ok(sumXMatches(c, P, G, x - c.n));
      assert.ok(!sumXMatches(c, P, G, (x - c.n + 1n) % c.n));
    });

    it(`${c.name}: isOnCurve rejects coordinates ≥ p even when congruent`, () => {
      const p = mulG(c, randomScalar(c));
      assert.ok(isOnCurve(c, p));
      assert.ok(!isOnCurve(c, { x: p.x + c.p, y: p.y }));
      assert.ok(!isOnCurve(c, { x: p.x, y: p.y + c.p }));
      assert.ok(!isOnCurve(c, { x: -1n, y: p.y }));
    });
  }
});
