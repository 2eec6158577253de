/**
 * The PIN try counter (security goals S2/S4, security.md §1.3): CKF_*_PIN_COUNT_LOW / FINAL_TRY / LOCKED
 * exact at every step, CKR_PIN_LOCKED even for the right PIN, the counter kept across a restart and
 * shared by every application and every process over the same store. Once per PAL port.
 * @module
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
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
const WRONG = '99999999';
const USER_FLAGS = C.CKF_USER_PIN_COUNT_LOW | C.CKF_USER_PIN_FINAL_TRY | C.CKF_USER_PIN_LOCKED;
const SO_FLAGS = C.CKF_SO_PIN_COUNT_LOW | C.CKF_SO_PIN_FINAL_TRY | C.CKF_SO_PIN_LOCKED;
const THREE_TRIES = { ...TEST_TOKEN_OPTIONS, maxPinTries: 3 };

const userFlags = (m: TestModule) => m.p11.C_GetTokenInfo(m.slot).flags & USER_FLAGS;
const soFlags = (m: TestModule) => m.p11.C_GetTokenInfo(m.slot).flags & SO_FLAGS;

for (const port of PAL_PORTS) {
  /** Two live Tokens over one store stand for two processes; a simulated flash chip has one owner. */
  const crossProcess = (_why: string) =>
    port.name === 'flash'
      ? { skip: 'two live PAL instances over one flash device are two writers without a lock' }
      : {};

  describe(`PIN try counter [${port.name}]`, () => {
    const modules: TestModule[] = [];
    const initialized = (options = TEST_TOKEN_OPTIONS) => {
      const m = initializedModule(port, options);
      modules.push(m);
      return m;
    };
    afterEach(() => {
      for (const m of modules.splice(0)) m.cleanup();
    });

    it('wrong user PINs: CKF_USER_PIN_COUNT_LOW, then FINAL_TRY, then LOCKED; the right PIN → CKR_PIN_LOCKED', () => {
      const m = initialized(THREE_TRIES);
      const s = m.p11.C_OpenSession(m.slot, RW);
      assert.equal(userFlags(m), 0);
      assertRv(() => m.p11.C_Login(s, C.CKU_USER, WRONG), C.CKR_PIN_INCORRECT);
      assert.equal(userFlags(m), C.CKF_USER_PIN_COUNT_LOW);
      assertRv(() => m.p11.C_Login(s, C.CKU_USER, WRONG), C.CKR_PIN_INCORRECT);
      assert.equal(userFlags(m), C.CKF_USER_PIN_COUNT_LOW | C.CKF_USER_PIN_FINAL_TRY);
      assertRv(() => m.p11.C_Login(s, C.CKU_USER, WRONG), C.CKR_PIN_INCORRECT);
      assert.equal(userFlags(m), C.CKF_USER_PIN_COUNT_LOW | C.CKF_USER_PIN_LOCKED);
      assertRv(() => m.p11.C_Login(s, C.CKU_USER, USER_PIN), C.CKR_PIN_LOCKED);
      assertRv(() => m.p11.C_Login(s, C.CKU_USER, WRONG), C.CKR_PIN_LOCKED);
      assertRv(() => m.p11.C_SetPIN(s, USER_PIN, '5555'), C.CKR_PIN_LOCKED);
      assert.equal(m.p11.C_GetSessionInfo(s).state, C.CKS_RW_PUBLIC_SESSION);
      assert.equal(soFlags(m), 0, 'the SO PIN is not affected');
    });

    it('a successful login (CKR_OK) clears CKF_USER_PIN_COUNT_LOW and restores every try', () => {
      const m = initialized(THREE_TRIES);
      const s = m.p11.C_OpenSession(m.slot, RW);
      assertRv(() => m.p11.C_Login(s, C.CKU_USER, WRONG), C.CKR_PIN_INCORRECT);
      assertRv(() => m.p11.C_Login(s, C.CKU_USER, WRONG), C.CKR_PIN_INCORRECT);
      m.p11.C_Login(s, C.CKU_USER, USER_PIN);
      assert.equal(userFlags(m), 0);
      m.p11.C_Logout(s);
      assertRv(() => m.p11.C_Login(s, C.CKU_USER, WRONG), C.CKR_PIN_INCORRECT);
      assertRv(() => m.p11.C_Login(s, C.CKU_USER, WRONG), C.CKR_PIN_INCORRECT);
      assert.equal(userFlags(m), C.CKF_USER_PIN_COUNT_LOW | C.CKF_USER_PIN_FINAL_TRY);
    });

    it('a successful login (CKR_OK) also resets the counter when the same PIN already logged in before in this process', () => {
      const m = initialized(THREE_TRIES);
      const s = userSession(m);
      m.p11.C_Logout(s);
      assertRv(() => m.p11.C_Login(s, C.CKU_USER, WRONG), C.CKR_PIN_INCORRECT);
      assertRv(() => m.p11.C_Login(s, C.CKU_USER, WRONG), C.CKR_PIN_INCORRECT);
      m.p11.C_Login(s, C.CKU_USER, USER_PIN);
      assert.equal(userFlags(m), 0, 'CKF_USER_PIN_COUNT_LOW | FINAL_TRY cleared by the success');
      m.p11.C_Logout(s);
      assertRv(() => m.p11.C_Login(s, C.CKU_USER, WRONG), C.CKR_PIN_INCORRECT);
      assert.equal(userFlags(m), C.CKF_USER_PIN_COUNT_LOW, 'one wrong PIN does not lock');
    });

    it('wrong SO PINs: CKF_SO_PIN_COUNT_LOW, FINAL_TRY, LOCKED; then C_Login(SO) and C_InitToken → CKR_PIN_LOCKED', () => {
      const m = initialized(THREE_TRIES);
      const s = m.p11.C_OpenSession(m.slot, RW);
      const steps = [
        C.CKF_SO_PIN_COUNT_LOW,
        C.CKF_SO_PIN_COUNT_LOW | C.CKF_SO_PIN_FINAL_TRY,
        C.CKF_SO_PIN_COUNT_LOW | C.CKF_SO_PIN_LOCKED,
      ];
      for (const want of steps) {
        assertRv(() => m.p11.C_Login(s, C.CKU_SO, WRONG), C.CKR_PIN_INCORRECT);
        assert.equal(soFlags(m), want);
      }
      assertRv(() => m.p11.C_Login(s, C.CKU_SO, SO_PIN), C.CKR_PIN_LOCKED);
      assert.equal(userFlags(m), 0, 'the user PIN is not affected');
      m.p11.C_CloseSession(s);
      assertRv(() => m.p11.C_InitToken(m.slot, SO_PIN, 'x'), C.CKR_PIN_LOCKED);
    });

    it('the try counter persists across a restart; a lock survives it → CKR_PIN_LOCKED', () => {
      const m = initialized(THREE_TRIES);
      const s = m.p11.C_OpenSession(m.slot, RW);
      assertRv(() => m.p11.C_Login(s, C.CKU_USER, WRONG), C.CKR_PIN_INCORRECT);
      assertRv(() => m.p11.C_Login(s, C.CKU_USER, WRONG), C.CKR_PIN_INCORRECT);
      const r = m.restart();
      assert.equal(userFlags(r), C.CKF_USER_PIN_COUNT_LOW | C.CKF_USER_PIN_FINAL_TRY);
      const rs = r.p11.C_OpenSession(r.slot, RW);
      assertRv(() => r.p11.C_Login(rs, C.CKU_USER, WRONG), C.CKR_PIN_INCORRECT);
      const again = r.restart();
      assert.equal(userFlags(again), C.CKF_USER_PIN_COUNT_LOW | C.CKF_USER_PIN_LOCKED);
      const as = again.p11.C_OpenSession(again.slot, RW);
      assertRv(() => again.p11.C_Login(as, C.CKU_USER, USER_PIN), C.CKR_PIN_LOCKED);
    });

    it('wrong PINs from every application count against the one counter → CKR_PIN_LOCKED', () => {
      const m = initialized(THREE_TRIES);
      const b = m.another();
      const sa = m.p11.C_OpenSession(m.slot, RW);
      const sb = b.C_OpenSession(m.slot, RW);
      assertRv(() => m.p11.C_Login(sa, C.CKU_USER, WRONG), C.CKR_PIN_INCORRECT);
      assertRv(() => b.C_Login(sb, C.CKU_USER, WRONG), C.CKR_PIN_INCORRECT);
      assertRv(() => m.p11.C_Login(sa, C.CKU_USER, WRONG), C.CKR_PIN_INCORRECT);
      assertRv(() => b.C_Login(sb, C.CKU_USER, USER_PIN), C.CKR_PIN_LOCKED);
    });

    it('C_InitPIN by the SO unlocks a locked user PIN → CKR_OK', () => {
      const m = initialized(THREE_TRIES);
      const s = m.p11.C_OpenSession(m.slot, RW);
      for (let i = 0; i < 3; i++) {
        assertRv(() => m.p11.C_Login(s, C.CKU_USER, WRONG), C.CKR_PIN_INCORRECT);
      }
      m.p11.C_Login(s, C.CKU_SO, SO_PIN);
      m.p11.C_InitPIN(s, 'fresh pin');
      assert.equal(userFlags(m), 0);
      m.p11.C_Logout(s);
      m.p11.C_Login(s, C.CKU_USER, 'fresh pin');
    });

    it(
      'a PIN changed by another process: an application initialized before it gets CKR_PIN_INCORRECT for the old PIN',
      crossProcess(
        'bug: Token#fastPath compares against the remembered fingerprint and stale in-memory PIN state, so the old PIN still logs in',
      ),
      () => {
        const m = initialized();
        const s = userSession(m);
        m.p11.C_Logout(s);
        const elsewhere = m.restart(); // a second Token over the same store: another process
        const es = elsewhere.p11.C_OpenSession(elsewhere.slot, RW);
        elsewhere.p11.C_SetPIN(es, USER_PIN, 'changed elsewhere');
        assertRv(() => m.p11.C_Login(s, C.CKU_USER, USER_PIN), C.CKR_PIN_INCORRECT);
        m.p11.C_Login(s, C.CKU_USER, 'changed elsewhere');
      },
    );

    it(
      'a PIN locked by another process: an application initialized before it gets CKR_PIN_LOCKED',
      crossProcess(
        'bug: Token#fastPath reads triesLeft from stale in-memory state, so a PIN locked by another process still logs in',
      ),
      () => {
        const m = initialized(THREE_TRIES);
        const s = userSession(m);
        m.p11.C_Logout(s);
        const elsewhere = m.restart();
        const es = elsewhere.p11.C_OpenSession(elsewhere.slot, RW);
        for (let i = 0; i < 3; i++) {
          assertRv(() => elsewhere.p11.C_Login(es, C.CKU_USER, WRONG), C.CKR_PIN_INCORRECT);
        }
        assertRv(() => m.p11.C_Login(s, C.CKU_USER, USER_PIN), C.CKR_PIN_LOCKED);
        assert.equal(m.p11.C_GetSessionInfo(s).state, C.CKS_RW_PUBLIC_SESSION);
      },
    );

    it('C_SetPIN in a R/W public session before C_InitPIN → CKR_PIN_INCORRECT (not a code v2.40 does not list for it)', () => {
      // Found by the soak (api-memory, seed 1152725804): it answered CKR_USER_PIN_NOT_INITIALIZED.
      const m = freshModule(port);
      modules.push(m);
      m.p11.C_InitToken(m.slot, SO_PIN, 'no user');
      const s = m.p11.C_OpenSession(m.slot, RW);
      assertRv(() => m.p11.C_SetPIN(s, '1234', '    '), C.CKR_PIN_INCORRECT);
      assertRv(() => m.p11.C_Login(s, C.CKU_USER, '1234'), C.CKR_USER_PIN_NOT_INITIALIZED);
      m.p11.C_Login(s, C.CKU_SO, SO_PIN);
      m.p11.C_InitPIN(s, USER_PIN);
      m.p11.C_Logout(s);
      m.p11.C_SetPIN(s, USER_PIN, 'user pin 2');
      m.p11.C_Login(s, C.CKU_USER, 'user pin 2');
    });

    it('PINs set by C_SetPIN and C_InitPIN survive a restart; the old ones → CKR_PIN_INCORRECT', () => {
      const m = initialized();
      const s = m.p11.C_OpenSession(m.slot, RW);
      m.p11.C_SetPIN(s, USER_PIN, 'user pin 2');
      m.p11.C_Login(s, C.CKU_SO, SO_PIN);
      m.p11.C_SetPIN(s, SO_PIN, 'so pin 2');
      const r = m.restart();
      const rs = r.p11.C_OpenSession(r.slot, RW);
      assertRv(() => r.p11.C_Login(rs, C.CKU_USER, USER_PIN), C.CKR_PIN_INCORRECT);
      assertRv(() => r.p11.C_Login(rs, C.CKU_SO, SO_PIN), C.CKR_PIN_INCORRECT);
      r.p11.C_Login(rs, C.CKU_SO, 'so pin 2');
      r.p11.C_InitPIN(rs, 'user pin 3');
      const again = m.restart();
      const as = again.p11.C_OpenSession(again.slot, RW);
      assertRv(() => again.p11.C_Login(as, C.CKU_USER, 'user pin 2'), C.CKR_PIN_INCORRECT);
      again.p11.C_Login(as, C.CKU_USER, 'user pin 3');
    });

    it('a locked PIN stays locked for the right PIN even after that PIN logged in earlier in this process → CKR_PIN_LOCKED', () => {
      const m = initialized(THREE_TRIES);
      const s = userSession(m);
      m.p11.C_Logout(s);
      for (let i = 0; i < 3; i++) {
        assertRv(() => m.p11.C_Login(s, C.CKU_USER, WRONG), C.CKR_PIN_INCORRECT);
      }
      assertRv(() => m.p11.C_Login(s, C.CKU_USER, USER_PIN), C.CKR_PIN_LOCKED);
      assert.equal(userFlags(m), C.CKF_USER_PIN_COUNT_LOW | C.CKF_USER_PIN_LOCKED);
    });
  });
}
