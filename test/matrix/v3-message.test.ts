/**
 * PKCS#11 3.0 message-based encryption, decryption, signing and verification (issue 15 item 3), once
 * per PAL port through the pkcs11js-shaped API. Ciphertexts and tags are compared with node:crypto's for
 * the same key, IV and AAD; signatures and MACs are checked by node:crypto.
 * @module
 */
import assert from 'node:assert/strict';
import { createCipheriv, createDecipheriv, createHmac, verify } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { Handle } from '../../src/api/convert.js';
import {
  ecMaterial,
  ecPrivateTemplate,
  ecPublicTemplate,
  secretTemplate,
} from '../helpers/material.js';
import {
  assertRv,
  assertRvAsync,
  C,
  initializedModule,
  PAL_PORTS,
  type TestModule,
  USER_PIN,
  userSession,
} from '../helpers/token.js';

const KEY = Buffer.from('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f', 'hex');
const IV = Buffer.from('cafebabefacedbaddecaf888', 'hex');
const AAD = Buffer.from('header: not secret, authenticated');
const PLAIN = Buffer.from('The message of 39 bytes, not aligned!!!');
const GCM = { mechanism: C.CKM_AES_GCM };

/** node:crypto's AES-256-GCM of `plain`: ciphertext and 16-byte tag. */
function nodeGcm(iv: Buffer, aad: Buffer, plain: Buffer): { ct: Buffer; tag: Buffer } {
  const c = createCipheriv('aes-256-gcm', KEY, iv);
  c.setAAD(aad);
  const ct = Buffer.concat([c.update(plain), c.final()]);
  return { ct, tag: c.getAuthTag() };
}

