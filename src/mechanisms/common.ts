/**
 * Pieces the mechanism families share: parameter checks, operations that collect
 * their (bounded) input and act once at the end, and hash-then-sign operations that hash as parts
 * arrive. Layer L4.
 * @module
 */
import { readBytes } from '../attributes/values.js';
import type {
  Accumulator,
  CryptoBackend,
  HashName,
  KeyHandle,
  SignScheme,
} from '../crypto/backend.js';
import { Pkcs11Error } from '../errors.js';
import * as C from '../pkcs11/constants.js';
import type { RawMechanism } from '../pkcs11/types.js';
import { concat } from '../util/bytes.js';
import type { DigestOperation, KeyRef, Mechanism } from './types.js';

/**
 * The largest input an operation holds whole until its end (GCM before its tag is checked, a one-part
 * EdDSA message): bounded, since a caller needs no login to drive some of them.
 */
export const MAX_WHOLE_INPUT = 64 * 1024 * 1024;

/** The value of a secret key (CKR_KEY_HANDLE_INVALID for a secret key object without one). */
export function secretKeyOf(key: KeyRef): Uint8Array {
  const v = readBytes(key.object.attrs, C.CKA_VALUE);
  if (!v || v.length === 0)
    throw new Pkcs11Error(C.CKR_KEY_HANDLE_INVALID, 'secret key without a value');
  return v;
}

/** A structured parameter (pkcs11/types.ts), its fields still unchecked; CKR_MECHANISM_PARAM_INVALID otherwise. */
export function structuredParam<T>(m: RawMechanism, what: string): Partial<T> {
  const p = m.parameter;
  if (typeof p !== 'object' || p === null || p instanceof Uint8Array) {
    throw new Pkcs11Error(C.CKR_MECHANISM_PARAM_INVALID, `${what} required`);
  }
  return p as unknown as Partial<T>;
}

/** An optional byte-string field of a structured parameter (absent: empty). */
export function bytesField(v: unknown, what: string): Uint8Array {
  if (v === undefined) return new Uint8Array(0);
  if (!(v instanceof Uint8Array))
    throw new Pkcs11Error(C.CKR_MECHANISM_PARAM_INVALID, `${what} must be bytes`);
  return v;
}

/** Rejects a parameter on a mechanism that takes none (an empty byte string is tolerated). */
export function requireNoParameter(m: RawMechanism): void {
  const p = m.parameter;
  if (p === undefined || (p instanceof Uint8Array && p.length === 0)) return;
  throw new Pkcs11Error(C.CKR_MECHANISM_PARAM_INVALID, 'this mechanism takes no parameter');
}

/**
 * A CK_ULONG parameter (a MAC length, a bit index, an object handle): a number, or its 8- or 4-byte
 * little-endian form as C callers pass it; anything else is CKR_MECHANISM_PARAM_INVALID with `what`.
 */
export function ulongParameter(m: RawMechanism, what: string): number {
  const p = m.parameter;
  let n: number | undefined;
  if (typeof p === 'number') n = p;
  else if (p instanceof Uint8Array && (p.length === 8 || p.length === 4)) {
    const dv = new DataView(p.buffer, p.byteOffset, p.length);
    n = p.length === 8 ? Number(dv.getBigUint64(0, true)) : dv.getUint32(0, true);
  }
  if (n === undefined || !Number.isSafeInteger(n) || n < 0) {
    throw new Pkcs11Error(C.CKR_MECHANISM_PARAM_INVALID, what);
  }
  return n;
}

/**
 * Input collected across C_*Update calls (or the one C_Sign/C_Verify/C_Encrypt call). Every user states
 * its bound: a caller without a login can drive these operations, so none may grow without limit.
 */
