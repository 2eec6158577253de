/**
 * Session management and login (v2.40 §5.6): sessions of one application, C_Login with the PIN
 * check (sync and async), context-specific login for CKA_ALWAYS_AUTHENTICATE keys, and what logging
 * out or closing the last session ends. Layer L5.
 * @module
 */
import { Pkcs11Error } from '../errors.js';
import type { TokenObject } from '../objects/object.js';
import * as C from '../pkcs11/constants.js';
import type { SessionInfo } from '../pkcs11/types.js';
import type { AppState } from './app-state.js';
import { Session } from './session.js';

export function openSession(app: AppState, slotId: number, flags: number): number {
  app.requireSlot(slotId);
  if (!(flags & C.CKF_SERIAL_SESSION)) throw new Pkcs11Error(C.CKR_SESSION_PARALLEL_NOT_SUPPORTED);
  const rw = (flags & C.CKF_RW_SESSION) !== 0;
  if (!rw && app.login === 'so') throw new Pkcs11Error(C.CKR_SESSION_READ_WRITE_SO_EXISTS);
  const t = app.token;
  // Per application, so that one RPC client cannot take every session from the others.
  if (app.sessions.size >= t.options.maxSessions) {
    throw new Pkcs11Error(C.CKR_SESSION_COUNT, `at most ${t.options.maxSessions} sessions`);
  }
  const s = new Session(
    app.nextSession++,
    slotId,
    flags & (C.CKF_RW_SESSION | C.CKF_SERIAL_SESSION),
  );
  app.sessions.set(s.handle, s);
  t.sessionCount++;
  return s.handle;
}

export function closeSession(app: AppState, h: number): void {
  const s = app.requireSession(h);
  s.endAll();
  app.sessions.delete(h);
  const t = app.token;
  t.sessionCount--;
  const gone = new Set<TokenObject>();
  for (const [obj, owner] of app.sessionObjects) {
    if (owner === h) {
      app.sessionObjects.delete(obj);
      app.forget(obj);
      gone.add(obj);
    }
  }
  // Its session objects are destroyed: other sessions' operations on them end, as C_DestroyObject's do.
  if (gone.size > 0)
    for (const x of app.sessions.values()) x.endKeyedOperations((k) => gone.has(k));
  // Closing the last session logs the application out (v2.40 §5.6).
  if (app.sessions.size === 0 && app.login !== 'public') logoutEffects(app);
}

export function closeAllSessions(app: AppState, slotId: number): void {
  app.requireSlot(slotId);
  for (const h of [...app.sessions.keys()]) closeSession(app, h);
}

export function getSessionInfo(app: AppState, h: number): SessionInfo {
  const s = app.requireSession(h);
  return { slotID: s.slotId, state: s.state(app.login), flags: s.flags, deviceError: 0 };
}

function checkLogin(app: AppState, h: number, userType: number): 'so' | 'user' | 'context' {
  const s = app.requireSession(h);
  if (userType === C.CKU_CONTEXT_SPECIFIC) {
    // Only a user's operation on a CKA_ALWAYS_AUTHENTICATE key owes a context login; without a user
    // login there is none (and v2.40 lists no CKR_USER_NOT_LOGGED_IN for C_Login).
    if (app.login !== 'user' || (!s.sign?.needsContextLogin && !s.decrypt?.needsContextLogin)) {
      throw new Pkcs11Error(C.CKR_OPERATION_NOT_INITIALIZED);
    }
    return 'context';
  }
  if (userType !== C.CKU_SO && userType !== C.CKU_USER)
    throw new Pkcs11Error(C.CKR_USER_TYPE_INVALID);
  const who = userType === C.CKU_SO ? 'so' : 'user';
  if (app.login === who) throw new Pkcs11Error(C.CKR_USER_ALREADY_LOGGED_IN);
  if (app.login !== 'public') throw new Pkcs11Error(C.CKR_USER_ANOTHER_ALREADY_LOGGED_IN);
  if (who === 'so' && [...app.sessions.values()].some((x) => !x.readWrite)) {
    throw new Pkcs11Error(C.CKR_SESSION_READ_ONLY_EXISTS);
  }
  return who;
}

function loggedIn(app: AppState, h: number, who: 'so' | 'user' | 'context'): void {
  if (who === 'context') {
    const s = app.requireSession(h);
    for (const st of [s.sign, s.decrypt]) if (st) st.needsContextLogin = false;
  } else {
    app.login = who;
  }
}

export function login(app: AppState, h: number, userType: number, pin: Uint8Array): void {
  const who = checkLogin(app, h, userType);
  app.token.verifyPin(who === 'so' ? 'so' : 'user', pin);
  loggedIn(app, h, who);
}

export async function loginAsync(
  app: AppState,
  h: number,
  userType: number,
  pin: Uint8Array,
): Promise<void> {
  const who = checkLogin(app, h, userType);
  await app.token.verifyPinAsync(who === 'so' ? 'so' : 'user', pin);
  // Recheck: another call may have logged in (or closed the session) while the KDF ran.
  checkLogin(app, h, userType);
  loggedIn(app, h, who);
}

/** Logout effects (S3): operations on private keys end, private handles and session objects go. */
function logoutEffects(app: AppState): void {
  for (const s of app.sessions.values()) {
    s.endKeyedOperations((k) => k.isPrivate);
    s.find = undefined;
  }
  for (const obj of [...app.sessionObjects.keys()]) {
    if (obj.isPrivate) app.sessionObjects.delete(obj);
  }
  app.forgetPrivate();
  app.login = 'public';
}

export function logout(app: AppState, h: number): void {
  app.requireSession(h);
  if (app.login === 'public') throw new Pkcs11Error(C.CKR_USER_NOT_LOGGED_IN);
  logoutEffects(app);
}
