/**
 * Pieces the mechanism families share: parameter checks, hash and MGF tables, and operations that
 * collect their input and act once at the end. Layer L4.
 * @module
 */
import type { Accumulator, HashName } from '../crypto/backend.js';
import { Pkcs11Error } from '../errors.js';
import * as C from '../pkcs11/constants.js';
import type { RawMechanism } from '../pkcs11/types.js';
import { concat } from '../util/bytes.js';
import type { DigestOperation, SignOperation, VerifyOperation } from './types.js';

/** CKM digest mechanism → hash. */
export const HASH_OF_DIGEST: ReadonlyMap<number, HashName> = new Map([
  [C.CKM_SHA_1, 'sha1'],
  [C.CKM_SHA224, 'sha224'],
  [C.CKM_SHA256, 'sha256'],
  [C.CKM_SHA384, 'sha384'],
  [C.CKM_SHA512, 'sha512'],
]);

/** CKG_MGF1_* → hash. */
export const HASH_OF_MGF: ReadonlyMap<number, HashName> = new Map([
  [C.CKG_MGF1_SHA1, 'sha1'],
  [C.CKG_MGF1_SHA224, 'sha224'],
  [C.CKG_MGF1_SHA256, 'sha256'],
  [C.CKG_MGF1_SHA384, 'sha384'],
  [C.CKG_MGF1_SHA512, 'sha512'],
]);

/** Rejects a parameter on a mechanism that takes none (an empty byte string is tolerated). */
export function requireNoParameter(m: RawMechanism): void {
  const p = m.parameter;
  if (p === undefined || (p instanceof Uint8Array && p.length === 0)) return;
  throw new Pkcs11Error(C.CKR_MECHANISM_PARAM_INVALID, 'this mechanism takes no parameter');
}

/** Input collected across C_*Update calls (or the one C_Sign/C_Verify call). */
export class Collected {
  #parts: Uint8Array[] = [];
  #length = 0;
  readonly maxLength: number;
  constructor(maxLength = Number.MAX_SAFE_INTEGER) {
    this.maxLength = maxLength;
  }
  add(d: Uint8Array): void {
    this.#length += d.length;
    if (this.#length > this.maxLength) {
      throw new Pkcs11Error(C.CKR_DATA_LEN_RANGE, `input longer than ${this.maxLength} bytes`);
    }
    // A copy: the caller may reuse its buffer before the final call (Buffer#slice would be a view).
    this.#parts.push(new Uint8Array(d));
  }
  take(): Uint8Array {
    const all = this.#parts.length === 1 ? (this.#parts[0] as Uint8Array) : concat(...this.#parts);
    this.#parts = [];
    return all;
  }
}

/** A sign operation that collects its input and signs it once at the end. */
export function collectingSign(
  length: number,
  signAll: (data: Uint8Array) => Uint8Array,
  signAllAsync: (data: Uint8Array) => Promise<Uint8Array>,
  maxInput?: number,
): SignOperation {
  const input = new Collected(maxInput);
  return {
    length,
    update: (d) => input.add(d),
    finish: () => signAll(input.take()),
    finishAsync: () => signAllAsync(input.take()),
  };
}

export function collectingVerify(
  verifyAll: (data: Uint8Array, signature: Uint8Array) => boolean,
  maxInput?: number,
): VerifyOperation {
  const input = new Collected(maxInput);
  return { update: (d) => input.add(d), finish: (sig) => verifyAll(input.take(), sig) };
}

/** A digest operation over a backend accumulator. */
export function digestOperation(acc: Accumulator, length: number): DigestOperation {
  return { length, update: (d) => acc.update(d), finish: () => acc.finish() };
}

export function signatureLengthRange(expected: number, got: number): void {
  if (got !== expected) {
    throw new Pkcs11Error(
      C.CKR_SIGNATURE_LEN_RANGE,
      `signature must be ${expected} bytes, got ${got}`,
    );
  }
}
