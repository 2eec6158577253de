/**
 * The crypto port's error contract (crypto/backend.ts) on the node:crypto adapter: the caller's bad
 * input is a Pkcs11Error with its CKR; a programming error is not relabelled; and C_SignAsync's RSA
 * work happens off the event loop.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { createNodeCrypto } from '../../../../src/adapters/crypto-node/index.js';
import type { SignScheme } from '../../../../src/crypto/backend.js';
import { ckrName, isPkcs11Error } from '../../../../src/errors.js';
import * as C from '../../../../src/pkcs11/constants.js';

const backend = createNodeCrypto();
const rsa = backend.generateRsa(2048, Uint8Array.of(1, 0, 1));
const rsaKey = backend.importKey({ kind: 'rsa', ...rsa });
const ec = backend.generateEc('P-256');
const ecKey = backend.importKey({ kind: 'ec', ...ec });

function refused(code: number, fn: () => unknown): void {
  assert.throws(fn, (e) => isPkcs11Error(e, code), ckrName(code));
}

describe('crypto port error contract', () => {
  it('inconsistent key material → CKR_ATTRIBUTE_VALUE_INVALID', () => {
    const q = Uint8Array.from(rsa.q as Uint8Array);
    q[q.length - 1] = (q[q.length - 1] as number) ^ 2;
    refused(C.CKR_ATTRIBUTE_VALUE_INVALID, () => backend.importKey({ kind: 'rsa', ...rsa, q }));
    const point = Uint8Array.from(ec.point);
    point[40] = (point[40] as number) ^ 1;
    refused(C.CKR_ATTRIBUTE_VALUE_INVALID, () =>
      backend.importKey({ kind: 'ec', curve: 'P-256', point }),
    );
  });

  it('ciphertext that does not decrypt or authenticate → CKR_ENCRYPTED_DATA_INVALID', () => {
    const oaep = { type: 'oaep', hash: 'sha256', label: new Uint8Array(0) } as const;
    refused(C.CKR_ENCRYPTED_DATA_INVALID, () =>
      backend.rsaDecrypt(rsaKey, oaep, new Uint8Array(256).fill(7)),
    );
    const key = new Uint8Array(16);
    const iv = new Uint8Array(12);
    for (const algorithm of ['aes-gcm', 'aes-ccm', 'chacha20-poly1305'] as const) {
      const spec = {
        algorithm,
        key: new Uint8Array(algorithm === 'chacha20-poly1305' ? 32 : 16),
        iv,
        aad: new Uint8Array(0),
        tagLength: 16,
      };
      const sealed = backend.aead({ ...spec, encrypt: true }, Uint8Array.of(1, 2, 3));
      sealed[0] = (sealed[0] as number) ^ 1;
      refused(C.CKR_ENCRYPTED_DATA_INVALID, () =>
        backend.aead({ ...spec, encrypt: false }, sealed),
      );
    }
    refused(C.CKR_ENCRYPTED_DATA_INVALID, () =>
      backend.aesKeyWrap(key, new Uint8Array(24), false, false),
    );
  });

  it('raw RSA input not below the modulus → CKR_DATA_INVALID', () => {
    refused(C.CKR_DATA_INVALID, () =>
      backend.sign(rsaKey, { type: 'rsa-x509' }, new Uint8Array(256).fill(0xff)),
    );
  });

  it('an ECDH peer point off the curve → CKR_MECHANISM_PARAM_INVALID', () => {
    const off = Uint8Array.from(ec.point);
    off[64] = (off[64] as number) ^ 1;
    refused(C.CKR_MECHANISM_PARAM_INVALID, () => backend.ecdh(ecKey, off));
  });

  it('an RSA public exponent the primitive cannot use → CKR_TEMPLATE_INCONSISTENT', () => {
    refused(C.CKR_TEMPLATE_INCONSISTENT, () => backend.generateRsa(2048, Uint8Array.of(2)));
  });

  it('a programming error is not a CKR: it propagates as itself', () => {
    assert.throws(
      () => backend.sign(rsaKey, { type: 'ecdsa-prehashed' }, new Uint8Array(32)),
      (e) => e instanceof Error && !isPkcs11Error(e),
    );
  });
});

describe('C_SignAsync with RSA', () => {
  const digest = createHash('sha256').update('async').digest();
  const info = Buffer.concat([
    Buffer.from('3031300d060960864801650304020105000420', 'hex'),
    digest,
  ]);
  const schemes: [string, SignScheme, Uint8Array][] = [
    ['CKM_RSA_PKCS', { type: 'rsa-pkcs1-raw' }, info],
    ['CKM_RSA_X_509', { type: 'rsa-x509' }, Uint8Array.of(1, 2, 3)],
    ['CKM_SHA256_RSA_PKCS', { type: 'rsa-pkcs1', hash: 'sha256' }, Buffer.from('message')],
    [
      'CKM_RSA_PKCS_PSS',
      { type: 'rsa-pss', hash: 'sha256', mgfHash: 'sha256', saltLength: 32, prehashed: true },
      digest,
    ],
    [
      'CKM_SHA256_RSA_PKCS_PSS',
      { type: 'rsa-pss', hash: 'sha256', mgfHash: 'sha256', saltLength: 32, prehashed: false },
      Buffer.from('message'),
    ],
  ];
  for (const [name, scheme, data] of schemes) {
    it(`${name}: signs off the event loop, and the signature verifies`, async () => {
      let settled = false;
      const pending = backend.signAsync(rsaKey, scheme, data).then((sig) => {
        settled = true;
        return sig;
      });
      // Work done on this thread would settle within the microtasks; a thread's answer cannot.
      for (let i = 0; i < 20; i++) await Promise.resolve();
      assert.equal(settled, false);
      const sig = await pending;
      assert.ok(backend.verify(rsaKey, scheme, data, sig));
      if (scheme.type !== 'rsa-pss') assert.deepEqual(sig, backend.sign(rsaKey, scheme, data));
    });
  }

  it('raw RSA input not below the modulus → CKR_DATA_INVALID, asynchronously too', async () => {
    await assert.rejects(
      backend.signAsync(rsaKey, { type: 'rsa-x509' }, new Uint8Array(256).fill(0xff)),
      (e) => isPkcs11Error(e, C.CKR_DATA_INVALID),
    );
  });
});

describe('C_DecryptAsync with RSA', () => {
  const oaep = { type: 'oaep', hash: 'sha256', label: Uint8Array.of(9) } as const;

  for (const [name, scheme] of [
    ['CKM_RSA_PKCS_OAEP', oaep],
    ['CKM_RSA_X_509', { type: 'raw' }],
  ] as const) {
    it(`${name}: decrypts off the event loop, as the sync call`, async () => {
      const plain = scheme.type === 'raw' ? new Uint8Array(256).fill(3, 1) : Uint8Array.of(1, 2, 3);
      const sealed = backend.rsaEncrypt(rsaKey, scheme, plain);
      let settled = false;
      const pending = backend.rsaDecryptAsync(rsaKey, scheme, sealed).then((out) => {
        settled = true;
        return out;
      });
      for (let i = 0; i < 20; i++) await Promise.resolve();
      assert.equal(settled, false);
      assert.deepEqual(await pending, backend.rsaDecrypt(rsaKey, scheme, sealed));
      assert.deepEqual(await pending, plain);
    });
  }

  it('ciphertext that does not decrypt → CKR_ENCRYPTED_DATA_INVALID, asynchronously too', async () => {
    await assert.rejects(backend.rsaDecryptAsync(rsaKey, oaep, new Uint8Array(256).fill(7)), (e) =>
      isPkcs11Error(e, C.CKR_ENCRYPTED_DATA_INVALID),
    );
  });

  it("a ciphertext of another length → CKR_ENCRYPTED_DATA_LEN_RANGE; PKCS#1 v1.5 with bad padding → CKR_OK, the sync call's synthetic message (implicit rejection)", async () => {
    await assert.rejects(backend.rsaDecryptAsync(rsaKey, oaep, new Uint8Array(255)), (e) =>
      isPkcs11Error(e, C.CKR_ENCRYPTED_DATA_LEN_RANGE),
    );
    await assert.rejects(
      backend.rsaDecryptAsync(rsaKey, { type: 'pkcs1' }, new Uint8Array(255)),
      (e) => isPkcs11Error(e, C.CKR_ENCRYPTED_DATA_LEN_RANGE),
    );
    // 7…7 decrypts to no valid PKCS#1 v1.5 block: no error, the message the key derives for it
    const bad = new Uint8Array(256).fill(7);
    const out = await backend.rsaDecryptAsync(rsaKey, { type: 'pkcs1' }, bad);
    assert.deepEqual(out, backend.rsaDecrypt(rsaKey, { type: 'pkcs1' }, bad));
  });
});
