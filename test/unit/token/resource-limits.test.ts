/**
 * Resource limits (issue 10 §4): sessions, token objects, session objects, object size, stored bytes,
 * attribute and template size. Each is refused with its CKR before memory or storage
 * grows, leaves nothing half-made behind, and is reported in CK_TOKEN_INFO where PKCS#11 has a field.
 * @module
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fromHandle, type Handle } from '../../../src/api/convert.js';
import { EC_PARAMS } from '../../helpers/keys.js';
import { findAll } from '../../helpers/material.js';
import {
  assertRv,
  C,
  initializedModule,
  PAL_PORTS,
  type PalPort,
  TEST_TOKEN_OPTIONS,
  userSession,
} from '../../helpers/token.js';

const memory = PAL_PORTS.find((p) => p.name === 'memory') as PalPort;
const token = (extra: object) => ({ ...TEST_TOKEN_OPTIONS, ...extra });
const RW = C.CKF_SERIAL_SESSION | C.CKF_RW_SESSION;
/** A data object of `bytes` value bytes, on the token or (token false) in the session. */
const data = (label: string, bytes = 16, token = true) => [
  { type: C.CKA_CLASS, value: C.CKO_DATA },
  { type: C.CKA_PRIVATE, value: false }, // public: no login here
  { type: C.CKA_TOKEN, value: token },
  { type: C.CKA_LABEL, value: label },
  { type: C.CKA_VALUE, value: Buffer.alloc(bytes, 7) },
];
const tokenData = (label: string, bytes = 16) => data(label, bytes);

