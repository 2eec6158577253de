/**
 * The legacy algorithms SoftHSMv2 offers, on `compatible` tokens only: DES/DES2/DES3 keys with odd
 * parity, ECB/CBC/CBC_PAD against FIPS 81's examples and node:crypto, CKM_DES3_CMAC against OpenSSL's
 * CMAC, the DES *_ENCRYPT_DATA derivations, MD5, MD5-HMAC and MD5-RSA-PKCS; and their absence from
 * `strict` tokens.
 * @module
 */
import assert from 'node:assert/strict';
import { createCipheriv, createHash, createHmac, randomBytes, verify } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { Handle } from '../../src/api/convert.js';
import { freshRsaMaterial } from '../helpers/material.js';
import {
  assertRv,
  C,
  initializedModule,
  PAL_PORTS,
  TEST_TOKEN_OPTIONS,
  type TestModule,
  userSession,
} from '../helpers/token.js';
import { hex, loadVectors } from '../helpers/vectors.js';
import { OPENSSL_MISSING, openssl, scratch } from '../unit/helpers/openssl.js';

const FIPS81 = loadVectors<{
  source: string;
  key: string;
  iv: string;
  plaintext: string;
  ecb: string;
  cbc: string;
}>('fips81/des.json');
const MD5 = loadVectors<{
  source: string;
  digests: { message: string; md5: string }[];
  hmac: { key: string; data: string; mac: string }[];
}>('rfc1321/md5.json');

/** Odd parity in every byte (the check written out here, apart from the token's). */
const oddParity = (k: Buffer) => [...k].every((b) => b.toString(2).split('1').length % 2 === 0);

