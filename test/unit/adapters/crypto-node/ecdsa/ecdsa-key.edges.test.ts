import assert from 'node:assert/strict';
import {
  createECDH,
  createHash,
  createPublicKey,
  verify as nodeVerify,
  randomBytes,
  randomFillSync,
} from 'node:crypto';
import { describe, it } from 'node:test';
import { createCurveContext } from '../../../../../src/adapters/crypto-node/ecdsa/context.js';
import {
  CURVES,
  type CurveParams,
  type EcdsaCurve,
} from '../../../../../src/adapters/crypto-node/ecdsa/curves.js';
import {
  createEcdsaKey,
  createEcdsaKeyIn,
} from '../../../../../src/adapters/crypto-node/ecdsa/ecdsa-key.js';
import {
  type AffinePoint,
  addPoints,
  encodeUncompressed,
} from '../../../../../src/adapters/crypto-node/ecdsa/point.js';
import { bigIntToBytes, bytesToBigInt, modInverse } from '../../../../../src/util/bigint.js';
import { freshKeyPair } from '../../../../helpers/keypair.js';

const hexOf = (b: Uint8Array): string => Buffer.from(b).toString('hex');

function keyMaterial(curve: EcdsaCurve): { d: Uint8Array; point: Uint8Array; dv: bigint } {
  const jwk = freshKeyPair('ec', { namedCurve: curve }).privateKey.export({ format: 'jwk' });
  const b = (s: string | undefined) => new Uint8Array(Buffer.from(s ?? '', 'base64url'));
  const d = b(jwk.d);
  return { d, point: new Uint8Array([0x04, ...b(jwk.x), ...b(jwk.y)]), dv: bytesToBigInt(d) };
}

function powMod(b: bigint, e: bigint, m: bigint): bigint {
  let result = 1n;
  for (b %= m; e > 0n; e >>= 1n, b = (b * b) % m) if (e & 1n) result = (result * b) % m;
  return result;
}

/** k·P by double-and-add on affine points (test-only; k in [1, n − 1]). */
function mulPoint(c: CurveParams, P: AffinePoint, k: bigint): AffinePoint {
  let acc: AffinePoint | undefined;
  for (let i = BigInt(k.toString(2).length - 1); i >= 0n; i--) {
    if (acc !== undefined) acc = addPoints(c, acc, acc);
    if ((k >> i) & 1n) acc = acc === undefined ? P : addPoints(c, acc, P);
  }
  if (acc === undefined) throw new Error('k·P is infinity');
  return acc;
}

/** r of a nonce k: x(k·G) mod n, computed by OpenSSL directly. */
function rOf(curve: EcdsaCurve, k: bigint): bigint {
  const c = CURVES[curve];
  const ecdh = createECDH(c.opensslName);
  ecdh.setPrivateKey(bigIntToBytes(k, c.size));
  return bytesToBigInt(ecdh.getPublicKey(null, 'compressed'), 1, c.size) % c.n;
}

/** A context whose nonces are the given values, in order (then random). */
function replaying(curve: EcdsaCurve, nonces: bigint[]) {
  const c = CURVES[curve];
  const queue = [...nonces];
  return createCurveContext(c, {
    batch: 1,
    drawNonce: (buf) => {
      const k = queue.shift();
      if (k === undefined) randomFillSync(buf);
      else bigIntToBytes(k, c.size, buf);
    },
  });
}

describe('CKM_ECDSA nonces', () => {
  it('5,000 P-256 signatures of one digest never repeat r', () => {
    const k = keyMaterial('P-256');
    const key = createEcdsaKey('P-256', k);
    const dg = new Uint8Array(32).fill(7);
    const rs = new Set<string>();
    for (let i = 0; i < 5000; i++) rs.add(hexOf(key.sign(dg).subarray(0, 32)));
    assert.equal(rs.size, 5000);
  });

  it('s = 0 is not returned: the signer moves on to the next nonce', () => {
    const { n } = CURVES['P-256'];
    const k = keyMaterial('P-256');
    const [k1, k2] = [0x1234567n, 0x7654321n];
    const r1 = rOf('P-256', k1);
    // e ≡ −r1·d makes s = k1⁻¹(e + r1·d) = 0 for the first nonce.
    const e = (((n - r1) % n) * k.dv) % n;
    const key = createEcdsaKeyIn(replaying('P-256', [k1, k2]), k);
    const sig = key.sign(bigIntToBytes(e, 32));
    assert.equal(bytesToBigInt(sig, 0, 32), rOf('P-256', k2));
    assert.ok(createEcdsaKey('P-256', { point: k.point }).verify(bigIntToBytes(e, 32), sig));
  });
});

