import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createMemoryPal } from '../../../src/adapters/pal-memory/index.js';
import { Pkcs11Error } from '../../../src/errors.js';
import * as C from '../../../src/pkcs11/constants.js';
import type { Pal } from '../../../src/storage/pal.js';
import { WELL_KNOWN_LABELS } from '../../../src/token/object-store.js';
import { freshModule, type PalPort, TEST_TOKEN_OPTIONS } from '../../helpers/token.js';

/** A port like corePKCS11's posix PAL: it can only store the well-known labels. */
function fixedSlotPal(inner: Pal): Pal {
  return {
    ...inner,
    saveObject(label, data, isPrivate) {
      if (!WELL_KNOWN_LABELS.includes(label))
        throw new Pkcs11Error(C.CKR_DEVICE_MEMORY, `no slot for ${label}`);
      return inner.saveObject(label, data, isPrivate);
    },
  };
}

const port: PalPort = {
  name: 'fixed-slot',
  create() {
    const store = createMemoryPal();
    return { pal: fixedSlotPal(store), reopen: () => fixedSlotPal(store), cleanup() {} };
  },
};

describe('a PAL with only the corePKCS11 fixed slots', () => {
  it('stores and finds objects under the well-known labels across a restart', () => {
    const warnings: string[] = [];
    const m = freshModule(port, { ...TEST_TOKEN_OPTIONS, warn: (w) => warnings.push(w) });
    assert.ok(warnings.some((w) => /not persisted/.test(w)));
    const s = m.p11.C_OpenSession(m.slot, C.CKF_SERIAL_SESSION | C.CKF_RW_SESSION);
    const cert = Buffer.from('3003020101', 'hex');
    m.p11.C_CreateObject(s, [
      { type: C.CKA_CLASS, value: C.CKO_DATA },
      { type: C.CKA_PRIVATE, value: false }, // public: no login here
      { type: C.CKA_TOKEN, value: true },
      { type: C.CKA_LABEL, value: 'Device Cert' },
      { type: C.CKA_VALUE, value: cert },
    ]);
    const r = m.restart();
    const s2 = r.p11.C_OpenSession(r.slot, C.CKF_SERIAL_SESSION | C.CKF_RW_SESSION);
    r.p11.C_FindObjectsInit(s2, [{ type: C.CKA_LABEL, value: 'Device Cert' }]);
    const h = r.p11.C_FindObjects(s2);
    r.p11.C_FindObjectsFinal(s2);
    assert.ok(h);
    assert.deepEqual(r.p11.C_GetAttributeValue(s2, h, [{ type: C.CKA_VALUE }])[0]?.value, cert);
    r.p11.C_DestroyObject(s2, h);
    const again = r.restart();
    const s3 = again.p11.C_OpenSession(again.slot, C.CKF_SERIAL_SESSION);
    again.p11.C_FindObjectsInit(s3, [{ type: C.CKA_LABEL, value: 'Device Cert' }]);
    assert.equal(again.p11.C_FindObjects(s3), null);
  });

  it('refuses other labels with CKR_DEVICE_MEMORY and leaves nothing behind', () => {
    const m = freshModule(port);
    const s = m.p11.C_OpenSession(m.slot, C.CKF_SERIAL_SESSION | C.CKF_RW_SESSION);
    assert.throws(
      () =>
        m.p11.C_CreateObject(s, [
          { type: C.CKA_CLASS, value: C.CKO_DATA },
          { type: C.CKA_PRIVATE, value: false }, // public: no login here
          { type: C.CKA_TOKEN, value: true },
          { type: C.CKA_LABEL, value: 'My Label' },
        ]),
      (e: Pkcs11Error) => e.code === C.CKR_DEVICE_MEMORY,
    );
    m.p11.C_FindObjectsInit(s, []);
    assert.deepEqual(m.p11.C_FindObjects(s, 10), []);
  });
});