for (const port of PAL_PORTS) {
  describe(`DES, 3DES and MD5 on a compatible token [${port.name}]`, () => {
    let m: TestModule;
    let s: Handle;
    before(() => {
      m = initializedModule(port);
      s = userSession(m);
    });
    after(() => m.cleanup());

    const get = (h: Handle, type = C.CKA_VALUE) =>
      m.p11.C_GetAttributeValue(s, h, [{ type }])[0]?.value as Buffer;
    const key = (keyType: number, value: Buffer, extra: { type: number; value: unknown }[] = []) =>
      m.p11.C_CreateObject(s, [
        { type: C.CKA_CLASS, value: C.CKO_SECRET_KEY },
        { type: C.CKA_KEY_TYPE, value: keyType },
        { type: C.CKA_VALUE, value },
        { type: C.CKA_ENCRYPT, value: true },
        { type: C.CKA_DECRYPT, value: true },
        { type: C.CKA_SIGN, value: true },
        { type: C.CKA_VERIFY, value: true },
        { type: C.CKA_DERIVE, value: true },
        ...extra,
      ] as never);
    const crypt = (
      encrypt: boolean,
      mechanism: number,
      parameter: Buffer | undefined,
      k: Handle,
      data: Buffer,
    ) => {
      const mech = parameter ? { mechanism, parameter } : { mechanism };
      if (encrypt) m.p11.C_EncryptInit(s, mech, k);
      else m.p11.C_DecryptInit(s, mech, k);
      const out = Buffer.alloc(data.length + 16);
      return Buffer.from(encrypt ? m.p11.C_Encrypt(s, data, out) : m.p11.C_Decrypt(s, data, out));
    };

    it('CKM_DES_ECB and CKM_DES_CBC give FIPS 81 Appendix B and C on "Now is the time for all "', () => {
      const k = key(C.CKK_DES, hex(FIPS81.key));
      const plain = Buffer.from(FIPS81.plaintext, 'ascii');
      assert.equal(crypt(true, C.CKM_DES_ECB, undefined, k, plain).toString('hex'), FIPS81.ecb);
      assert.equal(
        crypt(true, C.CKM_DES_CBC, hex(FIPS81.iv), k, plain).toString('hex'),
        FIPS81.cbc,
      );
      assert.deepEqual(crypt(false, C.CKM_DES_CBC, hex(FIPS81.iv), k, hex(FIPS81.cbc)), plain);
    });

    it('key generation: DES, DES2 and DES3 keys of 8, 16 and 24 bytes with odd parity, local', () => {
      for (const [mech, keyType, length] of [
        [C.CKM_DES_KEY_GEN, C.CKK_DES, 8],
        [C.CKM_DES2_KEY_GEN, C.CKK_DES2, 16],
        [C.CKM_DES3_KEY_GEN, C.CKK_DES3, 24],
      ] as const) {
        for (let i = 0; i < 4; i++) {
          const k = m.p11.C_GenerateKey(s, { mechanism: mech }, [
            { type: C.CKA_SENSITIVE, value: false },
            { type: C.CKA_EXTRACTABLE, value: true },
          ]);
          assert.equal(get(k, C.CKA_KEY_TYPE).readUInt32LE(0), keyType);
          const v = get(k);
          assert.equal(v.length, length);
          assert.ok(oddParity(v), `parity of ${v.toString('hex')}`);
        }
      }
    });

    it('CKA_CHECK_VALUE of a DES key: the first 3 bytes of its encryption of a zero block', () => {
      const k = key(C.CKK_DES, hex(FIPS81.key));
      const c = createCipheriv(
        'des-ede3-ecb',
        Buffer.concat([hex(FIPS81.key), hex(FIPS81.key), hex(FIPS81.key)]),
        null,
      );
      assert.deepEqual(get(k, C.CKA_CHECK_VALUE), c.update(Buffer.alloc(8)).subarray(0, 3));
    });

    it('a DES key without odd parity, or of the wrong length → CKR_ATTRIBUTE_VALUE_INVALID', () => {
      assertRv(() => key(C.CKK_DES, hex('0123456789abcdee')), C.CKR_ATTRIBUTE_VALUE_INVALID);
      assertRv(() => key(C.CKK_DES3, hex(FIPS81.key)), C.CKR_ATTRIBUTE_VALUE_INVALID);
    });

    it('CKM_DES3_ECB/CBC/CBC_PAD with DES2 (K1‖K2‖K1) and DES3 keys equal node:crypto des-ede3', () => {
      for (const length of [16, 24]) {
        const k = m.p11.C_GenerateKey(
          s,
          { mechanism: length === 16 ? C.CKM_DES2_KEY_GEN : C.CKM_DES3_KEY_GEN },
          [
            { type: C.CKA_SENSITIVE, value: false },
            { type: C.CKA_EXTRACTABLE, value: true },
          ],
        );
        const v = get(k);
        const ede3 = length === 16 ? Buffer.concat([v, v.subarray(0, 8)]) : v;
        const iv = randomBytes(8);
        const data = randomBytes(40);
        const theirs = (mode: string, padding: boolean, input: Buffer) => {
          const c = createCipheriv(`des-ede3-${mode}`, ede3, mode === 'ecb' ? null : iv);
          c.setAutoPadding(padding);
          return Buffer.concat([c.update(input), c.final()]);
        };
        assert.deepEqual(
          crypt(true, C.CKM_DES3_ECB, undefined, k, data),
          theirs('ecb', false, data),
        );
        assert.deepEqual(crypt(true, C.CKM_DES3_CBC, iv, k, data), theirs('cbc', false, data));
        const odd = data.subarray(0, 37);
        const padded = theirs('cbc', true, odd);
        assert.deepEqual(crypt(true, C.CKM_DES3_CBC_PAD, iv, k, odd), padded);
        assert.deepEqual(crypt(false, C.CKM_DES3_CBC_PAD, iv, k, padded), odd);
        assertRv(() => crypt(true, C.CKM_DES3_CBC, iv, k, odd), C.CKR_DATA_LEN_RANGE);
        assertRv(
          () => crypt(true, C.CKM_DES3_CBC, randomBytes(16), k, data),
          C.CKR_MECHANISM_PARAM_INVALID,
        );
      }
      const des = key(C.CKK_DES, hex(FIPS81.key));
      assertRv(
        () => m.p11.C_EncryptInit(s, { mechanism: C.CKM_DES3_ECB }, des),
        C.CKR_KEY_TYPE_INCONSISTENT,
      );
    });

    it("CKM_DES3_CMAC and CKM_DES3_CMAC_GENERAL equal OpenSSL's CMAC with DES-EDE3-CBC", {
      skip: OPENSSL_MISSING,
    }, () => {
      const { dir, cleanup } = scratch();
      try {
        const k24 = hex('0123456789abcdef23456789abcdef01456789abcdef0123');
        const k = key(C.CKK_DES3, k24);
        for (const data of [
          '',
          'abc',
          'exactly16bytes!!',
          'a message longer than two DES blocks',
        ]) {
          const expected = openssl(
            ['mac', '-cipher', 'DES-EDE3-CBC', '-macopt', `hexkey:${k24.toString('hex')}`, 'CMAC'],
            dir,
            data,
          )
            .trim()
            .toLowerCase();
          m.p11.C_SignInit(s, { mechanism: C.CKM_DES3_CMAC }, k);
          assert.equal(
            Buffer.from(m.p11.C_Sign(s, Buffer.from(data), Buffer.alloc(8))).toString('hex'),
            expected,
            data,
          );
          m.p11.C_SignInit(s, { mechanism: C.CKM_DES3_CMAC_GENERAL, parameter: 4 }, k);
          assert.equal(
            Buffer.from(m.p11.C_Sign(s, Buffer.from(data), Buffer.alloc(8))).toString('hex'),
            expected.slice(0, 8),
          );
        }
      } finally {
        cleanup();
      }
    });

    it('CKM_DES3_ECB_ENCRYPT_DATA / CKM_DES_CBC_ENCRYPT_DATA: the new key is the encryption of the data (DES keys with parity)', () => {
      const v = hex('0123456789abcdef23456789abcdef01456789abcdef0123');
      const base = key(C.CKK_DES3, v);
      const data = randomBytes(24);
      const derived = m.p11.C_DeriveKey(
        s,
        { mechanism: C.CKM_DES3_ECB_ENCRYPT_DATA, parameter: data },
        base,
        [
          { type: C.CKA_CLASS, value: C.CKO_SECRET_KEY },
          { type: C.CKA_KEY_TYPE, value: C.CKK_GENERIC_SECRET },
          { type: C.CKA_SENSITIVE, value: false },
          { type: C.CKA_EXTRACTABLE, value: true },
        ],
      );
      const c = createCipheriv('des-ede3-ecb', v, null);
      c.setAutoPadding(false);
      assert.deepEqual(get(derived), c.update(data));
      const des = key(C.CKK_DES, hex(FIPS81.key));
      const iv = hex(FIPS81.iv);
      const derived3 = m.p11.C_DeriveKey(
        s,
        {
          mechanism: C.CKM_DES_CBC_ENCRYPT_DATA,
          parameter: {
            type: C.CK_PARAMS_DES_CBC_ENCRYPT_DATA,
            iv,
            data: Buffer.from(FIPS81.plaintext),
          } as never,
        },
        des,
        [
          { type: C.CKA_CLASS, value: C.CKO_SECRET_KEY },
          { type: C.CKA_KEY_TYPE, value: C.CKK_DES3 },
          { type: C.CKA_SENSITIVE, value: false },
          { type: C.CKA_EXTRACTABLE, value: true },
        ],
      );
      const value = get(derived3);
      assert.ok(oddParity(value));
      // FIPS 81's CBC ciphertext with each byte's low (parity) bit set for odd parity.
      const expected = hex(FIPS81.cbc);
      assert.deepEqual(
        Buffer.from(value.map((b) => b & 0xfe)),
        Buffer.from(expected.map((b) => b & 0xfe)),
      );
      assertRv(
        () =>
          m.p11.C_DeriveKey(
            s,
            { mechanism: C.CKM_DES3_ECB_ENCRYPT_DATA, parameter: randomBytes(12) },
            base,
            [],
          ),
        C.CKR_MECHANISM_PARAM_INVALID,
      );
    });

    it("CKM_MD5 gives RFC 1321's digests; CKM_MD5_HMAC RFC 2202's MACs", () => {
      for (const v of MD5.digests) {
        m.p11.C_DigestInit(s, { mechanism: C.CKM_MD5 });
        assert.equal(
          Buffer.from(m.p11.C_Digest(s, Buffer.from(v.message), Buffer.alloc(16))).toString('hex'),
          v.md5,
        );
      }
      for (const v of MD5.hmac) {
        const k = key(C.CKK_MD5_HMAC, hex(v.key));
        m.p11.C_SignInit(s, { mechanism: C.CKM_MD5_HMAC }, k);
        assert.equal(
          Buffer.from(m.p11.C_Sign(s, Buffer.from(v.data), Buffer.alloc(16))).toString('hex'),
          v.mac,
        );
      }
      const big = randomBytes(100_000);
      m.p11.C_DigestInit(s, { mechanism: C.CKM_MD5 });
      m.p11.C_DigestUpdate(s, big.subarray(0, 3));
      m.p11.C_DigestUpdate(s, big.subarray(3));
      assert.deepEqual(
        m.p11.C_DigestFinal(s, Buffer.alloc(16)),
        createHash('md5').update(big).digest(),
      );
      const secret = randomBytes(20);
      const g = key(C.CKK_GENERIC_SECRET, secret);
      m.p11.C_SignInit(s, { mechanism: C.CKM_MD5_HMAC_GENERAL, parameter: 10 }, g);
      assert.deepEqual(
        m.p11.C_Sign(s, big, Buffer.alloc(16)),
        createHmac('md5', secret).update(big).digest().subarray(0, 10),
      );
    });

    it('CKM_MD5_RSA_PKCS signatures verify with node:crypto as RSA-MD5', () => {
      const material = freshRsaMaterial(1024);
      const priv = m.p11.C_CreateObject(s, [
        { type: C.CKA_CLASS, value: C.CKO_PRIVATE_KEY },
        { type: C.CKA_KEY_TYPE, value: C.CKK_RSA },
        { type: C.CKA_MODULUS, value: Buffer.from(material.n) },
        { type: C.CKA_PUBLIC_EXPONENT, value: Buffer.from(material.e) },
        { type: C.CKA_PRIVATE_EXPONENT, value: Buffer.from(material.d) },
        { type: C.CKA_SIGN, value: true },
      ]);
      const data = Buffer.from('signed with MD5, for old clients');
      m.p11.C_SignInit(s, { mechanism: C.CKM_MD5_RSA_PKCS }, priv);
      const sig = m.p11.C_Sign(s, data, Buffer.alloc(128));
      assert.ok(verify('md5', data, material.publicKey, sig));
    });
  });

  describe(`no DES or MD5 on a strict token [${port.name}]`, () => {
    let m: TestModule;
    let s: Handle;
    before(() => {
      m = initializedModule(port, { ...TEST_TOKEN_OPTIONS, profile: 'strict' });
      s = userSession(m);
    });
    after(() => m.cleanup());

    it('the legacy mechanisms → CKR_MECHANISM_INVALID; DES and MD5-HMAC keys → CKR_ATTRIBUTE_VALUE_INVALID', () => {
      const listed = m.p11.C_GetMechanismList(m.slot);
      for (const mech of [
        C.CKM_DES_KEY_GEN,
        C.CKM_DES3_CBC,
        C.CKM_DES3_CMAC,
        C.CKM_DES_ECB_ENCRYPT_DATA,
        C.CKM_MD5,
        C.CKM_MD5_HMAC,
        C.CKM_MD5_RSA_PKCS,
      ]) {
        assert.ok(!listed.includes(mech), C.CKM_NAMES.get(mech));
        assertRv(() => m.p11.C_GetMechanismInfo(m.slot, mech), C.CKR_MECHANISM_INVALID);
      }
      assertRv(() => m.p11.C_DigestInit(s, { mechanism: C.CKM_MD5 }), C.CKR_MECHANISM_INVALID);
      assertRv(
        () => m.p11.C_GenerateKey(s, { mechanism: C.CKM_DES3_KEY_GEN }, []),
        C.CKR_MECHANISM_INVALID,
      );
      for (const [keyType, value] of [
        [C.CKK_DES3, hex('0123456789abcdef23456789abcdef01456789abcdef0123')],
        [C.CKK_MD5_HMAC, randomBytes(16)],
      ] as const) {
        assertRv(
          () =>
            m.p11.C_CreateObject(s, [
              { type: C.CKA_CLASS, value: C.CKO_SECRET_KEY },
              { type: C.CKA_KEY_TYPE, value: keyType },
              { type: C.CKA_VALUE, value },
            ]),
          C.CKR_ATTRIBUTE_VALUE_INVALID,
        );
      }
    });
  });
}