describe('CKM_ECDSA digests (FIPS 186-4 truncation)', () => {
  it('P-256: only the leftmost 256 bits of a longer digest count', () => {
    const key = createEcdsaKey('P-256', keyMaterial('P-256'));
    const dg = new Uint8Array(randomBytes(64));
    const sig = key.sign(dg);
    const tail = Uint8Array.from(dg);
    tail[40] = (tail[40] ?? 0) ^ 0xff;
    assert.ok(key.verify(tail, sig));
    assert.ok(key.verify(dg.subarray(0, 32), sig));
    const head = Uint8Array.from(dg);
    head[31] = (head[31] ?? 0) ^ 0x01;
    assert.equal(key.verify(head, sig), false);
  });

  it('P-521: a 66-byte digest keeps 521 bits; the last 7 bits are ignored', () => {
    const k = keyMaterial('P-521');
    const key = createEcdsaKey('P-521', k);
    const pub = createEcdsaKey('P-521', { point: k.point });
    const dg = new Uint8Array(randomBytes(66));
    const sig = key.sign(dg);
    const low = Uint8Array.from(dg);
    low[65] = (low[65] ?? 0) ^ 0x7f;
    assert.ok(pub.verify(low, sig));
    const kept = Uint8Array.from(dg);
    kept[65] = (kept[65] ?? 0) ^ 0x80;
    assert.equal(pub.verify(kept, sig), false);
  });

  it('short digests are used whole: SHA-1 on P-384, 1 byte, and the empty digest', () => {
    const k = keyMaterial('P-384');
    const key = createEcdsaKey('P-384', k);
    const pub = createEcdsaKey('P-384', { point: k.point });
    for (const dg of [
      new Uint8Array(createHash('sha1').update('x').digest()),
      new Uint8Array([0x42]),
      new Uint8Array(0),
    ]) {
      const sig = key.sign(dg);
      assert.ok(pub.verify(dg, sig));
      assert.ok(key.verify(dg, sig));
      const padded = new Uint8Array(48);
      padded.set(dg, 48 - dg.length);
      assert.ok(pub.verify(padded, sig), 'a short digest is the integer it spells');
    }
  });

  it('an all-zero digest signs and verifies (e = 0: T = Q on the public path)', () => {
    const k = keyMaterial('P-256');
    const sig = createEcdsaKey('P-256', k).sign(new Uint8Array(32));
    assert.ok(createEcdsaKey('P-256', { point: k.point }).verify(new Uint8Array(32), sig));
    assert.ok(createEcdsaKey('P-256', k).verify(new Uint8Array(32), sig));
    assert.equal(
      createEcdsaKey('P-256', { point: k.point }).verify(new Uint8Array([1]), sig),
      false,
    );
  });
});

describe('CKM_ECDSA verify: malformed signatures return false', () => {
  for (const curve of ['P-256', 'P-521'] as EcdsaCurve[]) {
    it(`${curve}: r or s equal to 0, n or above, wrong lengths, wrong types`, () => {
      const { n, size } = CURVES[curve];
      const k = keyMaterial(curve);
      const dg = new Uint8Array(randomBytes(32));
      const sig = createEcdsaKey(curve, k).sign(dg);
      const r = bytesToBigInt(sig, 0, size);
      const s = bytesToBigInt(sig, size, size);
      const make = (rr: bigint, ss: bigint) =>
        new Uint8Array([...bigIntToBytes(rr, size), ...bigIntToBytes(ss, size)]);
      for (const key of [createEcdsaKey(curve, k), createEcdsaKey(curve, { point: k.point })]) {
        assert.ok(key.verify(dg, sig));
        assert.ok(
          key.verify(dg, make(r, n - s)),
          '(r, n − s) is valid ECDSA too, as OpenSSL agrees',
        );
        for (const bad of [make(0n, s), make(r, 0n), make(n, s), make(r, n), make(0n, 0n)]) {
          assert.equal(key.verify(dg, bad), false);
        }
        if (curve === 'P-521') assert.equal(key.verify(dg, make(r + n, s)), false, 'r + n');
        const all = new Uint8Array(2 * size).fill(0xff);
        assert.equal(key.verify(dg, all), false);
        for (const len of [0, 1, 2 * size - 1, 2 * size + 1, 2 * size + 8]) {
          const wrong = new Uint8Array(len);
          wrong.set(sig.subarray(0, Math.min(len, sig.length)));
          assert.equal(key.verify(dg, wrong), false, `length ${len}`);
        }
        assert.equal(key.verify(dg, [...sig] as unknown as Uint8Array), false);
      }
    });
  }
});