export class Collected {
  #parts: Uint8Array[] = [];
  #length = 0;
  readonly maxLength: number;
  readonly #tooLong: number;
  constructor(maxLength: number, tooLong: number = C.CKR_DATA_LEN_RANGE) {
    this.maxLength = maxLength;
    this.#tooLong = tooLong;
  }
  add(d: Uint8Array): void {
    if (this.#length + d.length > this.maxLength) {
      throw new Pkcs11Error(this.#tooLong, `input longer than ${this.maxLength} bytes`);
    }
    this.#length += d.length;
    // A copy: the caller may reuse its buffer before the final call (Buffer#slice would be a view).
    this.#parts.push(new Uint8Array(d));
  }
  /** Bytes held (for tests and bounds). */
  get length(): number {
    return this.#length;
  }
  take(): Uint8Array {
    const all = this.#parts.length === 1 ? (this.#parts[0] as Uint8Array) : concat(...this.#parts);
    this.#parts = [];
    this.#length = 0;
    return all;
  }
}

/** What a sign or verify operation works with, worked out from the mechanism's parameter and key. */
export interface SignSetup {
  handle: KeyHandle;
  /** The signature's length in bytes. */
  length: number;
}

type SignMethods = Required<Pick<Mechanism, 'sign' | 'verify'>>;

/**
 * The sign and verify methods of a single-part mechanism: the input, at most `maxInput` bytes, is
 * collected, checked by `check` once whole, then signed (in the backend's async form for C_SignAsync)
 * or verified with `scheme`.
 */
export function collectingMethods(
  setup: (
    m: RawMechanism,
    key: KeyRef,
  ) => SignSetup & { scheme: SignScheme; maxInput: number; check?: (data: Uint8Array) => void },
): SignMethods {
  return {
    sign(backend, m, key) {
      const { handle, length, scheme, maxInput, check } = setup(m, key);
      const input = new Collected(maxInput);
      const checked = () => {
        const data = input.take();
        check?.(data);
        return data;
      };
      return {
        length,
        update: (d) => input.add(d),
        finish: () => backend.sign(handle, scheme, checked()),
        finishAsync: async () => backend.signAsync(handle, scheme, checked()),
      };
    },
    verify(backend, m, key) {
      const { handle, length, scheme, maxInput, check } = setup(m, key);
      const input = new Collected(maxInput);
      return {
        update: (d) => input.add(d),
        finish: (sig) => {
          const data = input.take();
          signatureLengthRange(length, sig.length);
          check?.(data);
          return backend.verify(handle, scheme, data, sig);
        },
      };
    },
  };
}

/** What a hash-then-sign operation ends with: its one part, whole, or the digest of all its parts. */
export type HashedInput = { data: Uint8Array } | { digest: Uint8Array };

/**
 * The input of a hash-then-sign mechanism (CKM_ECDSA_SHA256, CKM_SHA256_RSA_PKCS, …) in bounded memory.
 * One part is kept whole, so a single-part C_Sign/C_Verify takes the backend's one-shot path exactly as
 * before; from the second part on, everything is hashed as it arrives and no part is kept.
 */
export class HashingInput {
  readonly #backend: CryptoBackend;
  readonly #hash: HashName;
  #first: Uint8Array | undefined;
  #acc: Accumulator | undefined;
  constructor(backend: CryptoBackend, hash: HashName) {
    this.#backend = backend;
    this.#hash = hash;
  }
  add(d: Uint8Array): void {
    if (this.#acc) {
      this.#acc.update(d);
    } else if (this.#first === undefined) {
      // A copy: the caller may reuse its buffer before the next call.
      this.#first = new Uint8Array(d);
    } else {
      this.#acc = this.#backend.createHash(this.#hash);
      this.#acc.update(this.#first);
      this.#first = undefined;
      this.#acc.update(d);
    }
  }
  /** Bytes held whole (0 once hashing has started): the memory the operation pins. */
  get heldBytes(): number {
    return this.#first?.length ?? 0;
  }
  take(): HashedInput {
    if (this.#acc) return { digest: this.#acc.finish() };
    return { data: this.#first ?? new Uint8Array(0) };
  }
}

/**
 * The sign and verify methods of a hash-then-sign mechanism: the parts go through HashingInput, and
 * `over` gives the scheme and bytes that sign what it ends with (the one part, or the digest of many).
 */
export function hashingMethods(
  hash: HashName,
  setup: (
    m: RawMechanism,
    key: KeyRef,
  ) => SignSetup & { over: (input: HashedInput) => [SignScheme, Uint8Array] },
): SignMethods {
  return {
    sign(backend, m, key) {
      const { handle, length, over } = setup(m, key);
      const input = new HashingInput(backend, hash);
      return {
        length,
        update: (d) => input.add(d),
        finish: () => backend.sign(handle, ...over(input.take())),
        finishAsync: async () => backend.signAsync(handle, ...over(input.take())),
      };
    },
    verify(backend, m, key) {
      const { handle, length, over } = setup(m, key);
      const input = new HashingInput(backend, hash);
      return {
        update: (d) => input.add(d),
        finish: (sig) => {
          const taken = input.take();
          signatureLengthRange(length, sig.length);
          return backend.verify(handle, ...over(taken), sig);
        },
      };
    },
  };
}

/** A digest operation over a backend accumulator. */
export function digestOperation(acc: Accumulator, length: number): DigestOperation {
  const op: DigestOperation = { length, update: (d) => acc.update(d), finish: () => acc.finish() };
  if (acc.once) op.once = acc.once;
  return op;
}

export function signatureLengthRange(expected: number, got: number): void {
  if (got !== expected) {
    throw new Pkcs11Error(
      C.CKR_SIGNATURE_LEN_RANGE,
      `signature must be ${expected} bytes, got ${got}`,
    );
  }
}
