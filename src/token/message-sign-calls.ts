/**
 * Message-based signing and verification (PKCS#11 3.0 §5.15–5.16): C_MessageSignInit binds a key and a
 * signature or MAC mechanism; each C_SignMessage (or C_SignMessageBegin, C_SignMessageNext … the call that
 * asks for the signature) signs one message as a C_Sign would, until C_MessageSignFinal. The mechanisms
 * here take no per-message parameter: one given is CKR_MECHANISM_PARAM_INVALID. An error ends the message
 * in progress, not the operation. Layer L5.
 * @module
 */
import { Pkcs11Error } from '../errors.js';
import type { SignOperation, VerifyOperation } from '../mechanisms/types.js';
import * as C from '../pkcs11/constants.js';
import type { Output, RawMechanism } from '../pkcs11/types.js';
import type { AppState } from './app-state.js';
import { keyRef, verifyKeyRef } from './keys.js';
import {
  cancelledByNull,
  checkContextLogin,
  guardedMessage,
  idle,
  keyedInit,
  messageFinal,
  messageOperation,
  output,
} from './operation.js';
import type { MessageState, Session } from './session.js';

type Kind = 'messageSign' | 'messageVerify';

function noParameter(param: unknown): void {
  if (param === null || param === undefined) return;
  if (param instanceof Uint8Array && param.length === 0) return;
  throw new Pkcs11Error(C.CKR_MECHANISM_PARAM_INVALID, 'this mechanism takes no message parameter');
}

export function messageSignInit(app: AppState, h: number, m: RawMechanism | null, key: number) {
  if (cancelledByNull(app, h, m, 'messageSign')) return;
  const { session, make, obj, base } = keyedInit(app, h, m, key, 'sign', 'messageSign');
  const ref = keyRef(app.token.crypto, obj);
  session.messageSign = {
    key: obj,
    bound: () => make(app.token.crypto, m, ref),
    alwaysAuthenticate: base.needsContextLogin,
    needsContextLogin: base.needsContextLogin,
    current: undefined,
    singlePart: base.singlePart,
  };
}

export function messageVerifyInit(app: AppState, h: number, m: RawMechanism | null, key: number) {
  if (cancelledByNull(app, h, m, 'messageVerify')) return;
  const { session, make, obj, base } = keyedInit(app, h, m, key, 'verify', 'messageVerify');
  const ref = verifyKeyRef(app, obj);
  session.messageVerify = {
    key: obj,
    bound: () => make(app.token.crypto, m, ref),
    alwaysAuthenticate: false,
    needsContextLogin: false,
    current: undefined,
    singlePart: base.singlePart,
  };
}

/** The session's active `kind` operation, a per-message parameter refused, `fn` guarded as a message. */
function onMessage<K extends Kind, T>(
  app: AppState,
  h: number,
  kind: K,
  param: unknown,
  fn: (st: NonNullable<Session[K]>) => T,
): T {
  const { st } = messageOperation(app, h, kind);
  return guardedMessage(st, () => {
    noParameter(param);
    return fn(st);
  });
}

/** Produces a signature once the buffer fits: the context login owed, then the operation's end. */
function signed(
  st: MessageState<unknown, unknown>,
  op: SignOperation,
  last: Uint8Array,
): Uint8Array {
  checkContextLogin(st);
  op.update(last);
  const sig = op.finish();
  st.needsContextLogin = st.alwaysAuthenticate;
  st.current = undefined;
  return sig;
}

export const signMessage = (
  app: AppState,
  h: number,
  param: unknown,
  data: Uint8Array,
  capacity: number | null,
): Output =>
  onMessage(app, h, 'messageSign', param, (st) => {
    idle(st);
    const op = st.bound();
    return output(op.length, capacity, () => signed(st, op, data));
  });

/** C_SignMessageBegin, C_VerifyMessageBegin: a message in parts starts (not on a single-part mechanism). */
function begin(kind: Kind, app: AppState, h: number, param: unknown): void {
  onMessage(app, h, kind, param, (st: MessageState<() => unknown, unknown>) => {
    idle(st);
    if (st.singlePart) {
      throw new Pkcs11Error(C.CKR_FUNCTION_NOT_SUPPORTED, 'this mechanism is single-part only');
    }
    st.current = st.bound();
  });
}

export const signMessageBegin = begin.bind(undefined, 'messageSign');

/** Without `last`, a part (C: no signature length pointer); with it, the last part and the signature. */
export const signMessageNext = (
  app: AppState,
  h: number,
  param: unknown,
  data: Uint8Array,
  last: boolean,
  capacity: number | null,
): Output | null =>
  onMessage(app, h, 'messageSign', param, (st) => {
    const op = st.current;
    if (!op) throw new Pkcs11Error(C.CKR_OPERATION_NOT_INITIALIZED, 'no C_SignMessageBegin');
    if (!last) {
      op.update(data);
      return null;
    }
    return output(op.length, capacity, () => signed(st, op, data));
  });

function verdict(op: VerifyOperation, data: Uint8Array, signature: Uint8Array): void {
  op.update(data);
  if (!op.finish(signature)) throw new Pkcs11Error(C.CKR_SIGNATURE_INVALID);
}

export const verifyMessage = (
  app: AppState,
  h: number,
  param: unknown,
  data: Uint8Array,
  signature: Uint8Array,
): void =>
  onMessage(app, h, 'messageVerify', param, (st) => {
    idle(st);
    verdict(st.bound(), data, signature);
  });

export const verifyMessageBegin = begin.bind(undefined, 'messageVerify');

/** Without a signature, a part; with one, the last part, checked (CKR_SIGNATURE_INVALID). */
export const verifyMessageNext = (
  app: AppState,
  h: number,
  param: unknown,
  data: Uint8Array,
  signature: Uint8Array | null,
): void =>
  onMessage(app, h, 'messageVerify', param, (st) => {
    const op = st.current;
    if (!op) throw new Pkcs11Error(C.CKR_OPERATION_NOT_INITIALIZED, 'no C_VerifyMessageBegin');
    if (signature === null) {
      op.update(data);
      return;
    }
    st.current = undefined;
    verdict(op, data, signature);
  });

export const messageSignFinal = (app: AppState, h: number) => messageFinal(app, h, 'messageSign');
export const messageVerifyFinal = (app: AppState, h: number) =>
  messageFinal(app, h, 'messageVerify');
