/**
 * The PKCS#11 3.0 general and session functions (issue 15 item 3): C_GetInterfaceList, C_GetInterface,
 * C_LoginUser, C_SessionCancel, and the NULL mechanism that makes a C_*Init end its operation. Once per
 * PAL port, through the pkcs11js-shaped API.
 * @module
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import type { Handle } from '../../src/api/convert.js';
import type { PKCS11 } from '../../src/api/pkcs11.js';
import { num, secretTemplate } from '../helpers/material.js';
import {
  assertRv,
  C,
  initializedModule,
  PAL_PORTS,
  type TestModule,
  USER_PIN,
  userSession,
} from '../helpers/token.js';

const RW = C.CKF_SERIAL_SESSION | C.CKF_RW_SESSION;
const KEY = Buffer.alloc(32, 0x42);
const DATA = Buffer.from('sixteen byte msg');
const HMAC = { mechanism: C.CKM_SHA256_HMAC };
const ECB = { mechanism: C.CKM_AES_ECB };
const pinFlags = (m: TestModule) =>
  m.p11.C_GetTokenInfo(m.slot).flags & (C.CKF_USER_PIN_COUNT_LOW | C.CKF_USER_PIN_FINAL_TRY);

/** An AES key (for CKM_AES_ECB) and a generic secret (for CKM_SHA256_HMAC). */
function keys(p: PKCS11, s: Handle): { aes: Handle; mac: Handle } {
  return {
    aes: p.C_CreateObject(s, secretTemplate(C.CKK_AES, KEY)),
    mac: p.C_CreateObject(
      s,
      secretTemplate(C.CKK_GENERIC_SECRET, KEY, [
        { type: C.CKA_SIGN, value: true },
        { type: C.CKA_VERIFY, value: true },
      ]),
    ),
  };
}

