import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createMemoryPal } from '../../../src/adapters/pal-memory/index.js';
import { Pkcs11Error } from '../../../src/errors.js';
import * as C from '../../../src/pkcs11/constants.js';
import type { Pal } from '../../../src/storage/pal.js';
import { assertRv, initializedModule, type PalPort, USER_PIN } from '../../helpers/token.js';

/** A memory port whose storage can be declared full: every save is then CKR_DEVICE_MEMORY. */
function fillable(): { port: PalPort; setFull: (full: boolean) => void } {
  let full = false;
  const store = createMemoryPal();
  const wrap = (inner: Pal): Pal => ({
    ...inner,
    saveObject(label, data, isPrivate) {
      if (full) throw new Pkcs11Error(C.CKR_DEVICE_MEMORY, 'storage full');
      return inner.saveObject(label, data, isPrivate);
    },
  });
  return {
    port: {
      name: 'fillable',
      create: () => ({ pal: wrap(store), reopen: () => wrap(store), cleanup() {} }),
    },
    setFull: (f) => {
      full = f;
    },
  };
}

describe('the token record on full storage', () => {
  it('a login that cannot spend its try in storage is refused unchecked → CKR_DEVICE_MEMORY, no try lost', () => {
    const { port, setFull } = fillable();
    // a new process: no PIN has verified in it yet, so every login needs a counted try
    const r = initializedModule(port).restart();
    const s = r.p11.C_OpenSession(r.slot, C.CKF_SERIAL_SESSION | C.CKF_RW_SESSION);
    setFull(true);
    // refused before the PIN is looked at: the right and a wrong PIN get the same answer
    assertRv(() => r.p11.C_Login(s, C.CKU_USER, USER_PIN), C.CKR_DEVICE_MEMORY);
    for (let i = 0; i < 20; i++) {
      assertRv(() => r.p11.C_Login(s, C.CKU_USER, '0000'), C.CKR_DEVICE_MEMORY);
    }
    assertRv(() => r.p11.C_Login(s, C.CKU_SO, '00000000'), C.CKR_DEVICE_MEMORY);
    setFull(false);
    const flags = r.p11.C_GetTokenInfo(r.slot).flags;
    assert.equal(
      flags & (C.CKF_USER_PIN_COUNT_LOW | C.CKF_USER_PIN_LOCKED | C.CKF_SO_PIN_COUNT_LOW),
      0,
    );
    r.p11.C_Login(s, C.CKU_USER, USER_PIN);
    r.cleanup();
  });
});
