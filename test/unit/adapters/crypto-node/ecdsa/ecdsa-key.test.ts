import assert from 'node:assert/strict';
import {
  createECDH,
  createHash,
  type KeyObject,
  sign as nodeSign,
  verify as nodeVerify,
  randomBytes,
} from 'node:crypto';
import { describe, it } from 'node:test';
import { CURVES, type EcdsaCurve } from '../../../../../src/adapters/crypto-node/ecdsa/curves.js';
import { createEcdsaKey } from '../../../../../src/adapters/crypto-node/ecdsa/index.js';
import { isPkcs11Error } from '../../../../../src/errors.js';
import {
  CKR_ATTRIBUTE_VALUE_INVALID,
  CKR_CURVE_NOT_SUPPORTED,
  CKR_KEY_TYPE_INCONSISTENT,
} from '../../../../../src/pkcs11/constants.js';
import { bigIntToBytes } from '../../../../../src/util/bigint.js';
import { ecKeyParts, freshKeyPair } from '../../../../helpers/keypair.js';

interface TestKey {
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  readonly d: Uint8Array;
  readonly point: Uint8Array;
}

function nodeKey(curve: EcdsaCurve): TestKey {
  const { privateKey, publicKey } = freshKeyPair('ec', { namedCurve: CURVES[curve].opensslName });
  return { privateKey, publicKey, ...ecKeyParts(privateKey) };
}

const digest = (hash: string, m: Uint8Array) => new Uint8Array(createHash(hash).update(m).digest());
const rv = (code: number) => (e: unknown) => isPkcs11Error(e, code);
const HASHES = ['sha1', 'sha224', 'sha256', 'sha384', 'sha512'];
/** Rounds per test: more on the curves most keys use, one on the others. */
const ROUNDS = (curve: EcdsaCurve): number => ({ 'P-256': 6, 'P-384': 2 })[curve as string] ?? 1;

describe('createEcdsaKey: key material', () => {
  const k = nodeKey('P-256');

  it('rejects a name that is not a Weierstrass curve of the table → CKR_CURVE_NOT_SUPPORTED', () => {
    for (const curve of ['sect163k1', 'secp112r1', 'prime256v1', 'Ed25519', '']) {
      assert.throws(
        () => createEcdsaKey(curve as EcdsaCurve, { point: k.point }),
        rv(CKR_CURVE_NOT_SUPPORTED),
      );
    }
  });

  it('rejects points that are not on the curve or badly encoded → CKR_ATTRIBUTE_VALUE_INVALID', () => {
    const offCurve = Uint8Array.from(k.point);
    offCurve[64] = (offCurve[64] ?? 0) ^ 1;
    const hybrid = Uint8Array.from(k.point);
    hybrid[0] = 0x06;
    const badCompressed = new Uint8Array(33).fill(0xff);
    badCompressed[0] = 0x02;
    for (const point of [
      offCurve,
      hybrid,
      badCompressed,
      k.point.subarray(0, 64),
      new Uint8Array([0x00]),
      new Uint8Array(65),
      nodeKey('P-384').point,
    ]) {
      assert.throws(() => createEcdsaKey('P-256', { point }), rv(CKR_ATTRIBUTE_VALUE_INVALID));
    }
    assert.throws(
      () => createEcdsaKey('P-256', { point: 'x' as unknown as Uint8Array }),
      rv(CKR_ATTRIBUTE_VALUE_INVALID),
    );
  });

  it('rejects d outside [1, n−1] or not matching the point → CKR_ATTRIBUTE_VALUE_INVALID', () => {
    const { n } = CURVES['P-256'];
    for (const d of [
      new Uint8Array(32),
      new Uint8Array(0),
      bigIntToBytes(n, 32),
      bigIntToBytes(n + 1n, 32),
      new Uint8Array(33).fill(1),
      nodeKey('P-256').d,
    ]) {
      assert.throws(
        () => createEcdsaKey('P-256', { d, point: k.point }),
        rv(CKR_ATTRIBUTE_VALUE_INVALID),
      );
    }
  });

  it('accepts d with or without leading zeros, and a compressed point', () => {
    const { gx, gy } = CURVES['P-256'];
    const g = new Uint8Array([0x04, ...bigIntToBytes(gx, 32), ...bigIntToBytes(gy, 32)]);
    for (const d of [new Uint8Array([1]), bigIntToBytes(1n, 40)]) {
      assert.ok(createEcdsaKey('P-256', { d, point: g }).canSign);
    }
    const ecdh = createECDH('prime256v1');
    ecdh.setPrivateKey(k.d);
    const compressed = new Uint8Array(ecdh.getPublicKey(null, 'compressed'));
    const key = createEcdsaKey('P-256', { d: k.d, point: compressed });
    const dg = digest('sha256', new Uint8Array([1, 2, 3]));
    assert.ok(
      nodeVerify(
        'sha256',
        new Uint8Array([1, 2, 3]),
        { key: k.publicKey, dsaEncoding: 'ieee-p1363' },
        key.sign(dg),
      ),
    );
  });

  it('a key without d cannot sign → CKR_KEY_TYPE_INCONSISTENT', () => {
    const pub = createEcdsaKey('P-256', { point: k.point });
    assert.equal(pub.canSign, false);
    assert.equal(pub.signatureLength, 64);
    assert.throws(() => pub.sign(new Uint8Array(32)), rv(CKR_KEY_TYPE_INCONSISTENT));
  });
});