for (const port of PAL_PORTS) {
  describe(`PKCS#11 3.0 interfaces and session functions [${port.name}]`, () => {
    const modules: TestModule[] = [];
    const initialized = () => {
      const m = initializedModule(port);
      modules.push(m);
      return m;
    };
    afterEach(() => {
      for (const m of modules.splice(0)) m.cleanup();
    });

    it('C_GetInterfaceList → CKR_OK: "PKCS 11" 3.0 first (the default), then 2.40, flags 0', () => {
      const m = initialized();
      assert.deepEqual(m.p11.C_GetInterfaceList(), [
        { interfaceName: 'PKCS 11', version: { major: 3, minor: 0 }, flags: 0 },
        { interfaceName: 'PKCS 11', version: { major: 2, minor: 40 }, flags: 0 },
      ]);
    });

    it('C_GetInterface → CKR_OK: null name and version give 3.0; "PKCS 11" 2.40 gives 2.40', () => {
      const m = initialized();
      assert.deepEqual(m.p11.C_GetInterface(null, null, 0).version, { major: 3, minor: 0 });
      assert.deepEqual(m.p11.C_GetInterface().version, { major: 3, minor: 0 });
      const v240 = m.p11.C_GetInterface('PKCS 11', { major: 2, minor: 40 });
      assert.deepEqual(v240, {
        interfaceName: 'PKCS 11',
        version: { major: 2, minor: 40 },
        flags: 0,
      });
      // the answer is a copy: changing it changes nothing the token reports
      v240.version.minor = 1;
      assert.equal(m.p11.C_GetInterfaceList()[1]?.version.minor, 40);
    });

    it('C_GetInterface of an unknown name, version or flag → CKR_ARGUMENTS_BAD', () => {
      const m = initialized();
      assertRv(() => m.p11.C_GetInterface('Vendor X'), C.CKR_ARGUMENTS_BAD);
      assertRv(() => m.p11.C_GetInterface('PKCS 11', { major: 3, minor: 1 }), C.CKR_ARGUMENTS_BAD);
      assertRv(
        () => m.p11.C_GetInterface('PKCS 11', null, C.CKF_INTERFACE_FORK_SAFE),
        C.CKR_ARGUMENTS_BAD,
      );
      assert.throws(() => m.p11.C_GetInterface('PKCS 11', { major: 3, minor: 300 }), TypeError);
    });

    it('C_LoginUser without a user name → CKR_OK, as C_Login; again → CKR_USER_ALREADY_LOGGED_IN', () => {
      const m = initialized();
      const s = m.p11.C_OpenSession(m.slot, RW);
      m.p11.C_LoginUser(s, C.CKU_USER, USER_PIN);
      assert.equal(m.p11.C_GetSessionInfo(s).state, C.CKS_RW_USER_FUNCTIONS);
      assertRv(() => m.p11.C_LoginUser(s, C.CKU_USER, USER_PIN, ''), C.CKR_USER_ALREADY_LOGGED_IN);
      m.p11.C_Logout(s);
      m.p11.C_LoginUser(s, C.CKU_USER, USER_PIN, null);
      assert.equal(m.p11.C_GetSessionInfo(s).state, C.CKS_RW_USER_FUNCTIONS);
    });

    it('C_LoginUser with a wrong PIN → CKR_PIN_INCORRECT, counted as C_Login counts it', () => {
      const m = initialized();
      const s = m.p11.C_OpenSession(m.slot, RW);
      assertRv(() => m.p11.C_LoginUser(s, C.CKU_USER, '0000'), C.CKR_PIN_INCORRECT);
      assert.equal(pinFlags(m), C.CKF_USER_PIN_COUNT_LOW);
    });

    it('C_LoginUser with a user name → CKR_ARGUMENTS_BAD, spending no PIN try', () => {
      const m = initialized();
      const s = m.p11.C_OpenSession(m.slot, RW);
      assertRv(() => m.p11.C_LoginUser(s, C.CKU_USER, '0000', 'alice'), C.CKR_ARGUMENTS_BAD);
      assertRv(() => m.p11.C_LoginUser(s, C.CKU_USER, USER_PIN, 'alice'), C.CKR_ARGUMENTS_BAD);
      assert.equal(pinFlags(m), 0);
      assert.equal(m.p11.C_GetSessionInfo(s).state, C.CKS_RW_PUBLIC_SESSION);
    });

    it('C_LoginUser / C_SessionCancel on a closed session → CKR_SESSION_HANDLE_INVALID', () => {
      const m = initialized();
      const s = m.p11.C_OpenSession(m.slot, RW);
      m.p11.C_CloseSession(s);
      assertRv(() => m.p11.C_LoginUser(s, C.CKU_USER, USER_PIN), C.CKR_SESSION_HANDLE_INVALID);
      assertRv(() => m.p11.C_SessionCancel(s, C.CKF_SIGN), C.CKR_SESSION_HANDLE_INVALID);
    });

    it('C_SessionCancel(CKF_SIGN) ends the signing only: C_Sign → CKR_OPERATION_NOT_INITIALIZED', () => {
      const m = initialized();
      const s = userSession(m);
      const { aes, mac } = keys(m.p11, s);
      m.p11.C_SignInit(s, HMAC, mac);
      m.p11.C_EncryptInit(s, ECB, aes);
      m.p11.C_SessionCancel(s, C.CKF_SIGN);
      assertRv(() => m.p11.C_Sign(s, DATA, Buffer.alloc(32)), C.CKR_OPERATION_NOT_INITIALIZED);
      // the encryption goes on, and a new signing starts (no CKR_OPERATION_ACTIVE)
      assert.equal(m.p11.C_Encrypt(s, DATA, Buffer.alloc(16)).length, 16);
      m.p11.C_SignInit(s, HMAC, mac);
      assert.equal(m.p11.C_Sign(s, DATA, Buffer.alloc(32)).length, 32);
    });

    it('C_SessionCancel of several kinds at once, and of kinds not active → CKR_OK', () => {
      const m = initialized();
      const s = userSession(m);
      const { aes, mac } = keys(m.p11, s);
      m.p11.C_DigestInit(s, { mechanism: C.CKM_SHA256 });
      m.p11.C_VerifyInit(s, HMAC, mac);
      m.p11.C_DecryptInit(s, ECB, aes);
      m.p11.C_FindObjectsInit(s, []);
      m.p11.C_SessionCancel(
        s,
        C.CKF_DIGEST | C.CKF_VERIFY | C.CKF_DECRYPT | C.CKF_FIND_OBJECTS | C.CKF_ENCRYPT,
      );
      assertRv(() => m.p11.C_DigestUpdate(s, DATA), C.CKR_OPERATION_NOT_INITIALIZED);
      assertRv(() => m.p11.C_VerifyUpdate(s, DATA), C.CKR_OPERATION_NOT_INITIALIZED);
      assertRv(() => m.p11.C_Decrypt(s, DATA, Buffer.alloc(16)), C.CKR_OPERATION_NOT_INITIALIZED);
      assertRv(() => m.p11.C_FindObjects(s, 1), C.CKR_OPERATION_NOT_INITIALIZED);
      m.p11.C_SessionCancel(s, 0);
      m.p11.C_SessionCancel(s, C.CKF_WRAP | C.CKF_GENERATE | C.CKF_MESSAGE_ENCRYPT);
    });

    it('C_SessionCancel with a flag it does not define (CKF_HW) → CKR_ARGUMENTS_BAD, nothing ended', () => {
      const m = initialized();
      const s = userSession(m);
      m.p11.C_DigestInit(s, { mechanism: C.CKM_SHA256 });
      assertRv(() => m.p11.C_SessionCancel(s, C.CKF_HW | C.CKF_DIGEST), C.CKR_ARGUMENTS_BAD);
      m.p11.C_DigestUpdate(s, DATA);
      assert.equal(m.p11.C_DigestFinal(s, Buffer.alloc(32)).length, 32);
    });

    it('C_*Init with a NULL mechanism (the engine, as RPC drives it) ends that operation → CKR_OK', () => {
      const m = initialized();
      const s = userSession(m);
      const { aes, mac } = keys(m.p11, s);
      const e = m.engine;
      const h = num(s);
      m.p11.C_SignInit(s, HMAC, mac);
      m.p11.C_VerifyInit(s, HMAC, mac);
      m.p11.C_EncryptInit(s, ECB, aes);
      m.p11.C_DecryptInit(s, ECB, aes);
      m.p11.C_DigestInit(s, { mechanism: C.CKM_SHA256 });
      e.signInit(h, null, 0);
      e.verifyInit(h, null, 0);
      e.encryptInit(h, null, 0);
      e.decryptInit(h, null, 0);
      e.digestInit(h, null);
      assertRv(() => m.p11.C_SignUpdate(s, DATA), C.CKR_OPERATION_NOT_INITIALIZED);
      assertRv(() => m.p11.C_VerifyUpdate(s, DATA), C.CKR_OPERATION_NOT_INITIALIZED);
      assertRv(() => m.p11.C_Encrypt(s, DATA, Buffer.alloc(16)), C.CKR_OPERATION_NOT_INITIALIZED);
      assertRv(() => m.p11.C_Decrypt(s, DATA, Buffer.alloc(16)), C.CKR_OPERATION_NOT_INITIALIZED);
      assertRv(() => m.p11.C_DigestUpdate(s, DATA), C.CKR_OPERATION_NOT_INITIALIZED);
      // nothing active: still CKR_OK; and a new operation starts
      e.signInit(h, null, 0);
      m.p11.C_SignInit(s, HMAC, mac);
      assert.equal(m.p11.C_Sign(s, DATA, Buffer.alloc(32)).length, 32);
      assertRv(() => e.signInit(999, null, 0), C.CKR_SESSION_HANDLE_INVALID);
    });

    it("pkcs11js's C_SignInit keeps its TypeError for a null mechanism (C_SessionCancel ends it)", () => {
      const m = initialized();
      const s = userSession(m);
      assert.throws(() => m.p11.C_SignInit(s, null as never, s), TypeError);
    });
  });
}
