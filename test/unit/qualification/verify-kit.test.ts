import assert from 'node:assert/strict';
import { createHash, sign, verify } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  createVerifyKit,
  parsePrivateKeyPem,
  parsePublicKeyPem,
  parsesAsCertificate,
  sha256,
  signEcdsaP256,
  verifyEcdsaP256,
  verifyRsaPkcs1Sha256,
} from '../../../src/adapters/crypto-node/verify-kit.js';
import { pemToDer } from '../../../src/qualification/cryptoki.js';
import {
  EC_CERTIFICATE,
  EC_PRIVATE_KEY,
  EC_PUBLIC_KEY,
  RSA_CERTIFICATE,
  RSA_PRIVATE_KEY,
  RSA_PUBLIC_KEY,
} from '../../../src/qualification/test-credentials.js';
import { freshKeyPair } from '../../helpers/keypair.js';

// The signature conversions are the kit's (P-256: 32-byte halves), as the suite calls them.
const { ecdsaDerToRaw, ecdsaRawToDer } = createVerifyKit();

const digestOf = (m: Buffer) => createHash('sha256').update(m).digest();

function flip(bytes: Uint8Array, at: number): Uint8Array {
  const out = Uint8Array.from(bytes);
  out[at] = (out[at] ?? 0) ^ 0x01;
  return out;
}

describe('verify-kit ECDSA P-256 over a digest', () => {
  const ec = freshKeyPair('ec', { namedCurve: 'P-256' });
  const pem = ec.privateKey.export({ format: 'pem', type: 'sec1' }).toString();
  const parts = parsePrivateKeyPem(pem);
  assert.equal(parts.type, 'ec');
  const point = parts.type === 'ec' ? parts.point : new Uint8Array();
  const d = parts.type === 'ec' ? (parts.d ?? new Uint8Array()) : new Uint8Array();

  it('accepts signatures OpenSSL made over the same digest, rejects altered ones', () => {
    for (let i = 0; i < 20; i++) {
      const message = Buffer.from(`message ${i}`);
      const raw = sign('sha256', message, { key: ec.privateKey, dsaEncoding: 'ieee-p1363' });
      assert.ok(verifyEcdsaP256(point, digestOf(message), raw));
      assert.ok(!verifyEcdsaP256(point, digestOf(message), flip(raw, i)));
      assert.ok(!verifyEcdsaP256(point, flip(digestOf(message), 31), raw));
    }
  });

  it('signs digests that OpenSSL verifies', () => {
    for (let i = 0; i < 10; i++) {
      const message = Buffer.from(`signed by the kit ${i}`);
      const der = signEcdsaP256(d, digestOf(message));
      assert.ok(verify('sha256', message, ec.publicKey, der));
      assert.ok(verifyEcdsaP256(point, digestOf(message), ecdsaDerToRaw(der)));
    }
  });

  it('rejects out-of-range r and s and points off the curve', () => {
    const digest = sha256(Buffer.from('x'));
    const raw = ecdsaDerToRaw(signEcdsaP256(d, digest));
    assert.ok(!verifyEcdsaP256(point, digest, new Uint8Array(64)));
    assert.ok(!verifyEcdsaP256(point, digest, new Uint8Array(64).fill(0xff)));
    assert.ok(!verifyEcdsaP256(flip(point, 64), digest, raw));
    assert.ok(!verifyEcdsaP256(point.subarray(1), digest, raw));
  });
});

describe('verify-kit ECDSA signature encodings', () => {
  it('round-trips raw ↔ DER, including short and high-bit components', () => {
    const cases = [
      new Uint8Array(64).fill(0x7f),
      new Uint8Array(64).fill(0x80),
      Uint8Array.from([...new Uint8Array(31), 1, ...new Uint8Array(31), 2]),
    ];
    for (const raw of cases) {
      const der = ecdsaRawToDer(raw);
      assert.equal(der[0], 0x30);
      assert.deepEqual(ecdsaDerToRaw(der), raw);
    }
    assert.equal(ecdsaRawToDer(cases[1] as Uint8Array).length, 72);
    assert.equal(ecdsaRawToDer(cases[2] as Uint8Array).length, 8);
  });

  it('rejects malformed DER', () => {
    assert.throws(() => ecdsaDerToRaw(Uint8Array.from([0x31, 0x00])));
    assert.throws(() => ecdsaDerToRaw(Uint8Array.from([0x30, 0x03, 0x02, 0x01])));
    const long = ecdsaRawToDer(new Uint8Array(64).fill(1));
    assert.throws(() => ecdsaDerToRaw(Uint8Array.from([...long, 0])));
  });
});

describe('verify-kit RSA PKCS#1 v1.5 with SHA-256', () => {
  it('accepts OpenSSL signatures over the test key, rejects altered ones', () => {
    const parts = parsePrivateKeyPem(RSA_PRIVATE_KEY);
    assert.equal(parts.type, 'rsa');
    if (parts.type !== 'rsa') return;
    const message = Buffer.from('rsa message');
    const signature = sign('sha256', message, RSA_PRIVATE_KEY);
    assert.ok(verifyRsaPkcs1Sha256(parts.n, parts.e, digestOf(message), signature));
    assert.ok(!verifyRsaPkcs1Sha256(parts.n, parts.e, digestOf(message), flip(signature, 100)));
    assert.ok(!verifyRsaPkcs1Sha256(parts.n, parts.e, flip(digestOf(message), 0), signature));
  });
});

describe('verify-kit key and certificate parsing', () => {
  it('reads the test keys: RSA-2048 components and the P-256 point', () => {
    const rsa = parsePrivateKeyPem(RSA_PRIVATE_KEY);
    const rsaPub = parsePublicKeyPem(RSA_PUBLIC_KEY);
    assert.ok(rsa.type === 'rsa' && rsaPub.type === 'rsa');
    assert.equal(rsa.n.length, 256);
    assert.deepEqual(rsaPub.n, rsa.n);
    assert.ok(rsa.p && rsa.q && rsa.dp && rsa.dq && rsa.qi && rsa.d);
    const ec = parsePrivateKeyPem(EC_PRIVATE_KEY);
    const ecPub = parsePublicKeyPem(EC_PUBLIC_KEY);
    assert.ok(ec.type === 'ec' && ecPub.type === 'ec');
    assert.deepEqual(ecPub.point, ec.point);
    assert.equal(ec.d?.length, 32);
    assert.deepEqual(parsePublicKeyPem(EC_PRIVATE_KEY), ecPub);
  });

  it('parses the test certificates and refuses a truncated one', () => {
    for (const pem of [RSA_CERTIFICATE, EC_CERTIFICATE]) {
      const der = pemToDer(pem);
      assert.ok(der && parsesAsCertificate(der));
      assert.ok(!parsesAsCertificate(der.subarray(0, der.length - 1)));
    }
  });

  it('throws on input that is not a key', () => {
    assert.throws(() => parsePrivateKeyPem('not a key'));
    assert.throws(() =>
      parsePublicKeyPem('-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----'),
    );
  });
});
