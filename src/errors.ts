/**
 * The one error type of the token: a PKCS#11 return value (CK_RV) with context.
 *
 * `message` is exactly the CKR name and `code` the number, as pkcs11js reports them, so callers written
 * for pkcs11js or graphene keep working. Layer L1.
 * @module
 */
import { CKR_BUFFER_TOO_SMALL, CKR_GENERAL_ERROR, CKR_NAMES } from './pkcs11/constants.js';

/** The CKR name of a return value, or a hex rendering for vendor or unknown codes. */
export function ckrName(code: number): string {
  return CKR_NAMES.get(code) ?? `CKR_0x${code.toString(16).padStart(8, '0')}`;
}

export interface Pkcs11ErrorOptions {
  cause?: unknown;
  /** With CKR_BUFFER_TOO_SMALL: the length the caller needs. */
  requiredLength?: number;
}

/**
 * pkcs11js's base class for errors from the module (its Pkcs11Error extends it); kept so that
 * `instanceof NativeError` checks written for pkcs11js hold.
 */
export class NativeError extends Error {
  override name = 'NativeError';
  /** The C_* function the error surfaced from ('' inside the core). */
  method: string;
  nativeStack = '';
  constructor(message: string, method = '', options?: { cause?: unknown }) {
    super(message, options);
    this.method = method;
  }
}

/**
 * A PKCS#11 error. Core code throws `new Pkcs11Error(CKR_X, 'why')`; the API layer stamps `method`.
 * CKR_OK is never thrown.
 */
export class Pkcs11Error extends NativeError {
  override name = 'Pkcs11Error';
  readonly code: number;
  /** Why, for logs and debugging; never sent over RPC. */
  readonly detail: string | undefined;
  readonly requiredLength: number | undefined;

  constructor(code: number, detail?: string, options: Pkcs11ErrorOptions = {}) {
    super(ckrName(code), '', options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.detail = detail;
    this.requiredLength = options.requiredLength;
  }

  /** The CKR name, e.g. 'CKR_PIN_INCORRECT'. */
  get ckr(): string {
    return ckrName(this.code);
  }

  override toString(): string {
    const where = this.method ? ` in ${this.method}` : '';
    const why = this.detail ? `: ${this.detail}` : '';
    return `${this.message} (0x${this.code.toString(16)})${where}${why}`;
  }
}

/** True when `e` is a Pkcs11Error, optionally with the given code. */
export function isPkcs11Error(e: unknown, code?: number): e is Pkcs11Error {
  return e instanceof Pkcs11Error && (code === undefined || e.code === code);
}

/** Why a check failed, for a report line: a Pkcs11Error's detail (or CKR name), else the value as text. */
export function reasonOf(e: unknown): string {
  return isPkcs11Error(e) ? (e.detail ?? e.message) : String(e);
}

/** The CK_RV for any thrown value: its code for a Pkcs11Error, CKR_GENERAL_ERROR otherwise. */
export function toRv(e: unknown): number {
  return e instanceof Pkcs11Error ? e.code : CKR_GENERAL_ERROR;
}

/** Throws CKR_BUFFER_TOO_SMALL carrying the length the caller needs. */
export function bufferTooSmall(required: number, detail?: string): never {
  throw new Pkcs11Error(CKR_BUFFER_TOO_SMALL, detail ?? `need ${required} bytes`, {
    requiredLength: required,
  });
}
