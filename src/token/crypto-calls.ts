/**
 * Digest, sign and verify (v2.40 §5.10–5.12) and random numbers (§5.15), each call one step of the
 * operation state machine in operation.ts. Layer L5.
 * @module
 */
import { readBytes } from '../attributes/values.js';
import { bufferTooSmall, Pkcs11Error } from '../errors.js';
import { mechanism } from '../mechanisms/registry.js';
import * as C from '../pkcs11/constants.js';
import type { Output, RawMechanism } from '../pkcs11/types.js';
import type { AppState } from './app-state.js';
import { keyRef, verifyKeyRef } from './keys.js';
import { cancelledByNull, keyedInit, output, step, withOperation } from './operation.js';
import type { Session } from './session.js';

/** The result of a call that produced its output ends the operation (a length query does not). */
function ending(session: Session, kind: 'digest' | 'sign', out: Output): Output {
  if (out.bytes) session[kind] = undefined;
  return out;
}

function verdict(ok: boolean): void {
  if (!ok) throw new Pkcs11Error(C.CKR_SIGNATURE_INVALID);
}

export function digestInit(app: AppState, h: number, m: RawMechanism | null): void {
  if (cancelledByNull(app, h, m, 'digest')) return;
  const session = app.requireSession(h);
  if (session.digest) throw new Pkcs11Error(C.CKR_OPERATION_ACTIVE);
  const mech = mechanism(m.mechanism, app.token.profile);
  if (!mech.digest) throw new Pkcs11Error(C.CKR_MECHANISM_INVALID, 'not a digest mechanism');
  session.digest = { op: mech.digest(app.token.crypto, m), multi: false };
}

/**
 * C_Digest and C_Sign: one single-part call, its result into the caller's buffer, after which the
 * operation ends (a length query leaves it active). Nothing was fed before, so the operation may take
 * the caller's data as it is (`once`: no copy), or else as one update.
 */
const singleOutput =
  (kind: 'digest' | 'sign') =>
  (app: AppState, h: number, data: Uint8Array, capacity: number | null): Output =>
    step(app, h, kind, 'single', (st, session) => {
      const { op } = st;
      if (capacity === null) return { length: op.length, bytes: null };
      if (capacity < op.length) bufferTooSmall(op.length);
      let bytes: Uint8Array;
      if (op.once) bytes = op.once(data);
      else {
        op.update(data);
        bytes = op.finish();
      }
      session[kind] = undefined;
      return { length: bytes.length, bytes };
    });

export const digest = singleOutput('digest');

/** C_DigestUpdate, C_SignUpdate, C_VerifyUpdate: one more part of a multi-part operation. */
const updating =
  (kind: 'digest' | 'sign' | 'verify') =>
  (app: AppState, h: number, part: Uint8Array): void =>
    step(app, h, kind, 'update', (st) => {
      st.multi = true;
      st.op.update(part);
    });

export const digestUpdate = updating('digest');

export const digestKey = (app: AppState, h: number, key: number): void =>
  step(app, h, 'digest', 'update', (st) => {
    const obj = app.requireObject(key, C.CKR_KEY_HANDLE_INVALID);
    const value = readBytes(obj.attrs, C.CKA_VALUE);
    if (obj.objectClass !== C.CKO_SECRET_KEY || !value) {
      throw new Pkcs11Error(C.CKR_KEY_INDIGESTIBLE, 'only secret keys can be digested');
    }
    st.multi = true;
    st.op.update(value);
  });

/** C_DigestFinal and C_SignFinal: the operation's result, after which it ends. */
const finalOutput =
  (kind: 'digest' | 'sign') =>
  (app: AppState, h: number, capacity: number | null): Output =>
    step(app, h, kind, 'final', (st, session) =>
      ending(
        session,
        kind,
        output(st.op.length, capacity, () => st.op.finish()),
      ),
    );

export const digestFinal = finalOutput('digest');

export function signInit(app: AppState, h: number, m: RawMechanism | null, key: number): void {
  if (cancelledByNull(app, h, m, 'sign')) return;
  const { session, make, obj, base } = keyedInit(app, h, m, key, 'sign');
  session.sign = withOperation(base, make(app.token.crypto, m, keyRef(app.token.crypto, obj)));
}

export const sign = singleOutput('sign');

/**
 * C_Sign or C_SignFinal off the event loop: the checks and the length query run at once, the signature
 * in the mechanism's async form (the RSA private-key operation in the thread pool or the RSA worker).
 */
async function signingAsync(
  app: AppState,
  h: number,
  call: 'single' | 'final',
  data: Uint8Array,
  capacity: number | null,
): Promise<Output> {
  const { st, length } = step(app, h, 'sign', call, (st) => ({
    st,
    length: output(st.op.length, capacity, () => new Uint8Array(0)).length,
  }));
  if (capacity === null) return { length, bytes: null };
  // The operation leaves the session now, so nothing can interleave with the pending signature.
  app.requireSession(h).sign = undefined;
  if (call === 'single') st.op.update(data);
  const bytes = await st.op.finishAsync();
  return { length: bytes.length, bytes };
}

export const signAsync = (app: AppState, h: number, data: Uint8Array, capacity: number | null) =>
  signingAsync(app, h, 'single', data, capacity);

export const signFinalAsync = (app: AppState, h: number, capacity: number | null) =>
  signingAsync(app, h, 'final', new Uint8Array(0), capacity);

export const signUpdate = updating('sign');

export const signFinal = finalOutput('sign');

export function verifyInit(app: AppState, h: number, m: RawMechanism | null, key: number): void {
  if (cancelledByNull(app, h, m, 'verify')) return;
  const { session, make, obj, base } = keyedInit(app, h, m, key, 'verify');
  session.verify = withOperation(base, make(app.token.crypto, m, verifyKeyRef(app, obj)));
}

export const verify = (app: AppState, h: number, data: Uint8Array, signature: Uint8Array): void =>
  step(app, h, 'verify', 'single', (st, session) => {
    session.verify = undefined;
    if (st.op.once) verdict(st.op.once(data, signature));
    else {
      st.op.update(data);
      verdict(st.op.finish(signature));
    }
  });

/** C_Verify off the event loop: the verifications the token runs are fast, so this is the sync call. */
export const verifyAsync = async (
  app: AppState,
  h: number,
  data: Uint8Array,
  signature: Uint8Array,
) => verify(app, h, data, signature);

export const verifyUpdate = updating('verify');

export const verifyFinal = (app: AppState, h: number, signature: Uint8Array): void =>
  step(app, h, 'verify', 'final', (st, session) => {
    session.verify = undefined;
    verdict(st.op.finish(signature));
  });

/** Largest C_GenerateRandom request served in one call (bounded so a caller cannot exhaust memory). */
export const MAX_RANDOM_LENGTH = 16 * 1024 * 1024;

export function generateRandom(app: AppState, h: number, length: number): Uint8Array {
  app.requireSession(h);
  if (!Number.isInteger(length) || length < 0 || length > MAX_RANDOM_LENGTH) {
    throw new Pkcs11Error(C.CKR_ARGUMENTS_BAD, `length must be 0..${MAX_RANDOM_LENGTH}`);
  }
  return app.token.crypto.randomBytes(length);
}

/**
 * Mixes the seed into the token's generator, as SoftHSMv2 does: additional input, never the source of
 * entropy (the OS CSPRNG stays that), so a caller's seed cannot make the output predictable.
 */
export function seedRandom(app: AppState, h: number, seed: Uint8Array): void {
  app.requireSession(h);
  app.token.crypto.seedRandom(seed);
}