describe('CKM_ECDSA verify: x(R) at or above n (r = x(R) − n)', () => {
  for (const curve of ['P-256', 'P-384'] as EcdsaCurve[]) {
    it(`${curve}: a signature whose R has x ≥ n verifies, as node:crypto agrees`, () => {
      const c = CURVES[curve];
      const { n, p } = c;
      // R with n < x(R) < p; pick s and e, then solve R = (e/s)·G + (r/s)·Q for Q.
      let R: AffinePoint | undefined;
      for (let x = n + 1n; R === undefined; x++) {
        const rhs = (((x * x + c.a) % p) * x + c.b) % p;
        const y = powMod(rhs, (p + 1n) / 4n, p);
        if ((y * y) % p === rhs) R = { x, y };
      }
      const r = R.x - n;
      const s = 0x1234567n;
      const m = new Uint8Array(randomBytes(16));
      const hash = curve === 'P-256' ? 'sha256' : 'sha384';
      const dg = new Uint8Array(createHash(hash).update(m).digest());
      const e = bytesToBigInt(dg) % n;
      const eG = mulPoint(c, { x: c.gx, y: c.gy }, (e * modInverse(s, n)) % n);
      const diff = addPoints(c, R, { x: eG.x, y: p - eG.y });
      assert.ok(diff !== undefined);
      const q = mulPoint(c, diff, (s * modInverse(r, n)) % n);
      const point = encodeUncompressed(c, q);
      const sig = new Uint8Array([...bigIntToBytes(r, c.size), ...bigIntToBytes(s, c.size)]);
      const jwk = {
        kty: 'EC',
        crv: curve,
        x: Buffer.from(point.subarray(1, 1 + c.size)).toString('base64url'),
        y: Buffer.from(point.subarray(1 + c.size)).toString('base64url'),
      };
      const nodeKey = createPublicKey({ key: jwk, format: 'jwk' });
      assert.ok(nodeVerify(hash, m, { key: nodeKey, dsaEncoding: 'ieee-p1363' }, sig));
      const pub = createEcdsaKey(curve, { point });
      assert.ok(pub.verify(dg, sig));
      const other = bigIntToBytes(r + 1n, c.size);
      assert.equal(pub.verify(dg, new Uint8Array([...other, ...sig.subarray(c.size)])), false);
    });
  }
});

describe('CKM_ECDSA verify: point-addition edge cases on the public path', () => {
  it('T = (e/r)·G + Q at infinity (e ≡ −r·d) yields false, not an exception', () => {
    const { n } = CURVES['P-256'];
    const k = keyMaterial('P-256');
    const pub = createEcdsaKey('P-256', { point: k.point });
    const r = 0x1234n;
    const e = ((n - r) * k.dv) % n;
    for (const s of [1n, 2n, n - 1n, 0xabcdefn]) {
      const sig = new Uint8Array([...bigIntToBytes(r, 32), ...bigIntToBytes(s, 32)]);
      assert.equal(pub.verify(bigIntToBytes(e, 32), sig), false);
    }
  });

  it('T = 2Q (e/r ≡ d, so P = Q) takes the doubling branch and still verifies', () => {
    const { n } = CURVES['P-256'];
    const k = keyMaterial('P-256');
    const nonce = 0xfeedfacecafen;
    const e = (rOf('P-256', nonce) * k.dv) % n;
    const sig = createEcdsaKeyIn(replaying('P-256', [nonce]), k).sign(bigIntToBytes(e, 32));
    assert.ok(createEcdsaKey('P-256', { point: k.point }).verify(bigIntToBytes(e, 32), sig));
    assert.ok(createEcdsaKey('P-256', k).verify(bigIntToBytes(e, 32), sig));
  });
});
