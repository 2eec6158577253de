/**
 * Derivation from secret keys (issue 14 §7; mechanisms/secret-derive.ts), per PAL port and profile: the values
 * against node:crypto and the spec's own example, the derived key's length and type, and the
 * attribute inheritance — sensitivity only goes up, a key made of unextractable bytes is not
 * extractable, ALWAYS_SENSITIVE / NEVER_EXTRACTABLE only when every base key was — and a derived copy
 * of a wrapping key never decrypts (role-history.ts).
 * @module
 */
import assert from 'node:assert/strict';
import { createCipheriv } from 'node:crypto';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { Handle, Template } from '../../src/api/convert.js';
import { ecPair } from '../helpers/keys.js';
import {
  assertRv,
  C,
  initializedModule,
  PAL_PORTS,
  TEST_TOKEN_OPTIONS,
  type TestModule,
  userSession,
} from '../helpers/token.js';

const A = Buffer.from('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f', 'hex');
const B = Buffer.from('f0e0d0c0b0a090807060504030201000', 'hex');
const DATA = Buffer.from('the data of the derivation, 32 b');
const IV = Buffer.alloc(16, 0x5a);

const on = (type: number) => ({ type, value: true });
const off = (type: number) => ({ type, value: false });
/** A generic secret, its other attributes left to the token. */
const bare: Template = [
  { type: C.CKA_CLASS, value: C.CKO_SECRET_KEY },
  { type: C.CKA_KEY_TYPE, value: C.CKK_GENERIC_SECRET },
];
/** A generic secret whose value can be read (a value is hidden when sensitive or unextractable). */
const generic = [...bare, off(C.CKA_SENSITIVE), on(C.CKA_EXTRACTABLE)];

