/**
 * Encryption and decryption (v2.40 §5.8–5.9): the operation state machine over a mechanism's cipher.
 * Output whose length is only known after the work is done (padding) is computed once and kept when the
 * caller's buffer was too small, so repeating the call with a bigger buffer does not run the cipher twice.
 * Layer L5.
 * @module
 */
import { bufferTooSmall, Pkcs11Error } from '../errors.js';
import type { CipherOperation } from '../mechanisms/types.js';
import * as C from '../pkcs11/constants.js';
import type { Output, RawMechanism } from '../pkcs11/types.js';
import { equalBytes } from '../util/bytes.js';
import type { AppState } from './app-state.js';
import { keyRef } from './keys.js';
import {
  cancelledByNull,
  cipherWhole,
  keyedInit,
  type Phase,
  step,
  withOperation,
} from './operation.js';

type Direction = 'encrypt' | 'decrypt';

function cipherInit(
  app: AppState,
  dir: Direction,
  h: number,
  m: RawMechanism | null,
  key: number,
): void {
  if (cancelledByNull(app, h, m, dir)) return;
  const { session, make, obj, base } = keyedInit(app, h, m, key, dir);
  session[dir] = withOperation(base, make(app.token.crypto, m, keyRef(app.token.crypto, obj)));
}

export const encryptInit = (app: AppState, h: number, m: RawMechanism | null, key: number) =>
  cipherInit(app, 'encrypt', h, m, key);
export const decryptInit = (app: AppState, h: number, m: RawMechanism | null, key: number) =>
  cipherInit(app, 'decrypt', h, m, key);

function bound(op: CipherOperation, call: Phase, n: number): number {
  // A single-part query comes before its input reaches the operation: finish must count it too.
  if (call === 'single') return op.updateBound(n) + op.finishBound(n);
  return call === 'update' ? op.updateBound(n) : op.finishBound(0);
}

function run(op: CipherOperation, call: Phase, data: Uint8Array): Uint8Array {
  if (call === 'update') return op.update(data);
  return call === 'final' ? op.finish() : cipherWhole(op, data);
}

function cipherStep(
  app: AppState,
  dir: Direction,
  h: number,
  call: Phase,
  data: Uint8Array,
  capacity: number | null,
): Output {
  return step(app, h, dir, call, (st, session) => {
    const p = st.pending;
    const repeat = p !== undefined && p.call === call && equalBytes(p.input, data);
    if (p && !repeat)
      throw new Pkcs11Error(C.CKR_OPERATION_ACTIVE, 'repeat the call that needed a bigger buffer');
    if (capacity === null)
      return { length: repeat ? p.output.length : bound(st.op, call, data.length), bytes: null };
    const output = repeat ? p.output : run(st.op, call, data);
    if (call === 'update') st.multi = true;
    if (capacity < output.length) {
      // A copy, not a view (Buffer#slice): the caller may change its buffer before repeating.
      st.pending = { call, input: new Uint8Array(data), output };
      bufferTooSmall(output.length);
    }
    st.pending = undefined;
    if (call !== 'update') session[dir] = undefined;
    return { length: output.length, bytes: output };
  });
}

const NONE = new Uint8Array(0);

export const encrypt = (app: AppState, h: number, data: Uint8Array, cap: number | null) =>
  cipherStep(app, 'encrypt', h, 'single', data, cap);
export const encryptUpdate = (app: AppState, h: number, part: Uint8Array, cap: number | null) =>
  cipherStep(app, 'encrypt', h, 'update', part, cap);
export const encryptFinal = (app: AppState, h: number, cap: number | null) =>
  cipherStep(app, 'encrypt', h, 'final', NONE, cap);
export const decrypt = (app: AppState, h: number, data: Uint8Array, cap: number | null) =>
  cipherStep(app, 'decrypt', h, 'single', data, cap);
/**
 * C_Decrypt off the event loop where the mechanism has a slow form (RSA): the checks run at once and the
 * operation leaves the session, so nothing interleaves with the pending work. A length query, a buffer
 * below the bound, a call repeated after CKR_BUFFER_TOO_SMALL and the fast mechanisms take the sync path.
 */
export async function decryptAsync(
  app: AppState,
  h: number,
  data: Uint8Array,
  capacity: number | null,
): Promise<Output> {
  const st = step(app, h, 'decrypt', 'single', (st) => st);
  const finishAsync = st.op.finishAsync;
  if (
    !finishAsync ||
    capacity === null ||
    st.pending ||
    capacity < bound(st.op, 'single', data.length)
  )
    return decrypt(app, h, data, capacity);
  app.requireSession(h).decrypt = undefined;
  st.op.update(data);
  const bytes = await finishAsync();
  return { length: bytes.length, bytes };
}
export const decryptUpdate = (app: AppState, h: number, part: Uint8Array, cap: number | null) =>
  cipherStep(app, 'decrypt', h, 'update', part, cap);
export const decryptFinal = (app: AppState, h: number, cap: number | null) =>
  cipherStep(app, 'decrypt', h, 'final', NONE, cap);
