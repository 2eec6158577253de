import { describe, it } from 'node:test';
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
