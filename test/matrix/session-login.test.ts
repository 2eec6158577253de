/**
 * Sessions and login (security goal S2, security.md §1.3): session states, the C_Login / C_Logout /
 * C_InitPIN / C_SetPIN / C_InitToken transitions and their CKR codes, and login state kept per
 * application. Once per PAL port, through the pkcs11js-shaped API. The PIN try counter is in
 * pin-counter.test.ts.
 * @module
 */
import assert from 'node:assert/strict';
import { verify } from 'node:crypto';
import { afterEach, describe, it } from 'node:test';
import type { Handle } from '../../src/api/convert.js';
import type { PKCS11 } from '../../src/api/pkcs11.js';
import {
  dataTemplate,
  ecMaterial,
  ecPrivateTemplate,
  findAll,
  handle,
} from '../helpers/material.js';
import {
  assertRv,
  C,
  freshModule,
  initializedModule,
  PAL_PORTS,
  SO_PIN,
  TEST_TOKEN_OPTIONS,
  type TestModule,
  USER_PIN,
  userSession,
} from '../helpers/token.js';

const RW = C.CKF_SERIAL_SESSION | C.CKF_RW_SESSION;
const RO = C.CKF_SERIAL_SESSION;
const WRONG = '99999999';
const USER_FLAGS = C.CKF_USER_PIN_COUNT_LOW | C.CKF_USER_PIN_FINAL_TRY | C.CKF_USER_PIN_LOCKED;
const SO_FLAGS = C.CKF_SO_PIN_COUNT_LOW | C.CKF_SO_PIN_FINAL_TRY | C.CKF_SO_PIN_LOCKED;

const state = (p: PKCS11, s: Handle) => p.C_GetSessionInfo(s).state;
const userFlags = (m: TestModule) => m.p11.C_GetTokenInfo(m.slot).flags & USER_FLAGS;

