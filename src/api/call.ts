/**
 * The boundary every API method goes through: stamps the C function name on errors, turns foreign
 * exceptions into CKR_GENERAL_ERROR (keeping the cause), lets TypeErrors about JS arguments through,
 * and gives the callback and *Async forms pkcs11js has. Layer L6.
 * @module
 */
import { NativeError, Pkcs11Error } from '../errors.js';
import { CKR_GENERAL_ERROR } from '../pkcs11/constants.js';

/** The error a C function throws for `e`: see the module comment. */
export function normalize(e: unknown, method: string): unknown {
  if (e instanceof NativeError) {
    // pkcs11js reads method and nativeStack from the native error text ("... at PKCS11.C_Login (...)")
    if (!e.method) e.method = method;
    if (!e.nativeStack) e.nativeStack = `    at PKCS11.${e.method}`;
    return e;
  }
  if (e instanceof TypeError) return e;
  const err = new Pkcs11Error(CKR_GENERAL_ERROR, e instanceof Error ? e.message : String(e), {
    cause: e,
  });
  err.method = method;
  return err;
}

export function call<T>(method: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    throw normalize(e, method);
  }
}

export async function callAsync<T>(method: string, fn: () => Promise<T>): Promise<T> {
  try {
    // Always settle after the caller's current tick, as a native async call would.
    await new Promise<void>((resolve) => setImmediate(resolve));
    return await fn();
  } catch (e) {
    throw normalize(e, method);
  }
}

/**
 * A node-style callback, typed as pkcs11js declares it so that callbacks written for pkcs11js
 * (`(err: Error, data: Buffer) => …`) type-check. As with pkcs11js, `error` is null on success and
 * `result` is null on failure.
 */
export type Callback<T> = (error: Error, result: T) => void;

/**
 * Delivers a promise's outcome to a node-style callback, with pkcs11js's nulls. The callback runs on its
 * own tick, outside the promise chain: an exception it throws is an uncaught exception, as it is when
 * pkcs11js calls back from its thread pool, not a silently rejected promise.
 */
export function deliver<T>(p: Promise<T>, cb: Callback<T>): undefined {
  const none = null as unknown;
  p.then(
    (v) => process.nextTick(cb, none as Error, v),
    (e: Error) => process.nextTick(cb, e, none as T),
  );
  return undefined;
}
