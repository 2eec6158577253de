import assert from 'node:assert/strict';
import { verify } from 'node:crypto';
import { describe, it } from 'node:test';
import { publicKeyOf } from '../../helpers/keys.js';
import { C, initializedModule, PAL_PORTS, userSession } from '../../helpers/token.js';

describe('multi-part sign: the token keeps its own copy of each part', () => {
  for (const [name, mechanism, gen, params] of [
    ['CKM_ECDSA_SHA256', C.CKM_ECDSA_SHA256, C.CKM_EC_KEY_PAIR_GEN, 'ec'],
    ['CKM_SHA256_RSA_PKCS', C.CKM_SHA256_RSA_PKCS, C.CKM_RSA_PKCS_KEY_PAIR_GEN, 'rsa'],
  ] as const) {
    it(`${name}: a caller reusing its Buffer between C_SignUpdate calls → CKR_OK, signature over both parts`, () => {
      const m = initializedModule(PAL_PORTS[0] as (typeof PAL_PORTS)[number]);
      const s = userSession(m);
      const kp = m.p11.C_GenerateKeyPair(
        s,
        { mechanism: gen },
        params === 'ec'
          ? [
              { type: C.CKA_EC_PARAMS, value: Buffer.from('06082a8648ce3d030107', 'hex') },
              { type: C.CKA_VERIFY, value: true },
            ]
          : [
              { type: C.CKA_MODULUS_BITS, value: 2048 },
              { type: C.CKA_VERIFY, value: true },
            ],
        [{ type: C.CKA_SIGN, value: true }],
      );
      const buf = Buffer.from('part one');
      m.p11.C_SignInit(s, { mechanism }, kp.privateKey);
      m.p11.C_SignUpdate(s, buf);
      buf.write('part two');
      m.p11.C_SignUpdate(s, buf);
      const sig = Buffer.from(m.p11.C_SignFinal(s, Buffer.alloc(512)));
      const key = publicKeyOf(m.p11, s, kp.publicKey);
      const opts = params === 'ec' ? { key, dsaEncoding: 'ieee-p1363' as const } : key;
      assert.equal(verify('sha256', Buffer.from('part onepart two'), opts, sig), true);
      m.cleanup();
    });
  }
});
