import assert from 'node:assert/strict';
import { constants, createHash, createPublicKey, verify } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  generateRsa,
  RsaKey,
  rsaSign,
  rsaVerify,
} from '../../../../src/adapters/crypto-node/rsa.js';
import { recoverPrimes } from '../../../../src/adapters/crypto-node/rsa-math.js';
import { bytesToBigInt } from '../../../../src/util/bigint.js';
import { freshKeyPair } from '../../../helpers/keypair.js';
import { privateExponentWith, rsaMaterialWithPrimes3Mod4 } from '../../../helpers/material.js';

const material = generateRsa(2048, Uint8Array.of(1, 0, 1));
const key = new RsaKey(material);
const pub = new RsaKey({ n: material.n, e: material.e });
const nodePub = createPublicKey(key.object);

describe('RSA backend', () => {
  it('signs PSS over a digest so that node:crypto verifies it over the message', () => {
    const msg = Buffer.from('prehashed PSS');
    const digest = createHash('sha256').update(msg).digest();
    const scheme = {
      type: 'rsa-pss',
      hash: 'sha256',
      mgfHash: 'sha256',
      saltLength: 32,
      prehashed: true,
    } as const;
    const sig = rsaSign(key, scheme, digest);
    assert.ok(
      verify(
        'sha256',
        msg,
        { key: nodePub, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 },
        sig,
      ),
    );
    assert.ok(rsaVerify(pub, scheme, digest, sig));
    sig[10] = (sig[10] as number) ^ 1;
    assert.ok(!rsaVerify(pub, scheme, digest, sig));
  });

  it('verifies node:crypto PSS signatures with a different MGF1 hash rejected', () => {
    const msg = Buffer.from('node made this');
    const sig = rsaSign(
      key,
      { type: 'rsa-pss', hash: 'sha384', mgfHash: 'sha384', saltLength: 20, prehashed: false },
      msg,
    );
    const digest = createHash('sha384').update(msg).digest();
    assert.ok(
      rsaVerify(
        pub,
        { type: 'rsa-pss', hash: 'sha384', mgfHash: 'sha384', saltLength: 20, prehashed: true },
        digest,
        sig,
      ),
    );
    assert.ok(
      !rsaVerify(
        pub,
        { type: 'rsa-pss', hash: 'sha384', mgfHash: 'sha256', saltLength: 20, prehashed: true },
        digest,
        sig,
      ),
    );
  });

  it('CKM_RSA_PKCS over a DigestInfo equals node:crypto sha256 PKCS#1 v1.5', () => {
    const msg = Buffer.from('hello');
    const info = Buffer.concat([
      Buffer.from('3031300d060960864801650304020105000420', 'hex'),
      createHash('sha256').update(msg).digest(),
    ]);
    const sig = rsaSign(key, { type: 'rsa-pkcs1-raw' }, info);
    assert.deepEqual(
      Buffer.from(sig),
      Buffer.from(rsaSign(key, { type: 'rsa-pkcs1', hash: 'sha256' }, msg)),
    );
    assert.ok(verify('sha256', msg, nodePub, sig));
    assert.ok(rsaVerify(pub, { type: 'rsa-pkcs1-raw' }, info, sig));
    assert.ok(!rsaVerify(pub, { type: 'rsa-pkcs1-raw' }, info.subarray(1), sig));
  });

  it('raw RSA (X.509) round-trips and rejects a wrong signature length', () => {
    const block = new Uint8Array(10).fill(7);
    const sig = rsaSign(key, { type: 'rsa-x509' }, block);
    assert.equal(sig.length, 256);
    assert.ok(rsaVerify(pub, { type: 'rsa-x509' }, block, sig));
    assert.ok(!rsaVerify(pub, { type: 'rsa-x509' }, block, sig.subarray(1)));
  });

  it('recovers p and q from n, e, d (keys created without CRT parts)', () => {
    const { privateKey } = freshKeyPair('rsa', { modulusLength: 1024 });
    const j = privateKey.export({ format: 'jwk' });
    const b = (s?: string) => new Uint8Array(Buffer.from(s ?? '', 'base64url'));
    const r = recoverPrimes(b(j.n), b(j.e), b(j.d));
    const pq = [
      Buffer.from(r.p).toString('base64url'),
      Buffer.from(r.q).toString('base64url'),
    ].sort();
    assert.deepEqual(pq, [j.p, j.q].sort());
    const partial = new RsaKey({ n: b(j.n), e: b(j.e), d: b(j.d) });
    assert.equal(partial.bits, 1024);
  });

  it('a private exponent above λ(n) (d + kλ, as PKCS#11 lets a caller store) works on every Node: OpenSSL is given d mod λ', () => {
    // OpenSSL 3.5 (Node 22/24) refused about one in five of these keys at first use before the reduction.
    for (let i = 0; i < 25; i++) {
      const m = rsaMaterialWithPrimes3Mod4(512);
      const d = privateExponentWith(m, 1);
      if (!d) continue;
      assert.ok(bytesToBigInt(d) > bytesToBigInt(m.d), 'a larger, equivalent exponent');
      const k = new RsaKey({ n: m.n, e: m.e, d });
      const digestInfo = Buffer.alloc(20, 1);
      const sig = rsaSign(k, { type: 'rsa-pkcs1-raw' }, digestInfo);
      const pub = new RsaKey({ n: m.n, e: m.e });
      assert.equal(rsaVerify(pub, { type: 'rsa-pkcs1-raw' }, digestInfo, sig), true);
    }
  });

  it('refuses inconsistent material', () => {
    assert.throws(() => new RsaKey({ ...material, d: material.e }));
  });
});
