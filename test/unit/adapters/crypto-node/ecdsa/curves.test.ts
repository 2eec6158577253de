import assert from 'node:assert/strict';
import { createECDH } from 'node:crypto';
import { describe, it } from 'node:test';
import { CURVES, curveParams } from '../../../../../src/adapters/crypto-node/ecdsa/curves.js';
import { isOnCurve } from '../../../../../src/adapters/crypto-node/ecdsa/point.js';
import { bigIntToBytes, bytesToBigInt } from '../../../../../src/util/bigint.js';

describe('curve parameters', () => {
  for (const c of Object.values(CURVES)) {
    it(`${c.name}: G is on the curve and is OpenSSL's generator`, () => {
      assert.ok(isOnCurve(c, { x: c.gx, y: c.gy }));
      const ecdh = createECDH(c.opensslName);
      ecdh.setPrivateKey(bigIntToBytes(1n, c.size));
      const g = ecdh.getPublicKey();
      assert.equal(bytesToBigInt(g, 1, c.size), c.gx);
      assert.equal(bytesToBigInt(g, 1 + c.size, c.size), c.gy);
    });

    it(`${c.name}: n is OpenSSL's order ((n−1)·G = −G, n rejected as a private key)`, () => {
      const ecdh = createECDH(c.opensslName);
      ecdh.setPrivateKey(bigIntToBytes(c.n - 1n, c.size));
      const minusG = ecdh.getPublicKey();
      assert.equal(bytesToBigInt(minusG, 1, c.size), c.gx);
      assert.equal(bytesToBigInt(minusG, 1 + c.size, c.size), c.p - c.gy);
      assert.throws(() => ecdh.setPrivateKey(bigIntToBytes(c.n, c.size)));
    });

    it(`${c.name}: sizes and the length pad`, () => {
      // the bits every curve's name says (P-521 is the one whose bytes round up)
      const named = Number(/(\d+)/.exec(c.name)?.[1]);
      assert.equal(c.orderBits, named);
      assert.equal(c.size, Math.ceil(named / 8));
      assert.equal(c.lengthPad % c.n, 0n);
      const digits = (x: bigint) => Math.ceil(x.toString(2).length / 64);
      assert.equal(digits(c.lengthPad), digits(c.lengthPad + c.n - 1n));
    });
  }

  it('curveParams accepts only the names of the Weierstrass curves of the table', () => {
    for (const name of ['P-256', 'P-192', 'secp256k1', 'brainpoolP512t1']) {
      assert.equal(curveParams(name)?.name, name);
    }
    for (const bad of ['sect163k1', 'prime256v1', 'toString', '__proto__', 42, undefined]) {
      assert.equal(curveParams(bad), undefined);
    }
  });
});
