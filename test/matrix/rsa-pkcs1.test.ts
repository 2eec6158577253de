/**
 * CKM_RSA_PKCS decryption and key unwrapping with implicit rejection (issue 14 §4), per PAL port: the
 * draft's vectors through C_Decrypt with a stored key, round trips with OpenSSL, wrapping and
 * unwrapping an AES key, and an invalid padding that decrypts to the draft's synthetic message (an
 * answer, not an error) and unwraps to CKR_WRAPPED_KEY_INVALID or a key of the synthetic bytes.
 * @module
 */
import assert from 'node:assert/strict';
import { constants, createPrivateKey, publicEncrypt, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterEach, describe, it } from 'node:test';
import type { Handle, Template } from '../../src/api/convert.js';
import { publicKeyOf } from '../helpers/keys.js';
import {
  assertRv,
  C,
  initializedModule,
  PAL_PORTS,
  type TestModule,
  userSession,
} from '../helpers/token.js';

const FILE = new URL(
  '../../../test/vectors/rsa/cfrg-rsa-guidance-implicit-rejection.json',
  import.meta.url,
);
const vectors = JSON.parse(readFileSync(FILE, 'utf8')) as {
  keys: Record<string, string>;
  sections: { section: string; cases: { id: string; ciphertext: string; message: string }[] }[];
};
const B1 = vectors.sections.find((s) => s.section === 'B.1')?.cases ?? [];
const vector = (id: string) => B1.find((c) => c.id === id) as (typeof B1)[number];
const RSA_PKCS = { mechanism: C.CKM_RSA_PKCS };

/** The draft's 2048-bit key as a token object (decrypt and unwrap). */
function draftKey(m: TestModule, s: Handle): Handle {
  const k = createPrivateKey({
    key: Buffer.from(vectors.keys.k2048 as string, 'base64'),
    format: 'der',
    type: 'pkcs8',
  }).export({ format: 'jwk' });
  const b = (v: string | undefined) => Buffer.from(v ?? '', 'base64url');
  return m.p11.C_CreateObject(s, [
    { type: C.CKA_CLASS, value: C.CKO_PRIVATE_KEY },
    { type: C.CKA_KEY_TYPE, value: C.CKK_RSA },
    { type: C.CKA_TOKEN, value: true },
    { type: C.CKA_MODULUS, value: b(k.n) },
    { type: C.CKA_PUBLIC_EXPONENT, value: b(k.e) },
    { type: C.CKA_PRIVATE_EXPONENT, value: b(k.d) },
    { type: C.CKA_PRIME_1, value: b(k.p) },
    { type: C.CKA_PRIME_2, value: b(k.q) },
    { type: C.CKA_EXPONENT_1, value: b(k.dp) },
    { type: C.CKA_EXPONENT_2, value: b(k.dq) },
    { type: C.CKA_COEFFICIENT, value: b(k.qi) },
    { type: C.CKA_DECRYPT, value: true },
    { type: C.CKA_UNWRAP, value: true },
  ]);
}

function decrypt(m: TestModule, s: Handle, key: Handle, c: Buffer): Buffer {
  m.p11.C_DecryptInit(s, RSA_PKCS, key);
  return m.p11.C_Decrypt(s, c, Buffer.alloc(256));
}

const secretTemplate = (keyType: number, extra: Template = []): Template => [
  { type: C.CKA_CLASS, value: C.CKO_SECRET_KEY },
  { type: C.CKA_KEY_TYPE, value: keyType },
  { type: C.CKA_SENSITIVE, value: false },
  { type: C.CKA_EXTRACTABLE, value: true },
  ...extra,
];

const value = (m: TestModule, s: Handle, h: Handle) =>
  m.p11.C_GetAttributeValue(s, h, [{ type: C.CKA_VALUE }])[0]?.value as Buffer;

