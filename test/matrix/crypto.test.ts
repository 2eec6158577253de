import assert from 'node:assert/strict';
import * as nodeCrypto from 'node:crypto';
import { constants, createHash, createHmac, verify } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { Handle } from '../../src/api/convert.js';
import { freshKeyPair } from '../helpers/keypair.js';
import { ecPair, ecPointOf, ecPublicObject, publicKeyOf, rsaPair } from '../helpers/keys.js';
import {
  assertRv,
  assertRvAsync,
  C,
  initializedModule,
  PAL_PORTS,
  type TestModule,
  userSession,
} from '../helpers/token.js';

const DATA = Buffer.from('The quick brown fox jumps over the lazy dog');
const DIGEST_INFO_SHA256 = Buffer.from('3031300d060960864801650304020105000420', 'hex');

for (const port of PAL_PORTS) {
  describe(`sign and verify [${port.name}]`, () => {
    let m: TestModule;
    let s: Handle;
    let rsa: { publicKey: Handle; privateKey: Handle };
    let ec: { publicKey: Handle; privateKey: Handle };
    before(() => {
      m = initializedModule(port);
      s = userSession(m);
      const token = [{ type: C.CKA_TOKEN, value: true }];
      rsa = rsaPair(m.p11, s, 2048, { public: token, private: token });
      ec = ecPair(m.p11, s, 'P-256', { private: [{ type: C.CKA_SIGN, value: true }] });
    });
    after(() => m.cleanup());

    /** node:crypto's verdict on an RSA-PSS signature of DATA by the test's RSA key. */
    const pssVerifies = (hash: string, sig: Buffer, saltLength: number) => {
      const key = publicKeyOf(m.p11, s, rsa.publicKey);
      return verify(hash, DATA, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength }, sig);
    };

    const sign = (mech: number, key: Handle, data: Buffer, parameter?: object) => {
      m.p11.C_SignInit(s, { mechanism: mech, parameter: parameter as never }, key);
      return m.p11.C_Sign(s, data, Buffer.alloc(1024));
    };

    it('CKM_RSA_PKCS signs a DigestInfo that node:crypto verifies as SHA-256 PKCS#1 v1.5', () => {
      const info = Buffer.concat([DIGEST_INFO_SHA256, createHash('sha256').update(DATA).digest()]);
      const sig = sign(C.CKM_RSA_PKCS, rsa.privateKey, info);
      assert.equal(sig.length, 256);
      assert.ok(verify('sha256', DATA, publicKeyOf(m.p11, s, rsa.publicKey), sig));
      m.p11.C_VerifyInit(s, { mechanism: C.CKM_RSA_PKCS }, rsa.publicKey);
      assert.equal(m.p11.C_Verify(s, info, sig), true);
    });

    it('CKM_RSA_PKCS verify really verifies → CKR_SIGNATURE_INVALID for a forged signature', () => {
      const info = Buffer.concat([DIGEST_INFO_SHA256, Buffer.alloc(32)]);
      const sig = sign(C.CKM_RSA_PKCS, rsa.privateKey, info);
      sig[100] = (sig[100] as number) ^ 0x10;
      m.p11.C_VerifyInit(s, { mechanism: C.CKM_RSA_PKCS }, rsa.publicKey);
      assertRv(() => m.p11.C_Verify(s, info, sig), C.CKR_SIGNATURE_INVALID);
      m.p11.C_VerifyInit(s, { mechanism: C.CKM_RSA_PKCS }, rsa.publicKey);
      assertRv(() => m.p11.C_Verify(s, info, Buffer.alloc(255)), C.CKR_SIGNATURE_LEN_RANGE);
    });

    it('CKM_RSA_PKCS input longer than k-11 → CKR_DATA_LEN_RANGE', () => {
      m.p11.C_SignInit(s, { mechanism: C.CKM_RSA_PKCS }, rsa.privateKey);
      assertRv(() => m.p11.C_Sign(s, Buffer.alloc(246), Buffer.alloc(256)), C.CKR_DATA_LEN_RANGE);
      // the error ended the operation
      assertRv(
        () => m.p11.C_Sign(s, Buffer.alloc(10), Buffer.alloc(256)),
        C.CKR_OPERATION_NOT_INITIALIZED,
      );
    });

    for (const [mech, hash] of [
      [C.CKM_SHA1_RSA_PKCS, 'sha1'],
      [C.CKM_SHA256_RSA_PKCS, 'sha256'],
      [C.CKM_SHA384_RSA_PKCS, 'sha384'],
      [C.CKM_SHA512_RSA_PKCS, 'sha512'],
    ] as const) {
      it(`${C.CKM_NAMES.get(mech)} multi-part equals single-part and node:crypto verifies it`, () => {
        const one = sign(mech, rsa.privateKey, DATA);
        m.p11.C_SignInit(s, { mechanism: mech }, rsa.privateKey);
        m.p11.C_SignUpdate(s, DATA.subarray(0, 10));
        m.p11.C_SignUpdate(s, DATA.subarray(10));
        const multi = m.p11.C_SignFinal(s, Buffer.alloc(256));
        assert.deepEqual(multi, one);
        assert.ok(verify(hash, DATA, publicKeyOf(m.p11, s, rsa.publicKey), one));
        m.p11.C_VerifyInit(s, { mechanism: mech }, rsa.publicKey);
        m.p11.C_VerifyUpdate(s, DATA);
        assert.equal(m.p11.C_VerifyFinal(s, one), true);
      });
    }

    it('CKM_RSA_PKCS_PSS signs a digest; node:crypto verifies with PSS', () => {
      const digest = createHash('sha256').update(DATA).digest();
      const params = {
        type: C.CK_PARAMS_RSA_PSS,
        hashAlg: C.CKM_SHA256,
        mgf: C.CKG_MGF1_SHA256,
        saltLen: 32,
      };
      const sig = sign(C.CKM_RSA_PKCS_PSS, rsa.privateKey, digest, params);
      assert.ok(pssVerifies('sha256', sig, 32));
      m.p11.C_VerifyInit(s, { mechanism: C.CKM_RSA_PKCS_PSS, parameter: params }, rsa.publicKey);
      assert.equal(m.p11.C_Verify(s, digest, sig), true);
    });

    it('CKM_RSA_PKCS_PSS with a digest of the wrong length → CKR_DATA_LEN_RANGE', () => {
      const params = {
        type: C.CK_PARAMS_RSA_PSS,
        hashAlg: C.CKM_SHA256,
        mgf: C.CKG_MGF1_SHA256,
        saltLen: 32,
      };
      m.p11.C_SignInit(s, { mechanism: C.CKM_RSA_PKCS_PSS, parameter: params }, rsa.privateKey);
      assertRv(() => m.p11.C_Sign(s, Buffer.alloc(31), Buffer.alloc(256)), C.CKR_DATA_LEN_RANGE);
    });

    it('CKM_RSA_PKCS_PSS without parameters → CKR_MECHANISM_PARAM_INVALID', () => {
      assertRv(
        () => m.p11.C_SignInit(s, { mechanism: C.CKM_RSA_PKCS_PSS }, rsa.privateKey),
        C.CKR_MECHANISM_PARAM_INVALID,
      );
    });

    it('CKM_SHA384_RSA_PKCS_PSS: multi-part, verified by node:crypto', () => {
      const params = {
        type: C.CK_PARAMS_RSA_PSS,
        hashAlg: C.CKM_SHA384,
        mgf: C.CKG_MGF1_SHA384,
        saltLen: 48,
      };
      m.p11.C_SignInit(
        s,
        { mechanism: C.CKM_SHA384_RSA_PKCS_PSS, parameter: params },
        rsa.privateKey,
      );
      m.p11.C_SignUpdate(s, DATA);
      const sig = m.p11.C_SignFinal(s, Buffer.alloc(256));
      assert.ok(pssVerifies('sha384', sig, 48));
    });

    it('CKM_RSA_X_509 raw signature round-trips', () => {
      const block = Buffer.alloc(256, 0x11);
      block[0] = 0;
      const sig = sign(C.CKM_RSA_X_509, rsa.privateKey, block);
      m.p11.C_VerifyInit(s, { mechanism: C.CKM_RSA_X_509 }, rsa.publicKey);
      assert.equal(m.p11.C_Verify(s, block, sig), true);
    });

    for (const [mech, hash] of [
      [C.CKM_ECDSA_SHA1, 'sha1'],
      [C.CKM_ECDSA_SHA256, 'sha256'],
      [C.CKM_ECDSA_SHA384, 'sha384'],
      [C.CKM_ECDSA_SHA512, 'sha512'],
    ] as const) {
      it(`${C.CKM_NAMES.get(mech)} gives r‖s that node:crypto verifies`, () => {
        const sig = sign(mech, ec.privateKey, DATA);
        assert.equal(sig.length, 64);
        const key = publicKeyOf(m.p11, s, ec.publicKey);
        assert.ok(verify(hash, DATA, { key, dsaEncoding: 'ieee-p1363' }, sig));
        m.p11.C_VerifyInit(s, { mechanism: mech }, ec.publicKey);
        assert.equal(m.p11.C_Verify(s, DATA, sig), true);
        sig[5] = (sig[5] as number) ^ 1;
        m.p11.C_VerifyInit(s, { mechanism: mech }, ec.publicKey);
        assertRv(() => m.p11.C_Verify(s, DATA, sig), C.CKR_SIGNATURE_INVALID);
      });
    }

    it('CKM_ECDSA signs a caller-computed digest; node:crypto verifies it over the message', () => {
      const digest = createHash('sha256').update(DATA).digest();
      m.p11.C_SignInit(s, { mechanism: C.CKM_ECDSA }, ec.privateKey);
      const sig = m.p11.C_Sign(s, digest, Buffer.alloc(64));
      const key = publicKeyOf(m.p11, s, ec.publicKey);
      assert.ok(verify('sha256', DATA, { key, dsaEncoding: 'ieee-p1363' }, sig));
      m.p11.C_VerifyInit(s, { mechanism: C.CKM_ECDSA }, ec.publicKey);
      assert.equal(m.p11.C_Verify(s, digest, sig), true);
    });

    it('CKM_ECDSA verifies signatures node:crypto made, and rejects them over another digest', () => {
      const { sign: nodeSign } = nodeCrypto;
      const pair = freshKeyPair('ec', { namedCurve: 'P-256' });
      // CKA_EC_POINT as DER (an OCTET STRING around the point)
      const der = Buffer.concat([Buffer.from([0x04, 0x41]), ecPointOf(pair.publicKey)]);
      const pub = ecPublicObject(m.p11, s, 'P-256', der);
      const sig = nodeSign('sha384', DATA, { key: pair.privateKey, dsaEncoding: 'ieee-p1363' });
      const digest = createHash('sha384').update(DATA).digest();
      m.p11.C_VerifyInit(s, { mechanism: C.CKM_ECDSA }, pub);
      assert.equal(m.p11.C_Verify(s, digest, sig), true);
      m.p11.C_VerifyInit(s, { mechanism: C.CKM_ECDSA }, pub);
      assertRv(
        () => m.p11.C_Verify(s, createHash('sha384').update('x').digest(), sig),
        C.CKR_SIGNATURE_INVALID,
      );
    });

    it('CKM_ECDSA with empty input → CKR_DATA_LEN_RANGE; C_SignUpdate → CKR_FUNCTION_NOT_SUPPORTED', () => {
      m.p11.C_SignInit(s, { mechanism: C.CKM_ECDSA }, ec.privateKey);
      assertRv(() => m.p11.C_Sign(s, Buffer.alloc(0), Buffer.alloc(64)), C.CKR_DATA_LEN_RANGE);
      m.p11.C_SignInit(s, { mechanism: C.CKM_ECDSA }, ec.privateKey);
      assertRv(() => m.p11.C_SignUpdate(s, DATA), C.CKR_FUNCTION_NOT_SUPPORTED);
    });

    it('CKM_ECDSA gives a fresh signature each time (random nonces), all valid', () => {
      const digest = createHash('sha256').update(DATA).digest();
      const key = publicKeyOf(m.p11, s, ec.publicKey);
      const seen = new Set<string>();
      for (let i = 0; i < 20; i++) {
        m.p11.C_SignInit(s, { mechanism: C.CKM_ECDSA }, ec.privateKey);
        const sig = m.p11.C_Sign(s, digest, Buffer.alloc(64));
        seen.add(sig.toString('hex'));
        assert.ok(verify('sha256', DATA, { key, dsaEncoding: 'ieee-p1363' }, sig));
      }
      assert.equal(seen.size, 20);
    });

    it('ECDSA verify with a 63-byte signature → CKR_SIGNATURE_LEN_RANGE', () => {
      m.p11.C_VerifyInit(s, { mechanism: C.CKM_ECDSA_SHA256 }, ec.publicKey);
      assertRv(() => m.p11.C_Verify(s, DATA, Buffer.alloc(63)), C.CKR_SIGNATURE_LEN_RANGE);
    });

    for (const curve of ['P-384', 'P-521'] as const) {
      it(`generates ${curve} keys that sign (CKM_ECDSA_SHA256)`, () => {
        const kp = ecPair(m.p11, s, curve);
        const sig = sign(C.CKM_ECDSA_SHA256, kp.privateKey, DATA);
        assert.equal(sig.length, curve === 'P-384' ? 96 : 132);
        const key = publicKeyOf(m.p11, s, kp.publicKey);
        assert.ok(verify('sha256', DATA, { key, dsaEncoding: 'ieee-p1363' }, sig));
      });
    }

    it('an RSA key with an ECDSA mechanism → CKR_KEY_TYPE_INCONSISTENT', () => {
      assertRv(
        () => m.p11.C_SignInit(s, { mechanism: C.CKM_ECDSA_SHA256 }, rsa.privateKey),
        C.CKR_KEY_TYPE_INCONSISTENT,
      );
    });

    it('signing with a public key → CKR_KEY_TYPE_INCONSISTENT; verifying with a private key too', () => {
      assertRv(
        () => m.p11.C_SignInit(s, { mechanism: C.CKM_SHA256_RSA_PKCS }, rsa.publicKey),
        C.CKR_KEY_TYPE_INCONSISTENT,
      );
      assertRv(
        () => m.p11.C_VerifyInit(s, { mechanism: C.CKM_SHA256_RSA_PKCS }, rsa.privateKey),
        C.CKR_KEY_TYPE_INCONSISTENT,
      );
    });

    it('a key without CKA_SIGN → CKR_KEY_FUNCTION_NOT_PERMITTED', () => {
      const kp = ecPair(m.p11, s, 'P-256', { private: [{ type: C.CKA_SIGN, value: false }] });
      assertRv(
        () => m.p11.C_SignInit(s, { mechanism: C.CKM_ECDSA_SHA256 }, kp.privateKey),
        C.CKR_KEY_FUNCTION_NOT_PERMITTED,
      );
    });

    it('CKA_ALLOWED_MECHANISMS restricts a key → CKR_MECHANISM_INVALID', () => {
      const allowed = Buffer.alloc(8);
      allowed.writeBigUInt64LE(BigInt(C.CKM_ECDSA_SHA384));
      const kp = ecPair(m.p11, s, 'P-256', {
        private: [{ type: C.CKA_ALLOWED_MECHANISMS, value: allowed }],
      });
      assertRv(
        () => m.p11.C_SignInit(s, { mechanism: C.CKM_ECDSA_SHA256 }, kp.privateKey),
        C.CKR_MECHANISM_INVALID,
      );
      m.p11.C_SignInit(s, { mechanism: C.CKM_ECDSA_SHA384 }, kp.privateKey);
      assert.equal(m.p11.C_Sign(s, DATA, Buffer.alloc(64)).length, 64);
    });

    it('a second C_SignInit → CKR_OPERATION_ACTIVE, while a find may run beside a pending sign', () => {
      m.p11.C_SignInit(s, { mechanism: C.CKM_ECDSA_SHA256 }, ec.privateKey);
      assertRv(
        () => m.p11.C_SignInit(s, { mechanism: C.CKM_ECDSA_SHA256 }, ec.privateKey),
        C.CKR_OPERATION_ACTIVE,
      );
      m.p11.C_FindObjectsInit(s, [{ type: C.CKA_CLASS, value: C.CKO_PUBLIC_KEY }]);
      assert.ok(m.p11.C_FindObjects(s, 10).length >= 1);
      m.p11.C_FindObjectsFinal(s);
      assert.equal(m.p11.C_Sign(s, DATA, Buffer.alloc(64)).length, 64);
    });

    it('a too-small buffer → CKR_BUFFER_TOO_SMALL and the operation stays active', () => {
      m.p11.C_SignInit(s, { mechanism: C.CKM_SHA256_RSA_PKCS }, rsa.privateKey);
      assertRv(() => m.p11.C_Sign(s, DATA, Buffer.alloc(100)), C.CKR_BUFFER_TOO_SMALL);
      const sig = m.p11.C_Sign(s, DATA, Buffer.alloc(256));
      assert.ok(verify('sha256', DATA, publicKeyOf(m.p11, s, rsa.publicKey), sig));
    });

    it('a length query (engine: capacity null) keeps the operation active', () => {
      const app = m.engine;
      const h = s.readUInt32LE(0);
      const key = rsa.privateKey.readUInt32LE(0);
      app.signInit(h, { mechanism: C.CKM_SHA256_RSA_PKCS }, key);
      assert.deepEqual(app.sign(h, DATA, null), { length: 256, bytes: null });
      const out = app.sign(h, DATA, 256);
      assert.equal(out.length, 256);
      assertRv(() => app.sign(h, DATA, 256), C.CKR_OPERATION_NOT_INITIALIZED);
    });

    it('C_SignUpdate on a single-part mechanism → CKR_FUNCTION_NOT_SUPPORTED', () => {
      m.p11.C_SignInit(s, { mechanism: C.CKM_RSA_PKCS }, rsa.privateKey);
      assertRv(() => m.p11.C_SignUpdate(s, DATA), C.CKR_FUNCTION_NOT_SUPPORTED);
    });

    it('C_Sign without C_SignInit → CKR_OPERATION_NOT_INITIALIZED; bad key handle → CKR_KEY_HANDLE_INVALID', () => {
      assertRv(() => m.p11.C_Sign(s, DATA, Buffer.alloc(64)), C.CKR_OPERATION_NOT_INITIALIZED);
      const bogus = Buffer.alloc(8);
      bogus.writeUInt32LE(99999);
      assertRv(
        () => m.p11.C_SignInit(s, { mechanism: C.CKM_ECDSA_SHA256 }, bogus),
        C.CKR_KEY_HANDLE_INVALID,
      );
    });

    it('an unknown mechanism → CKR_MECHANISM_INVALID', () => {
      assertRv(
        () => m.p11.C_SignInit(s, { mechanism: 0x7fff0000 }, ec.privateKey),
        C.CKR_MECHANISM_INVALID,
      );
      assertRv(
        () => m.p11.C_SignInit(s, { mechanism: C.CKM_SHA256 }, ec.privateKey),
        C.CKR_MECHANISM_INVALID,
      );
    });

    it('C_SignAsync and C_VerifyAsync interleave across sessions', async () => {
      const open = () => m.p11.C_OpenSession(m.slot, C.CKF_SERIAL_SESSION);
      const sessions = [s, open(), open()];
      const sigs = await Promise.all(
        sessions.map((x) => {
          m.p11.C_SignInit(x, { mechanism: C.CKM_ECDSA_SHA256 }, ec.privateKey);
          return m.p11.C_SignAsync(x, DATA, Buffer.alloc(64));
        }),
      );
      const key = publicKeyOf(m.p11, s, ec.publicKey);
      for (const sig of sigs)
        assert.ok(verify('sha256', DATA, { key, dsaEncoding: 'ieee-p1363' }, sig));
      m.p11.C_VerifyInit(s, { mechanism: C.CKM_ECDSA_SHA256 }, ec.publicKey);
      assert.equal(await m.p11.C_VerifyAsync(s, DATA, sigs[0] as Buffer), true);
      m.p11.C_VerifyInit(s, { mechanism: C.CKM_ECDSA_SHA256 }, ec.publicKey);
      await assertRvAsync(
        m.p11.C_VerifyAsync(s, Buffer.from('other'), sigs[0] as Buffer),
        C.CKR_SIGNATURE_INVALID,
      );
    });

    it('C_SignFinalAsync finishes a multi-part RSA signature; a too-small buffer → CKR_BUFFER_TOO_SMALL', async () => {
      m.p11.C_SignInit(s, { mechanism: C.CKM_SHA256_RSA_PKCS }, rsa.privateKey);
      m.p11.C_SignUpdate(s, DATA.subarray(0, 3));
      m.p11.C_SignUpdate(s, DATA.subarray(3));
      await assertRvAsync(m.p11.C_SignFinalAsync(s, Buffer.alloc(100)), C.CKR_BUFFER_TOO_SMALL);
      const sig = await m.p11.C_SignFinalAsync(s, Buffer.alloc(256));
      assert.ok(verify('sha256', DATA, publicKeyOf(m.p11, s, rsa.publicKey), sig));
      assertRv(() => m.p11.C_SignUpdate(s, DATA), C.CKR_OPERATION_NOT_INITIALIZED);
    });

    it('engine signFinalAsync: the operation leaves the session as the call begins → CKR_OPERATION_NOT_INITIALIZED', async () => {
      const app = m.engine;
      const h = s.readUInt32LE(0);
      app.signInit(h, { mechanism: C.CKM_SHA256_RSA_PKCS }, rsa.privateKey.readUInt32LE(0));
      app.signUpdate(h, DATA);
      const pending = app.signFinalAsync(h, 256);
      assertRv(() => app.signUpdate(h, DATA), C.CKR_OPERATION_NOT_INITIALIZED);
      assert.equal((await pending).length, 256);
    });

    it('the callback form delivers the signature', async () => {
      m.p11.C_SignInit(s, { mechanism: C.CKM_ECDSA_SHA256 }, ec.privateKey);
      const sig = await new Promise<Buffer>((resolve, reject) =>
        m.p11.C_Sign(s, DATA, Buffer.alloc(64), (e, r) => (e ? reject(e) : resolve(r as Buffer))),
      );
      assert.equal(sig.length, 64);
    });
  });

  describe(`MACs [${port.name}]`, () => {
    let m: TestModule;
    let s: Handle;
    before(() => {
      m = initializedModule(port);
      s = userSession(m);
    });
    after(() => m.cleanup());

    const KEY = Buffer.alloc(32, 0x0b);
    const hmacKey = () =>
      m.p11.C_CreateObject(s, [
        { type: C.CKA_CLASS, value: C.CKO_SECRET_KEY },
        { type: C.CKA_KEY_TYPE, value: C.CKK_SHA256_HMAC },
        { type: C.CKA_VALUE, value: KEY },
        { type: C.CKA_LABEL, value: 'HMAC Key' },
      ]);

    it('CKM_SHA256_HMAC equals node:crypto HMAC, verifies, and rejects a changed MAC', () => {
      const k = hmacKey();
      m.p11.C_SignInit(s, { mechanism: C.CKM_SHA256_HMAC }, k);
      const mac = m.p11.C_Sign(s, DATA, Buffer.alloc(32));
      assert.deepEqual(mac, createHmac('sha256', KEY).update(DATA).digest());
      m.p11.C_VerifyInit(s, { mechanism: C.CKM_SHA256_HMAC }, k);
      assert.equal(m.p11.C_Verify(s, DATA, mac), true);
      mac[0] = (mac[0] as number) ^ 1;
      m.p11.C_VerifyInit(s, { mechanism: C.CKM_SHA256_HMAC }, k);
      assertRv(() => m.p11.C_Verify(s, DATA, mac), C.CKR_SIGNATURE_INVALID);
      m.p11.C_VerifyInit(s, { mechanism: C.CKM_SHA256_HMAC }, k);
      assertRv(() => m.p11.C_Verify(s, DATA, mac.subarray(1)), C.CKR_SIGNATURE_LEN_RANGE);
    });

    it('CKM_SHA256_HMAC_GENERAL truncates to the requested length; 0 → CKR_MECHANISM_PARAM_INVALID', () => {
      const k = hmacKey();
      m.p11.C_SignInit(s, { mechanism: C.CKM_SHA256_HMAC_GENERAL, parameter: 16 }, k);
      const mac = m.p11.C_Sign(s, DATA, Buffer.alloc(32));
      assert.deepEqual(mac, createHmac('sha256', KEY).update(DATA).digest().subarray(0, 16));
      assertRv(
        () => m.p11.C_SignInit(s, { mechanism: C.CKM_SHA256_HMAC_GENERAL, parameter: 0 }, k),
        C.CKR_MECHANISM_PARAM_INVALID,
      );
    });

    it('CKM_AES_CMAC over a generated AES-128 key verifies; an HMAC mechanism on it → CKR_KEY_TYPE_INCONSISTENT', () => {
      const k = m.p11.C_GenerateKey(s, { mechanism: C.CKM_AES_KEY_GEN }, [
        { type: C.CKA_VALUE_LEN, value: 16 },
        { type: C.CKA_LABEL, value: 'CMAC Key' },
      ]);
      m.p11.C_SignInit(s, { mechanism: C.CKM_AES_CMAC }, k);
      m.p11.C_SignUpdate(s, DATA.subarray(0, 7));
      m.p11.C_SignUpdate(s, DATA.subarray(7));
      const mac = m.p11.C_SignFinal(s, Buffer.alloc(16));
      m.p11.C_VerifyInit(s, { mechanism: C.CKM_AES_CMAC }, k);
      assert.equal(m.p11.C_Verify(s, DATA, mac), true);
      assertRv(
        () => m.p11.C_SignInit(s, { mechanism: C.CKM_SHA256_HMAC }, k),
        C.CKR_KEY_TYPE_INCONSISTENT,
      );
    });

    it('an AES key of 15 bytes → CKR_ATTRIBUTE_VALUE_INVALID; CKA_VALUE_LEN 20 → CKR_ATTRIBUTE_VALUE_INVALID', () => {
      assertRv(
        () =>
          m.p11.C_CreateObject(s, [
            { type: C.CKA_CLASS, value: C.CKO_SECRET_KEY },
            { type: C.CKA_KEY_TYPE, value: C.CKK_AES },
            { type: C.CKA_VALUE, value: Buffer.alloc(15) },
          ]),
        C.CKR_ATTRIBUTE_VALUE_INVALID,
      );
      assertRv(
        () =>
          m.p11.C_GenerateKey(s, { mechanism: C.CKM_AES_KEY_GEN }, [
            { type: C.CKA_VALUE_LEN, value: 20 },
          ]),
        C.CKR_ATTRIBUTE_VALUE_INVALID,
      );
    });
  });
}
