/**
 * Message-based encryption and decryption (PKCS#11 3.0 §5.13–5.14): C_MessageEncryptInit binds a key and
 * an AEAD mechanism; each C_EncryptMessage (or C_EncryptMessageBegin, C_EncryptMessageNext … the part
 * flagged CKF_END_OF_MESSAGE) is one message with its own IV and AAD, run as one C_Encrypt of that
 * mechanism (mechanisms/message-params.ts builds its parameters), its tag in the caller's buffer; the
 * operation lasts until C_MessageEncryptFinal. An error ends the message in progress, not the operation;
 * a too-small output buffer ends neither. Layer L5.
 * @module
 */
import { bufferTooSmall, isPkcs11Error, Pkcs11Error } from '../errors.js';
import { Collected } from '../mechanisms/common.js';
import { type MessageCall, messageMode } from '../mechanisms/message-params.js';
import * as C from '../pkcs11/constants.js';
import type { Output, RawMechanism } from '../pkcs11/types.js';
import { concat } from '../util/bytes.js';
import type { AppState } from './app-state.js';
import { keyRef } from './keys.js';
import { cancelledByNull, checkContextLogin, keyedInit } from './operation.js';
import type { CipherMessage, MessageCipher, MessageState, Session } from './session.js';

type Dir = 'messageEncrypt' | 'messageDecrypt';
type State = MessageState<MessageCipher, CipherMessage>;
/** Largest message, whole or in parts: AEAD releases nothing before the tag, so it is all held. */
const MAX_MESSAGE = 64 * 1024 * 1024;

function messageInit(app: AppState, dir: Dir, h: number, m: RawMechanism | null, key: number) {
  if (cancelledByNull(app, h, m, dir)) return;
  const use = dir === 'messageEncrypt' ? 'encrypt' : 'decrypt';
  const mode = messageMode(m.mechanism);
  const { session, make, obj } = keyedInit(app, h, m, key, use, dir);
  if (!mode) throw new Pkcs11Error(C.CKR_MECHANISM_INVALID, 'no message-based form');
  const crypto = app.token.crypto;
  const ref = keyRef(crypto, obj);
  const run = (single: RawMechanism, data: Uint8Array): Uint8Array => {
    const op = make(crypto, single, ref);
    const head = op.update(data);
    const tail = op.finish();
    return head.length === 0 ? tail : concat(head, tail);
  };
  const always = use === 'decrypt' && obj.flag(C.CKA_ALWAYS_AUTHENTICATE);
  session[dir] = {
    key: obj,
    bound: { mode, run },
    alwaysAuthenticate: always,
    needsContextLogin: always,
    current: undefined,
  };
}

export const messageEncryptInit = (app: AppState, h: number, m: RawMechanism | null, key: number) =>
  messageInit(app, 'messageEncrypt', h, m, key);
export const messageDecryptInit = (app: AppState, h: number, m: RawMechanism | null, key: number) =>
  messageInit(app, 'messageDecrypt', h, m, key);

function active(app: AppState, h: number, dir: Dir): { session: Session; st: State } {
  const session = app.requireSession(h);
  const st = session[dir];
  if (!st) throw new Pkcs11Error(C.CKR_OPERATION_NOT_INITIALIZED);
  return { session, st };
}

/** Runs one message: an error ends the message in progress (not the operation), except BUFFER_TOO_SMALL. */
function guardedMessage<T>(st: State, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (!isPkcs11Error(e, C.CKR_BUFFER_TOO_SMALL)) st.current = undefined;
    throw e;
  }
}

/** The message through its C_Encrypt: ciphertext out, tag into the caller's buffer; or tag in, plaintext out. */
function seal(st: State, dir: Dir, call: MessageCall, data: Uint8Array): Uint8Array {
  if (dir === 'messageEncrypt') {
    const out = st.bound.run(call.mechanism, data);
    const cut = out.length - call.tag.length;
    call.tag.set(out.subarray(cut));
    return out.subarray(0, cut);
  }
  checkContextLogin(st);
  const plain = st.bound.run(call.mechanism, concat(data, call.tag));
  st.needsContextLogin = st.alwaysAuthenticate;
  return plain;
}

/** AEAD output is as long as its input; the length is known before anything runs (or an IV is made). */
function produce(length: number, capacity: number | null, make: () => Uint8Array): Output {
  if (capacity === null) return { length, bytes: null };
  if (capacity < length) bufferTooSmall(length);
  const bytes = make();
  return { length: bytes.length, bytes };
}

