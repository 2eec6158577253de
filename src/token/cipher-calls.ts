/**
 * Encryption and decryption (v2.40 §5.8–5.9): the operation state machine over a mechanism's cipher.
 * Output whose length is only known after the work is done (padding) is computed once and kept when the
 * caller's buffer was too small, so repeating the call with a bigger buffer does not run the cipher twice.
 * Layer L5.
 * @module
 */
import { bufferTooSmall, Pkcs11Error } from '../errors.js';
import type { CipherOperation, Mechanism } from '../mechanisms/types.js';
import * as C from '../pkcs11/constants.js';
import type { Output, RawMechanism } from '../pkcs11/types.js';
import { equalBytes } from '../util/bytes.js';
import type { AppState } from './app-state.js';
import { checkContextLogin, guarded, keyedInit, requireOp } from './crypto-calls.js';
import { keyRef } from './keys.js';
import type { CipherState, Session } from './session.js';

type Direction = 'encrypt' | 'decrypt';
type Call = 'single' | 'update' | 'final';

export function cipherInit(
  app: AppState,
  dir: Direction,
  h: number,
  m: RawMechanism,
  key: number,
): void {
  const { session, mech, obj, base } = keyedInit(app, h, m, key, dir);
  const make = mech[dir] as NonNullable<Mechanism['encrypt']>;
  session[dir] = { ...base, op: make(app.token.crypto, m, keyRef(app.token.crypto, obj)) };
}

function bound(op: CipherOperation, call: Call, n: number): number {
  // A single-part query comes before its input reaches the operation: finish must count it too.
  if (call === 'single') return op.updateBound(n) + op.finishBound(n);
  return call === 'update' ? op.updateBound(n) : op.finishBound(0);
}

function run(op: CipherOperation, call: Call, data: Uint8Array): Uint8Array {
  if (call === 'update') return op.update(data);
  const head = call === 'single' ? op.update(data) : new Uint8Array(0);
  const tail = op.finish();
  if (head.length === 0) return tail;
  const out = new Uint8Array(head.length + tail.length);
  out.set(head);
  out.set(tail, head.length);
  return out;
}

function step(
  app: AppState,
  dir: Direction,
  h: number,
  call: Call,
  data: Uint8Array,
  capacity: number | null,
): Output {
  const session: Session = app.requireSession(h);
  const st: CipherState = requireOp(session[dir]);
  return guarded(session, dir, () => {
    if (call === 'single' && st.multi)
      throw new Pkcs11Error(C.CKR_OPERATION_ACTIVE, 'a multi-part operation is in progress');
    if (call !== 'single' && st.singlePart) {
      throw new Pkcs11Error(C.CKR_FUNCTION_NOT_SUPPORTED, 'this mechanism is single-part only');
    }
    if (dir === 'decrypt') checkContextLogin(st);
    const p = st.pending;
    const repeat = p !== undefined && p.call === call && equalBytes(p.input, data);
    if (p && !repeat)
      throw new Pkcs11Error(C.CKR_OPERATION_ACTIVE, 'repeat the call that needed a bigger buffer');
    if (capacity === null)
      return {
        length: repeat
          ? (p as NonNullable<typeof p>).output.length
          : bound(st.op, call, data.length),
        bytes: null,
      };
    const output = repeat ? (p as NonNullable<typeof p>).output : run(st.op, call, data);
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

export const cipherCalls = {
  single: (app: AppState, dir: Direction, h: number, data: Uint8Array, cap: number | null) =>
    step(app, dir, h, 'single', data, cap),
  update: (app: AppState, dir: Direction, h: number, data: Uint8Array, cap: number | null) =>
    step(app, dir, h, 'update', data, cap),
  final: (app: AppState, dir: Direction, h: number, cap: number | null) =>
    step(app, dir, h, 'final', NONE, cap),
};
