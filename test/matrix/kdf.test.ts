/**
 * The PKCS#11 3.0 key derivation and generation mechanisms: CKM_HKDF_DERIVE / CKM_HKDF_DATA against
 * RFC 5869's test cases and node:crypto's hkdfSync, CKM_PKCS5_PBKD2 against RFC 6070 and pbkdf2Sync,
 * and the 3.0 secret key generators.
 * @module
 */
import assert from 'node:assert/strict';
import { createCipheriv, createHmac, hkdfSync, pbkdf2Sync } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { Handle } from '../../src/api/convert.js';
import { CK_PARAMS_HKDF, CK_PARAMS_PKCS5_PBKD2 } from '../../src/pkcs11/params.js';
import {
  assertRv,
  C,
  initializedModule,
  PAL_PORTS,
  type TestModule,
  userSession,
} from '../helpers/token.js';
import { hex, loadVectors } from '../helpers/vectors.js';

const HKDF = loadVectors<{
  source: string;
  vectors: {
    name: string;
    hash: 'sha256' | 'sha1';
    ikm: string;
    salt: string;
    info: string;
    length: number;
    prk: string;
    okm: string;
  }[];
}>('rfc5869/hkdf.json');
const PBKDF2 = loadVectors<{
  source: string;
  vectors: { password: string; salt: string; iterations: number; length: number; dk: string }[];
}>('rfc6070/pbkdf2.json');
const DIGEST = { sha256: C.CKM_SHA256, sha1: C.CKM_SHA_1 } as const;
const EXPORTABLE = [
  { type: C.CKA_SENSITIVE, value: false },
  { type: C.CKA_EXTRACTABLE, value: true },
];

