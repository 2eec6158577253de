/**
 * PINs and the token key. The token key (DEK, 32 random bytes made at C_InitToken) encrypts private
 * objects' secrets at rest; it is stored only wrapped with AES-256-GCM under a key derived from each PIN
 * with PBKDF2-HMAC-SHA256 (iteration count recorded per PIN, so it can be raised later). Verifying a PIN
 * is unwrapping the token key: the GCM tag check is the constant-time comparison. Deriving (slow) and
 * checking (fast) are separate steps, so that the try is spent between them (token-record.ts): after the
 * derivation, before the check. Layer L5.
 * @module
 */
import type { CryptoBackend } from '../crypto/backend.js';
import * as C from '../pkcs11/constants.js';
import { fromHex, toHex, utf8 } from '../util/bytes.js';

export const DEFAULT_PIN_ITERATIONS = 600_000;
/**
 * The fewest PBKDF2 iterations a new PIN may get (NSS's count for its key database): below it a stolen
 * store gives up its PINs to brute force in minutes. Only tests go lower, and say so (TokenOptions).
 */
export const MIN_PIN_ITERATIONS = 10_000;
export const DEFAULT_MAX_TRIES = 10;
export const MIN_PIN_LENGTH = 4;
export const MAX_PIN_LENGTH = 255;
export const TOKEN_KEY_LENGTH = 32;

export type PinOwner = 'so' | 'user';

export interface PinRecord {
  kdf: 'pbkdf2-sha256';
  iterations: number;
  salt: string;
  /** The token key sealed under the PIN-derived key (hex of iv ‖ ciphertext ‖ tag). */
  wrappedKey: string;
  /**
   * Tries left as the token record held them before the counters moved out of it (pin-tries.ts); a new
   * PIN record says maxTries here, for older versions, and the counters hold the truth.
   */
  triesLeft?: number;
  maxTries: number;
  /** The PIN was set by someone else (C_InitPIN) and its owner should change it. */
  toBeChanged: boolean;
  /**
   * 2: the token key is wrapped for a store whose records carry MACs (record-auth.ts). Absent: a PIN set
   * before records had them; its first login migrates the store and wraps the key again. The field
   * picks the AAD of the unwrap, so claiming the other format makes the PIN fail, never migrates.
   */
  wrap?: 2;
}

const wrapAad = (owner: PinOwner, wrap: 2 | undefined) =>
  utf8(wrap === 2 ? `corepkcs11 token key v2 for ${owner}` : `corepkcs11 token key for ${owner}`);

/** A PIN record from before stored records were authenticated (its login migrates the store). */
export function isLegacyWrap(rec: PinRecord | undefined): boolean {
  return rec !== undefined && rec.wrap !== 2;
}

export function makePinRecord(
  crypto: CryptoBackend,
  owner: PinOwner,
  pin: Uint8Array,
  tokenKey: Uint8Array,
  iterations: number,
  maxTries: number,
): PinRecord {
  const salt = crypto.randomBytes(16);
  const kek = crypto.pbkdf2(pin, salt, iterations, 32);
  const wrapped = crypto.seal(kek, tokenKey, wrapAad(owner, 2));
  kek.fill(0);
  return {
    kdf: 'pbkdf2-sha256',
    iterations,
    salt: toHex(salt),
    wrappedKey: toHex(wrapped),
    triesLeft: maxTries,
    maxTries,
    toBeChanged: false,
    wrap: 2,
  };
}

/** The key `pin` derives for `rec` (the slow step: PBKDF2 with the record's salt and iteration count). */
export function derivePinKey(crypto: CryptoBackend, rec: PinRecord, pin: Uint8Array): Uint8Array {
  return crypto.pbkdf2(pin, fromHex(rec.salt), rec.iterations, 32);
}

/** derivePinKey off the event loop (node:crypto's thread pool). */
export function derivePinKeyAsync(
  crypto: CryptoBackend,
  rec: PinRecord,
  pin: Uint8Array,
): Promise<Uint8Array> {
  return crypto.pbkdf2Async(pin, fromHex(rec.salt), rec.iterations, 32);
}

/**
 * The token key `rec` wraps, when `pinKey` (from derivePinKey) is the right PIN's, undefined otherwise:
 * the check itself, fast. `pinKey` is wiped.
 */
export function unwrapTokenKey(
  crypto: CryptoBackend,
  owner: PinOwner,
  rec: PinRecord,
  pinKey: Uint8Array,
): Uint8Array | undefined {
  const key = crypto.open(pinKey, fromHex(rec.wrappedKey), wrapAad(owner, rec.wrap));
  pinKey.fill(0);
  return key?.length === TOKEN_KEY_LENGTH ? key : undefined;
}

/**
 * The CK_TOKEN_INFO flag bits of `owner`'s PIN with `left` tries: COUNT_LOW, FINAL_TRY, LOCKED,
 * TO_BE_CHANGED (v2.40 puts the SO PIN's four bits four places above the user PIN's).
 */
export function pinFlags(owner: PinOwner, rec: PinRecord | undefined, left: number): number {
  if (!rec) return 0;
  let f = 0;
  if (left < rec.maxTries) f |= C.CKF_USER_PIN_COUNT_LOW;
  if (left === 1) f |= C.CKF_USER_PIN_FINAL_TRY;
  if (left === 0) f |= C.CKF_USER_PIN_LOCKED;
  if (rec.toBeChanged) f |= C.CKF_USER_PIN_TO_BE_CHANGED;
  return owner === 'so' ? f << 4 : f;
}
