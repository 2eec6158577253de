/**
 * The adapter's half of the port's error contract (crypto/backend.ts): a node:crypto call on the
 * caller's input that throws is refused with the CKR naming what is wrong with that input, the
 * library's exception kept as the cause. Used only around such calls; everything else propagates.
 * @module
 */
import { Pkcs11Error } from '../../errors.js';

/** Runs `fn`, a library call on the caller's input; its exception means the input is wrong (`code`). */
export function onInput<T>(code: number, detail: string, fn: () => T): T {
  try {
    return fn();
  } catch (cause) {
    throw new Pkcs11Error(code, detail, { cause });
  }
}

/** A refusal of the caller's input, thrown from the adapter's own checks. */
export function refused(code: number, detail: string): Pkcs11Error {
  return new Pkcs11Error(code, detail);
}