for (const port of PAL_PORTS) {
  describe(`HKDF, PBKDF2 and the 3.0 key generators [${port.name}]`, () => {
    let m: TestModule;
    let s: Handle;
    before(() => {
      m = initializedModule(port);
      s = userSession(m);
    });
    after(() => m.cleanup());

    const value = (h: Handle, type = C.CKA_VALUE) =>
      m.p11.C_GetAttributeValue(s, h, [{ type }])[0]?.value as Buffer;
    const ulong = (h: Handle, type: number) => value(h, type).readUInt32LE(0);
    const secret = (bytes: Buffer, keyType: number = C.CKK_GENERIC_SECRET, derive = true) =>
      m.p11.C_CreateObject(s, [
        { type: C.CKA_CLASS, value: C.CKO_SECRET_KEY },
        { type: C.CKA_KEY_TYPE, value: keyType },
        { type: C.CKA_VALUE, value: bytes },
        { type: C.CKA_DERIVE, value: derive },
      ]);
    const hkdf = (
      base: Handle,
      params: Record<string, unknown>,
      template: { type: number; value?: unknown }[] = [],
      mechanism: number = C.CKM_HKDF_DERIVE,
    ) =>
      m.p11.C_DeriveKey(
        s,
        { mechanism, parameter: { type: CK_PARAMS_HKDF, ...params } as never },
        base,
        [...(mechanism === C.CKM_HKDF_DATA ? [] : EXPORTABLE), ...template] as never,
      );
    const full = (v: (typeof HKDF.vectors)[number]) => ({
      extract: true,
      expand: true,
      prfHashMechanism: DIGEST[v.hash],
      saltType: v.salt === '' ? C.CKF_HKDF_SALT_NULL : C.CKF_HKDF_SALT_DATA,
      ...(v.salt === '' ? {} : { salt: hex(v.salt) }),
      info: hex(v.info),
    });

    for (const v of HKDF.vectors) {
      it(`CKM_HKDF_DERIVE gives RFC 5869 ${v.name}'s OKM, extract-only its PRK, expand-only the OKM from the PRK`, () => {
        const ikm = secret(hex(v.ikm));
        const okm = hkdf(ikm, full(v), [{ type: C.CKA_VALUE_LEN, value: v.length }]);
        assert.equal(value(okm).toString('hex'), v.okm);
        assert.equal(ulong(okm, C.CKA_KEY_TYPE), C.CKK_GENERIC_SECRET);
        const prk = hkdf(ikm, { ...full(v), expand: false }, [{ type: C.CKA_DERIVE, value: true }]);
        assert.equal(value(prk).toString('hex'), v.prk);
        const again = hkdf(prk, { ...full(v), extract: false }, [
          { type: C.CKA_VALUE_LEN, value: v.length },
        ]);
        assert.equal(value(again).toString('hex'), v.okm);
      });
    }

    it('CKM_HKDF_DERIVE with SHA-3 and SHA-384 equals node:crypto hkdfSync; an AES key of 32 bytes', () => {
      const ikm = Buffer.from('input keying material of some length');
      const base = secret(ikm, C.CKK_HKDF);
      for (const [hash, prf] of [
        ['sha3-256', C.CKM_SHA3_256],
        ['sha384', C.CKM_SHA384],
      ] as const) {
        const salt = Buffer.from('salt');
        const info = Buffer.from('info');
        const k = hkdf(
          base,
          {
            extract: true,
            expand: true,
            prfHashMechanism: prf,
            saltType: C.CKF_HKDF_SALT_DATA,
            salt,
            info,
          },
          [
            { type: C.CKA_KEY_TYPE, value: C.CKK_AES },
            { type: C.CKA_VALUE_LEN, value: 32 },
          ],
        );
        assert.equal(ulong(k, C.CKA_KEY_TYPE), C.CKK_AES);
        assert.deepEqual(value(k), Buffer.from(hkdfSync(hash, ikm, salt, info, 32)));
      }
    });

    it('CKF_HKDF_SALT_KEY takes the salt from a key the session can use (CKA_DERIVE)', () => {
      const v = HKDF.vectors[0] as (typeof HKDF.vectors)[number];
      const ikm = secret(hex(v.ikm));
      const saltKey = secret(hex(v.salt));
      const k = hkdf(ikm, { ...full(v), saltType: C.CKF_HKDF_SALT_KEY, salt: undefined, saltKey }, [
        { type: C.CKA_VALUE_LEN, value: v.length },
      ]);
      assert.equal(value(k).toString('hex'), v.okm);
      const noDerive = secret(hex(v.salt), C.CKK_GENERIC_SECRET, false);
      assertRv(
        () =>
          hkdf(ikm, {
            ...full(v),
            saltType: C.CKF_HKDF_SALT_KEY,
            salt: undefined,
            saltKey: noDerive,
          }),
        C.CKR_KEY_FUNCTION_NOT_PERMITTED,
      );
      const aes = secret(Buffer.alloc(16, 1), C.CKK_AES);
      assertRv(
        () =>
          hkdf(ikm, { ...full(v), saltType: C.CKF_HKDF_SALT_KEY, salt: undefined, saltKey: aes }),
        C.CKR_KEY_TYPE_INCONSISTENT,
      );
      assertRv(
        () =>
          hkdf(ikm, {
            ...full(v),
            saltType: C.CKF_HKDF_SALT_KEY,
            salt: undefined,
            saltKey: Buffer.from([99, 0, 0, 0, 0, 0, 0, 0]),
          }),
        C.CKR_KEY_HANDLE_INVALID,
      );
    });

    it('CKM_HKDF_DATA makes a data object holding the OKM (CKA_VALUE_LEN is its length, not an attribute)', () => {
      const v = HKDF.vectors[0] as (typeof HKDF.vectors)[number];
      const d = hkdf(
        secret(hex(v.ikm)),
        full(v),
        [
          { type: C.CKA_VALUE_LEN, value: v.length },
          { type: C.CKA_LABEL, value: 'okm' },
        ],
        C.CKM_HKDF_DATA,
      );
      assert.equal(ulong(d, C.CKA_CLASS), C.CKO_DATA);
      assert.equal(value(d).toString('hex'), v.okm);
      assert.equal(value(d, C.CKA_LABEL).toString(), 'okm');
    });

    it('bad CK_HKDF_PARAMS → CKR_MECHANISM_PARAM_INVALID; bad lengths → CKR_TEMPLATE_INCONSISTENT, CKR_ATTRIBUTE_VALUE_INVALID', () => {
      const v = HKDF.vectors[0] as (typeof HKDF.vectors)[number];
      const ikm = secret(hex(v.ikm));
      for (const bad of [
        { ...full(v), extract: false, expand: false },
        { ...full(v), prfHashMechanism: C.CKM_AES_ECB },
        { ...full(v), saltType: C.CKF_HKDF_SALT_NULL, salt: hex('01') },
        { ...full(v), saltType: C.CKF_HKDF_SALT_DATA, salt: undefined },
        { ...full(v), saltType: 8 },
      ]) {
        assertRv(() => hkdf(ikm, bad), C.CKR_MECHANISM_PARAM_INVALID);
      }
      assertRv(
        () => m.p11.C_DeriveKey(s, { mechanism: C.CKM_HKDF_DERIVE }, ikm, []),
        C.CKR_MECHANISM_PARAM_INVALID,
      );
      // extract-only gives exactly HashLen bytes; a generic secret is 1..512 bytes
      assertRv(
        () => hkdf(ikm, { ...full(v), expand: false }, [{ type: C.CKA_VALUE_LEN, value: 16 }]),
        C.CKR_TEMPLATE_INCONSISTENT,
      );
      assertRv(
        () => hkdf(ikm, { ...full(v), extract: false }, [{ type: C.CKA_VALUE_LEN, value: 513 }]),
        C.CKR_ATTRIBUTE_VALUE_INVALID,
      );
      const aes = secret(Buffer.alloc(16, 1), C.CKK_AES);
      assertRv(() => hkdf(aes, full(v)), C.CKR_KEY_TYPE_INCONSISTENT);
    });

    for (const v of PBKDF2.vectors) {
      it(`CKM_PKCS5_PBKD2 with HMAC-SHA1 gives RFC 6070's key for ${v.iterations} iteration(s)`, () => {
        const k = m.p11.C_GenerateKey(
          s,
          {
            mechanism: C.CKM_PKCS5_PBKD2,
            parameter: {
              type: CK_PARAMS_PKCS5_PBKD2,
              saltSource: C.CKZ_SALT_SPECIFIED,
              saltSourceData: Buffer.from(v.salt),
              iterations: v.iterations,
              prf: C.CKP_PKCS5_PBKD2_HMAC_SHA1,
              password: Buffer.from(v.password),
            } as never,
          },
          [...EXPORTABLE, { type: C.CKA_VALUE_LEN, value: v.length }],
        );
        assert.equal(value(k).toString('hex'), v.dk);
        assert.equal(ulong(k, C.CKA_KEY_GEN_MECHANISM), C.CKM_PKCS5_PBKD2);
      });
    }

    it('CKM_PKCS5_PBKD2 with SHA-256/512-256 makes AES keys equal to pbkdf2Sync; bad parameters → CKR_MECHANISM_PARAM_INVALID', () => {
      const params = {
        type: CK_PARAMS_PKCS5_PBKD2,
        saltSource: C.CKZ_SALT_SPECIFIED,
        saltSourceData: Buffer.from('NaCl'),
        iterations: 1000,
        prf: C.CKP_PKCS5_PBKD2_HMAC_SHA256,
        password: Buffer.from('pass phrase'),
      };
      const gen = (p: object, template: { type: number; value: unknown }[]) =>
        m.p11.C_GenerateKey(s, { mechanism: C.CKM_PKCS5_PBKD2, parameter: p as never }, [
          ...EXPORTABLE,
          ...template,
        ] as never);
      for (const [prf, hash] of [
        [C.CKP_PKCS5_PBKD2_HMAC_SHA256, 'sha256'],
        [C.CKP_PKCS5_PBKD2_HMAC_SHA512_256, 'sha512-256'],
      ] as const) {
        const k = gen({ ...params, prf }, [
          { type: C.CKA_KEY_TYPE, value: C.CKK_AES },
          { type: C.CKA_VALUE_LEN, value: 24 },
        ]);
        assert.deepEqual(value(k), pbkdf2Sync('pass phrase', 'NaCl', 1000, 24, hash));
      }
      for (const bad of [
        { ...params, prf: C.CKP_PKCS5_PBKD2_HMAC_GOSTR3411 },
        { ...params, saltSource: 2 },
        { ...params, iterations: 0 },
        { ...params, iterations: 1e9 },
        { ...params, prfData: Buffer.from([1]) },
      ]) {
        assertRv(
          () => gen(bad, [{ type: C.CKA_VALUE_LEN, value: 16 }]),
          C.CKR_MECHANISM_PARAM_INVALID,
        );
      }
      assertRv(() => gen(params, []), C.CKR_TEMPLATE_INCOMPLETE);
      assertRv(
        () =>
          gen(params, [
            { type: C.CKA_KEY_TYPE, value: C.CKK_AES },
            { type: C.CKA_VALUE_LEN, value: 20 },
          ]),
        C.CKR_ATTRIBUTE_VALUE_INVALID,
      );
    });

    it('the 3.0 key generators make keys of their type and size; HMAC keys they make work with their HMAC', () => {
      const gen = (mechanism: number, template: { type: number; value: unknown }[] = []) =>
        m.p11.C_GenerateKey(s, { mechanism }, [
          ...EXPORTABLE,
          { type: C.CKA_SIGN, value: true },
          ...template,
        ] as never);
      const chacha = gen(C.CKM_CHACHA20_KEY_GEN);
      assert.equal(ulong(chacha, C.CKA_KEY_TYPE), C.CKK_CHACHA20);
      assert.equal(value(chacha).length, 32);
      const xts = gen(C.CKM_AES_XTS_KEY_GEN, [{ type: C.CKA_VALUE_LEN, value: 64 }]);
      assert.equal(ulong(xts, C.CKA_KEY_TYPE), C.CKK_AES_XTS);
      assert.equal(value(xts).length, 64);
      assertRv(
        () => gen(C.CKM_AES_XTS_KEY_GEN, [{ type: C.CKA_VALUE_LEN, value: 48 }]),
        C.CKR_ATTRIBUTE_VALUE_INVALID,
      );
      const hkdfKey = gen(C.CKM_HKDF_KEY_GEN, [{ type: C.CKA_VALUE_LEN, value: 40 }]);
      assert.equal(ulong(hkdfKey, C.CKA_KEY_TYPE), C.CKK_HKDF);
      const hmacKey = gen(C.CKM_SHA3_256_KEY_GEN, [{ type: C.CKA_VALUE_LEN, value: 32 }]);
      assert.equal(ulong(hmacKey, C.CKA_KEY_TYPE), C.CKK_SHA3_256_HMAC);
      m.p11.C_SignInit(s, { mechanism: C.CKM_SHA3_256_HMAC }, hmacKey);
      const mac = m.p11.C_Sign(s, Buffer.from('data'), Buffer.alloc(32));
      assert.deepEqual(mac, createHmac('sha3-256', value(hmacKey)).update('data').digest());
      assertRv(
        () => gen(C.CKM_CHACHA20_KEY_GEN, [{ type: C.CKA_KEY_TYPE, value: C.CKK_AES }]),
        C.CKR_TEMPLATE_INCONSISTENT,
      );
    });

    it("CKM_AES_ECB/CBC_ENCRYPT_DATA: the key is node:crypto's AES encryption of the data, cut to CKA_VALUE_LEN", () => {
      const keyBytes = Buffer.from(
        '000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f',
        'hex',
      );
      const base = secret(keyBytes, C.CKK_AES);
      const data = Buffer.from('0123456789abcdef'.repeat(2));
      const iv = Buffer.alloc(16, 7);
      const theirs = (mode: 'ecb' | 'cbc') => {
        const c = createCipheriv(`aes-256-${mode}`, keyBytes, mode === 'ecb' ? null : iv);
        c.setAutoPadding(false);
        return c.update(data);
      };
      const ecb = m.p11.C_DeriveKey(
        s,
        { mechanism: C.CKM_AES_ECB_ENCRYPT_DATA, parameter: data },
        base,
        EXPORTABLE,
      );
      assert.deepEqual(value(ecb), theirs('ecb'));
      const cbc = m.p11.C_DeriveKey(
        s,
        {
          mechanism: C.CKM_AES_CBC_ENCRYPT_DATA,
          parameter: { type: C.CK_PARAMS_AES_CBC, iv, data } as never,
        },
        base,
        [
          ...EXPORTABLE,
          { type: C.CKA_KEY_TYPE, value: C.CKK_AES },
          { type: C.CKA_VALUE_LEN, value: 16 },
        ],
      );
      assert.deepEqual(value(cbc), theirs('cbc').subarray(0, 16));
      assertRv(
        () =>
          m.p11.C_DeriveKey(
            s,
            { mechanism: C.CKM_AES_ECB_ENCRYPT_DATA, parameter: data.subarray(0, 20) },
            base,
            EXPORTABLE,
          ),
        C.CKR_MECHANISM_PARAM_INVALID,
      );
      assertRv(
        () =>
          m.p11.C_DeriveKey(s, { mechanism: C.CKM_AES_ECB_ENCRYPT_DATA, parameter: data }, base, [
            ...EXPORTABLE,
            { type: C.CKA_VALUE_LEN, value: 40 },
          ]),
        C.CKR_TEMPLATE_INCONSISTENT,
      );
    });

    it('an AES-XTS key whose halves are equal → CKR_ATTRIBUTE_VALUE_INVALID', () => {
      assertRv(() => secret(Buffer.alloc(32, 7), C.CKK_AES_XTS), C.CKR_ATTRIBUTE_VALUE_INVALID);
      assertRv(() => secret(Buffer.alloc(31, 7), C.CKK_CHACHA20), C.CKR_ATTRIBUTE_VALUE_INVALID);
    });
  });
}
