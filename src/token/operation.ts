/**
 * The operation state machine every C_* call on an active operation shares (v2.40 §5.8–5.12): the
 * keyed C_*Init checks, and one step — find the session's operation, refuse a single-part call after
 * an update or an update on a single-part mechanism, ask for a context login where one is owed, and end
 * the operation on any error but CKR_BUFFER_TOO_SMALL (a length query leaves it active). Layer L5.
 * @module
 */
import { bufferTooSmall, isPkcs11Error, Pkcs11Error } from '../errors.js';
import { mechanism } from '../mechanisms/registry.js';
import type { CipherOperation, Mechanism } from '../mechanisms/types.js';
import * as C from '../pkcs11/constants.js';
import type { Output, RawMechanism } from '../pkcs11/types.js';
import { concat } from '../util/bytes.js';
import type { AppState } from './app-state.js';
import { checkKeyForUse, rememberEcPrivate } from './keys.js';
import type { KeyedState, MessageKind, Session } from './session.js';

export type Kind = 'digest' | 'sign' | 'verify' | 'encrypt' | 'decrypt';
/** Which C call of an operation: C_Sign (single), C_SignUpdate, C_SignFinal. */
export type Phase = 'single' | 'update' | 'final';
type KeyedKind = Exclude<Kind, 'digest'>;

/** Runs `fn`; on any error but CKR_BUFFER_TOO_SMALL the session's `kind` operation ends. */
export function guarded<T>(session: Session, kind: Kind, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (!isPkcs11Error(e, C.CKR_BUFFER_TOO_SMALL)) session[kind] = undefined;
    throw e;
  }
}

/** A whole input through a cipher operation: what update gives, then what finish gives. */
export function cipherWhole(op: CipherOperation, data: Uint8Array): Uint8Array {
  const head = op.update(data);
  const tail = op.finish();
  return head.length === 0 ? tail : concat(head, tail);
}

/** Answers a C output buffer of `capacity` for a result of `length` bytes, producing it only when it fits. */
export function output(length: number, capacity: number | null, produce: () => Uint8Array): Output {
  if (capacity === null) return { length, bytes: null };
  if (capacity < length) bufferTooSmall(length);
  const bytes = produce();
  return { length: bytes.length, bytes };
}

/** CKA_ALWAYS_AUTHENTICATE: refuses the call until C_Login(CKU_CONTEXT_SPECIFIC). */
export function checkContextLogin(st: { needsContextLogin: boolean }): void {
  if (st.needsContextLogin) {
    throw new Pkcs11Error(
      C.CKR_USER_NOT_LOGGED_IN,
      'CKA_ALWAYS_AUTHENTICATE: C_Login(CKU_CONTEXT_SPECIFIC) first',
    );
  }
}

/**
 * One call on the session's active `kind` operation: the checks of its phase, then `work` on the
 * operation's state, all guarded. Sign owes a context login before it produces a signature, decrypt
 * before any output.
 */
export function step<K extends Kind, T>(
  app: AppState,
  h: number,
  kind: K,
  phase: Phase,
  work: (st: NonNullable<Session[K]>, session: Session) => T,
): T {
  const session = app.requireSession(h);
  const st = session[kind];
  if (st === undefined) throw new Pkcs11Error(C.CKR_OPERATION_NOT_INITIALIZED);
  // guarded(), written out: no closure on the path every C_Sign, C_Verify and C_Digest takes.
  try {
    if (phase === 'single' && st.multi)
      throw new Pkcs11Error(C.CKR_OPERATION_ACTIVE, 'a multi-part operation is in progress');
    if (phase !== 'single' && 'singlePart' in st && st.singlePart) {
      throw new Pkcs11Error(C.CKR_FUNCTION_NOT_SUPPORTED, 'this mechanism is single-part only');
    }
    if (
      'needsContextLogin' in st &&
      (kind === 'decrypt' || (kind === 'sign' && phase !== 'update'))
    )
      checkContextLogin(st);
    return work(st, session);
  } catch (e) {
    if (!isPkcs11Error(e, C.CKR_BUFFER_TOO_SMALL)) session[kind] = undefined;
    throw e;
  }
}

