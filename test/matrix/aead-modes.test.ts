/**
 * The ciphers PKCS#11 3.0 added or kryoptic has and node:crypto can do: ChaCha20-Poly1305 (RFC 8439),
 * AES-CCM (SP 800-38C), AES-CFB8/CFB128/CFB1/OFB (SP 800-38A) and AES-XTS (IEEE 1619), against the
 * published vectors and node:crypto, on every PAL port.
 * @module
 */
import assert from 'node:assert/strict';
import { createCipheriv, randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { Handle } from '../../src/api/convert.js';
import { CK_PARAMS_CHACHA20_POLY1305 } from '../../src/pkcs11/params.js';
import {
  assertRv,
  C,
  initializedModule,
  PAL_PORTS,
  type TestModule,
  userSession,
} from '../helpers/token.js';
import { hex, loadVectors } from '../helpers/vectors.js';

const CHACHA = loadVectors<{
  source: string;
  key: string;
  nonce: string;
  aad: string;
  plaintext: string;
  ciphertext: string;
  tag: string;
}>('rfc8439/chacha20-poly1305.json');
const CCM = loadVectors<{
  source: string;
  vectors: {
    name: string;
    key: string;
    nonce: string;
    aad: string;
    plaintext: string;
    macLen: number;
    c: string;
  }[];
}>('nist/sp800-38c-ccm.json');
const SP38A = loadVectors<{
  source: string;
  key: string;
  iv: string;
  vectors: { mode: 'CFB8' | 'CFB128' | 'OFB'; plaintext: string; ciphertext: string }[];
}>('nist/sp800-38a.json');
const XTS = loadVectors<{
  source: string;
  vectors: { name: string; key: string; tweak: string; plaintext: string; ciphertext: string }[];
}>('ieee1619/xts.json');
const MODE = { CFB8: C.CKM_AES_CFB8, CFB128: C.CKM_AES_CFB128, OFB: C.CKM_AES_OFB } as const;

for (const port of PAL_PORTS) {
  describe(`ChaCha20-Poly1305, AES-CCM, CFB, OFB and XTS [${port.name}]`, () => {
    let m: TestModule;
    let s: Handle;
    before(() => {
      m = initializedModule(port);
      s = userSession(m);
    });
    after(() => m.cleanup());

    const key = (keyType: number, value: Buffer) =>
      m.p11.C_CreateObject(s, [
        { type: C.CKA_CLASS, value: C.CKO_SECRET_KEY },
        { type: C.CKA_KEY_TYPE, value: keyType },
        { type: C.CKA_VALUE, value },
        { type: C.CKA_ENCRYPT, value: true },
        { type: C.CKA_DECRYPT, value: true },
      ]);
    type Param = Parameters<TestModule['p11']['C_EncryptInit']>[1]['parameter'];
    /** C_Encrypt / C_Decrypt in one part, or in `parts` C_*Update calls and a C_*Final. */
    const run = (
      encrypt: boolean,
      mechanism: number,
      parameter: Param,
      k: Handle,
      data: Buffer,
      parts = 1,
    ) => {
      const mech = { mechanism, parameter };
      if (encrypt) m.p11.C_EncryptInit(s, mech, k);
      else m.p11.C_DecryptInit(s, mech, k);
      const out = Buffer.alloc(data.length + 64);
      if (parts === 1)
        return Buffer.from(encrypt ? m.p11.C_Encrypt(s, data, out) : m.p11.C_Decrypt(s, data, out));
      const chunks: Buffer[] = [];
      const step = Math.ceil(data.length / parts);
      for (let i = 0; i < data.length; i += step) {
        const part = data.subarray(i, i + step);
        const o = Buffer.alloc(part.length + 64);
        chunks.push(
          Buffer.from(
            encrypt ? m.p11.C_EncryptUpdate(s, part, o) : m.p11.C_DecryptUpdate(s, part, o),
          ),
        );
      }
      const f = Buffer.alloc(data.length + 64);
      chunks.push(Buffer.from(encrypt ? m.p11.C_EncryptFinal(s, f) : m.p11.C_DecryptFinal(s, f)));
      return Buffer.concat(chunks);
    };

    it('CKM_CHACHA20_POLY1305 gives RFC 8439 §2.8.2 ciphertext ‖ tag, in one part and in three, and opens it', () => {
      const k = key(C.CKK_CHACHA20, hex(CHACHA.key));
      const param = {
        type: CK_PARAMS_CHACHA20_POLY1305,
        nonce: hex(CHACHA.nonce),
        aad: hex(CHACHA.aad),
      } as never;
      const expected = CHACHA.ciphertext + CHACHA.tag;
      const plain = Buffer.from(CHACHA.plaintext, 'ascii');
      assert.equal(run(true, C.CKM_CHACHA20_POLY1305, param, k, plain).toString('hex'), expected);
      assert.equal(
        run(true, C.CKM_CHACHA20_POLY1305, param, k, plain, 3).toString('hex'),
        expected,
      );
      assert.deepEqual(run(false, C.CKM_CHACHA20_POLY1305, param, k, hex(expected), 3), plain);
    });

    it('CKM_CHACHA20_POLY1305: a changed byte, AAD or tag → CKR_ENCRYPTED_DATA_INVALID; a 64-bit nonce → CKR_MECHANISM_PARAM_INVALID', () => {
      const k = key(C.CKK_CHACHA20, hex(CHACHA.key));
      const good = {
        type: CK_PARAMS_CHACHA20_POLY1305,
        nonce: hex(CHACHA.nonce),
        aad: hex(CHACHA.aad),
      };
      const sealed = hex(CHACHA.ciphertext + CHACHA.tag);
      const flipped = Buffer.from(sealed);
      flipped[5] = (flipped[5] as number) ^ 1;
      assertRv(
        () => run(false, C.CKM_CHACHA20_POLY1305, good as never, k, flipped),
        C.CKR_ENCRYPTED_DATA_INVALID,
      );
      assertRv(
        () =>
          run(
            false,
            C.CKM_CHACHA20_POLY1305,
            { ...good, aad: Buffer.from('x') } as never,
            k,
            sealed,
          ),
        C.CKR_ENCRYPTED_DATA_INVALID,
      );
      assertRv(
        () => run(false, C.CKM_CHACHA20_POLY1305, good as never, k, sealed.subarray(0, 10)),
        C.CKR_ENCRYPTED_DATA_LEN_RANGE,
      );
      assertRv(
        () =>
          m.p11.C_EncryptInit(
            s,
            {
              mechanism: C.CKM_CHACHA20_POLY1305,
              parameter: { ...good, nonce: Buffer.alloc(8) } as never,
            },
            k,
          ),
        C.CKR_MECHANISM_PARAM_INVALID,
      );
      const aes = key(C.CKK_AES, Buffer.alloc(32, 1));
      assertRv(
        () =>
          m.p11.C_EncryptInit(
            s,
            { mechanism: C.CKM_CHACHA20_POLY1305, parameter: good as never },
            aes,
          ),
        C.CKR_KEY_TYPE_INCONSISTENT,
      );
    });

    for (const v of CCM.vectors) {
      it(`CKM_AES_CCM gives SP 800-38C ${v.name} and opens it`, () => {
        const k = key(C.CKK_AES, hex(v.key));
        const param = {
          type: C.CK_PARAMS_AES_CCM,
          dataLen: v.plaintext.length / 2,
          nonce: hex(v.nonce),
          aad: hex(v.aad),
          macLen: v.macLen,
        } as never;
        assert.equal(run(true, C.CKM_AES_CCM, param, k, hex(v.plaintext), 2).toString('hex'), v.c);
        assert.equal(run(false, C.CKM_AES_CCM, param, k, hex(v.c)).toString('hex'), v.plaintext);
        const bad = hex(v.c);
        bad[0] = (bad[0] as number) ^ 0x80;
        assertRv(() => run(false, C.CKM_AES_CCM, param, k, bad), C.CKR_ENCRYPTED_DATA_INVALID);
      });
    }

    it('CKM_AES_CCM: data of another length than dataLen → CKR_DATA_LEN_RANGE; bad nonce or MAC length → CKR_MECHANISM_PARAM_INVALID', () => {
      const value = randomBytes(32);
      const k = key(C.CKK_AES, value);
      const param = {
        type: C.CK_PARAMS_AES_CCM,
        dataLen: 10,
        nonce: randomBytes(12),
        aad: Buffer.from('a'),
        macLen: 16,
      };
      assertRv(
        () => run(true, C.CKM_AES_CCM, param as never, k, Buffer.alloc(11)),
        C.CKR_DATA_LEN_RANGE,
      );
      assertRv(
        () => run(false, C.CKM_AES_CCM, param as never, k, Buffer.alloc(25)),
        C.CKR_ENCRYPTED_DATA_LEN_RANGE,
      );
      for (const bad of [
        { ...param, nonce: Buffer.alloc(6) },
        { ...param, nonce: Buffer.alloc(14) },
        { ...param, macLen: 5 },
        { ...param, dataLen: 2 ** 24, nonce: Buffer.alloc(13) },
      ]) {
        assertRv(
          () => m.p11.C_EncryptInit(s, { mechanism: C.CKM_AES_CCM, parameter: bad as never }, k),
          C.CKR_MECHANISM_PARAM_INVALID,
        );
      }
      // 32-byte AES key and a 12-byte nonce: equal to node:crypto's CCM.
      const data = randomBytes(10);
      const ours = run(true, C.CKM_AES_CCM, param as never, k, data);
      const c = createCipheriv('aes-256-ccm', value, param.nonce, { authTagLength: 16 });
      c.setAAD(param.aad, { plaintextLength: 10 });
      assert.deepEqual(ours, Buffer.concat([c.update(data), c.final(), c.getAuthTag()]));
    });

    for (const v of SP38A.vectors) {
      it(`CKM_AES_${v.mode} gives SP 800-38A's ciphertext byte by byte and decrypts it`, () => {
        const k = key(C.CKK_AES, hex(SP38A.key));
        const iv = hex(SP38A.iv);
        const plain = hex(v.plaintext);
        assert.equal(
          run(true, MODE[v.mode], iv, k, plain, plain.length).toString('hex'),
          v.ciphertext,
        );
        assert.deepEqual(run(false, MODE[v.mode], iv, k, hex(v.ciphertext), 3), plain);
        assertRv(
          () => m.p11.C_EncryptInit(s, { mechanism: MODE[v.mode], parameter: Buffer.alloc(8) }, k),
          C.CKR_MECHANISM_PARAM_INVALID,
        );
      });
    }

    it('CKM_AES_CFB1 equals node:crypto aes-256-cfb1 in both directions', () => {
      const value = randomBytes(32);
      const k = key(C.CKK_AES, value);
      const iv = randomBytes(16);
      const data = randomBytes(37);
      const theirs = createCipheriv('aes-256-cfb1', value, iv).update(data);
      assert.deepEqual(run(true, C.CKM_AES_CFB1, iv, k, data, 2), theirs);
      assert.deepEqual(run(false, C.CKM_AES_CFB1, iv, k, theirs), data);
    });

    for (const v of XTS.vectors) {
      it(`CKM_AES_XTS on a CKK_AES_XTS key gives IEEE 1619 ${v.name} and decrypts it`, () => {
        const k = key(C.CKK_AES_XTS, hex(v.key));
        assert.equal(
          run(true, C.CKM_AES_XTS, hex(v.tweak), k, hex(v.plaintext), 2).toString('hex'),
          v.ciphertext,
        );
        assert.equal(
          run(false, C.CKM_AES_XTS, hex(v.tweak), k, hex(v.ciphertext)).toString('hex'),
          v.plaintext,
        );
      });
    }

    it('CKM_AES_XTS with a 64-byte key and ciphertext stealing equals node:crypto; under a block → CKR_DATA_LEN_RANGE', () => {
      const value = Buffer.concat([randomBytes(32), randomBytes(32)]);
      const k = key(C.CKK_AES_XTS, value);
      const tweak = randomBytes(16);
      const data = randomBytes(45);
      assert.deepEqual(
        run(true, C.CKM_AES_XTS, tweak, k, data),
        createCipheriv('aes-256-xts', value, tweak).update(data),
      );
      assertRv(() => run(true, C.CKM_AES_XTS, tweak, k, Buffer.alloc(15)), C.CKR_DATA_LEN_RANGE);
      assertRv(
        () => run(false, C.CKM_AES_XTS, tweak, k, Buffer.alloc(15)),
        C.CKR_ENCRYPTED_DATA_LEN_RANGE,
      );
      const aes = key(C.CKK_AES, randomBytes(32));
      assertRv(
        () => m.p11.C_EncryptInit(s, { mechanism: C.CKM_AES_XTS, parameter: tweak }, aes),
        C.CKR_KEY_TYPE_INCONSISTENT,
      );
    });
  });
}
