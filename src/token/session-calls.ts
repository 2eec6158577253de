/**
 * Session management and login (v2.40 §5.6, 3.0 §5.6): sessions of one application, C_Login and
 * C_LoginUser with the PIN check (sync and async), context-specific login for CKA_ALWAYS_AUTHENTICATE
 * keys, C_SessionCancel, and what logging out or closing the last session ends. Layer L5.
 * @module
 */
import { Pkcs11Error } from '../errors.js';
import type { TokenObject } from '../objects/object.js';
import * as C from '../pkcs11/constants.js';
import type { SessionInfo } from '../pkcs11/types.js';
import type { AppState } from './app-state.js';
import { type MessageKind, Session } from './session.js';

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

/** The operations of a session that can owe a context login: those that sign or decrypt. */
function contextLoginOwed(s: Session): { needsContextLogin: boolean }[] {
  return [s.sign, s.decrypt, s.messageSign, s.messageDecrypt].filter((st) => st !== undefined);
}

function checkLogin(app: AppState, h: number, userType: number): 'so' | 'user' | 'context' {
  const s = app.requireSession(h);
  if (userType === C.CKU_CONTEXT_SPECIFIC) {
    // Only a user's operation on a CKA_ALWAYS_AUTHENTICATE key owes a context login; without a user
    // login there is none (and v2.40 lists no CKR_USER_NOT_LOGGED_IN for C_Login).
    if (app.login !== 'user' || !contextLoginOwed(s).some((st) => st.needsContextLogin)) {
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
    for (const st of contextLoginOwed(s)) st.needsContextLogin = false;
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

/**
 * C_LoginUser (3.0 §5.6): C_Login naming the user. This token has one user per role and no names, so
 * a NULL or empty name is C_Login; any name is refused before the PIN is looked at, spending no try.
 */
function checkNoUsername(app: AppState, h: number, username: Uint8Array | null): void {
  app.requireSession(h);
  if (username !== null && username.length > 0) {
    throw new Pkcs11Error(
      C.CKR_ARGUMENTS_BAD,
      'this token has no named users: C_LoginUser takes no username here (or use C_Login)',
    );
  }
}

export function loginUser(
  app: AppState,
  h: number,
  userType: number,
  pin: Uint8Array,
  username: Uint8Array | null,
): void {
  checkNoUsername(app, h, username);
  login(app, h, userType, pin);
}

export async function loginUserAsync(
  app: AppState,
  h: number,
  userType: number,
  pin: Uint8Array,
  username: Uint8Array | null,
): Promise<void> {
  checkNoUsername(app, h, username);
  await loginAsync(app, h, userType, pin);
}

/** The operation each C_SessionCancel flag names; null for kinds that are never left active here. */
type CancelKind = 'encrypt' | 'decrypt' | 'digest' | 'sign' | 'verify' | 'find' | MessageKind;
const CANCELLABLE: readonly [number, CancelKind | null][] = [
  [C.CKF_ENCRYPT, 'encrypt'],
  [C.CKF_DECRYPT, 'decrypt'],
  [C.CKF_DIGEST, 'digest'],
  [C.CKF_SIGN, 'sign'],
  [C.CKF_VERIFY, 'verify'],
  [C.CKF_FIND_OBJECTS, 'find'],
  [C.CKF_MESSAGE_ENCRYPT, 'messageEncrypt'],
  [C.CKF_MESSAGE_DECRYPT, 'messageDecrypt'],
  [C.CKF_MESSAGE_SIGN, 'messageSign'],
  [C.CKF_MESSAGE_VERIFY, 'messageVerify'],
  // Recover operations are not offered; generation, wrapping and derivation finish within their call.
  [C.CKF_SIGN_RECOVER, null],
  [C.CKF_VERIFY_RECOVER, null],
  [C.CKF_GENERATE, null],
  [C.CKF_GENERATE_KEY_PAIR, null],
  [C.CKF_WRAP, null],
  [C.CKF_UNWRAP, null],
  [C.CKF_DERIVE, null],
];
const CANCEL_FLAGS = CANCELLABLE.reduce((all, [flag]) => all | flag, 0);

/**
 * C_SessionCancel (3.0 §5.6): ends the session's active operations of the kinds `flags` names; a kind
 * with nothing active is fine. Every operation of this token can be cancelled, so
 * CKR_OPERATION_CANCEL_FAILED never arises; a flag C_SessionCancel does not define is CKR_ARGUMENTS_BAD.
 */
export function sessionCancel(app: AppState, h: number, flags: number): void {
  const s = app.requireSession(h);
  if (
    !Number.isInteger(flags) ||
    flags < 0 ||
    flags > 0xffff_ffff ||
    (flags & ~CANCEL_FLAGS) !== 0
  ) {
    throw new Pkcs11Error(C.CKR_ARGUMENTS_BAD, 'flags C_SessionCancel does not define');
  }
  for (const [flag, kind] of CANCELLABLE) {
    if (kind !== null && (flags & flag) !== 0) s[kind] = undefined;
  }
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