function whole(
  app: AppState,
  dir: Dir,
  h: number,
  param: unknown,
  aad: Uint8Array,
  data: Uint8Array,
  capacity: number | null,
): Output {
  const { st } = active(app, h, dir);
  if (st.current)
    throw new Pkcs11Error(C.CKR_OPERATION_ACTIVE, 'a message in parts is in progress');
  const random = (n: number) => app.token.crypto.randomBytes(n);
  return produce(data.length, capacity, () => {
    const call = st.bound.mode.prepare(param, aad, dir === 'messageEncrypt', random);
    return seal(st, dir, call, data);
  });
}

export const encryptMessage = (
  app: AppState,
  h: number,
  param: unknown,
  aad: Uint8Array,
  plaintext: Uint8Array,
  capacity: number | null,
) => whole(app, 'messageEncrypt', h, param, aad, plaintext, capacity);
export const decryptMessage = (
  app: AppState,
  h: number,
  param: unknown,
  aad: Uint8Array,
  ciphertext: Uint8Array,
  capacity: number | null,
) => whole(app, 'messageDecrypt', h, param, aad, ciphertext, capacity);

/** C_*MessageBegin: an encryption makes its call (and a generated IV) now; a decryption at the end. */
function begin(app: AppState, dir: Dir, h: number, param: unknown, aad: Uint8Array): void {
  const { st } = active(app, h, dir);
  if (st.current)
    throw new Pkcs11Error(C.CKR_OPERATION_ACTIVE, 'a message in parts is in progress');
  const random = (n: number) => app.token.crypto.randomBytes(n);
  const call =
    dir === 'messageEncrypt' ? st.bound.mode.prepare(param, aad, true, random) : undefined;
  const tooLong = dir === 'messageEncrypt' ? C.CKR_DATA_LEN_RANGE : C.CKR_ENCRYPTED_DATA_LEN_RANGE;
  st.current = { aad: new Uint8Array(aad), call, input: new Collected(MAX_MESSAGE, tooLong) };
}

export const encryptMessageBegin = (app: AppState, h: number, param: unknown, aad: Uint8Array) =>
  begin(app, 'messageEncrypt', h, param, aad);
export const decryptMessageBegin = (app: AppState, h: number, param: unknown, aad: Uint8Array) =>
  begin(app, 'messageDecrypt', h, param, aad);

/**
 * C_*MessageNext: parts are held (no output) until the one flagged CKF_END_OF_MESSAGE, which returns
 * the whole message's output. A decryption reads the tag from that last part's parameter.
 */
function next(
  app: AppState,
  dir: Dir,
  h: number,
  param: unknown,
  part: Uint8Array,
  capacity: number | null,
  flags: number,
): Output {
  const { st } = active(app, h, dir);
  const msg = st.current;
  if (!msg) throw new Pkcs11Error(C.CKR_OPERATION_NOT_INITIALIZED, 'no C_*MessageBegin');
  if (flags !== 0 && flags !== C.CKF_END_OF_MESSAGE) {
    throw new Pkcs11Error(C.CKR_ARGUMENTS_BAD, 'flags: 0 or CKF_END_OF_MESSAGE');
  }
  return guardedMessage(st, () => {
    if (flags === 0) {
      if (capacity !== null) msg.input.add(part);
      return { length: 0, bytes: capacity === null ? null : new Uint8Array(0) };
    }
    return produce(msg.input.length + part.length, capacity, () => {
      msg.input.add(part);
      const random = (n: number) => app.token.crypto.randomBytes(n);
      const call = msg.call ?? st.bound.mode.prepare(param, msg.aad, false, random);
      const out = seal(st, dir, call, msg.input.take());
      st.current = undefined;
      return out;
    });
  });
}

export const encryptMessageNext = (
  app: AppState,
  h: number,
  param: unknown,
  part: Uint8Array,
  capacity: number | null,
  flags: number,
) => next(app, 'messageEncrypt', h, param, part, capacity, flags);
export const decryptMessageNext = (
  app: AppState,
  h: number,
  param: unknown,
  part: Uint8Array,
  capacity: number | null,
  flags: number,
) => next(app, 'messageDecrypt', h, param, part, capacity, flags);

/** C_Message*Final: ends the operation (and a message left unfinished). */
function final(app: AppState, dir: Dir, h: number): void {
  active(app, h, dir).session[dir] = undefined;
}

export const messageEncryptFinal = (app: AppState, h: number) => final(app, 'messageEncrypt', h);
export const messageDecryptFinal = (app: AppState, h: number) => final(app, 'messageDecrypt', h);
