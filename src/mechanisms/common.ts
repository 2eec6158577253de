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
import type {
  DigestOperation,
  KeyRef,
  Mechanism,
  SignOperation,
  VerifyOperation,
} from './types.js';

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
  #parts: Uint8Array[] | undefined;
  #length = 0;
  readonly maxLength: number;
  readonly #tooLong: number;
  constructor(maxLength: number, tooLong: number = C.CKR_DATA_LEN_RANGE) {
    this.maxLength = maxLength;
    this.#tooLong = tooLong;
  }
  #bound(more: number): void {
    if (this.#length + more > this.maxLength) {
      throw new Pkcs11Error(this.#tooLong, `input longer than ${this.maxLength} bytes`);
    }
  }
  add(d: Uint8Array): void {
    this.#bound(d.length);
    this.#length += d.length;
    // A copy: the caller may reuse its buffer before the final call (Buffer#slice would be a view).
    if (this.#parts === undefined) this.#parts = [];
    this.#parts.push(new Uint8Array(d));
  }
  /**
   * The whole input of a single-part call, used before the call returns: checked against the bound
   * but not copied (nothing may have been added before).
   */
  whole(d: Uint8Array): Uint8Array {
    if (this.#parts !== undefined) throw new Error('Collected: whole() after add()');
    this.#bound(d.length);
    return d;
  }
  /** Bytes held (for tests and bounds). */
  get length(): number {
    return this.#length;
  }
  take(): Uint8Array {
    const parts = this.#parts ?? [];
    const all = parts.length === 1 ? (parts[0] as Uint8Array) : concat(...parts);
    this.#parts = undefined;
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

type CollectingSetup = SignSetup & {
  scheme: SignScheme;
  maxInput: number;
  check?: (data: Uint8Array) => void;
};

/**
 * The operations below are classes, not bundles of closures: a C_SignInit or C_VerifyInit makes one,
 * and what a call allocates is paid again in garbage collection. `once` is the single-part C_Sign /
 * C_Verify: the caller's data is used before the call returns, so it is not copied.
 */
class CollectingSign implements SignOperation {
  readonly length: number;
  readonly #input: Collected;
  readonly #backend: CryptoBackend;
  readonly #setup: CollectingSetup;
  constructor(backend: CryptoBackend, setup: CollectingSetup) {
    this.length = setup.length;
    this.#input = new Collected(setup.maxInput);
    this.#backend = backend;
    this.#setup = setup;
  }
  #sign(data: Uint8Array): Uint8Array {
    this.#setup.check?.(data);
    return this.#backend.sign(this.#setup.handle, this.#setup.scheme, data);
  }
  update(d: Uint8Array): void {
    this.#input.add(d);
  }
  finish(): Uint8Array {
    return this.#sign(this.#input.take());
  }
  async finishAsync(): Promise<Uint8Array> {
    const data = this.#input.take();
    this.#setup.check?.(data);
    return this.#backend.signAsync(this.#setup.handle, this.#setup.scheme, data);
  }
  once(data: Uint8Array): Uint8Array {
    return this.#sign(this.#input.whole(data));
  }
}

class CollectingVerify implements VerifyOperation {
  readonly #input: Collected;
  readonly #backend: CryptoBackend;
  readonly #setup: CollectingSetup;
  constructor(backend: CryptoBackend, setup: CollectingSetup) {
    this.#input = new Collected(setup.maxInput);
    this.#backend = backend;
    this.#setup = setup;
  }
  #verify(data: Uint8Array, sig: Uint8Array): boolean {
    const { handle, length, scheme, check } = this.#setup;
    signatureLengthRange(length, sig.length);
    check?.(data);
    return this.#backend.verify(handle, scheme, data, sig);
  }
  update(d: Uint8Array): void {
    this.#input.add(d);
  }
  finish(sig: Uint8Array): boolean {
    return this.#verify(this.#input.take(), sig);
  }
  once(data: Uint8Array, sig: Uint8Array): boolean {
    return this.#verify(this.#input.whole(data), sig);
  }
}

/**
 * The sign and verify methods of a single-part mechanism: the input, at most `maxInput` bytes, is
 * collected, checked by `check` once whole, then signed (in the backend's async form for C_SignAsync)
 * or verified with `scheme`.
 */
export function collectingMethods(
  setup: (m: RawMechanism, key: KeyRef) => CollectingSetup,
): SignMethods {
  return {
    sign: (backend, m, key) => new CollectingSign(backend, setup(m, key)),
    verify: (backend, m, key) => new CollectingVerify(backend, setup(m, key)),
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

type HashingSetup = SignSetup & { over: (input: HashedInput) => [SignScheme, Uint8Array] };

/** A hash-then-sign operation; `once` signs the caller's one part as it is (see CollectingSign). */
class HashingSign implements SignOperation {
  readonly length: number;
  readonly #input: HashingInput;
  readonly #backend: CryptoBackend;
  readonly #setup: HashingSetup;
  constructor(backend: CryptoBackend, hash: HashName, setup: HashingSetup) {
    this.length = setup.length;
    this.#input = new HashingInput(backend, hash);
    this.#backend = backend;
    this.#setup = setup;
  }
  update(d: Uint8Array): void {
    this.#input.add(d);
  }
  finish(): Uint8Array {
    return this.#backend.sign(this.#setup.handle, ...this.#setup.over(this.#input.take()));
  }
  async finishAsync(): Promise<Uint8Array> {
    return this.#backend.signAsync(this.#setup.handle, ...this.#setup.over(this.#input.take()));
  }
  once(data: Uint8Array): Uint8Array {
    return this.#backend.sign(this.#setup.handle, ...this.#setup.over({ data }));
  }
}

class HashingVerify implements VerifyOperation {
  readonly #input: HashingInput;
  readonly #backend: CryptoBackend;
  readonly #setup: HashingSetup;
  constructor(backend: CryptoBackend, hash: HashName, setup: HashingSetup) {
    this.#input = new HashingInput(backend, hash);
    this.#backend = backend;
    this.#setup = setup;
  }
  #verify(taken: HashedInput, sig: Uint8Array): boolean {
    signatureLengthRange(this.#setup.length, sig.length);
    return this.#backend.verify(this.#setup.handle, ...this.#setup.over(taken), sig);
  }
  update(d: Uint8Array): void {
    this.#input.add(d);
  }
  finish(sig: Uint8Array): boolean {
    return this.#verify(this.#input.take(), sig);
  }
  once(data: Uint8Array, sig: Uint8Array): boolean {
    return this.#verify({ data }, sig);
  }
}

/**
 * The sign and verify methods of a hash-then-sign mechanism: the parts go through HashingInput, and
 * `over` gives the scheme and bytes that sign what it ends with (the one part, or the digest of many).
 */
export function hashingMethods(
  hash: HashName,
  setup: (m: RawMechanism, key: KeyRef) => HashingSetup,
): SignMethods {
  return {
    sign: (backend, m, key) => new HashingSign(backend, hash, setup(m, key)),
    verify: (backend, m, key) => new HashingVerify(backend, hash, setup(m, key)),
  };
}

/** A digest operation over a backend accumulator (one object: a C_DigestInit makes one). */
class AccumulatedDigest implements DigestOperation {
  readonly length: number;
  readonly #acc: Accumulator;
  constructor(acc: Accumulator, length: number) {
    this.#acc = acc;
    this.length = length;
  }
  update(d: Uint8Array): void {
    this.#acc.update(d);
  }
  finish(): Uint8Array {
    return this.#acc.finish();
  }
  once(d: Uint8Array): Uint8Array {
    if (this.#acc.once) return this.#acc.once(d);
    this.#acc.update(d);
    return this.#acc.finish();
  }
}

export function digestOperation(acc: Accumulator, length: number): DigestOperation {
  return new AccumulatedDigest(acc, length);
}

export function signatureLengthRange(expected: number, got: number): void {
  if (got !== expected) {
    throw new Pkcs11Error(
      C.CKR_SIGNATURE_LEN_RANGE,
      `signature must be ${expected} bytes, got ${got}`,
    );
  }
}
