import assert from 'node:assert/strict';
import { createECDH, createPublicKey, generateKeyPairSync, getCurves } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  CURVES,
  curve,
  curveList,
  curveNamed,
  curveOfOid,
  curveOfSignatureLength,
  keySizes,
} from '../../../src/crypto/curves.js';
import { decodeOid, readSingle, TAG_OID } from '../../../src/util/der.js';

const bits = (hex: string) => BigInt(`0x${hex}`).toString(2).length;

/** A fresh key pair of the row's curve, as DER (an Edwards or Montgomery key type, or an EC curve). */
function derPair(c: (typeof CURVES)[number]): { publicKey: Buffer; privateKey: Buffer } {
  const publicKeyEncoding = { type: 'spki', format: 'der' } as const;
  const privateKeyEncoding = { type: 'pkcs8', format: 'der' } as const;
  if (c.family === 'weierstrass') {
    return generateKeyPairSync('ec', {
      namedCurve: c.openssl,
      publicKeyEncoding,
      privateKeyEncoding,
    });
  }
  return generateKeyPairSync(c.openssl as 'ed25519', { publicKeyEncoding, privateKeyEncoding });
}

describe('the curve table', () => {
  for (const c of CURVES) {
    it(`${c.name}: CKA_EC_PARAMS is the DER of its OID, and OpenSSL writes the same in an SPKI`, () => {
      assert.equal(decodeOid(readSingle(c.ecParams, TAG_OID).value), c.oid);
      const { publicKey } = derPair(c);
      assert.ok(
        publicKey.includes(Buffer.from(c.ecParams)),
        'the SPKI names the curve by this OID',
      );
    });

    it(`${c.name}: the sizes follow from the domain parameters`, () => {
      assert.equal(c.fieldBytes, Math.ceil(c.fieldBits / 8));
      assert.equal(c.orderBytes, Math.ceil(c.orderBits / 8));
      const w = c.weierstrass;
      if (w === undefined) {
        // RFC 8410: the SPKI ends with the raw public key, the PKCS#8 with the raw private key.
        const { publicKey, privateKey } = derPair(c);
        const jwk = createPublicKey({ key: publicKey, format: 'der', type: 'spki' }).export({
          format: 'jwk',
        });
        assert.equal(Buffer.from(jwk.x as string, 'base64url').length, c.publicBytes);
        assert.equal(privateKey[privateKey.length - c.orderBytes - 1], c.orderBytes);
        return;
      }
      assert.equal(bits(w.p), c.fieldBits);
      assert.equal(bits(w.n), c.orderBits);
      const point = createECDH(c.openssl).generateKeys();
      assert.equal(point.length, 1 + 2 * c.fieldBytes, 'OpenSSL points have the field size');
    });

    it(`${c.name}: node:crypto exports the JWK crv the row names`, { skip: !c.jwk }, () => {
      const { publicKey } = derPair(c);
      const jwk = createPublicKey({ key: publicKey, format: 'der', type: 'spki' }).export({
        format: 'jwk',
      });
      assert.equal(jwk.crv, c.jwk);
    });

    it(`${c.name}: the fast path is claimed only where its preconditions hold`, () => {
      if (!c.prehashedEcdsa) return;
      assert.ok(c.weierstrass, 'domain parameters');
      assert.equal(c.fieldBytes, c.orderBytes);
    });

    it(`${c.name}: found by name, every alias (any case), its OpenSSL name and its OID`, () => {
      assert.equal(curve(c.name), c);
      for (const n of [c.name, ...c.aliases, c.openssl]) {
        assert.equal(curveNamed(n), c, n);
        assert.equal(curveNamed(n.toUpperCase()), c, n);
      }
      assert.equal(curveOfOid(c.oid), c);
    });
  }

  it('no name or alias stands for two curves', () => {
    const seen = new Map<string, string>();
    for (const c of CURVES) {
      for (const n of new Set([c.name, ...c.aliases, c.openssl].map((x) => x.toLowerCase()))) {
        assert.equal(seen.get(n), undefined, `${n} names ${seen.get(n)} and ${c.name}`);
        seen.set(n, c.name);
      }
    }
  });

  it('finds nothing for other names, OIDs and signature lengths', () => {
    for (const bad of ['P-999', 'toString', '__proto__', '', 42, undefined, null]) {
      assert.equal(curveNamed(bad), undefined);
    }
    assert.equal(curveOfOid('1.2.3.4'), undefined);
    assert.equal(curveOfSignatureLength(63), undefined);
    assert.equal(curveOfSignatureLength(64)?.name, 'P-256');
  });

  it('derives the mechanism key sizes and the list users read', () => {
    assert.deepEqual(keySizes('weierstrass'), { minKeySize: 160, maxKeySize: 521 });
    assert.deepEqual(keySizes('weierstrass', 224), { minKeySize: 224, maxKeySize: 521 });
    // RFC 8032 b and RFC 7748 key sizes, as kryoptic and SoftHSMv2 report them.
    assert.deepEqual(keySizes('edwards'), { minKeySize: 256, maxKeySize: 456 });
    assert.deepEqual(keySizes('montgomery'), { minKeySize: 256, maxKeySize: 448 });
    assert.equal(curveList('edwards'), 'Ed25519 and Ed448');
    assert.match(
      curveList(),
      /^P-256, P-384, P-521, P-192, P-224, secp256k1, brainpoolP160r1, .* and /,
    );
  });

  it('has every named Weierstrass curve node:crypto offers that the issue names', () => {
    const wanted = ['prime192v1', 'secp224r1', 'prime256v1', 'secp384r1', 'secp521r1', 'secp256k1'];
    for (const b of [160, 192, 224, 256, 320, 384, 512])
      for (const k of ['r', 't']) wanted.push(`brainpoolP${b}${k}1`);
    const have = CURVES.filter((c) => c.family === 'weierstrass').map((c) => c.openssl);
    assert.deepEqual([...have].sort(), [...wanted].sort());
    for (const name of wanted) assert.ok(getCurves().includes(name), `node:crypto has ${name}`);
  });
});
