import assert from 'node:assert/strict';
import { createHash, verify } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { Handle } from '../../../src/api/convert.js';
import { EC_PARAMS, publicKeyOf } from '../../helpers/keys.js';
import {
  assertRv,
  C,
  initializedModule,
  PAL_PORTS,
  type TestModule,
  userSession,
} from '../../helpers/token.js';

const HASHED = [
  [C.CKM_ECDSA_SHA1, 'sha1'],
  [C.CKM_ECDSA_SHA224, 'sha224'],
  [C.CKM_ECDSA_SHA256, 'sha256'],
  [C.CKM_ECDSA_SHA384, 'sha384'],
  [C.CKM_ECDSA_SHA512, 'sha512'],
] as const;

describe('ECDSA mechanisms', () => {
  let m: TestModule;
  let s: Handle;
  let ec: { publicKey: Handle; privateKey: Handle };
  before(() => {
    m = initializedModule(PAL_PORTS[0] as (typeof PAL_PORTS)[number]);
    s = userSession(m);
    ec = m.p11.C_GenerateKeyPair(
      s,
      { mechanism: C.CKM_EC_KEY_PAIR_GEN },
      [{ type: C.CKA_EC_PARAMS, value: EC_PARAMS['P-256'] }],
      [{ type: C.CKA_SIGN, value: true }],
    );
  });
  after(() => m.cleanup());

  const nodeVerifies = (hash: string, data: Buffer, sig: Buffer) =>
    verify(
      hash,
      data,
      { key: publicKeyOf(m.p11, s, ec.publicKey), dsaEncoding: 'ieee-p1363' },
      sig,
    );

  for (const [mech, hash] of HASHED) {
    const name = C.CKM_NAMES.get(mech);
    it(`${name} signs and verifies the empty message (C_Sign, C_SignFinal without an update) → CKR_OK`, () => {
      const empty = Buffer.alloc(0);
      m.p11.C_SignInit(s, { mechanism: mech }, ec.privateKey);
      const one = m.p11.C_Sign(s, empty, Buffer.alloc(64));
      assert.ok(nodeVerifies(hash, empty, one));
      m.p11.C_SignInit(s, { mechanism: mech }, ec.privateKey);
      const multi = m.p11.C_SignFinal(s, Buffer.alloc(64));
      assert.ok(nodeVerifies(hash, empty, multi));
      m.p11.C_VerifyInit(s, { mechanism: mech }, ec.publicKey);
      assert.equal(m.p11.C_Verify(s, empty, one), true);
      m.p11.C_VerifyInit(s, { mechanism: mech }, ec.publicKey);
      assert.equal(m.p11.C_VerifyFinal(s, multi), true);
      m.p11.C_VerifyInit(s, { mechanism: mech }, ec.publicKey);
      assertRv(() => m.p11.C_Verify(s, Buffer.from('x'), one), C.CKR_SIGNATURE_INVALID);
    });
  }

  it('CKM_ECDSA still refuses an empty digest → CKR_DATA_LEN_RANGE', () => {
    m.p11.C_SignInit(s, { mechanism: C.CKM_ECDSA }, ec.privateKey);
    assertRv(() => m.p11.C_Sign(s, Buffer.alloc(0), Buffer.alloc(64)), C.CKR_DATA_LEN_RANGE);
    m.p11.C_VerifyInit(s, { mechanism: C.CKM_ECDSA }, ec.publicKey);
    const digest = createHash('sha256').digest();
    assertRv(() => m.p11.C_Verify(s, Buffer.alloc(0), Buffer.alloc(64)), C.CKR_DATA_LEN_RANGE);
    m.p11.C_SignInit(s, { mechanism: C.CKM_ECDSA }, ec.privateKey);
    assert.ok(nodeVerifies('sha256', Buffer.alloc(0), m.p11.C_Sign(s, digest, Buffer.alloc(64))));
  });
});