describe('resource limits', () => {
  it('maxSessions per application is reported as ulMaxSessionCount/ulMaxRwSessionCount; one more → CKR_SESSION_COUNT', () => {
    const m = initializedModule(memory, token({ maxSessions: 3 }));
    const info = m.p11.C_GetTokenInfo(m.slot);
    assert.equal(info.maxSessionCount, 3);
    assert.equal(info.maxRwSessionCount, 3);
    const open = [0, 1, 2].map(() => m.p11.C_OpenSession(m.slot, RW));
    assertRv(() => m.p11.C_OpenSession(m.slot, RW), C.CKR_SESSION_COUNT);
    m.p11.C_CloseSession(open[0] as Handle);
    m.p11.C_OpenSession(m.slot, C.CKF_SERIAL_SESSION);
  });

  it('maxObjects token objects, then C_CreateObject, C_CopyObject, C_GenerateKeyPair → CKR_DEVICE_MEMORY', () => {
    const m = initializedModule(memory, token({ maxObjects: 3 }));
    const s = userSession(m);
    const made = [0, 1].map((i) => m.p11.C_CreateObject(s, tokenData(`t${i}`)));
    // A key pair needs two places, one is left: nothing of it may stay behind.
    assertRv(
      () =>
        m.p11.C_GenerateKeyPair(
          s,
          { mechanism: C.CKM_EC_KEY_PAIR_GEN },
          [
            { type: C.CKA_TOKEN, value: true },
            { type: C.CKA_EC_PARAMS, value: EC_PARAMS['P-256'] },
          ],
          [{ type: C.CKA_TOKEN, value: true }],
        ),
      C.CKR_DEVICE_MEMORY,
    );
    assert.equal(findAll(m.p11, s, [{ type: C.CKA_TOKEN, value: true }]).length, 2);
    m.p11.C_CreateObject(s, tokenData('t2'));
    assertRv(() => m.p11.C_CreateObject(s, tokenData('t3')), C.CKR_DEVICE_MEMORY);
    assertRv(() => m.p11.C_CopyObject(s, made[0] as Handle, []), C.CKR_DEVICE_MEMORY);
    // Session objects do not count against it.
    m.p11.C_CreateObject(s, data('session', 16, false));
    m.p11.C_DestroyObject(s, made[1] as Handle);
    m.p11.C_CreateObject(s, tokenData('t3'));
  });

  it('maxSessionObjects per application → CKR_DEVICE_MEMORY; another application has its own', () => {
    const m = initializedModule(memory, token({ maxSessionObjects: 2 }));
    const s = userSession(m);
    m.p11.C_CreateObject(s, data('a', 16, false));
    const b = m.p11.C_CreateObject(s, data('b', 16, false));
    assertRv(() => m.p11.C_CreateObject(s, data('c', 16, false)), C.CKR_DEVICE_MEMORY);
    const other = m.another();
    const so = other.C_OpenSession(m.slot, RW);
    other.C_CreateObject(so, data('x', 16, false));
    m.p11.C_DestroyObject(s, b);
    m.p11.C_CreateObject(s, data('c', 16, false));
  });

  it('an object above maxObjectBytes → CKR_DEVICE_MEMORY, at creation and when an attribute grows', () => {
    const m = initializedModule(memory, token({ maxObjectBytes: 4096 }));
    const s = userSession(m);
    assertRv(() => m.p11.C_CreateObject(s, tokenData('big', 5000)), C.CKR_DEVICE_MEMORY);
    assertRv(() => m.p11.C_CreateObject(s, data('big', 5000, false)), C.CKR_DEVICE_MEMORY);
    for (const template of [tokenData('small', 100), data('small session', 16, false)]) {
      const h = m.p11.C_CreateObject(s, template);
      assertRv(
        () => m.p11.C_SetAttributeValue(s, h, [{ type: C.CKA_VALUE, value: Buffer.alloc(5000) }]),
        C.CKR_DEVICE_MEMORY,
      );
      assert.ok(m.p11.C_GetObjectSize(s, h) <= 4096, 'unchanged');
    }
    assert.equal(findAll(m.p11, s, [{ type: C.CKA_LABEL, value: 'big' }]).length, 0);
  });

  for (const port of PAL_PORTS) {
    it(`maxStorageBytes is ulTotal*Memory, ulFree*Memory falls as objects are stored → CKR_DEVICE_MEMORY (${port.name})`, () => {
      const m = initializedModule(port, token({ maxStorageBytes: 4000 }));
      try {
        const s = userSession(m);
        // The engine's CK_TOKEN_INFO (the pkcs11js-shaped API gives these fields as BigInts)
        const info = () => m.engine.getTokenInfo(fromHandle(m.slot));
        assert.equal(info().totalPublicMemory, 4000);
        assert.equal(info().totalPrivateMemory, 4000);
        assert.equal(info().freePublicMemory, 4000);
        const made: Handle[] = [];
        let free = 4000;
        for (let i = 0; ; i++) {
          try {
            made.push(m.p11.C_CreateObject(s, tokenData(`o${i}`, 500)));
          } catch (e) {
            assert.equal((e as Error).message, 'CKR_DEVICE_MEMORY');
            break;
          }
          assert.ok(info().freePublicMemory < free, 'free memory falls');
          free = info().freePublicMemory;
          assert.equal(info().freePrivateMemory, free);
        }
        assert.ok(made.length >= 4 && free < 700, `${made.length} objects stored, ${free} free`);
        // Session objects are not stored: they do not use the pool.
        m.p11.C_CreateObject(s, data('session', 500, false));
        // A restart counts what is stored the same way.
        const again = m.restart();
        assert.equal(again.engine.getTokenInfo(fromHandle(again.slot)).freePublicMemory, free);
        m.p11.C_DestroyObject(s, made[0] as Handle);
        assert.ok(info().freePublicMemory > free);
        m.p11.C_CreateObject(s, tokenData('fits again', 500));
      } finally {
        m.cleanup();
      }
    });
  }

  it('an attribute value above 1 MiB and a template of 257 attributes → CKR_ATTRIBUTE_VALUE_INVALID', () => {
    const m = initializedModule(memory);
    const s = userSession(m);
    assertRv(
      () => m.p11.C_CreateObject(s, data('huge', (1 << 20) + 1)),
      C.CKR_ATTRIBUTE_VALUE_INVALID,
    );
    const long = Array.from({ length: 257 }, () => ({ type: C.CKA_LABEL, value: 'same' }));
    assertRv(() => m.p11.C_CreateObject(s, long), C.CKR_ATTRIBUTE_VALUE_INVALID);
    assertRv(() => m.p11.C_FindObjectsInit(s, long), C.CKR_ATTRIBUTE_VALUE_INVALID);
  });
});
