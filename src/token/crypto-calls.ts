/**
 * Digest, sign and verify (v2.40 §5.10–5.12) and random numbers (§5.15): the operation state machine.
 * A length query (capacity null) and CKR_BUFFER_TOO_SMALL leave an operation active; any other error
 * ends it, as the spec says. Layer L5.
 * @module
 */
import { readBytes } from '../attributes/values.js';
import { bufferTooSmall, isPkcs11Error, Pkcs11Error } from '../errors.js';
import { mechanism } from '../mechanisms/registry.js';
import * as C from '../pkcs11/constants.js';
import type { Output, RawMechanism } from '../pkcs11/types.js';
import type { AppState } from './app-state.js';
import { checkKeyForUse, type KeyUse, keyRef, rememberEcPrivate, verifyKeyRef } from './keys.js';
import type { KeyedState, Session } from './session.js';

type Kind = 'digest' | 'sign' | 'verify' | 'encrypt' | 'decrypt';

/** Runs `fn`; on any error but CKR_BUFFER_TOO_SMALL the session's `kind` operation ends. */
export function guarded<T>(session: Session, kind: Kind, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (!isPkcs11Error(e, C.CKR_BUFFER_TOO_SMALL)) session[kind] = undefined;
    throw e;
  }
}

/** Answers a C output buffer of `capacity` for a result of `length` bytes, producing it only when it fits. */
function output(length: number, capacity: number | null, produce: () => Uint8Array): Output {
  if (capacity === null) return { length, bytes: null };
  if (capacity < length) bufferTooSmall(length);
  const bytes = produce();
  return { length: bytes.length, bytes };
}

export function requireOp<T>(op: T | undefined): T {
  if (op === undefined) throw new Pkcs11Error(C.CKR_OPERATION_NOT_INITIALIZED);
  return op;
}

function checkSinglePartCall(st: KeyedState | { multi: boolean }): void {
  if (st.multi)
    throw new Pkcs11Error(C.CKR_OPERATION_ACTIVE, 'a multi-part operation is in progress');
}

function checkUpdateAllowed(st: KeyedState): void {
  if (st.singlePart)
    throw new Pkcs11Error(C.CKR_FUNCTION_NOT_SUPPORTED, 'this mechanism is single-part only');
}

export function checkContextLogin(st: KeyedState): void {
  if (st.needsContextLogin) {
    throw new Pkcs11Error(
      C.CKR_USER_NOT_LOGGED_IN,
      'CKA_ALWAYS_AUTHENTICATE: C_Login(CKU_CONTEXT_SPECIFIC) first',
    );
  }
}

export function digestInit(app: AppState, h: number, m: RawMechanism): void {
  const session = app.requireSession(h);
  if (session.digest) throw new Pkcs11Error(C.CKR_OPERATION_ACTIVE);
  const mech = mechanism(m.mechanism, app.token.profile);
  if (!mech.digest) throw new Pkcs11Error(C.CKR_MECHANISM_INVALID, 'not a digest mechanism');
  session.digest = { op: mech.digest(app.token.crypto, m), multi: false };
}

export function digest(
  app: AppState,
  h: number,
  data: Uint8Array,
  capacity: number | null,
): Output {
  const session = app.requireSession(h);
  const st = requireOp(session.digest);
  return guarded(session, 'digest', () => {
    checkSinglePartCall(st);
    const out = output(st.op.length, capacity, () => {
      // Single-part: nothing was fed before, so the whole input can be hashed in one call.
      if (st.op.once) return st.op.once(data);
      st.op.update(data);
      return st.op.finish();
    });
    if (out.bytes) session.digest = undefined;
    return out;
  });
}

export function digestUpdate(app: AppState, h: number, part: Uint8Array): void {
  const session = app.requireSession(h);
  const st = requireOp(session.digest);
  guarded(session, 'digest', () => {
    st.multi = true;
    st.op.update(part);
  });
}

export function digestKey(app: AppState, h: number, key: number): void {
  const session = app.requireSession(h);
  const st = requireOp(session.digest);
  guarded(session, 'digest', () => {
    const obj = app.requireObject(key, C.CKR_KEY_HANDLE_INVALID);
    const value = readBytes(obj.attrs, C.CKA_VALUE);
    if (obj.objectClass !== C.CKO_SECRET_KEY || !value) {
      throw new Pkcs11Error(C.CKR_KEY_INDIGESTIBLE, 'only secret keys can be digested');
    }
    st.multi = true;
    st.op.update(value);
  });
}

export function digestFinal(app: AppState, h: number, capacity: number | null): Output {
  const session = app.requireSession(h);
  const st = requireOp(session.digest);
  return guarded(session, 'digest', () => {
    const out = output(st.op.length, capacity, () => st.op.finish());
    if (out.bytes) session.digest = undefined;
    return out;
  });
}

