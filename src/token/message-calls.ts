/**
 * Message-based encryption and decryption (PKCS#11 3.0 §5.13–5.14): C_MessageEncryptInit binds a key and
 * an AEAD mechanism; each C_EncryptMessage (or C_EncryptMessageBegin, C_EncryptMessageNext … the part
 * flagged CKF_END_OF_MESSAGE) is one message with its own IV and AAD, run as one C_Encrypt of that
 * mechanism (mechanisms/message-params.ts builds its parameters), its tag in the caller's buffer; the
 * operation lasts until C_MessageEncryptFinal. An error ends the message in progress, not the operation;
 * a too-small output buffer ends neither. Layer L5.
 * @module
 */
import { Pkcs11Error } from '../errors.js';
import { Collected } from '../mechanisms/common.js';
import { type MessageCall, messageMode } from '../mechanisms/message-params.js';
import * as C from '../pkcs11/constants.js';
import type { Output, RawMechanism } from '../pkcs11/types.js';
import { concat } from '../util/bytes.js';
import type { AppState } from './app-state.js';
import { keyRef } from './keys.js';
import {
  cancelledByNull,
  checkContextLogin,
  cipherWhole,
  guardedMessage,
  idle,
  keyedInit,
  messageFinal,
  messageOperation,
  output,
} from './operation.js';
import type { CipherMessage, MessageCipher, MessageState } from './session.js';

type Dir = 'messageEncrypt' | 'messageDecrypt';
type State = MessageState<MessageCipher, CipherMessage>;
/** Largest message, whole or in parts: AEAD releases nothing before the tag, so it is all held. */
const MAX_MESSAGE = 64 * 1024 * 1024;

function messageInit(dir: Dir, app: AppState, h: number, m: RawMechanism | null, key: number) {
  if (cancelledByNull(app, h, m, dir)) return;
  const use = dir === 'messageEncrypt' ? 'encrypt' : 'decrypt';
  const mode = messageMode(m.mechanism);
  const { session, make, obj } = keyedInit(app, h, m, key, use, dir);
  if (!mode) throw new Pkcs11Error(C.CKR_MECHANISM_INVALID, 'no message-based form');
  const crypto = app.token.crypto;
  const ref = keyRef(crypto, obj);
  const run = (single: RawMechanism, data: Uint8Array): Uint8Array =>
    cipherWhole(make(crypto, single, ref), data);
  const always = use === 'decrypt' && obj.flag(C.CKA_ALWAYS_AUTHENTICATE);
  session[dir] = {
    key: obj,
    bound: { mode, run },
    alwaysAuthenticate: always,
    needsContextLogin: always,
    current: undefined,
  };
}

// Each C function below is its direction's form of one function, the direction bound first.
export const messageEncryptInit = messageInit.bind(undefined, 'messageEncrypt');
export const messageDecryptInit = messageInit.bind(undefined, 'messageDecrypt');

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

/** AEAD output is as long as its input: the length is known before anything runs (or an IV is made). */
function whole(
  dir: Dir,
  app: AppState,
  h: number,
  param: unknown,
  aad: Uint8Array,
  data: Uint8Array,
  capacity: number | null,
): Output {
  const { st } = messageOperation(app, h, dir);
  idle(st);
  const random = (n: number) => app.token.crypto.randomBytes(n);
  return output(data.length, capacity, () => {
    const call = st.bound.mode.prepare(param, aad, dir === 'messageEncrypt', random);
    return seal(st, dir, call, data);
  });
}

export const encryptMessage = whole.bind(undefined, 'messageEncrypt');
export const decryptMessage = whole.bind(undefined, 'messageDecrypt');

/** C_*MessageBegin: an encryption makes its call (and a generated IV) now; a decryption at the end. */
function begin(dir: Dir, app: AppState, h: number, param: unknown, aad: Uint8Array): void {
  const { st } = messageOperation(app, h, dir);
  idle(st);
  const random = (n: number) => app.token.crypto.randomBytes(n);
  const call =
    dir === 'messageEncrypt' ? st.bound.mode.prepare(param, aad, true, random) : undefined;
  const tooLong = dir === 'messageEncrypt' ? C.CKR_DATA_LEN_RANGE : C.CKR_ENCRYPTED_DATA_LEN_RANGE;
  st.current = { aad: new Uint8Array(aad), call, input: new Collected(MAX_MESSAGE, tooLong) };
}

export const encryptMessageBegin = begin.bind(undefined, 'messageEncrypt');
export const decryptMessageBegin = begin.bind(undefined, 'messageDecrypt');

/**
 * C_*MessageNext: parts are held (no output) until the one flagged CKF_END_OF_MESSAGE, which returns
 * the whole message's output. A decryption reads the tag from that last part's parameter.
 */
function next(
  dir: Dir,
  app: AppState,
  h: number,
  param: unknown,
  part: Uint8Array,
  capacity: number | null,
  flags: number,
): Output {
  const { st } = messageOperation(app, h, dir);
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
    return output(msg.input.length + part.length, capacity, () => {
      msg.input.add(part);
      const random = (n: number) => app.token.crypto.randomBytes(n);
      const call = msg.call ?? st.bound.mode.prepare(param, msg.aad, false, random);
      const out = seal(st, dir, call, msg.input.take());
      st.current = undefined;
      return out;
    });
  });
}

export const encryptMessageNext = next.bind(undefined, 'messageEncrypt');
export const decryptMessageNext = next.bind(undefined, 'messageDecrypt');
export const messageEncryptFinal = (app: AppState, h: number) =>
  messageFinal(app, h, 'messageEncrypt');
export const messageDecryptFinal = (app: AppState, h: number) =>
  messageFinal(app, h, 'messageDecrypt');
