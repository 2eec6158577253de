import { describe, it } from 'node:test';
import { assertRv, C, initializedModule, PAL_PORTS, userSession } from '../../helpers/token.js';

const P256 = Buffer.from('06082a8648ce3d030107', 'hex');

describe('key-use checks are remembered only while the attributes stay the same', () => {
  for (const port of PAL_PORTS) {
    for (const token of [false, true]) {
      it(`${port.name}, ${token ? 'token' : 'session'} key: CKA_SIGN set false after a signature → CKR_KEY_FUNCTION_NOT_PERMITTED`, () => {
        const m = initializedModule(port);
        const s = userSession(m);
        const kp = m.p11.C_GenerateKeyPair(
          s,
          { mechanism: C.CKM_EC_KEY_PAIR_GEN },
          [
            { type: C.CKA_EC_PARAMS, value: P256 },
            { type: C.CKA_TOKEN, value: token },
          ],
          [
            { type: C.CKA_SIGN, value: true },
            { type: C.CKA_TOKEN, value: token },
          ],
        );
        const sign = () => {
          m.p11.C_SignInit(s, { mechanism: C.CKM_ECDSA }, kp.privateKey);
          m.p11.C_Sign(s, Buffer.alloc(32, 1), Buffer.alloc(64));
        };
        sign();
        sign();
        m.p11.C_SetAttributeValue(s, kp.privateKey, [{ type: C.CKA_SIGN, value: false }]);
        assertRv(sign, C.CKR_KEY_FUNCTION_NOT_PERMITTED);
        m.p11.C_SetAttributeValue(s, kp.privateKey, [{ type: C.CKA_SIGN, value: true }]);
        sign();
        m.cleanup();
      });
    }
  }

  it('a change made by another application to a token key is seen → CKR_KEY_FUNCTION_NOT_PERMITTED', () => {
    const m = initializedModule(PAL_PORTS[2] as (typeof PAL_PORTS)[number]);
    const s = userSession(m);
    const kp = m.p11.C_GenerateKeyPair(
      s,
      { mechanism: C.CKM_EC_KEY_PAIR_GEN },
      [
        { type: C.CKA_EC_PARAMS, value: P256 },
        { type: C.CKA_TOKEN, value: true },
        { type: C.CKA_VERIFY, value: true },
        { type: C.CKA_LABEL, value: 'shared' },
      ],
      [{ type: C.CKA_TOKEN, value: true }],
    );
    const verifyInit = () => {
      m.p11.C_VerifyInit(s, { mechanism: C.CKM_ECDSA }, kp.publicKey);
      assertRv(
        () => m.p11.C_Verify(s, Buffer.alloc(32), Buffer.alloc(64)),
        C.CKR_SIGNATURE_INVALID,
      );
    };
    verifyInit();
    const other = m.another();
    const s2 = other.C_OpenSession(m.slot, C.CKF_SERIAL_SESSION | C.CKF_RW_SESSION);
    other.C_FindObjectsInit(s2, [{ type: C.CKA_LABEL, value: 'shared' }]);
    const pub = other.C_FindObjects(s2);
    other.C_FindObjectsFinal(s2);
    if (!pub) throw new Error('the other application does not find the key');
    other.C_SetAttributeValue(s2, pub, [{ type: C.CKA_VERIFY, value: false }]);
    assertRv(
      () => m.p11.C_VerifyInit(s, { mechanism: C.CKM_ECDSA }, kp.publicKey),
      C.CKR_KEY_FUNCTION_NOT_PERMITTED,
    );
    m.cleanup();
  });
});
