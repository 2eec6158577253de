import assert from 'node:assert/strict';
import { constants, createCipheriv, privateDecrypt } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { Handle } from '../../src/api/convert.js';
import { freshKeyPair } from '../helpers/keypair.js';
import {
  assertRv,
  C,
  initializedModule,
  PAL_PORTS,
  type TestModule,
  userSession,
} from '../helpers/token.js';

const KEK = Buffer.alloc(32, 0x21);
const SECRET = Buffer.alloc(32, 0x42);

for (const port of PAL_PORTS) {
  describe(`key wrapping [${port.name}]`, () => {
    let m: TestModule;
    let s: Handle;
    let kek: Handle;
    before(() => {
      m = initializedModule(port);
      s = userSession(m);
      kek = m.p11.C_CreateObject(s, [
        { type: C.CKA_CLASS, value: C.CKO_SECRET_KEY },
        { type: C.CKA_KEY_TYPE, value: C.CKK_AES },
        { type: C.CKA_VALUE, value: KEK },
        { type: C.CKA_WRAP, value: true },
        { type: C.CKA_UNWRAP, value: true },
        { type: C.CKA_DECRYPT, value: false },
        { type: C.CKA_ENCRYPT, value: false },
      ]);
    });
    after(() => m.cleanup());

    const secret = (extra: { type: number; value: boolean }[] = []) =>
      m.p11.C_CreateObject(s, [
        { type: C.CKA_CLASS, value: C.CKO_SECRET_KEY },
        { type: C.CKA_KEY_TYPE, value: C.CKK_AES },
        { type: C.CKA_VALUE, value: SECRET },
        { type: C.CKA_EXTRACTABLE, value: true },
        // not sensitive: this KEK unwraps freely, so it may not wrap sensitive keys (wrap-rules.test.ts)
        { type: C.CKA_SENSITIVE, value: false },
        ...extra,
      ]);
    const wrap = (mech: number, key: Handle, w = kek) =>
      Buffer.from(m.p11.C_WrapKey(s, { mechanism: mech }, w, key, Buffer.alloc(512)));

    it('CKM_AES_KEY_WRAP equals RFC 3394 (node:crypto) and unwraps into a working key', () => {
      const wrapped = wrap(C.CKM_AES_KEY_WRAP, secret());
      const node = createCipheriv('id-aes256-wrap', KEK, Buffer.from('a6a6a6a6a6a6a6a6', 'hex'));
      assert.deepEqual(wrapped, Buffer.concat([node.update(SECRET), node.final()]));
      const k = m.p11.C_UnwrapKey(s, { mechanism: C.CKM_AES_KEY_WRAP }, kek, wrapped, [
        { type: C.CKA_CLASS, value: C.CKO_SECRET_KEY },
        { type: C.CKA_KEY_TYPE, value: C.CKK_AES },
        { type: C.CKA_SENSITIVE, value: false },
        { type: C.CKA_EXTRACTABLE, value: true },
      ]);
      const [value, local, always] = m.p11.C_GetAttributeValue(s, k, [
        { type: C.CKA_VALUE },
        { type: C.CKA_LOCAL },
        { type: C.CKA_ALWAYS_SENSITIVE },
      ]);
      assert.deepEqual(value?.value, SECRET);
      assert.deepEqual(local?.value, Buffer.from([0]));
      assert.deepEqual(always?.value, Buffer.from([0]));
    });

    it('CKM_AES_KEY_WRAP_PAD wraps a 20-byte generic secret (RFC 5649)', () => {
      const g = m.p11.C_CreateObject(s, [
        { type: C.CKA_CLASS, value: C.CKO_SECRET_KEY },
        { type: C.CKA_KEY_TYPE, value: C.CKK_GENERIC_SECRET },
        { type: C.CKA_VALUE, value: Buffer.alloc(20, 7) },
        { type: C.CKA_EXTRACTABLE, value: true },
        { type: C.CKA_SENSITIVE, value: false },
      ]);
      const wrapped = wrap(C.CKM_AES_KEY_WRAP_PAD, g);
      assert.equal(wrapped.length, 32);
      const k = m.p11.C_UnwrapKey(s, { mechanism: C.CKM_AES_KEY_WRAP_PAD }, kek, wrapped, [
        { type: C.CKA_CLASS, value: C.CKO_SECRET_KEY },
        { type: C.CKA_KEY_TYPE, value: C.CKK_GENERIC_SECRET },
      ]);
      const [len] = m.p11.C_GetAttributeValue(s, k, [{ type: C.CKA_VALUE_LEN }]);
      assert.equal(Buffer.from(len?.value as Buffer).readUInt32LE(0), 20);
    });

    it('a non-extractable key → CKR_KEY_UNEXTRACTABLE; a private key → CKR_KEY_NOT_WRAPPABLE', () => {
      const fixed = m.p11.C_CreateObject(s, [
        { type: C.CKA_CLASS, value: C.CKO_SECRET_KEY },
        { type: C.CKA_KEY_TYPE, value: C.CKK_AES },
        { type: C.CKA_VALUE, value: SECRET },
      ]);
      assertRv(() => wrap(C.CKM_AES_KEY_WRAP, fixed), C.CKR_KEY_UNEXTRACTABLE);
      const kp = m.p11.C_GenerateKeyPair(
        s,
        { mechanism: C.CKM_EC_KEY_PAIR_GEN },
        [{ type: C.CKA_EC_PARAMS, value: Buffer.from('06082a8648ce3d030107', 'hex') }],
        [{ type: C.CKA_EXTRACTABLE, value: true }],
      );
      assertRv(() => wrap(C.CKM_AES_KEY_WRAP_PAD, kp.privateKey), C.CKR_KEY_NOT_WRAPPABLE);
    });

    it('CKA_WRAP_TEMPLATE: a key that does not match it → CKR_KEY_NOT_WRAPPABLE; one that does is wrapped', () => {
      const picky = m.p11.C_CreateObject(s, [
        { type: C.CKA_CLASS, value: C.CKO_SECRET_KEY },
        { type: C.CKA_KEY_TYPE, value: C.CKK_AES },
        { type: C.CKA_VALUE, value: KEK },
        { type: C.CKA_WRAP, value: true },
        { type: C.CKA_DECRYPT, value: false },
        { type: C.CKA_WRAP_TEMPLATE, value: [{ type: C.CKA_LABEL, value: 'exportable' }] },
      ]);
      assertRv(() => wrap(C.CKM_AES_KEY_WRAP, secret(), picky), C.CKR_KEY_NOT_WRAPPABLE);
      const labelled = m.p11.C_CreateObject(s, [
        { type: C.CKA_CLASS, value: C.CKO_SECRET_KEY },
        { type: C.CKA_KEY_TYPE, value: C.CKK_AES },
        { type: C.CKA_VALUE, value: SECRET },
        { type: C.CKA_EXTRACTABLE, value: true },
        { type: C.CKA_LABEL, value: 'exportable' },
      ]);
      assert.equal(wrap(C.CKM_AES_KEY_WRAP, labelled, picky).length, 40);
    });

    it('CKA_UNWRAP_TEMPLATE applies to every unwrapped key; a template that contradicts it → CKR_TEMPLATE_INCONSISTENT', () => {
      const strict = m.p11.C_CreateObject(s, [
        { type: C.CKA_CLASS, value: C.CKO_SECRET_KEY },
        { type: C.CKA_KEY_TYPE, value: C.CKK_AES },
        { type: C.CKA_VALUE, value: KEK },
        { type: C.CKA_UNWRAP, value: true },
        { type: C.CKA_ENCRYPT, value: false },
        { type: C.CKA_DECRYPT, value: false },
        {
          type: C.CKA_UNWRAP_TEMPLATE,
          value: [
            { type: C.CKA_SENSITIVE, value: true },
            { type: C.CKA_EXTRACTABLE, value: false },
          ],
        },
      ]);
      const wrapped = wrap(C.CKM_AES_KEY_WRAP, secret());
      const tmpl = [
        { type: C.CKA_CLASS, value: C.CKO_SECRET_KEY },
        { type: C.CKA_KEY_TYPE, value: C.CKK_AES },
      ];
      const unwrap = (extra: { type: number; value: boolean }[]) =>
        m.p11.C_UnwrapKey(s, { mechanism: C.CKM_AES_KEY_WRAP }, strict, wrapped, [
          ...tmpl,
          ...extra,
        ]);
      assertRv(
        () => unwrap([{ type: C.CKA_SENSITIVE, value: false }]),
        C.CKR_TEMPLATE_INCONSISTENT,
      );
      const k = unwrap([{ type: C.CKA_EXTRACTABLE, value: false }]);
      const [sensitive, extractable] = m.p11.C_GetAttributeValue(s, k, [
        { type: C.CKA_SENSITIVE },
        { type: C.CKA_EXTRACTABLE },
      ]);
      assert.deepEqual(sensitive?.value, Buffer.from([1]));
      assert.deepEqual(extractable?.value, Buffer.from([0]));
      assertRv(
        () => m.p11.C_GetAttributeValue(s, k, [{ type: C.CKA_VALUE }]),
        C.CKR_ATTRIBUTE_SENSITIVE,
      );
    });

    it('CKA_WRAP_WITH_TRUSTED with an untrusted wrapping key → CKR_KEY_NOT_WRAPPABLE', () => {
      const k = secret([{ type: C.CKA_WRAP_WITH_TRUSTED, value: true }]);
      assertRv(() => wrap(C.CKM_AES_KEY_WRAP, k), C.CKR_KEY_NOT_WRAPPABLE);
    });

    it('a changed wrapped key → CKR_WRAPPED_KEY_INVALID; a bad length → CKR_WRAPPED_KEY_LEN_RANGE', () => {
      const wrapped = wrap(C.CKM_AES_KEY_WRAP, secret());
      wrapped[5] = (wrapped[5] as number) ^ 1;
      const tmpl = [
        { type: C.CKA_CLASS, value: C.CKO_SECRET_KEY },
        { type: C.CKA_KEY_TYPE, value: C.CKK_AES },
      ];
      assertRv(
        () => m.p11.C_UnwrapKey(s, { mechanism: C.CKM_AES_KEY_WRAP }, kek, wrapped, tmpl),
        C.CKR_WRAPPED_KEY_INVALID,
      );
      assertRv(
        () =>
          m.p11.C_UnwrapKey(s, { mechanism: C.CKM_AES_KEY_WRAP }, kek, wrapped.subarray(1), tmpl),
        C.CKR_WRAPPED_KEY_LEN_RANGE,
      );
    });

    it('an RSA public key wraps with OAEP; node:crypto and the token private key unwrap it', () => {
      const { privateKey } = freshKeyPair('rsa', { modulusLength: 2048 });
      const jwk = privateKey.export({ format: 'jwk' });
      const b = (v?: string) => Buffer.from(v as string, 'base64url');
      const pub = m.p11.C_CreateObject(s, [
        { type: C.CKA_CLASS, value: C.CKO_PUBLIC_KEY },
        { type: C.CKA_KEY_TYPE, value: C.CKK_RSA },
        { type: C.CKA_MODULUS, value: b(jwk.n) },
        { type: C.CKA_PUBLIC_EXPONENT, value: b(jwk.e) },
        { type: C.CKA_WRAP, value: true },
      ]);
      const oaep = {
        type: C.CK_PARAMS_RSA_OAEP,
        hashAlg: C.CKM_SHA256,
        mgf: C.CKG_MGF1_SHA256,
        source: C.CKZ_DATA_SPECIFIED,
      };
      const wrapped = m.p11.C_WrapKey(
        s,
        { mechanism: C.CKM_RSA_PKCS_OAEP, parameter: oaep },
        pub,
        secret(),
        Buffer.alloc(256),
      );
      assert.deepEqual(
        privateDecrypt(
          { key: privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' },
          wrapped,
        ),
        SECRET,
      );
      const priv = m.p11.C_CreateObject(s, [
        { type: C.CKA_CLASS, value: C.CKO_PRIVATE_KEY },
        { type: C.CKA_KEY_TYPE, value: C.CKK_RSA },
        { type: C.CKA_MODULUS, value: b(jwk.n) },
        { type: C.CKA_PUBLIC_EXPONENT, value: b(jwk.e) },
        { type: C.CKA_PRIVATE_EXPONENT, value: b(jwk.d) },
        { type: C.CKA_PRIME_1, value: b(jwk.p) },
        { type: C.CKA_PRIME_2, value: b(jwk.q) },
        { type: C.CKA_EXPONENT_1, value: b(jwk.dp) },
        { type: C.CKA_EXPONENT_2, value: b(jwk.dq) },
        { type: C.CKA_COEFFICIENT, value: b(jwk.qi) },
        { type: C.CKA_UNWRAP, value: true },
      ]);
      const k = m.p11.C_UnwrapKey(
        s,
        { mechanism: C.CKM_RSA_PKCS_OAEP, parameter: oaep },
        priv,
        wrapped,
        [
          { type: C.CKA_CLASS, value: C.CKO_SECRET_KEY },
          { type: C.CKA_KEY_TYPE, value: C.CKK_AES },
          { type: C.CKA_EXTRACTABLE, value: true },
          { type: C.CKA_SENSITIVE, value: false },
        ],
      );
      assert.deepEqual(m.p11.C_GetAttributeValue(s, k, [{ type: C.CKA_VALUE }])[0]?.value, SECRET);
    });

    it('an unknown wrapping key → CKR_WRAPPING_KEY_HANDLE_INVALID; one without CKA_WRAP → CKR_KEY_FUNCTION_NOT_PERMITTED', () => {
      const bogus = Buffer.alloc(8);
      bogus.writeUInt32LE(99999);
      assertRv(() => wrap(C.CKM_AES_KEY_WRAP, secret(), bogus), C.CKR_WRAPPING_KEY_HANDLE_INVALID);
      const plain = m.p11.C_CreateObject(s, [
        { type: C.CKA_CLASS, value: C.CKO_SECRET_KEY },
        { type: C.CKA_KEY_TYPE, value: C.CKK_AES },
        { type: C.CKA_VALUE, value: KEK },
        { type: C.CKA_DECRYPT, value: false },
      ]);
      assertRv(() => wrap(C.CKM_AES_KEY_WRAP, secret(), plain), C.CKR_KEY_FUNCTION_NOT_PERMITTED);
    });
  });
}