/**
 * The checks every keyed C_*Init shares, returning the mechanism's operation factory for `use` (so the
 * caller needs no cast) with the key's object and the state the operation starts from.
 */
export function keyedInit<U extends KeyedKind>(
  app: AppState,
  h: number,
  m: RawMechanism,
  key: number,
  use: U,
  slot: KeyedKind | MessageKind = use,
): {
  session: Session;
  mech: Mechanism;
  make: NonNullable<Mechanism[U]>;
  obj: ReturnType<AppState['requireObject']>;
  base: KeyedState;
} {
  const session = app.requireSession(h);
  if (session[slot]) throw new Pkcs11Error(C.CKR_OPERATION_ACTIVE);
  const mech = mechanism(m.mechanism, app.token.profile);
  const make = mech[use];
  if (!make) throw new Pkcs11Error(C.CKR_MECHANISM_INVALID, `mechanism cannot ${use}`);
  const obj = app.requireObject(key, C.CKR_KEY_HANDLE_INVALID);
  checkKeyForUse(app.token.crypto, obj, mech, use);
  if (use === 'sign') rememberEcPrivate(app, obj);
  const base: KeyedState = {
    key: obj,
    singlePart: mech.singlePart === true,
    multi: false,
    needsContextLogin: (use === 'sign' || use === 'decrypt') && obj.flag(C.CKA_ALWAYS_AUTHENTICATE),
  };
  return { session, mech, make, obj, base };
}

/**
 * A keyed operation's state: `base` and the operation, written out field by field. On Node 20 a spread
 * followed by more fields (`{ ...base, op }`) takes V8's slow object-clone path, ~2 µs: 1.5 of the 2 µs a
 * C_SignInit cost (Node 22 and 24 copy it in ~0.1 µs).
 */
export function withOperation<O>(base: KeyedState, op: O): KeyedState & { op: O } {
  return {
    key: base.key,
    singlePart: base.singlePart,
    multi: base.multi,
    needsContextLogin: base.needsContextLogin,
    op,
  };
}

/**
 * PKCS#11 3.0 (§5.8–5.12, §5.13–5.16): a C_*Init with a NULL mechanism ends the session's operation of
 * that kind, if one is active. Returns true when `m` was NULL and the call is done.
 */
export function cancelledByNull(
  app: AppState,
  h: number,
  m: RawMechanism | null,
  slot: Kind | MessageKind,
): m is null {
  if (m !== null) return false;
  app.requireSession(h)[slot] = undefined;
  return true;
}

/** The session's active message-based `kind` operation (CKR_OPERATION_NOT_INITIALIZED without one). */
export function messageOperation<K extends MessageKind>(
  app: AppState,
  h: number,
  kind: K,
): { session: Session; st: NonNullable<Session[K]> } {
  const session = app.requireSession(h);
  const st = session[kind];
  if (!st) throw new Pkcs11Error(C.CKR_OPERATION_NOT_INITIALIZED);
  return { session, st: st as NonNullable<Session[K]> };
}

/** Runs one message: an error ends the message in progress (not the operation), except BUFFER_TOO_SMALL. */
export function guardedMessage<T>(st: { current: unknown }, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (!isPkcs11Error(e, C.CKR_BUFFER_TOO_SMALL)) st.current = undefined;
    throw e;
  }
}

/** A whole message, or the first part of one, while another is in parts: CKR_OPERATION_ACTIVE. */
export function idle(st: { current: unknown }): void {
  if (st.current)
    throw new Pkcs11Error(C.CKR_OPERATION_ACTIVE, 'a message in parts is in progress');
}

/** C_Message*Final: ends the operation (and a message left unfinished). */
export function messageFinal(app: AppState, h: number, kind: MessageKind): void {
  messageOperation(app, h, kind).session[kind] = undefined;
}