for (const port of PAL_PORTS) {
  describe(`CKM_RSA_PKCS decryption with implicit rejection [${port.name}]`, () => {
    let m: TestModule;
    afterEach(() => m?.cleanup());

    it('the draft’s vectors decrypt to their messages, synthetic ones included (no CKR error)', () => {
      m = initializedModule(port);
      const s = userSession(m);
      const key = draftKey(m, s);
      for (const id of ['B.1.2', 'B.1.3', 'B.1.6', 'B.1.7', 'B.1.8']) {
        const v = vector(id);
        assert.equal(
          decrypt(m, s, key, Buffer.from(v.ciphertext, 'hex')).toString('hex'),
          v.message,
          id,
        );
      }
      const reopened = m.restart();
      m = reopened;
      const s2 = userSession(m);
      m.p11.C_FindObjectsInit(s2, [{ type: C.CKA_CLASS, value: C.CKO_PRIVATE_KEY }]);
      const [again] = m.p11.C_FindObjects(s2, 1);
      m.p11.C_FindObjectsFinal(s2);
      const v = vector('B.1.9');
      assert.equal(
        decrypt(m, s2, again as Handle, Buffer.from(v.ciphertext, 'hex')).toString('hex'),
        v.message,
      );
    });

    it('a token key pair: what the token or OpenSSL encrypts, the token decrypts', () => {
      m = initializedModule(port);
      const s = userSession(m);
      const { publicKey, privateKey } = m.p11.C_GenerateKeyPair(
        s,
        { mechanism: C.CKM_RSA_PKCS_KEY_PAIR_GEN },
        [{ type: C.CKA_MODULUS_BITS, value: 2048 }],
        [{ type: C.CKA_DECRYPT, value: true }],
      );
      const message = randomBytes(100);
      m.p11.C_EncryptInit(s, RSA_PKCS, publicKey);
      const c1 = m.p11.C_Encrypt(s, message, Buffer.alloc(256));
      assert.deepEqual(decrypt(m, s, privateKey, c1), message);
      const c2 = publicEncrypt(
        { key: publicKeyOf(m.p11, s, publicKey), padding: constants.RSA_PKCS1_PADDING },
        message,
      );
      assert.deepEqual(decrypt(m, s, privateKey, c2), message);
      assertRv(
        () => decrypt(m, s, privateKey, Buffer.alloc(256, 0xff)),
        C.CKR_ENCRYPTED_DATA_INVALID,
      );
      assertRv(
        () => decrypt(m, s, privateKey, Buffer.alloc(255, 1)),
        C.CKR_ENCRYPTED_DATA_LEN_RANGE,
      );
    });

    it('wraps an AES key under the public key and unwraps it under the private key', () => {
      m = initializedModule(port);
      const s = userSession(m);
      const { publicKey, privateKey } = m.p11.C_GenerateKeyPair(
        s,
        { mechanism: C.CKM_RSA_PKCS_KEY_PAIR_GEN },
        [
          { type: C.CKA_MODULUS_BITS, value: 2048 },
          { type: C.CKA_WRAP, value: true },
        ],
        [{ type: C.CKA_UNWRAP, value: true }],
      );
      const aes = m.p11.C_GenerateKey(
        s,
        { mechanism: C.CKM_AES_KEY_GEN },
        secretTemplate(C.CKK_AES, [{ type: C.CKA_VALUE_LEN, value: 32 }]),
      );
      const wrapped = m.p11.C_WrapKey(s, RSA_PKCS, publicKey, aes, Buffer.alloc(256));
      const back = m.p11.C_UnwrapKey(s, RSA_PKCS, privateKey, wrapped, secretTemplate(C.CKK_AES));
      assert.deepEqual(value(m, s, back), value(m, s, aes));
      const info = m.p11.C_GetMechanismInfo(m.slot, C.CKM_RSA_PKCS);
      for (const f of [C.CKF_ENCRYPT, C.CKF_DECRYPT, C.CKF_WRAP, C.CKF_UNWRAP])
        assert.ok(info.flags & f);
    });

    it('an invalid padding unwraps like any wrong blob: AES → CKR_WRAPPED_KEY_INVALID, generic → the synthetic bytes', () => {
      m = initializedModule(port);
      const s = userSession(m);
      const key = draftKey(m, s);
      const long = vector('B.1.6');
      assertRv(
        () =>
          m.p11.C_UnwrapKey(
            s,
            RSA_PKCS,
            key,
            Buffer.from(long.ciphertext, 'hex'),
            secretTemplate(C.CKK_AES),
          ),
        C.CKR_WRAPPED_KEY_INVALID,
      );
      const short = vector('B.1.7');
      const made = m.p11.C_UnwrapKey(
        s,
        RSA_PKCS,
        key,
        Buffer.from(short.ciphertext, 'hex'),
        secretTemplate(C.CKK_GENERIC_SECRET),
      );
      assert.equal(value(m, s, made).toString('hex'), short.message);
    });
  });
}