for (const curve of Object.keys(CURVES) as EcdsaCurve[]) {
  describe(`createEcdsaKey ${curve}: interoperability with node:crypto`, () => {
    const k = nodeKey(curve);
    const key = createEcdsaKey(curve, { d: k.d, point: k.point });
    const pub = createEcdsaKey(curve, { point: k.point });
    const viaPublic = createEcdsaKey(
      curve,
      { d: k.d, point: k.point },
      { verifyWithPrivateKey: false },
    );

    it('our signatures of hash(m) verify with crypto.verify(hash, m) for SHA-1 … SHA-512', () => {
      for (const hash of HASHES) {
        for (let i = 0; i < ROUNDS(curve); i++) {
          const m = new Uint8Array(randomBytes(1 + i * 37));
          const sig = key.sign(digest(hash, m));
          assert.equal(sig.length, key.signatureLength);
          const ok = nodeVerify(hash, m, { key: k.publicKey, dsaEncoding: 'ieee-p1363' }, sig);
          assert.ok(ok, `${hash} #${i}`);
        }
      }
    });

    it('node-made signatures verify with ours, by the public key and through d', () => {
      for (const hash of HASHES) {
        for (let i = 0; i < ROUNDS(curve); i++) {
          const m = new Uint8Array(randomBytes(20 + i));
          const sig = nodeSign(hash, m, { key: k.privateKey, dsaEncoding: 'ieee-p1363' });
          const dg = digest(hash, m);
          assert.ok(pub.verify(dg, sig), `public ${hash}`);
          assert.ok(key.verify(dg, sig), `with d ${hash}`);
          assert.ok(viaPublic.verify(dg, sig), `d key, public path ${hash}`);
        }
      }
    });

    it('rejects tampered signatures, digests and the wrong key on both paths', () => {
      const m = new Uint8Array(randomBytes(50));
      const dg = digest('sha256', m);
      const sig = key.sign(dg);
      const other = createEcdsaKey(curve, { point: nodeKey(curve).point });
      const size = sig.length / 2;
      const flips = [0, size - 1, size, sig.length - 1];
      for (const verifier of [key, pub]) {
        assert.ok(verifier.verify(dg, sig));
        for (const at of flips) {
          const bad = Uint8Array.from(sig);
          bad[at] = (bad[at] ?? 0) ^ 0x01;
          assert.equal(verifier.verify(dg, bad), false, `bit flip at ${at}`);
        }
        const badDigest = Uint8Array.from(dg);
        badDigest[7] = (badDigest[7] ?? 0) ^ 0x80;
        assert.equal(verifier.verify(badDigest, sig), false);
        const swapped = new Uint8Array([...sig.subarray(size), ...sig.subarray(0, size)]);
        assert.equal(verifier.verify(dg, swapped), false);
      }
      assert.equal(other.verify(dg, sig), false);
    });

    it('both verification paths agree with node on random valid and invalid inputs', () => {
      for (let i = 0; i < ROUNDS(curve) * 2; i++) {
        const m = new Uint8Array(randomBytes(16));
        const dg = digest('sha256', m);
        const sig = key.sign(dg);
        if (i % 2 === 1) sig[3] = (sig[3] ?? 0) ^ 0x10;
        const expected = nodeVerify(
          'sha256',
          m,
          { key: k.publicKey, dsaEncoding: 'ieee-p1363' },
          sig,
        );
        assert.equal(key.verify(dg, sig), expected);
        assert.equal(pub.verify(dg, sig), expected);
      }
    });
  });
}