for (const port of PAL_PORTS) {
  for (const profile of ['compatible', 'strict'] as const) {
    describe(`secret-key derivation [${port.name}, ${profile}]`, () => {
      let m: TestModule;
      let s: Handle;
      beforeEach(() => {
        m = initializedModule(port, { ...TEST_TOKEN_OPTIONS, profile });
        s = userSession(m);
      });
      afterEach(() => m.cleanup());

      /** A secret key that may derive and whose value can be read, but for what `extra` says. */
      const key = (value: Buffer, keyType: number, extra: Template = []) => {
        const t = [
          { type: C.CKA_CLASS, value: C.CKO_SECRET_KEY },
          { type: C.CKA_KEY_TYPE, value: keyType },
          { type: C.CKA_VALUE, value },
          on(C.CKA_DERIVE),
          off(C.CKA_SENSITIVE),
          on(C.CKA_EXTRACTABLE),
          ...extra,
        ];
        return m.p11.C_CreateObject(s, [...new Map(t.map((a) => [a.type, a])).values()]);
      };
      const derive = (mechanism: number, parameter: unknown, base: Handle, t: Template = generic) =>
        m.p11.C_DeriveKey(s, { mechanism, parameter } as never, base, t);
      const value = (h: Handle) =>
        m.p11.C_GetAttributeValue(s, h, [{ type: C.CKA_VALUE }])[0]?.value;
      const flags = (h: Handle, types: number[]) =>
        m.p11
          .C_GetAttributeValue(
            s,
            h,
            types.map((type) => ({ type })),
          )
          .map((a) => (a.value as Buffer)[0]);

      it('CKM_AES_ECB_ENCRYPT_DATA and CKM_AES_CBC_ENCRYPT_DATA encrypt the data under the base key → CKR_OK', () => {
        const aes = key(A, C.CKK_AES);
        const ecb = createCipheriv('aes-256-ecb', A, null).setAutoPadding(false).update(DATA);
        assert.deepEqual(value(derive(C.CKM_AES_ECB_ENCRYPT_DATA, DATA, aes)), ecb);
        const cbc = createCipheriv('aes-256-cbc', A, IV).setAutoPadding(false).update(DATA);
        const params = { type: C.CK_PARAMS_AES_CBC, iv: IV, data: DATA };
        const aesKey = [
          { type: C.CKA_CLASS, value: C.CKO_SECRET_KEY },
          { type: C.CKA_KEY_TYPE, value: C.CKK_AES },
          off(C.CKA_SENSITIVE),
          on(C.CKA_EXTRACTABLE),
        ];
        const d = derive(C.CKM_AES_CBC_ENCRYPT_DATA, params, aes, [
          ...aesKey,
          { type: C.CKA_VALUE_LEN, value: 16 },
        ]);
        assert.deepEqual(value(d), cbc.subarray(0, 16));
        // the derived AES key works as the AES key of that value
        m.p11.C_EncryptInit(s, { mechanism: C.CKM_AES_ECB }, d);
        const zero = m.p11.C_Encrypt(s, Buffer.alloc(16), Buffer.alloc(16));
        assert.deepEqual(
          zero,
          createCipheriv('aes-128-ecb', cbc.subarray(0, 16), null).update(Buffer.alloc(16)),
        );
      });

      it('CKM_CONCATENATE_BASE_AND_KEY, _BASE_AND_DATA, CKM_XOR_BASE_AND_DATA and CKM_EXTRACT_KEY_FROM_KEY → CKR_OK with the spec values', () => {
        const a = key(A, C.CKK_GENERIC_SECRET);
        const b = key(B, C.CKK_AES);
        assert.deepEqual(
          value(derive(C.CKM_CONCATENATE_BASE_AND_KEY, b, a)),
          Buffer.concat([A, B]),
        );
        assert.deepEqual(
          value(derive(C.CKM_CONCATENATE_BASE_AND_DATA, DATA, a)),
          Buffer.concat([A, DATA]),
        );
        // as long as the shorter input; CKA_VALUE_LEN takes the leading bytes
        const xor = Buffer.from(B.map((x, i) => x ^ (A[i] as number)));
        assert.deepEqual(value(derive(C.CKM_XOR_BASE_AND_DATA, A, key(B, C.CKK_AES))), xor);
        const len = (n: number) => [...generic, { type: C.CKA_VALUE_LEN, value: n }];
        assert.deepEqual(
          value(derive(C.CKM_XOR_BASE_AND_DATA, A, key(B, C.CKK_AES), len(5))),
          xor.subarray(0, 5),
        );
        // v2.40 §2.41.9's example: 0x329F84A9 from bit 21 on, two bytes, wrapping around → 0x9526
        const e = key(Buffer.from('329f84a9', 'hex'), C.CKK_GENERIC_SECRET);
        assert.deepEqual(
          value(derive(C.CKM_EXTRACT_KEY_FROM_KEY, 21, e, len(2))),
          Buffer.of(0x95, 0x26),
        );
        const info = m.p11.C_GetMechanismInfo(
          m.p11.C_GetSlotList(true)[0] as Buffer,
          C.CKM_EXTRACT_KEY_FROM_KEY,
        );
        assert.ok(info.flags & C.CKF_DERIVE);
      });

      it('lengths and parameters the derivation cannot give → CKR_ATTRIBUTE_VALUE_INVALID, CKR_TEMPLATE_INCONSISTENT, CKR_MECHANISM_PARAM_INVALID, CKR_KEY_HANDLE_INVALID', () => {
        const aes = key(A, C.CKK_AES);
        const aesOf = (n: number) => [
          { type: C.CKA_CLASS, value: C.CKO_SECRET_KEY },
          { type: C.CKA_KEY_TYPE, value: C.CKK_AES },
          { type: C.CKA_VALUE_LEN, value: n },
        ];
        // 20 bytes is no AES key length; 32 is, but 16 bytes of data give only 16
        assertRv(
          () => derive(C.CKM_AES_ECB_ENCRYPT_DATA, DATA, aes, aesOf(20)),
          C.CKR_ATTRIBUTE_VALUE_INVALID,
        );
        assertRv(
          () => derive(C.CKM_AES_ECB_ENCRYPT_DATA, DATA.subarray(0, 16), aes, aesOf(32)),
          C.CKR_TEMPLATE_INCONSISTENT,
        );
        assertRv(
          () => derive(C.CKM_AES_ECB_ENCRYPT_DATA, DATA.subarray(0, 20), aes),
          C.CKR_MECHANISM_PARAM_INVALID,
        );
        assertRv(
          () =>
            derive(
              C.CKM_AES_CBC_ENCRYPT_DATA,
              { type: C.CK_PARAMS_AES_CBC, iv: Buffer.alloc(8), data: DATA },
              aes,
            ),
          C.CKR_MECHANISM_PARAM_INVALID,
        );
        assertRv(() => derive(C.CKM_EXTRACT_KEY_FROM_KEY, 256, aes), C.CKR_MECHANISM_PARAM_INVALID);
        assertRv(
          () => derive(C.CKM_CONCATENATE_BASE_AND_KEY, 0x7777, aes),
          C.CKR_KEY_HANDLE_INVALID,
        );
        const kp = ecPair(m.p11, s, 'P-256');
        assertRv(
          () => derive(C.CKM_CONCATENATE_BASE_AND_KEY, kp.privateKey, aes),
          C.CKR_KEY_TYPE_INCONSISTENT,
        );
        assertRv(
          () => derive(C.CKM_XOR_BASE_AND_DATA, A, key(B, C.CKK_AES, [off(C.CKA_DERIVE)])),
          C.CKR_KEY_FUNCTION_NOT_PERMITTED,
        );
      });

      it('a length no AES key has, asked for or implied, is one rule for every derivation and key generation → CKR_ATTRIBUTE_VALUE_INVALID', () => {
        const aes = key(A, C.CKK_AES);
        const aesKey = [
          { type: C.CKA_CLASS, value: C.CKO_SECRET_KEY },
          { type: C.CKA_KEY_TYPE, value: C.CKK_AES },
        ];
        const aesOf = (n: number) => [...aesKey, { type: C.CKA_VALUE_LEN, value: n }];
        // CKA_VALUE_LEN 20, whichever mechanism derives it (SoftHSMv2 deriveSymmetric answers the same)
        for (const [mechanism, parameter] of [
          [C.CKM_CONCATENATE_BASE_AND_DATA, DATA],
          [C.CKM_CONCATENATE_BASE_AND_KEY, key(B, C.CKK_AES)],
          [C.CKM_XOR_BASE_AND_DATA, A],
          [C.CKM_EXTRACT_KEY_FROM_KEY, 3],
          [C.CKM_AES_ECB_ENCRYPT_DATA, DATA],
        ] as const) {
          assertRv(
            () => derive(mechanism, parameter, aes, aesOf(20)),
            C.CKR_ATTRIBUTE_VALUE_INVALID,
          );
        }
        // no CKA_VALUE_LEN: the 48 bytes of A ‖ B are no AES key either (SoftHSMv2's checkKeyLength)
        assertRv(
          () => derive(C.CKM_CONCATENATE_BASE_AND_KEY, key(B, C.CKK_AES), aes, aesKey),
          C.CKR_ATTRIBUTE_VALUE_INVALID,
        );
        // ECDH and key generation take the same shared check
        const kp = ecPair(m.p11, s, 'P-256', { private: [on(C.CKA_DERIVE)] });
        const point = m.p11.C_GetAttributeValue(s, kp.publicKey, [{ type: C.CKA_EC_POINT }])[0]
          ?.value as Buffer;
        const ecdh = { type: C.CK_PARAMS_EC_DH, kdf: C.CKD_NULL, publicData: point.subarray(2) };
        assertRv(
          () => derive(C.CKM_ECDH1_DERIVE, ecdh, kp.privateKey, aesOf(20)),
          C.CKR_ATTRIBUTE_VALUE_INVALID,
        );
        assertRv(
          () => m.p11.C_GenerateKey(s, { mechanism: C.CKM_AES_KEY_GEN }, aesOf(20)),
          C.CKR_ATTRIBUTE_VALUE_INVALID,
        );
        // a valid AES length the derivation has too few bytes for stays a template inconsistency
        assertRv(
          () => derive(C.CKM_XOR_BASE_AND_DATA, A, key(B, C.CKK_AES), aesOf(32)),
          C.CKR_TEMPLATE_INCONSISTENT,
        );
        // and a valid length is derived
        const ok = derive(C.CKM_CONCATENATE_BASE_AND_DATA, DATA, aes, [
          ...aesOf(24),
          off(C.CKA_SENSITIVE),
          on(C.CKA_EXTRACTABLE),
        ]);
        assert.deepEqual(value(ok), A.subarray(0, 24));
      });

      it('sensitivity only goes up, extractability only down; ALWAYS_SENSITIVE and NEVER_EXTRACTABLE only from keys that were → CKR_TEMPLATE_INCONSISTENT when asked otherwise', () => {
        const plain = key(A, C.CKK_AES, [off(C.CKA_SENSITIVE), on(C.CKA_EXTRACTABLE)]);
        const locked = m.p11.C_GenerateKey(s, { mechanism: C.CKM_AES_KEY_GEN }, [
          { type: C.CKA_VALUE_LEN, value: 16 },
          on(C.CKA_SENSITIVE),
          off(C.CKA_EXTRACTABLE),
          on(C.CKA_DERIVE),
        ]);
        const both = derive(C.CKM_CONCATENATE_BASE_AND_KEY, locked, plain, bare);
        assert.deepEqual(
          flags(both, [
            C.CKA_SENSITIVE,
            C.CKA_EXTRACTABLE,
            C.CKA_ALWAYS_SENSITIVE,
            C.CKA_NEVER_EXTRACTABLE,
          ]),
          [1, 0, 0, 0],
        );
        assertRv(
          () => m.p11.C_GetAttributeValue(s, both, [{ type: C.CKA_VALUE }]),
          C.CKR_ATTRIBUTE_SENSITIVE,
        );
        const fromLocked = derive(C.CKM_CONCATENATE_BASE_AND_DATA, DATA, locked, bare);
        assert.deepEqual(
          flags(fromLocked, [
            C.CKA_SENSITIVE,
            C.CKA_EXTRACTABLE,
            C.CKA_ALWAYS_SENSITIVE,
            C.CKA_NEVER_EXTRACTABLE,
          ]),
          [1, 0, 1, 1],
        );
        assertRv(
          () => derive(C.CKM_XOR_BASE_AND_DATA, DATA, locked, [...bare, off(C.CKA_SENSITIVE)]),
          C.CKR_TEMPLATE_INCONSISTENT,
        );
        assertRv(
          () => derive(C.CKM_XOR_BASE_AND_DATA, DATA, locked, [...bare, on(C.CKA_EXTRACTABLE)]),
          C.CKR_TEMPLATE_INCONSISTENT,
        );
        // encrypting data is no copy of the key's bytes: the derived key may be extractable, not readable
        const enc = derive(C.CKM_AES_ECB_ENCRYPT_DATA, DATA, locked, [
          ...bare,
          on(C.CKA_EXTRACTABLE),
        ]);
        assert.deepEqual(flags(enc, [C.CKA_SENSITIVE, C.CKA_EXTRACTABLE]), [1, 1]);
        assertRv(
          () => derive(C.CKM_AES_ECB_ENCRYPT_DATA, DATA, locked, generic),
          C.CKR_TEMPLATE_INCONSISTENT,
        );
        // a key derived from a key that is not sensitive follows its template
        const open = derive(C.CKM_XOR_BASE_AND_DATA, DATA, plain, generic);
        assert.equal(value(open)?.length, 32);
      });

      it('a wrapping key given back by a chain of derivations cannot decrypt → CKR_TEMPLATE_INCONSISTENT', () => {
        const w = key(A, C.CKK_AES, [
          on(C.CKA_WRAP),
          off(C.CKA_DECRYPT),
          off(C.CKA_UNWRAP),
          on(C.CKA_SENSITIVE),
        ]);
        const mask = Buffer.alloc(32, 0x3c);
        const masked = derive(C.CKM_XOR_BASE_AND_DATA, mask, w, [
          { type: C.CKA_CLASS, value: C.CKO_SECRET_KEY },
          { type: C.CKA_KEY_TYPE, value: C.CKK_AES },
          off(C.CKA_DECRYPT),
          on(C.CKA_DERIVE),
        ]);
        const aes32 = [
          { type: C.CKA_CLASS, value: C.CKO_SECRET_KEY },
          { type: C.CKA_KEY_TYPE, value: C.CKK_AES },
          { type: C.CKA_VALUE_LEN, value: 32 },
        ];
        const again = [...aes32, on(C.CKA_DECRYPT)];
        assertRv(
          () => derive(C.CKM_XOR_BASE_AND_DATA, mask, masked, again),
          C.CKR_TEMPLATE_INCONSISTENT,
        );
        assertRv(
          () => derive(C.CKM_EXTRACT_KEY_FROM_KEY, 0, w, again),
          C.CKR_TEMPLATE_INCONSISTENT,
        );
        // without decrypt it may be derived, and it is a wrapping key's copy: decrypt cannot be set later
        const copy = derive(C.CKM_EXTRACT_KEY_FROM_KEY, 0, w, [...aes32, off(C.CKA_DECRYPT)]);
        assertRv(
          () => m.p11.C_SetAttributeValue(s, copy, [on(C.CKA_DECRYPT)]),
          C.CKR_ATTRIBUTE_READ_ONLY,
        );
      });
    });
  }
}
