import assert from 'node:assert/strict';
import {
  constants,
  createCipheriv,
  createDecipheriv,
  createECDH,
  privateDecrypt,
  publicEncrypt,
} from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { fromHandle, type Handle } from '../../src/api/convert.js';
import { freshKeyPair } from '../helpers/keypair.js';
import { EC_PARAMS, publicKeyOf } from '../helpers/keys.js';
import {
  assertRv,
  assertRvAsync,
  C,
  initializedModule,
  PAL_PORTS,
  type TestModule,
  userSession,
} from '../helpers/token.js';

const KEY = Buffer.from('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f', 'hex');
const IV = Buffer.from('0f0e0d0c0b0a09080706050403020100', 'hex');
const PLAIN = Buffer.from('Plaintext of 41 bytes, not block-aligned!');

for (const port of PAL_PORTS) {
  describe(`encryption and derivation [${port.name}]`, () => {
    let m: TestModule;
    let s: Handle;
    let aes: Handle;
    before(() => {
      m = initializedModule(port);
      s = userSession(m);
      aes = m.p11.C_CreateObject(s, [
        { type: C.CKA_CLASS, value: C.CKO_SECRET_KEY },
        { type: C.CKA_KEY_TYPE, value: C.CKK_AES },
        { type: C.CKA_VALUE, value: KEY },
      ]);
    });
    after(() => m.cleanup());

    const enc = (mech: number, parameter: unknown, data: Buffer) => {
      m.p11.C_EncryptInit(s, { mechanism: mech, parameter: parameter as never }, aes);
      return Buffer.from(m.p11.C_Encrypt(s, data, Buffer.alloc(data.length + 64)));
    };
    const dec = (mech: number, parameter: unknown, data: Buffer) => {
      m.p11.C_DecryptInit(s, { mechanism: mech, parameter: parameter as never }, aes);
      return Buffer.from(m.p11.C_Decrypt(s, data, Buffer.alloc(data.length + 64)));
    };

    it('length queries (NULL output) give the exact size where it is knowable: 64 bytes of AES-ECB → 64', () => {
      const h = fromHandle(s);
      const query = (
        dir: 'encrypt' | 'decrypt',
        mech: number,
        parameter: unknown,
        n: number,
        data = Buffer.alloc(n),
      ) => {
        const init = dir === 'encrypt' ? m.p11.C_EncryptInit : m.p11.C_DecryptInit;
        init.call(m.p11, s, { mechanism: mech, parameter: parameter as never }, aes);
        const length = m.engine[dir](h, data, null).length;
        m.engine[dir](h, data, n + 64); // ends the operation
        return length;
      };
      for (const n of [16, 64, 4096]) {
        assert.equal(query('encrypt', C.CKM_AES_ECB, undefined, n), n);
        assert.equal(query('decrypt', C.CKM_AES_ECB, undefined, n), n);
        assert.equal(query('encrypt', C.CKM_AES_CBC, IV, n), n);
        assert.equal(query('decrypt', C.CKM_AES_CBC, IV, n), n);
        assert.equal(query('encrypt', C.CKM_AES_CBC_PAD, IV, n), n + 16);
        assert.equal(query('encrypt', C.CKM_AES_CBC_PAD, IV, n - 1), n);
        assert.equal(
          query(
            'encrypt',
            C.CKM_AES_CTR,
            Buffer.concat([Buffer.of(128, 0, 0, 0, 0, 0, 0, 0), IV]),
            n - 3,
          ),
          n - 3,
        );
      }
      // Padded decryption: the padding is known only once decrypted, so the bound is what may be left.
      const padded = enc(C.CKM_AES_CBC_PAD, IV, Buffer.alloc(64));
      assert.equal(query('decrypt', C.CKM_AES_CBC_PAD, IV, padded.length, padded), 79);
      // Multi-part: each update releases whole blocks, exactly.
      m.p11.C_EncryptInit(s, { mechanism: C.CKM_AES_ECB }, aes);
      assert.equal(m.engine.encryptUpdate(h, Buffer.alloc(10), null).length, 0);
      assert.equal(m.p11.C_EncryptUpdate(s, Buffer.alloc(10), Buffer.alloc(64)).length, 0);
      assert.equal(m.engine.encryptUpdate(h, Buffer.alloc(10), null).length, 16);
      assert.equal(m.p11.C_EncryptUpdate(s, Buffer.alloc(10), Buffer.alloc(64)).length, 16);
      assert.equal(m.engine.encryptFinal(h, null).length, 0);
      assertRv(() => m.p11.C_EncryptFinal(s, Buffer.alloc(64)), C.CKR_DATA_LEN_RANGE);
    });

    it('CKM_AES_CBC_PAD equals node:crypto AES-256-CBC and decrypts back', () => {
      const c = enc(C.CKM_AES_CBC_PAD, IV, PLAIN);
      const node = createCipheriv('aes-256-cbc', KEY, IV);
      assert.deepEqual(c, Buffer.concat([node.update(PLAIN), node.final()]));
      assert.deepEqual(dec(C.CKM_AES_CBC_PAD, IV, c), PLAIN);
    });

    it('CKM_AES_CBC multi-part equals single-part; unaligned input → CKR_DATA_LEN_RANGE', () => {
      const data = Buffer.alloc(64, 7);
      const one = enc(C.CKM_AES_CBC, IV, data);
      m.p11.C_EncryptInit(s, { mechanism: C.CKM_AES_CBC, parameter: IV }, aes);
      const parts = [
        m.p11.C_EncryptUpdate(s, data.subarray(0, 5), Buffer.alloc(64)),
        m.p11.C_EncryptUpdate(s, data.subarray(5, 40), Buffer.alloc(64)),
        m.p11.C_EncryptUpdate(s, data.subarray(40), Buffer.alloc(64)),
        m.p11.C_EncryptFinal(s, Buffer.alloc(64)),
      ];
      assert.deepEqual(Buffer.concat(parts), one);
      m.p11.C_EncryptInit(s, { mechanism: C.CKM_AES_CBC, parameter: IV }, aes);
      assertRv(() => m.p11.C_Encrypt(s, PLAIN, Buffer.alloc(64)), C.CKR_DATA_LEN_RANGE);
    });

    it('CKM_AES_ECB and CKM_AES_CTR equal node:crypto', () => {
      const block = Buffer.alloc(32, 3);
      const ecb = createCipheriv('aes-256-ecb', KEY, null).setAutoPadding(false);
      assert.deepEqual(
        enc(C.CKM_AES_ECB, undefined, block),
        Buffer.concat([ecb.update(block), ecb.final()]),
      );
      const ctrParams = Buffer.concat([Buffer.from([128, 0, 0, 0, 0, 0, 0, 0]), IV]);
      const ctr = createCipheriv('aes-256-ctr', KEY, IV);
      assert.deepEqual(
        enc(C.CKM_AES_CTR, ctrParams, PLAIN),
        Buffer.concat([ctr.update(PLAIN), ctr.final()]),
      );
    });

    it('CKM_AES_CTR refuses to wrap a short counter → CKR_DATA_LEN_RANGE', () => {
      const iv = Buffer.alloc(16, 0xff);
      const params = Buffer.concat([Buffer.from([8, 0, 0, 0, 0, 0, 0, 0]), iv]);
      m.p11.C_EncryptInit(s, { mechanism: C.CKM_AES_CTR, parameter: params }, aes);
      assertRv(() => m.p11.C_Encrypt(s, Buffer.alloc(32), Buffer.alloc(64)), C.CKR_DATA_LEN_RANGE);
    });

    it('CKM_AES_GCM equals node:crypto; a changed tag → CKR_ENCRYPTED_DATA_INVALID', () => {
      const params = {
        type: C.CK_PARAMS_AES_GCM,
        iv: IV.subarray(0, 12),
        aad: Buffer.from('header'),
        ivBits: 96,
        tagBits: 128,
      };
      const c = enc(C.CKM_AES_GCM, params, PLAIN);
      const node = createCipheriv('aes-256-gcm', KEY, IV.subarray(0, 12));
      node.setAAD(Buffer.from('header'));
      assert.deepEqual(c, Buffer.concat([node.update(PLAIN), node.final(), node.getAuthTag()]));
      assert.deepEqual(dec(C.CKM_AES_GCM, params, c), PLAIN);
      c[c.length - 1] = (c[c.length - 1] as number) ^ 1;
      assertRv(() => dec(C.CKM_AES_GCM, params, c), C.CKR_ENCRYPTED_DATA_INVALID);
    });

    it('bad CBC padding → CKR_ENCRYPTED_DATA_INVALID', () => {
      const bad = createCipheriv('aes-256-cbc', KEY, IV).setAutoPadding(false);
      const c = Buffer.concat([bad.update(Buffer.alloc(16, 0x42)), bad.final()]);
      assertRv(() => dec(C.CKM_AES_CBC_PAD, IV, c), C.CKR_ENCRYPTED_DATA_INVALID);
    });

    it('a too-small buffer keeps the result: the repeated call returns it without re-running the cipher', () => {
      const c = enc(C.CKM_AES_CBC_PAD, IV, PLAIN);
      m.p11.C_DecryptInit(s, { mechanism: C.CKM_AES_CBC_PAD, parameter: IV }, aes);
      assertRv(() => m.p11.C_Decrypt(s, c, Buffer.alloc(10)), C.CKR_BUFFER_TOO_SMALL);
      assert.deepEqual(m.p11.C_Decrypt(s, c, Buffer.alloc(41)), PLAIN);
      const h = s.readUInt32LE(0);
      m.engine.decryptInit(h, { mechanism: C.CKM_AES_CBC_PAD, parameter: IV }, aes.readUInt32LE(0));
      assert.ok(
        (m.engine.decrypt(h, c, null).length as number) >= PLAIN.length,
        'length query is an upper bound',
      );
      assert.deepEqual(Buffer.from(m.engine.decrypt(h, c, 48).bytes as Uint8Array), PLAIN);
    });

    it('a 15-byte IV → CKR_MECHANISM_PARAM_INVALID; an AES key used for RSA → CKR_KEY_TYPE_INCONSISTENT', () => {
      assertRv(
        () => m.p11.C_EncryptInit(s, { mechanism: C.CKM_AES_CBC, parameter: IV.subarray(1) }, aes),
        C.CKR_MECHANISM_PARAM_INVALID,
      );
      assertRv(
        () => m.p11.C_EncryptInit(s, { mechanism: C.CKM_RSA_PKCS_OAEP }, aes),
        C.CKR_KEY_TYPE_INCONSISTENT,
      );
    });

    it('a key with CKA_ENCRYPT false → CKR_KEY_FUNCTION_NOT_PERMITTED', () => {
      const k = m.p11.C_GenerateKey(s, { mechanism: C.CKM_AES_KEY_GEN }, [
        { type: C.CKA_VALUE_LEN, value: 16 },
        { type: C.CKA_ENCRYPT, value: false },
      ]);
      assertRv(
        () => m.p11.C_EncryptInit(s, { mechanism: C.CKM_AES_ECB }, k),
        C.CKR_KEY_FUNCTION_NOT_PERMITTED,
      );
    });

    /** A generated RSA pair, OAEP-SHA256 parameters, and PLAIN encrypted by node:crypto to the pair. */
    function oaepSetup() {
      const kp = m.p11.C_GenerateKeyPair(
        s,
        { mechanism: C.CKM_RSA_PKCS_KEY_PAIR_GEN },
        [{ type: C.CKA_MODULUS_BITS, value: 2048 }],
        [{ type: C.CKA_DECRYPT, value: true }],
      );
      const oaep = {
        type: C.CK_PARAMS_RSA_OAEP,
        hashAlg: C.CKM_SHA256,
        mgf: C.CKG_MGF1_SHA256,
        source: C.CKZ_DATA_SPECIFIED,
      };
      const pub = publicKeyOf(m.p11, s, kp.publicKey);
      const c = publicEncrypt(
        { key: pub, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' },
        PLAIN,
      );
      return { kp, oaep, c };
    }

    it('CKM_RSA_PKCS_OAEP round-trips with node:crypto in both directions', () => {
      const { kp, oaep, c } = oaepSetup();
      m.p11.C_DecryptInit(s, { mechanism: C.CKM_RSA_PKCS_OAEP, parameter: oaep }, kp.privateKey);
      assert.deepEqual(m.p11.C_Decrypt(s, c, Buffer.alloc(256)), PLAIN);
      m.p11.C_EncryptInit(s, { mechanism: C.CKM_RSA_PKCS_OAEP, parameter: oaep }, kp.publicKey);
      const ours = m.p11.C_Encrypt(s, PLAIN, Buffer.alloc(256));
      m.p11.C_DecryptInit(s, { mechanism: C.CKM_RSA_PKCS_OAEP, parameter: oaep }, kp.privateKey);
      assert.deepEqual(m.p11.C_Decrypt(s, ours, Buffer.alloc(256)), PLAIN);
    });

    it('C_DecryptAsync: CKM_RSA_PKCS_OAEP decrypts; a too-small buffer → CKR_BUFFER_TOO_SMALL, then the result', async () => {
      const { kp, oaep, c } = oaepSetup();
      const init = () =>
        m.p11.C_DecryptInit(s, { mechanism: C.CKM_RSA_PKCS_OAEP, parameter: oaep }, kp.privateKey);
      init();
      assert.deepEqual(await m.p11.C_DecryptAsync(s, c, Buffer.alloc(256)), PLAIN);
      assertRv(() => m.p11.C_Decrypt(s, c, Buffer.alloc(256)), C.CKR_OPERATION_NOT_INITIALIZED);
      init();
      await assertRvAsync(m.p11.C_DecryptAsync(s, c, Buffer.alloc(4)), C.CKR_BUFFER_TOO_SMALL);
      assert.deepEqual(await m.p11.C_DecryptAsync(s, c, Buffer.alloc(256)), PLAIN);
      // The engine: the operation leaves the session as the call begins, so nothing interleaves.
      init();
      const h = s.readUInt32LE(0);
      const pending = m.engine.decryptAsync(h, c, 256);
      assertRv(() => m.engine.decrypt(h, c, 256), C.CKR_OPERATION_NOT_INITIALIZED);
      assert.deepEqual(Buffer.from((await pending).bytes as Uint8Array), PLAIN);
    });

    it('CKM_RSA_PKCS_OAEP encrypts for node:crypto', () => {
      const { privateKey } = freshKeyPair('rsa', { modulusLength: 2048 });
      const jwk = privateKey.export({ format: 'jwk' });
      const pub = m.p11.C_CreateObject(s, [
        { type: C.CKA_CLASS, value: C.CKO_PUBLIC_KEY },
        { type: C.CKA_KEY_TYPE, value: C.CKK_RSA },
        { type: C.CKA_MODULUS, value: Buffer.from(jwk.n as string, 'base64url') },
        { type: C.CKA_PUBLIC_EXPONENT, value: Buffer.from(jwk.e as string, 'base64url') },
      ]);
      m.p11.C_EncryptInit(
        s,
        {
          mechanism: C.CKM_RSA_PKCS_OAEP,
          parameter: {
            type: C.CK_PARAMS_RSA_OAEP,
            hashAlg: C.CKM_SHA_1,
            mgf: C.CKG_MGF1_SHA1,
            source: C.CKZ_DATA_SPECIFIED,
          },
        },
        pub,
      );
      const c = m.p11.C_Encrypt(s, PLAIN, Buffer.alloc(256));
      assert.deepEqual(privateDecrypt({ key: privateKey, oaepHash: 'sha1' }, c), PLAIN);
    });

    it('CKM_ECDH1_DERIVE with CKD_NULL gives the same AES key as the peer computes', () => {
      const kp = m.p11.C_GenerateKeyPair(
        s,
        { mechanism: C.CKM_EC_KEY_PAIR_GEN },
        [{ type: C.CKA_EC_PARAMS, value: EC_PARAMS['P-256'] }],
        [{ type: C.CKA_DERIVE, value: true }],
      );
      const peer = createECDH('prime256v1');
      peer.generateKeys();
      const derived = m.p11.C_DeriveKey(
        s,
        {
          mechanism: C.CKM_ECDH1_DERIVE,
          parameter: { type: C.CK_PARAMS_EC_DH, kdf: C.CKD_NULL, publicData: peer.getPublicKey() },
        },
        kp.privateKey,
        [
          { type: C.CKA_CLASS, value: C.CKO_SECRET_KEY },
          { type: C.CKA_KEY_TYPE, value: C.CKK_AES },
          { type: C.CKA_VALUE_LEN, value: 32 },
          { type: C.CKA_SENSITIVE, value: false },
          { type: C.CKA_EXTRACTABLE, value: true },
        ],
      );
      const [point] = m.p11.C_GetAttributeValue(s, kp.publicKey, [{ type: C.CKA_EC_POINT }]);
      const z = peer.computeSecret(Buffer.from(point?.value as Buffer).subarray(2));
      const [value, local] = m.p11.C_GetAttributeValue(s, derived, [
        { type: C.CKA_VALUE },
        { type: C.CKA_LOCAL },
      ]);
      assert.deepEqual(value?.value, z);
      assert.deepEqual(local?.value, Buffer.from([0]));
      // and the derived key works: encrypt with it, decrypt with node
      m.p11.C_EncryptInit(s, { mechanism: C.CKM_AES_CBC_PAD, parameter: IV }, derived);
      const c = m.p11.C_Encrypt(s, PLAIN, Buffer.alloc(64));
      const d = createDecipheriv('aes-256-cbc', z, IV);
      assert.deepEqual(Buffer.concat([d.update(c), d.final()]), PLAIN);
    });

    it('ECDH from a key without CKA_DERIVE → CKR_KEY_FUNCTION_NOT_PERMITTED; a point off the curve → CKR_MECHANISM_PARAM_INVALID', () => {
      const kp = m.p11.C_GenerateKeyPair(
        s,
        { mechanism: C.CKM_EC_KEY_PAIR_GEN },
        [{ type: C.CKA_EC_PARAMS, value: EC_PARAMS['P-256'] }],
        [{ type: C.CKA_DERIVE, value: true }],
      );
      const noDerive = m.p11.C_GenerateKeyPair(
        s,
        { mechanism: C.CKM_EC_KEY_PAIR_GEN },
        [{ type: C.CKA_EC_PARAMS, value: EC_PARAMS['P-256'] }],
        [],
      );
      const tmpl = [{ type: C.CKA_VALUE_LEN, value: 32 }];
      const bad = Buffer.alloc(65, 1);
      bad[0] = 4;
      const mech = (publicData: Buffer) => ({
        mechanism: C.CKM_ECDH1_DERIVE,
        parameter: { type: C.CK_PARAMS_EC_DH, kdf: C.CKD_NULL, publicData },
      });
      assertRv(
        () => m.p11.C_DeriveKey(s, mech(bad), noDerive.privateKey, tmpl),
        C.CKR_KEY_FUNCTION_NOT_PERMITTED,
      );
      assertRv(
        () => m.p11.C_DeriveKey(s, mech(bad), kp.privateKey, tmpl),
        C.CKR_MECHANISM_PARAM_INVALID,
      );
    });
  });
}
