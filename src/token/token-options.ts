/**
 * What a token is opened with (TokenOptions) and the limits it enforces, checked and given their
 * defaults once. Resource limits (each refusal names the limit in its detail): sessions per application
 * (maxSessions → CKR_SESSION_COUNT, shown as ulMaxSessionCount and ulMaxRwSessionCount), token objects
 * (maxObjects → CKR_DEVICE_MEMORY), session objects per application (maxSessionObjects →
 * CKR_DEVICE_MEMORY), one object's size (maxObjectBytes → CKR_DEVICE_MEMORY) and the bytes of stored
 * object records (maxStorageBytes → CKR_DEVICE_MEMORY, shown as ulTotal/ulFree Public and Private
 * memory: one pool). Fixed below the token: an attribute value is at most 1 MiB and a template at
 * most 256 attributes (CKR_ATTRIBUTE_VALUE_INVALID, attributes/values.ts), and every input an
 * operation collects before acting has its stated bound (mechanisms/common.ts).
 * Layer L5.
 * @module
 */
import { DEFAULT_PROFILE, isProfile, type Profile } from '../objects/profile.js';
import { DEFAULT_MAX_TRIES, DEFAULT_PIN_ITERATIONS, MIN_PIN_ITERATIONS } from './pins.js';

export interface TokenOptions {
  /**
   * The profile C_InitToken records for the token (objects/profile.ts; default `compatible`). A token
   * keeps the profile it was initialized with: opening it with another changes nothing until the next
   * C_InitToken.
   */
  profile?: Profile;
  /**
   * PBKDF2 iterations for new PINs (default 600,000). Below MIN_PIN_ITERATIONS (10,000) the token refuses
   * to open (TypeError) unless allowWeakPinIterations is set.
   */
  pinIterations?: number;
  /** For tests only: accept pinIterations below MIN_PIN_ITERATIONS, so that PIN checks are fast. */
  allowWeakPinIterations?: boolean;
  /** Wrong PINs allowed before lockout (default 10). */
  maxPinTries?: number;
  /** Most sessions one application may have open at once: CKR_SESSION_COUNT (default 1024). */
  maxSessions?: number;
  /** Most token objects: CKR_DEVICE_MEMORY (default 10,000). */
  maxObjects?: number;
  /** Most session objects per application: CKR_DEVICE_MEMORY (default 10,000). */
  maxSessionObjects?: number;
  /** Largest object, in C_GetObjectSize bytes: CKR_DEVICE_MEMORY (default 2 MiB). */
  maxObjectBytes?: number;
  /**
   * Bytes of stored token object records: CKR_DEVICE_MEMORY (default 64 MiB). Reported in
   * CK_TOKEN_INFO as ulTotalPublicMemory and ulTotalPrivateMemory (one pool shared by both).
   */
  maxStorageBytes?: number;
  /** Receives storage problems found at load (damaged records). Default: stderr. */
  warn?: (message: string) => void;
}

/** The iteration count for new PINs; a weak one is refused unless the options say it is a test. */
function checkPinIterations(options: TokenOptions): number {
  const n = options.pinIterations ?? DEFAULT_PIN_ITERATIONS;
  if (!Number.isSafeInteger(n) || n < 1)
    throw new TypeError(`pinIterations must be a positive integer, not ${n}`);
  if (n < MIN_PIN_ITERATIONS && options.allowWeakPinIterations !== true) {
    throw new TypeError(
      `pinIterations ${n} is below the floor of ${MIN_PIN_ITERATIONS}: PINs would fall to brute force ` +
        '(allowWeakPinIterations: true is for tests only)',
    );
  }
  return n;
}

function checkProfile(options: TokenOptions): Profile {
  const p = options.profile ?? DEFAULT_PROFILE;
  if (!isProfile(p))
    throw new TypeError(`profile must be 'compatible' or 'strict', not ${String(p)}`);
  return p;
}

/** The options a token runs with: every limit given, the profile and PIN iterations checked. */
export type TokenLimits = Required<Omit<TokenOptions, 'warn' | 'allowWeakPinIterations'>>;

export function tokenLimits(options: TokenOptions): TokenLimits {
  return {
    profile: checkProfile(options),
    pinIterations: checkPinIterations(options),
    maxPinTries: options.maxPinTries ?? DEFAULT_MAX_TRIES,
    maxSessions: options.maxSessions ?? 1024,
    maxObjects: options.maxObjects ?? 10_000,
    maxSessionObjects: options.maxSessionObjects ?? 10_000,
    maxObjectBytes: options.maxObjectBytes ?? 2 * 1024 * 1024,
    maxStorageBytes: options.maxStorageBytes ?? 64 * 1024 * 1024,
  };
}