for (const port of PAL_PORTS) {
  describe(`sessions and login [${port.name}]`, () => {
    const modules: TestModule[] = [];
    const track = (m: TestModule) => {
      modules.push(m);
      return m;
    };
    const initialized = (options = TEST_TOKEN_OPTIONS) => track(initializedModule(port, options));
    afterEach(() => {
      for (const m of modules.splice(0)) m.cleanup();
    });

    it('C_GetSessionInfo → CKR_OK with each of the five session states, the slot and the flags', () => {
      const m = initialized();
      const ro = m.p11.C_OpenSession(m.slot, RO);
      const rw = m.p11.C_OpenSession(m.slot, RW);
      assert.deepEqual(m.p11.C_GetSessionInfo(ro), {
        slotID: m.slot,
        state: C.CKS_RO_PUBLIC_SESSION,
        flags: C.CKF_SERIAL_SESSION,
        deviceError: 0,
      });
      assert.equal(state(m.p11, rw), C.CKS_RW_PUBLIC_SESSION);
      assert.equal(m.p11.C_GetSessionInfo(rw).flags, RW);
      m.p11.C_Login(rw, C.CKU_USER, USER_PIN);
      assert.equal(state(m.p11, ro), C.CKS_RO_USER_FUNCTIONS);
      assert.equal(state(m.p11, rw), C.CKS_RW_USER_FUNCTIONS);
      m.p11.C_Logout(ro);
      assert.equal(state(m.p11, rw), C.CKS_RW_PUBLIC_SESSION);
      m.p11.C_CloseSession(ro);
      m.p11.C_Login(rw, C.CKU_SO, SO_PIN);
      assert.equal(state(m.p11, rw), C.CKS_RW_SO_FUNCTIONS);
    });

    it('all sessions of an application share its login, including sessions opened later → CKR_OK', () => {
      const m = initialized();
      const a = userSession(m);
      const later = m.p11.C_OpenSession(m.slot, RO);
      assert.equal(state(m.p11, later), C.CKS_RO_USER_FUNCTIONS);
      m.p11.C_Logout(later);
      assert.equal(state(m.p11, a), C.CKS_RW_PUBLIC_SESSION);
    });

    it('login is per application: another application stays public, sees no private object, logs in on its own → CKR_OK', () => {
      const m = initialized();
      const a = userSession(m);
      m.p11.C_CreateObject(a, dataTemplate('private', [{ type: C.CKA_PRIVATE, value: true }]));
      m.p11.C_CreateObject(
        a,
        dataTemplate('private token', [
          { type: C.CKA_PRIVATE, value: true },
          { type: C.CKA_TOKEN, value: true },
        ]),
      );
      const b = m.another();
      const sb = b.C_OpenSession(m.slot, RW);
      assert.equal(state(b, sb), C.CKS_RW_PUBLIC_SESSION);
      assert.equal(findAll(b, sb, [{ type: C.CKA_PRIVATE, value: true }]).length, 0);
      // B may log in as the user although A is logged in (each application has its own login)
      b.C_Login(sb, C.CKU_USER, USER_PIN);
      assert.equal(findAll(b, sb, [{ type: C.CKA_PRIVATE, value: true }]).length, 1);
      b.C_Logout(sb);
      assert.equal(state(m.p11, a), C.CKS_RW_USER_FUNCTIONS, "B's logout leaves A logged in");
    });

    it('closing the last session logs the application out (the next session is public) → CKR_OK', () => {
      const m = initialized();
      const s = userSession(m);
      m.p11.C_CloseSession(s);
      const again = m.p11.C_OpenSession(m.slot, RW);
      assert.equal(state(m.p11, again), C.CKS_RW_PUBLIC_SESSION);
      // C_CloseAllSessions too
      m.p11.C_Login(again, C.CKU_USER, USER_PIN);
      m.p11.C_CloseAllSessions(m.slot);
      assert.equal(state(m.p11, m.p11.C_OpenSession(m.slot, RO)), C.CKS_RO_PUBLIC_SESSION);
    });

    it("C_CloseAllSessions closes this application's sessions only: its handles → CKR_SESSION_HANDLE_INVALID", () => {
      const m = initialized();
      const b = m.another();
      const sb = b.C_OpenSession(m.slot, RW);
      const a1 = m.p11.C_OpenSession(m.slot, RO);
      const a2 = m.p11.C_OpenSession(m.slot, RW);
      m.p11.C_CloseAllSessions(m.slot);
      for (const h of [a1, a2])
        assertRv(() => m.p11.C_GetSessionInfo(h), C.CKR_SESSION_HANDLE_INVALID);
      assert.equal(state(b, sb), C.CKS_RW_PUBLIC_SESSION);
      assert.equal(m.p11.C_GetTokenInfo(m.slot).sessionCount, 0);
      assert.equal(b.C_GetTokenInfo(m.slot).sessionCount, 1);
    });

    it('C_CloseSession twice, an unknown handle, or a handle of another application → CKR_SESSION_HANDLE_INVALID', () => {
      const m = initialized();
      const s = m.p11.C_OpenSession(m.slot, RW);
      const b = m.another();
      assertRv(() => b.C_GetSessionInfo(s), C.CKR_SESSION_HANDLE_INVALID);
      assertRv(() => b.C_CloseSession(s), C.CKR_SESSION_HANDLE_INVALID);
      m.p11.C_CloseSession(s);
      assertRv(() => m.p11.C_CloseSession(s), C.CKR_SESSION_HANDLE_INVALID);
      assertRv(() => m.p11.C_GetSessionInfo(handle(0)), C.CKR_SESSION_HANDLE_INVALID);
      assertRv(
        () => m.p11.C_Login(handle(4242), C.CKU_USER, USER_PIN),
        C.CKR_SESSION_HANDLE_INVALID,
      );
    });

    it('C_Login(SO) while the application has a R/O session → CKR_SESSION_READ_ONLY_EXISTS', () => {
      const m = initialized();
      const rw = m.p11.C_OpenSession(m.slot, RW);
      const ro = m.p11.C_OpenSession(m.slot, RO);
      assertRv(() => m.p11.C_Login(rw, C.CKU_SO, SO_PIN), C.CKR_SESSION_READ_ONLY_EXISTS);
      assertRv(() => m.p11.C_Login(ro, C.CKU_SO, SO_PIN), C.CKR_SESSION_READ_ONLY_EXISTS);
      assert.equal(state(m.p11, rw), C.CKS_RW_PUBLIC_SESSION);
      m.p11.C_CloseSession(ro);
      m.p11.C_Login(rw, C.CKU_SO, SO_PIN);
    });

    it("another application's R/O session does not stop C_Login(SO) → CKR_OK", () => {
      const m = initialized();
      m.another().C_OpenSession(m.slot, RO);
      const rw = m.p11.C_OpenSession(m.slot, RW);
      m.p11.C_Login(rw, C.CKU_SO, SO_PIN);
      assert.equal(state(m.p11, rw), C.CKS_RW_SO_FUNCTIONS);
    });

    it('C_OpenSession(R/O) while the SO is logged in → CKR_SESSION_READ_WRITE_SO_EXISTS', () => {
      const m = initialized();
      const rw = m.p11.C_OpenSession(m.slot, RW);
      m.p11.C_Login(rw, C.CKU_SO, SO_PIN);
      assertRv(() => m.p11.C_OpenSession(m.slot, RO), C.CKR_SESSION_READ_WRITE_SO_EXISTS);
      assert.equal(state(m.p11, m.p11.C_OpenSession(m.slot, RW)), C.CKS_RW_SO_FUNCTIONS);
      // another application is not affected
      const b = m.another();
      assert.equal(state(b, b.C_OpenSession(m.slot, RO)), C.CKS_RO_PUBLIC_SESSION);
    });

    it('C_Login of the same user type again → CKR_USER_ALREADY_LOGGED_IN', () => {
      const m = initialized();
      const s = userSession(m);
      const other = m.p11.C_OpenSession(m.slot, RW);
      assertRv(() => m.p11.C_Login(s, C.CKU_USER, USER_PIN), C.CKR_USER_ALREADY_LOGGED_IN);
      assertRv(() => m.p11.C_Login(other, C.CKU_USER, USER_PIN), C.CKR_USER_ALREADY_LOGGED_IN);
      m.p11.C_Logout(s);
      m.p11.C_Login(s, C.CKU_SO, SO_PIN);
      assertRv(() => m.p11.C_Login(other, C.CKU_SO, SO_PIN), C.CKR_USER_ALREADY_LOGGED_IN);
    });

    it('C_Login(USER) while the SO is logged in, and the reverse → CKR_USER_ANOTHER_ALREADY_LOGGED_IN', () => {
      const m = initialized();
      const s = m.p11.C_OpenSession(m.slot, RW);
      m.p11.C_Login(s, C.CKU_SO, SO_PIN);
      assertRv(() => m.p11.C_Login(s, C.CKU_USER, USER_PIN), C.CKR_USER_ANOTHER_ALREADY_LOGGED_IN);
      m.p11.C_Logout(s);
      m.p11.C_Login(s, C.CKU_USER, USER_PIN);
      assertRv(() => m.p11.C_Login(s, C.CKU_SO, SO_PIN), C.CKR_USER_ANOTHER_ALREADY_LOGGED_IN);
      assert.equal(state(m.p11, s), C.CKS_RW_USER_FUNCTIONS);
    });

    it('C_Login(USER) before C_InitPIN → CKR_USER_PIN_NOT_INITIALIZED', () => {
      const m = track(freshModule(port));
      m.p11.C_InitToken(m.slot, SO_PIN, 'no user yet');
      const s = m.p11.C_OpenSession(m.slot, RW);
      assertRv(() => m.p11.C_Login(s, C.CKU_USER, USER_PIN), C.CKR_USER_PIN_NOT_INITIALIZED);
      assert.equal(m.p11.C_GetTokenInfo(m.slot).flags & C.CKF_USER_PIN_INITIALIZED, 0);
    });

    it('C_Login with a wrong PIN, or one shorter than 4 or longer than 255 bytes → CKR_PIN_INCORRECT', () => {
      const m = initialized();
      const s = m.p11.C_OpenSession(m.slot, RW);
      for (const pin of [WRONG, '123', 'x'.repeat(256), USER_PIN.slice(0, 3)]) {
        assertRv(() => m.p11.C_Login(s, C.CKU_USER, pin), C.CKR_PIN_INCORRECT);
        assert.equal(state(m.p11, s), C.CKS_RW_PUBLIC_SESSION);
      }
      assertRv(() => m.p11.C_Login(s, C.CKU_SO, USER_PIN), C.CKR_PIN_INCORRECT);
      m.p11.C_Login(s, C.CKU_USER, USER_PIN);
    });

    it('C_Login with a user type other than CKU_SO, CKU_USER, CKU_CONTEXT_SPECIFIC → CKR_USER_TYPE_INVALID', () => {
      const m = initialized();
      const s = m.p11.C_OpenSession(m.slot, RW);
      for (const t of [3, 4, 0x80000000, 0xffffffff]) {
        assertRv(() => m.p11.C_Login(s, t, USER_PIN), C.CKR_USER_TYPE_INVALID);
      }
    });

    it('C_Login(CKU_CONTEXT_SPECIFIC) with no operation → CKR_OPERATION_NOT_INITIALIZED', () => {
      const m = initialized();
      const s = userSession(m);
      assertRv(
        () => m.p11.C_Login(s, C.CKU_CONTEXT_SPECIFIC, USER_PIN),
        C.CKR_OPERATION_NOT_INITIALIZED,
      );
      // an operation on a key without CKA_ALWAYS_AUTHENTICATE owes no context login either
      const ec = ecMaterial();
      const key = m.p11.C_CreateObject(s, ecPrivateTemplate(ec));
      m.p11.C_SignInit(s, { mechanism: C.CKM_ECDSA_SHA256 }, key);
      assertRv(
        () => m.p11.C_Login(s, C.CKU_CONTEXT_SPECIFIC, USER_PIN),
        C.CKR_OPERATION_NOT_INITIALIZED,
      );
    });

    it('CKA_ALWAYS_AUTHENTICATE: C_Sign without the context login → CKR_USER_NOT_LOGGED_IN; with it the signature verifies', () => {
      const m = initialized();
      const s = userSession(m);
      const ec = ecMaterial();
      const key = m.p11.C_CreateObject(
        s,
        ecPrivateTemplate(ec, [{ type: C.CKA_ALWAYS_AUTHENTICATE, value: true }]),
      );
      const data = Buffer.from('authorize me');
      m.p11.C_SignInit(s, { mechanism: C.CKM_ECDSA_SHA256 }, key);
      assertRv(() => m.p11.C_Sign(s, data, Buffer.alloc(64)), C.CKR_USER_NOT_LOGGED_IN);
      m.p11.C_SignInit(s, { mechanism: C.CKM_ECDSA_SHA256 }, key);
      assertRv(() => m.p11.C_Login(s, C.CKU_CONTEXT_SPECIFIC, WRONG), C.CKR_PIN_INCORRECT);
      m.p11.C_Login(s, C.CKU_CONTEXT_SPECIFIC, USER_PIN);
      const sig = m.p11.C_Sign(s, data, Buffer.alloc(64));
      assert.ok(verify('sha256', data, { key: ec.publicKey, dsaEncoding: 'ieee-p1363' }, sig));
      // each new operation owes its own context login
      m.p11.C_SignInit(s, { mechanism: C.CKM_ECDSA_SHA256 }, key);
      assertRv(() => m.p11.C_Sign(s, data, Buffer.alloc(64)), C.CKR_USER_NOT_LOGGED_IN);
      assert.equal(state(m.p11, s), C.CKS_RW_USER_FUNCTIONS);
    });

    it('C_InitPIN outside a R/W SO session → CKR_USER_NOT_LOGGED_IN', () => {
      const m = initialized();
      const ro = m.p11.C_OpenSession(m.slot, RO);
      const rw = m.p11.C_OpenSession(m.slot, RW);
      assertRv(() => m.p11.C_InitPIN(ro, '5555'), C.CKR_USER_NOT_LOGGED_IN);
      assertRv(() => m.p11.C_InitPIN(rw, '5555'), C.CKR_USER_NOT_LOGGED_IN);
      m.p11.C_Login(rw, C.CKU_USER, USER_PIN);
      assertRv(() => m.p11.C_InitPIN(rw, '5555'), C.CKR_USER_NOT_LOGGED_IN);
      assertRv(() => m.p11.C_InitPIN(ro, '5555'), C.CKR_USER_NOT_LOGGED_IN);
      // the user PIN is unchanged
      m.p11.C_Logout(rw);
      m.p11.C_Login(rw, C.CKU_USER, USER_PIN);
    });

    it('C_InitPIN with a PIN of 3 or 256 bytes → CKR_PIN_LEN_RANGE', () => {
      const m = initialized();
      const s = m.p11.C_OpenSession(m.slot, RW);
      m.p11.C_Login(s, C.CKU_SO, SO_PIN);
      assertRv(() => m.p11.C_InitPIN(s, '123'), C.CKR_PIN_LEN_RANGE);
      assertRv(() => m.p11.C_InitPIN(s, 'x'.repeat(256)), C.CKR_PIN_LEN_RANGE);
      m.p11.C_InitPIN(s, 'x'.repeat(255));
    });

    it('C_SetPIN in a R/O session → CKR_SESSION_READ_ONLY', () => {
      const m = initialized();
      const ro = m.p11.C_OpenSession(m.slot, RO);
      assertRv(() => m.p11.C_SetPIN(ro, USER_PIN, '5555'), C.CKR_SESSION_READ_ONLY);
      m.p11.C_Login(ro, C.CKU_USER, USER_PIN);
      assertRv(() => m.p11.C_SetPIN(ro, USER_PIN, '5555'), C.CKR_SESSION_READ_ONLY);
    });

    it('C_SetPIN in a R/W public session changes the user PIN; then the old PIN → CKR_PIN_INCORRECT', () => {
      const m = initialized();
      const s = m.p11.C_OpenSession(m.slot, RW);
      m.p11.C_SetPIN(s, USER_PIN, 'new user pin');
      assertRv(() => m.p11.C_Login(s, C.CKU_USER, USER_PIN), C.CKR_PIN_INCORRECT);
      m.p11.C_Login(s, C.CKU_USER, 'new user pin');
      m.p11.C_SetPIN(s, 'new user pin', 'third pin');
      m.p11.C_Logout(s);
      m.p11.C_Login(s, C.CKU_USER, 'third pin');
    });

    it('C_SetPIN with a wrong old PIN → CKR_PIN_INCORRECT (a try spent); a new PIN of 3 bytes → CKR_PIN_LEN_RANGE', () => {
      const m = initialized();
      const s = m.p11.C_OpenSession(m.slot, RW);
      assertRv(() => m.p11.C_SetPIN(s, WRONG, '5555'), C.CKR_PIN_INCORRECT);
      assert.equal(userFlags(m), C.CKF_USER_PIN_COUNT_LOW);
      assertRv(() => m.p11.C_SetPIN(s, USER_PIN, '555'), C.CKR_PIN_LEN_RANGE);
      m.p11.C_Login(s, C.CKU_USER, USER_PIN);
    });

    it('C_SetPIN as the SO changes the SO PIN; the old one → CKR_PIN_INCORRECT', () => {
      const m = initialized();
      const s = m.p11.C_OpenSession(m.slot, RW);
      m.p11.C_Login(s, C.CKU_SO, SO_PIN);
      m.p11.C_SetPIN(s, SO_PIN, 'new so pin');
      m.p11.C_Logout(s);
      assertRv(() => m.p11.C_Login(s, C.CKU_SO, SO_PIN), C.CKR_PIN_INCORRECT);
      m.p11.C_Login(s, C.CKU_SO, 'new so pin');
      // the user PIN did not change
      m.p11.C_Logout(s);
      m.p11.C_Login(s, C.CKU_USER, USER_PIN);
    });

    it('C_Logout when not logged in → CKR_USER_NOT_LOGGED_IN', () => {
      const m = initialized();
      const s = m.p11.C_OpenSession(m.slot, RW);
      assertRv(() => m.p11.C_Logout(s), C.CKR_USER_NOT_LOGGED_IN);
      m.p11.C_Login(s, C.CKU_USER, USER_PIN);
      m.p11.C_Logout(s);
      assertRv(() => m.p11.C_Logout(s), C.CKR_USER_NOT_LOGGED_IN);
    });

    it('C_InitToken with a session open in any application → CKR_SESSION_EXISTS', () => {
      const m = initialized();
      const s = m.p11.C_OpenSession(m.slot, RO);
      assertRv(() => m.p11.C_InitToken(m.slot, SO_PIN, 'x'), C.CKR_SESSION_EXISTS);
      m.p11.C_CloseSession(s);
      const b = m.another();
      const sb = b.C_OpenSession(m.slot, RO);
      assertRv(() => m.p11.C_InitToken(m.slot, SO_PIN, 'x'), C.CKR_SESSION_EXISTS);
      b.C_CloseSession(sb);
      m.p11.C_InitToken(m.slot, SO_PIN, 'x');
    });

    it('C_InitToken wipes every token object and the user PIN; then C_Login(USER) → CKR_USER_PIN_NOT_INITIALIZED', () => {
      const m = initialized();
      let s = userSession(m);
      for (const priv of [false, true]) {
        m.p11.C_CreateObject(
          s,
          dataTemplate(`token ${priv}`, [
            { type: C.CKA_TOKEN, value: true },
            { type: C.CKA_PRIVATE, value: priv },
          ]),
        );
      }
      m.p11.C_CloseSession(s);
      m.p11.C_InitToken(m.slot, SO_PIN, 'wiped');
      const info = m.p11.C_GetTokenInfo(m.slot);
      assert.equal(info.label, 'wiped'.padEnd(32, ' '));
      assert.equal(info.flags & C.CKF_USER_PIN_INITIALIZED, 0);
      assert.equal(info.flags & C.CKF_TOKEN_INITIALIZED, C.CKF_TOKEN_INITIALIZED);
      s = m.p11.C_OpenSession(m.slot, RW);
      assert.equal(findAll(m.p11, s, []).length, 0);
      assertRv(() => m.p11.C_Login(s, C.CKU_USER, USER_PIN), C.CKR_USER_PIN_NOT_INITIALIZED);
      m.p11.C_Login(s, C.CKU_SO, SO_PIN);
      assert.equal(findAll(m.p11, s, []).length, 0);
      // and after a restart as well
      const r = m.restart();
      const rs = r.p11.C_OpenSession(r.slot, RW);
      assert.equal(findAll(r.p11, rs, []).length, 0);
      assertRv(() => r.p11.C_Login(rs, C.CKU_USER, USER_PIN), C.CKR_USER_PIN_NOT_INITIALIZED);
    });

    it('C_InitToken of an initialized token with a wrong SO PIN → CKR_PIN_INCORRECT, and nothing is wiped', () => {
      const m = initialized();
      const s = userSession(m);
      m.p11.C_CreateObject(s, dataTemplate('kept', [{ type: C.CKA_TOKEN, value: true }]));
      m.p11.C_CloseSession(s);
      assertRv(() => m.p11.C_InitToken(m.slot, WRONG, 'x'), C.CKR_PIN_INCORRECT);
      const info = m.p11.C_GetTokenInfo(m.slot);
      assert.equal(info.label.trimEnd(), 'test');
      assert.equal(info.flags & C.CKF_USER_PIN_INITIALIZED, C.CKF_USER_PIN_INITIALIZED);
      assert.equal(info.flags & SO_FLAGS, C.CKF_SO_PIN_COUNT_LOW);
      const s2 = m.p11.C_OpenSession(m.slot, RO);
      assert.equal(findAll(m.p11, s2, [{ type: C.CKA_LABEL, value: 'kept' }]).length, 1);
    });

    it('C_InitToken with a 3-byte SO PIN → CKR_PIN_LEN_RANGE', () => {
      const m = track(freshModule(port));
      assertRv(() => m.p11.C_InitToken(m.slot, '123', 'x'), C.CKR_PIN_LEN_RANGE);
      assert.equal(m.p11.C_GetTokenInfo(m.slot).flags & C.CKF_TOKEN_INITIALIZED, 0);
    });
  });
}
