import assert from 'node:assert/strict';
import { sign } from 'node:crypto';
import { describe, it } from 'node:test';
import { EcKey } from '../../../../src/adapters/crypto-node/ec.js';
import type { CurveName, HashName } from '../../../../src/crypto/backend.js';
import { freshKeyPair } from '../../../helpers/keypair.js';

const b64 = (s?: string) => new Uint8Array(Buffer.from(s ?? '', 'base64url'));

function keys(curve: CurveName) {
  const { privateKey } = freshKeyPair('ec', { namedCurve: curve });
  const jwk = privateKey.export({ format: 'jwk' });
  const point = new Uint8Array([4, ...b64(jwk.x), ...b64(jwk.y)]);
  return {
    privateKey,
    withD: new EcKey({ curve, point, d: b64(jwk.d) }),
    publicOnly: new EcKey({ curve, point }),
  };
}

describe('EC keys: hashed ECDSA verification', () => {
  // Digests longer and shorter than the order: FIPS 186-4 truncation must match OpenSSL's.
  const cases: [CurveName, HashName][] = [
    ['P-256', 'sha256'],
    ['P-256', 'sha512'],
    ['P-384', 'sha384'],
    ['P-521', 'sha1'],
    ['P-521', 'sha512'],
  ];
  for (const [curve, hash] of cases) {
    it(`${curve} with ${hash}: a key holding d agrees with the public key and OpenSSL`, () => {
      const { privateKey, withD, publicOnly } = keys(curve);
      const msg = new TextEncoder().encode(`hashed ${curve} ${hash}`);
      const sig = new Uint8Array(sign(hash, msg, { key: privateKey, dsaEncoding: 'ieee-p1363' }));
      const bad = sig.slice();
      bad[5] = (bad[5] as number) ^ 0x40;
      for (const key of [withD, publicOnly]) {
        assert.equal(key.verifyHashed(hash, msg, sig), true);
        assert.equal(key.verifyHashed(hash, msg, bad), false);
        assert.equal(key.verifyHashed(hash, msg.subarray(1), sig), false);
        assert.equal(key.verifyHashed(hash, msg, sig.subarray(1)), false);
      }
      const own = withD.signHashed(hash, msg);
      assert.equal(publicOnly.verifyHashed(hash, msg, own), true);
    });
  }
});
