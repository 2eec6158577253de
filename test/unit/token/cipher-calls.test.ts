import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { handle, num } from '../../helpers/material.js';
import { assertRv, C, initializedModule, PAL_PORTS, userSession } from '../../helpers/token.js';

describe('a call repeated after CKR_BUFFER_TOO_SMALL', () => {
  it('with the same Buffer changed in between → CKR_OPERATION_ACTIVE, not the old output', () => {
    const m = initializedModule(PAL_PORTS[0] as (typeof PAL_PORTS)[number]);
    const s = userSession(m);
    const key = m.p11.C_GenerateKey(s, { mechanism: C.CKM_AES_KEY_GEN }, [
      { type: C.CKA_VALUE_LEN, value: 16 },
      { type: C.CKA_ENCRYPT, value: true },
    ]);
    const mech = { mechanism: C.CKM_AES_CBC_PAD, parameter: Buffer.alloc(16, 1) };
    m.p11.C_EncryptInit(s, mech, key);
    const data = Buffer.alloc(20, 0x11);
    assertRv(() => m.p11.C_Encrypt(s, data, Buffer.alloc(1)), C.CKR_BUFFER_TOO_SMALL);
    data.fill(0x42);
    assertRv(() => m.p11.C_Encrypt(s, data, Buffer.alloc(64)), C.CKR_OPERATION_ACTIVE);
    m.cleanup();
  });
});

describe('single-part length queries (PKCS#11 §5.2: the length returned must suffice)', () => {
  const KEY = Buffer.alloc(32, 0x5c);
  const GCM = {
    type: C.CK_PARAMS_AES_GCM,
    iv: Buffer.alloc(12, 9),
    aad: Buffer.from('aad'),
    tagBits: 128,
  };
  const OAEP = {
    type: C.CK_PARAMS_RSA_OAEP,
    hashAlg: C.CKM_SHA256,
    mgf: C.CKG_MGF1_SHA256,
    source: C.CKZ_DATA_SPECIFIED,
  };
  const IV = Buffer.alloc(16, 3);
  const CTR = Buffer.concat([Buffer.from([128, 0, 0, 0, 0, 0, 0, 0]), IV]);
  const ROWS: [
    mech: number,
    parameter: unknown,
    rsa: boolean,
    decrypts: boolean,
    lengths: number[],
  ][] = [
    [C.CKM_AES_ECB, undefined, false, true, [16, 48]],
    [C.CKM_AES_CBC, IV, false, true, [16, 48]],
    [C.CKM_AES_CBC_PAD, IV, false, true, [0, 15, 16, 41]],
    [C.CKM_AES_CTR, CTR, false, true, [0, 1, 41]],
    [C.CKM_AES_GCM, GCM, false, true, [0, 41, 100]],
    [C.CKM_AES_KEY_WRAP, undefined, false, true, [16, 32, 40]],
    [C.CKM_AES_KEY_WRAP_PAD, undefined, false, true, [1, 17, 100]],
    [C.CKM_RSA_PKCS_OAEP, OAEP, true, true, [0, 41, 190]],
    [C.CKM_RSA_X_509, undefined, true, true, [1, 200]],
    [C.CKM_RSA_PKCS, undefined, true, false, [0, 41, 245]],
  ];

  for (const [mech, parameter, rsa, decrypts, lengths] of ROWS) {
    it(`${C.CKM_NAMES.get(mech)}: C_Encrypt${decrypts ? '/C_Decrypt' : ''} called with exactly the queried length → CKR_OK`, () => {
      const m = initializedModule(PAL_PORTS[0] as (typeof PAL_PORTS)[number]);
      const s = userSession(m);
      const h = num(s);
      let enc: number;
      let dec: number;
      if (rsa) {
        const kp = m.p11.C_GenerateKeyPair(
          s,
          { mechanism: C.CKM_RSA_PKCS_KEY_PAIR_GEN },
          [{ type: C.CKA_MODULUS_BITS, value: 2048 }],
          [{ type: C.CKA_DECRYPT, value: true }],
        );
        [enc, dec] = [num(kp.publicKey), num(kp.privateKey)];
      } else {
        enc = dec = num(
          m.p11.C_CreateObject(s, [
            { type: C.CKA_CLASS, value: C.CKO_SECRET_KEY },
            { type: C.CKA_KEY_TYPE, value: C.CKK_AES },
            { type: C.CKA_VALUE, value: KEY },
          ]),
        );
      }
      const init = (dir: 'encrypt' | 'decrypt') => {
        const raw = { mechanism: mech, parameter: parameter as never };
        if (dir === 'encrypt') m.p11.C_EncryptInit(s, raw, handle(enc));
        else m.p11.C_DecryptInit(s, raw, handle(dec));
      };
      for (const n of lengths) {
        const plain = Buffer.alloc(n, 0x21);
        init('encrypt');
        const { length } = m.engine.encrypt(h, plain, null);
        const cipher = m.engine.encrypt(h, plain, length).bytes as Uint8Array;
        assert.ok(cipher.length <= length);
        if (!decrypts) continue;
        init('decrypt');
        const query = m.engine.decrypt(h, cipher, null).length;
        const back = m.engine.decrypt(h, cipher, query).bytes as Uint8Array;
        // raw RSA gives the modulus-sized block: the plaintext is its tail
        assert.deepEqual(Buffer.from(back.subarray(back.length - n)), plain);
      }
      m.cleanup();
    });
  }

  it('C_WrapKey (CKM_AES_KEY_WRAP_PAD) called with exactly the queried length → CKR_OK', () => {
    const m = initializedModule(PAL_PORTS[0] as (typeof PAL_PORTS)[number]);
    const s = userSession(m);
    const kek = m.p11.C_CreateObject(s, [
      { type: C.CKA_CLASS, value: C.CKO_SECRET_KEY },
      { type: C.CKA_KEY_TYPE, value: C.CKK_AES },
      { type: C.CKA_VALUE, value: KEY },
      { type: C.CKA_WRAP, value: true },
      { type: C.CKA_DECRYPT, value: false },
    ]);
    const key = m.p11.C_CreateObject(s, [
      { type: C.CKA_CLASS, value: C.CKO_SECRET_KEY },
      { type: C.CKA_KEY_TYPE, value: C.CKK_GENERIC_SECRET },
      { type: C.CKA_VALUE, value: Buffer.alloc(21, 4) },
      { type: C.CKA_EXTRACTABLE, value: true },
    ]);
    const mech = { mechanism: C.CKM_AES_KEY_WRAP_PAD };
    const { length } = m.engine.wrapKey(num(s), mech, num(kek), num(key), null);
    assert.equal(m.engine.wrapKey(num(s), mech, num(kek), num(key), length).bytes?.length, 32);
    m.cleanup();
  });
});