/** The checks every keyed C_*Init shares; the caller stores the operation under `use`. */
export function keyedInit(
  app: AppState,
  h: number,
  m: RawMechanism,
  key: number,
  use: Exclude<KeyUse, 'derive' | 'wrap' | 'unwrap'>,
) {
  const session = app.requireSession(h);
  if (session[use]) throw new Pkcs11Error(C.CKR_OPERATION_ACTIVE);
  const mech = mechanism(m.mechanism, app.token.profile);
  if (!mech[use]) throw new Pkcs11Error(C.CKR_MECHANISM_INVALID, `mechanism cannot ${use}`);
  const obj = app.requireObject(key, C.CKR_KEY_HANDLE_INVALID);
  checkKeyForUse(app.token.crypto, obj, mech, use);
  if (use === 'sign') rememberEcPrivate(app, obj);
  const base: KeyedState = {
    key: obj,
    singlePart: mech.singlePart === true,
    multi: false,
    needsContextLogin: (use === 'sign' || use === 'decrypt') && obj.flag(C.CKA_ALWAYS_AUTHENTICATE),
  };
  return { session, mech, obj, base };
}

export function signInit(app: AppState, h: number, m: RawMechanism, key: number): void {
  const { session, mech, obj, base } = keyedInit(app, h, m, key, 'sign');
  const op = (mech.sign as NonNullable<typeof mech.sign>)(
    app.token.crypto,
    m,
    keyRef(app.token.crypto, obj),
  );
  session.sign = { ...base, op };
}

export function sign(app: AppState, h: number, data: Uint8Array, capacity: number | null): Output {
  const session = app.requireSession(h);
  const st = requireOp(session.sign);
  return guarded(session, 'sign', () => {
    checkSinglePartCall(st);
    checkContextLogin(st);
    const out = output(st.op.length, capacity, () => {
      st.op.update(data);
      return st.op.finish();
    });
    if (out.bytes) session.sign = undefined;
    return out;
  });
}

export async function signAsync(
  app: AppState,
  h: number,
  data: Uint8Array,
  capacity: number | null,
): Promise<Output> {
  const session = app.requireSession(h);
  const st = requireOp(session.sign);
  const length = guarded(session, 'sign', () => {
    checkSinglePartCall(st);
    checkContextLogin(st);
    return output(st.op.length, capacity, () => new Uint8Array(0)).length;
  });
  if (capacity === null) return { length, bytes: null };
  // The operation leaves the session now, so nothing can interleave with the pending signature.
  session.sign = undefined;
  st.op.update(data);
  const bytes = await st.op.finishAsync();
  return { length: bytes.length, bytes };
}

export function signUpdate(app: AppState, h: number, part: Uint8Array): void {
  const session = app.requireSession(h);
  const st = requireOp(session.sign);
  guarded(session, 'sign', () => {
    checkUpdateAllowed(st);
    st.multi = true;
    st.op.update(part);
  });
}

export function signFinal(app: AppState, h: number, capacity: number | null): Output {
  const session = app.requireSession(h);
  const st = requireOp(session.sign);
  return guarded(session, 'sign', () => {
    checkUpdateAllowed(st);
    checkContextLogin(st);
    const out = output(st.op.length, capacity, () => st.op.finish());
    if (out.bytes) session.sign = undefined;
    return out;
  });
}

export function verifyInit(app: AppState, h: number, m: RawMechanism, key: number): void {
  const { session, mech, obj, base } = keyedInit(app, h, m, key, 'verify');
  const op = (mech.verify as NonNullable<typeof mech.verify>)(
    app.token.crypto,
    m,
    verifyKeyRef(app, obj),
  );
  session.verify = { ...base, op };
}

function verdict(ok: boolean): void {
  if (!ok) throw new Pkcs11Error(C.CKR_SIGNATURE_INVALID);
}

export function verify(app: AppState, h: number, data: Uint8Array, signature: Uint8Array): void {
  const session = app.requireSession(h);
  const st = requireOp(session.verify);
  guarded(session, 'verify', () => {
    checkSinglePartCall(st);
    session.verify = undefined;
    st.op.update(data);
    verdict(st.op.finish(signature));
  });
}

export function verifyUpdate(app: AppState, h: number, part: Uint8Array): void {
  const session = app.requireSession(h);
  const st = requireOp(session.verify);
  guarded(session, 'verify', () => {
    checkUpdateAllowed(st);
    st.multi = true;
    st.op.update(part);
  });
}

export function verifyFinal(app: AppState, h: number, signature: Uint8Array): void {
  const session = app.requireSession(h);
  const st = requireOp(session.verify);
  guarded(session, 'verify', () => {
    checkUpdateAllowed(st);
    session.verify = undefined;
    verdict(st.op.finish(signature));
  });
}

/** Largest C_GenerateRandom request served in one call (bounded so a caller cannot exhaust memory). */
export const MAX_RANDOM_LENGTH = 16 * 1024 * 1024;

export function generateRandom(app: AppState, h: number, length: number): Uint8Array {
  app.requireSession(h);
  if (!Number.isInteger(length) || length < 0 || length > MAX_RANDOM_LENGTH) {
    throw new Pkcs11Error(C.CKR_ARGUMENTS_BAD, `length must be 0..${MAX_RANDOM_LENGTH}`);
  }
  return app.token.crypto.randomBytes(length);
}

export function seedRandom(app: AppState, h: number, _seed: Uint8Array): void {
  app.requireSession(h);
  // OpenSSL's generator, which node:crypto uses, takes no caller seed: say so rather than ignore it.
  throw new Pkcs11Error(C.CKR_RANDOM_SEED_NOT_SUPPORTED);
}