for (const port of PAL_PORTS) {
  describe(`PKCS#11 3.0 message-based functions [${port.name}]`, () => {
    let m: TestModule;
    let s: Handle;
    let aes: Handle;
    let mac: Handle;
    before(() => {
      m = initializedModule(port);
      s = userSession(m);
      aes = m.p11.C_CreateObject(s, secretTemplate(C.CKK_AES, KEY));
      mac = m.p11.C_CreateObject(
        s,
        secretTemplate(C.CKK_GENERIC_SECRET, KEY, [
          { type: C.CKA_SIGN, value: true },
          { type: C.CKA_VERIFY, value: true },
        ]),
      );
    });
    after(() => m.cleanup());

    const encrypt = (iv: Buffer, aad: Buffer, plain: Buffer, extra: object = {}) => {
      const tag = Buffer.alloc(16);
      const ct = m.p11.C_EncryptMessage(s, { iv, tag, ...extra }, aad, plain, Buffer.alloc(64));
      return { ct: Buffer.from(ct), tag };
    };

    it('C_EncryptMessage with AES-GCM → CKR_OK: ciphertext and tag equal node:crypto, message after message', () => {
      m.p11.C_MessageEncryptInit(s, GCM, aes);
      const iv2 = Buffer.from('0102030405060708090a0b0c', 'hex');
      assert.deepEqual(encrypt(IV, AAD, PLAIN), nodeGcm(IV, AAD, PLAIN));
      assert.deepEqual(encrypt(iv2, Buffer.alloc(0), PLAIN), nodeGcm(iv2, Buffer.alloc(0), PLAIN));
      m.p11.C_MessageEncryptFinal(s);
      assertRv(() => encrypt(IV, AAD, PLAIN), C.CKR_OPERATION_NOT_INITIALIZED);
    });

    it('C_DecryptMessage → CKR_OK with the right tag; a wrong tag → CKR_ENCRYPTED_DATA_INVALID, the operation goes on', () => {
      const { ct, tag } = nodeGcm(IV, AAD, PLAIN);
      m.p11.C_MessageDecryptInit(s, GCM, aes);
      const out = m.p11.C_DecryptMessage(s, { iv: IV, tag }, AAD, ct, Buffer.alloc(64));
      assert.deepEqual(out, PLAIN);
      const bad = Buffer.from(tag);
      bad[0] = (bad[0] as number) ^ 1;
      assertRv(
        () => m.p11.C_DecryptMessage(s, { iv: IV, tag: bad }, AAD, ct, Buffer.alloc(64)),
        C.CKR_ENCRYPTED_DATA_INVALID,
      );
      assertRv(
        () =>
          m.p11.C_DecryptMessage(s, { iv: IV, tag }, Buffer.from('other'), ct, Buffer.alloc(64)),
        C.CKR_ENCRYPTED_DATA_INVALID,
      );
      assert.deepEqual(
        m.p11.C_DecryptMessage(s, { iv: IV, tag }, AAD, ct, Buffer.alloc(64)),
        PLAIN,
      );
      m.p11.C_MessageDecryptFinal(s);
    });

    it('CKG_GENERATE_RANDOM keeps the fixed bits and writes a fresh IV into the caller’s buffer → CKR_OK', () => {
      m.p11.C_MessageEncryptInit(s, GCM, aes);
      const iv = Buffer.from(IV);
      const gen = { ivFixedBits: 28, ivGenerator: C.CKG_GENERATE_RANDOM };
      const first = encrypt(iv, AAD, PLAIN, gen);
      const ivA = Buffer.from(iv);
      const second = encrypt(iv, AAD, PLAIN, gen);
      assert.deepEqual(ivA.subarray(0, 3), IV.subarray(0, 3));
      assert.equal((ivA[3] as number) & 0xf0, (IV[3] as number) & 0xf0);
      assert.notDeepEqual(ivA, iv, 'each message has its own IV');
      assert.deepEqual(first, nodeGcm(ivA, AAD, PLAIN));
      assert.deepEqual(second, nodeGcm(iv, AAD, PLAIN));
      m.p11.C_MessageEncryptFinal(s);
    });

    it('a counter IV generator, a short tag buffer or a Buffer parameter → CKR_MECHANISM_PARAM_INVALID', () => {
      m.p11.C_MessageEncryptInit(s, GCM, aes);
      const counter = { ivGenerator: C.CKG_GENERATE_COUNTER };
      assertRv(() => encrypt(IV, AAD, PLAIN, counter), C.CKR_MECHANISM_PARAM_INVALID);
      assertRv(
        () =>
          m.p11.C_EncryptMessage(s, { iv: IV, tag: Buffer.alloc(8) }, AAD, PLAIN, Buffer.alloc(64)),
        C.CKR_MECHANISM_PARAM_INVALID,
      );
      // the C structure's bytes, as p11-kit's RPC carries them: their pointers mean nothing here
      assertRv(
        () => m.p11.C_EncryptMessage(s, Buffer.alloc(40), AAD, PLAIN, Buffer.alloc(64)),
        C.CKR_MECHANISM_PARAM_INVALID,
      );
      assert.deepEqual(encrypt(IV, AAD, PLAIN), nodeGcm(IV, AAD, PLAIN));
      m.p11.C_MessageEncryptFinal(s);
    });

    it('too small an output Buffer → CKR_BUFFER_TOO_SMALL; no IV made, the operation goes on', () => {
      m.p11.C_MessageEncryptInit(s, GCM, aes);
      const iv = Buffer.from(IV);
      const gen = { ivGenerator: C.CKG_GENERATE_RANDOM };
      assertRv(
        () =>
          m.p11.C_EncryptMessage(
            s,
            { iv, tag: Buffer.alloc(16), ...gen },
            AAD,
            PLAIN,
            Buffer.alloc(5),
          ),
        C.CKR_BUFFER_TOO_SMALL,
      );
      assert.deepEqual(iv, IV);
      assert.deepEqual(encrypt(IV, AAD, PLAIN), nodeGcm(IV, AAD, PLAIN));
      m.p11.C_MessageEncryptFinal(s);
    });

    it('C_EncryptMessageBegin / Next in parts → CKR_OK: output at CKF_END_OF_MESSAGE equals node:crypto; decrypts in parts', () => {
      const tag = Buffer.alloc(16);
      m.p11.C_MessageEncryptInit(s, GCM, aes);
      m.p11.C_EncryptMessageBegin(s, { iv: IV, tag }, AAD);
      assertRv(() => encrypt(IV, AAD, PLAIN), C.CKR_OPERATION_ACTIVE);
      const p1 = m.p11.C_EncryptMessageNext(
        s,
        { iv: IV, tag },
        PLAIN.subarray(0, 10),
        Buffer.alloc(64),
        0,
      );
      assert.equal(p1.length, 0);
      const end = C.CKF_END_OF_MESSAGE;
      const p2 = m.p11.C_EncryptMessageNext(
        s,
        { iv: IV, tag },
        PLAIN.subarray(10),
        Buffer.alloc(64),
        end,
      );
      assert.deepEqual({ ct: Buffer.from(p2), tag }, nodeGcm(IV, AAD, PLAIN));
      assertRv(
        () => m.p11.C_EncryptMessageNext(s, { iv: IV, tag }, PLAIN, Buffer.alloc(64), end),
        C.CKR_OPERATION_NOT_INITIALIZED,
      );
      m.p11.C_MessageEncryptFinal(s);

      m.p11.C_MessageDecryptInit(s, GCM, aes);
      m.p11.C_DecryptMessageBegin(s, { iv: IV, tag }, AAD);
      m.p11.C_DecryptMessageNext(s, { iv: IV, tag }, p2.subarray(0, 7), Buffer.alloc(64), 0);
      const plain = m.p11.C_DecryptMessageNext(
        s,
        { iv: IV, tag },
        p2.subarray(7),
        Buffer.alloc(64),
        end,
      );
      assert.deepEqual(plain, PLAIN);
      assertRv(
        () => m.p11.C_DecryptMessageNext(s, { iv: IV, tag }, p2, Buffer.alloc(64), 2),
        C.CKR_OPERATION_NOT_INITIALIZED,
      );
      m.p11.C_DecryptMessageBegin(s, { iv: IV, tag }, AAD);
      assertRv(
        () => m.p11.C_DecryptMessageNext(s, { iv: IV, tag }, p2, Buffer.alloc(64), 2),
        C.CKR_ARGUMENTS_BAD,
      );
      m.p11.C_MessageDecryptFinal(s);
    });

    it('C_MessageEncryptInit twice → CKR_OPERATION_ACTIVE; a null mechanism or C_SessionCancel ends it', () => {
      m.p11.C_MessageEncryptInit(s, GCM, aes);
      assertRv(() => m.p11.C_MessageEncryptInit(s, GCM, aes), C.CKR_OPERATION_ACTIVE);
      m.p11.C_MessageEncryptInit(s, null);
      m.p11.C_MessageEncryptInit(s, GCM, aes);
      // a C_Encrypt runs beside it
      m.p11.C_EncryptInit(s, { mechanism: C.CKM_AES_ECB }, aes);
      assert.equal(m.p11.C_Encrypt(s, Buffer.alloc(16), Buffer.alloc(16)).length, 16);
      m.p11.C_SessionCancel(s, C.CKF_MESSAGE_ENCRYPT);
      assertRv(() => encrypt(IV, AAD, PLAIN), C.CKR_OPERATION_NOT_INITIALIZED);
      assertRv(() => m.p11.C_MessageEncryptFinal(s), C.CKR_OPERATION_NOT_INITIALIZED);
    });

    it('C_MessageEncryptInit with a mechanism without a message form → CKR_MECHANISM_INVALID; a MAC key → CKR_KEY_TYPE_INCONSISTENT', () => {
      assertRv(
        () => m.p11.C_MessageEncryptInit(s, { mechanism: C.CKM_AES_CBC_PAD }, aes),
        C.CKR_MECHANISM_INVALID,
      );
      assertRv(() => m.p11.C_MessageEncryptInit(s, GCM, mac), C.CKR_KEY_TYPE_INCONSISTENT);
      assertRv(() => m.p11.C_MessageSignInit(s, GCM, aes), C.CKR_MECHANISM_INVALID);
    });

    it('C_SignMessage / C_VerifyMessage with CKM_SHA256_HMAC → CKR_OK, equal to node:crypto; a wrong MAC → CKR_SIGNATURE_INVALID', () => {
      const hmac = (d: Buffer) => createHmac('sha256', KEY).update(d).digest();
      const HMAC = { mechanism: C.CKM_SHA256_HMAC };
      m.p11.C_MessageSignInit(s, HMAC, mac);
      assert.deepEqual(m.p11.C_SignMessage(s, null, PLAIN, Buffer.alloc(32)), hmac(PLAIN));
      assert.deepEqual(m.p11.C_SignMessage(s, null, AAD, Buffer.alloc(32)), hmac(AAD));
      assertRv(
        () => m.p11.C_SignMessage(s, Buffer.alloc(8, 1), PLAIN, Buffer.alloc(32)),
        C.CKR_MECHANISM_PARAM_INVALID,
      );
      m.p11.C_SignMessageBegin(s, null);
      assert.equal(m.p11.C_SignMessageNext(s, null, PLAIN.subarray(0, 9), null), null);
      assert.deepEqual(
        m.p11.C_SignMessageNext(s, null, PLAIN.subarray(9), Buffer.alloc(32)),
        hmac(PLAIN),
      );
      m.p11.C_MessageSignFinal(s);

      m.p11.C_MessageVerifyInit(s, HMAC, mac);
      assert.equal(m.p11.C_VerifyMessage(s, null, PLAIN, hmac(PLAIN)), true);
      assertRv(() => m.p11.C_VerifyMessage(s, null, PLAIN, hmac(AAD)), C.CKR_SIGNATURE_INVALID);
      m.p11.C_VerifyMessageBegin(s, null);
      m.p11.C_VerifyMessageNext(s, null, PLAIN.subarray(0, 3), null);
      assert.equal(m.p11.C_VerifyMessageNext(s, null, PLAIN.subarray(3), hmac(PLAIN)), true);
      m.p11.C_MessageVerifyFinal(s);
    });

    it('C_SignMessage with CKM_ECDSA_SHA256 → CKR_OK: node:crypto verifies; CKM_ECDSA in parts → CKR_FUNCTION_NOT_SUPPORTED', async () => {
      const ec = ecMaterial();
      const priv = m.p11.C_CreateObject(
        s,
        ecPrivateTemplate(ec, [{ type: C.CKA_SIGN, value: true }]),
      );
      const pub = m.p11.C_CreateObject(
        s,
        ecPublicTemplate(ec, [{ type: C.CKA_VERIFY, value: true }]),
      );
      m.p11.C_MessageSignInit(s, { mechanism: C.CKM_ECDSA_SHA256 }, priv);
      const sig = await m.p11.C_SignMessageAsync(s, null, PLAIN, Buffer.alloc(64));
      assert.ok(verify('sha256', PLAIN, { key: ec.publicKey, dsaEncoding: 'ieee-p1363' }, sig));
      m.p11.C_MessageSignFinal(s);
      m.p11.C_MessageVerifyInit(s, { mechanism: C.CKM_ECDSA_SHA256 }, pub);
      assert.equal(await m.p11.C_VerifyMessageAsync(s, null, PLAIN, sig), true);
      await assertRvAsync(m.p11.C_VerifyMessageAsync(s, null, AAD, sig), C.CKR_SIGNATURE_INVALID);
      m.p11.C_MessageVerifyFinal(s);
      m.p11.C_MessageSignInit(s, { mechanism: C.CKM_ECDSA }, priv);
      assertRv(() => m.p11.C_SignMessageBegin(s), C.CKR_FUNCTION_NOT_SUPPORTED);
      m.p11.C_MessageSignFinal(s);
    });

    it('a CKA_ALWAYS_AUTHENTICATE key owes a context login before each message → CKR_USER_NOT_LOGGED_IN', () => {
      const ec = ecMaterial();
      const priv = m.p11.C_CreateObject(
        s,
        ecPrivateTemplate(ec, [
          { type: C.CKA_SIGN, value: true },
          { type: C.CKA_ALWAYS_AUTHENTICATE, value: true },
        ]),
      );
      m.p11.C_MessageSignInit(s, { mechanism: C.CKM_ECDSA_SHA256 }, priv);
      assertRv(
        () => m.p11.C_SignMessage(s, null, PLAIN, Buffer.alloc(64)),
        C.CKR_USER_NOT_LOGGED_IN,
      );
      m.p11.C_Login(s, C.CKU_CONTEXT_SPECIFIC, USER_PIN);
      const sig = m.p11.C_SignMessage(s, null, PLAIN, Buffer.alloc(64));
      assert.ok(verify('sha256', PLAIN, { key: ec.publicKey, dsaEncoding: 'ieee-p1363' }, sig));
      assertRv(
        () => m.p11.C_SignMessage(s, null, PLAIN, Buffer.alloc(64)),
        C.CKR_USER_NOT_LOGGED_IN,
      );
      m.p11.C_MessageSignFinal(s);
      assertRv(
        () => m.p11.C_Login(s, C.CKU_CONTEXT_SPECIFIC, USER_PIN),
        C.CKR_OPERATION_NOT_INITIALIZED,
      );
    });

    it('C_GetMechanismInfo → CKR_OK: AES-GCM has CKF_MESSAGE_ENCRYPT/DECRYPT, HMAC CKF_MESSAGE_SIGN/VERIFY, CBC neither', () => {
      const flags = (t: number) => m.p11.C_GetMechanismInfo(m.slot, t).flags;
      const enc = C.CKF_MESSAGE_ENCRYPT | C.CKF_MESSAGE_DECRYPT | C.CKF_MULTI_MESSAGE;
      const sig = C.CKF_MESSAGE_SIGN | C.CKF_MESSAGE_VERIFY | C.CKF_MULTI_MESSAGE;
      assert.equal(flags(C.CKM_AES_GCM) & enc, enc);
      assert.equal(flags(C.CKM_SHA256_HMAC) & sig, sig);
      assert.equal(flags(C.CKM_ECDSA) & sig, C.CKF_MESSAGE_SIGN | C.CKF_MESSAGE_VERIFY);
      assert.equal(flags(C.CKM_AES_CBC) & (enc | sig), 0);
    });

    const listed = (t: number) => m.p11.C_GetMechanismList(m.slot).includes(t);

    it('AES-CCM messages equal node:crypto aes-256-ccm (where the token offers CKM_AES_CCM)', (t) => {
      if (!listed(C.CKM_AES_CCM))
        return t.skip('CKM_AES_CCM is not in this token’s mechanism list');
      const nonce = IV.subarray(0, 11);
      const node = createCipheriv('aes-256-ccm', KEY, nonce, { authTagLength: 12 });
      node.setAAD(AAD, { plaintextLength: PLAIN.length });
      const ct = Buffer.concat([node.update(PLAIN), node.final()]);
      const mac12 = Buffer.alloc(12);
      const param = { dataLen: PLAIN.length, nonce, mac: mac12, macLen: 12 };
      m.p11.C_MessageEncryptInit(s, { mechanism: C.CKM_AES_CCM }, aes);
      assert.deepEqual(m.p11.C_EncryptMessage(s, param, AAD, PLAIN, Buffer.alloc(64)), ct);
      assert.deepEqual(mac12, node.getAuthTag());
      m.p11.C_MessageEncryptFinal(s);
      m.p11.C_MessageDecryptInit(s, { mechanism: C.CKM_AES_CCM }, aes);
      assert.deepEqual(m.p11.C_DecryptMessage(s, param, AAD, ct, Buffer.alloc(64)), PLAIN);
      m.p11.C_MessageDecryptFinal(s);
    });

    it('ChaCha20-Poly1305 messages equal node:crypto (where the token offers CKM_CHACHA20_POLY1305)', (t) => {
      if (!listed(C.CKM_CHACHA20_POLY1305)) {
        return t.skip('CKM_CHACHA20_POLY1305 is not in this token’s mechanism list');
      }
      const key = m.p11.C_CreateObject(s, secretTemplate(C.CKK_CHACHA20, KEY));
      const node = createCipheriv('chacha20-poly1305', KEY, IV, { authTagLength: 16 });
      node.setAAD(AAD, { plaintextLength: PLAIN.length });
      const ct = Buffer.concat([node.update(PLAIN), node.final()]);
      const tag = Buffer.alloc(16);
      m.p11.C_MessageEncryptInit(s, { mechanism: C.CKM_CHACHA20_POLY1305 }, key);
      const out = m.p11.C_EncryptMessage(s, { nonce: IV, tag }, AAD, PLAIN, Buffer.alloc(64));
      assert.deepEqual({ out, tag }, { out: ct, tag: node.getAuthTag() });
      m.p11.C_MessageEncryptFinal(s);
      const d = createDecipheriv('chacha20-poly1305', KEY, IV, { authTagLength: 16 });
      d.setAAD(AAD, { plaintextLength: PLAIN.length });
      d.setAuthTag(tag);
      assert.deepEqual(Buffer.concat([d.update(out), d.final()]), PLAIN);
    });

    // Last: the logout ends the user login of every session here, and with it the private handles.
    it('C_Logout ends a message operation on a private key → CKR_OPERATION_NOT_INITIALIZED', () => {
      const other = m.p11.C_OpenSession(m.slot, C.CKF_SERIAL_SESSION | C.CKF_RW_SESSION);
      const ec = ecMaterial();
      const priv = m.p11.C_CreateObject(
        other,
        ecPrivateTemplate(ec, [
          { type: C.CKA_SIGN, value: true },
          { type: C.CKA_TOKEN, value: false },
        ]),
      );
      m.p11.C_MessageSignInit(other, { mechanism: C.CKM_ECDSA_SHA256 }, priv);
      m.p11.C_Logout(other);
      assertRv(
        () => m.p11.C_SignMessage(other, null, PLAIN, Buffer.alloc(64)),
        C.CKR_OPERATION_NOT_INITIALIZED,
      );
      m.p11.C_Login(other, C.CKU_USER, USER_PIN);
      m.p11.C_CloseSession(other);
    });
  });
}
