/**
 * PINs and the token key. The token key (DEK, 32 random bytes made at C_InitToken) encrypts private
 * objects' secrets at rest; it is stored only wrapped with AES-256-GCM under a key derived from each PIN
 * with PBKDF2-HMAC-SHA256 (iteration count recorded per PIN, so it can be raised later). Verifying a PIN
 * is unwrapping the token key: the GCM tag check is the constant-time comparison. The caller persists the
 * decremented try counter *before* the derivation runs (token.ts), so a process killed mid-check has
 * spent the try. Layer L5.
 * @module
 */
import type { CryptoBackend } from '../crypto/backend.js';
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
  triesLeft: number;
  maxTries: number;
  /** The PIN was set by someone else (C_InitPIN) and its owner should change it. */
  toBeChanged: boolean;
}

const wrapAad = (owner: PinOwner) => utf8(`corepkcs11 token key for ${owner}`);

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
  const wrapped = crypto.seal(kek, tokenKey, wrapAad(owner));
  kek.fill(0);
  return {
    kdf: 'pbkdf2-sha256',
    iterations,
    salt: toHex(salt),
    wrappedKey: toHex(wrapped),
    triesLeft: maxTries,
    maxTries,
    toBeChanged: false,
  };
}

function unwrapWith(crypto: CryptoBackend, owner: PinOwner, rec: PinRecord, kek: Uint8Array) {
  const key = crypto.open(kek, fromHex(rec.wrappedKey), wrapAad(owner));
  kek.fill(0);
  return key?.length === TOKEN_KEY_LENGTH ? key : undefined;
}

/** The token key when `pin` is right, undefined otherwise. */
export function unwrapTokenKey(
  crypto: CryptoBackend,
  owner: PinOwner,
  rec: PinRecord,
  pin: Uint8Array,
): Uint8Array | undefined {
  return unwrapWith(crypto, owner, rec, crypto.pbkdf2(pin, fromHex(rec.salt), rec.iterations, 32));
}

export async function unwrapTokenKeyAsync(
  crypto: CryptoBackend,
  owner: PinOwner,
  rec: PinRecord,
  pin: Uint8Array,
): Promise<Uint8Array | undefined> {
  const kek = await crypto.pbkdf2Async(pin, fromHex(rec.salt), rec.iterations, 32);
  return unwrapWith(crypto, owner, rec, kek);
}

/** The CK_TOKEN_INFO flag bits for one PIN: COUNT_LOW, FINAL_TRY, LOCKED, TO_BE_CHANGED. */
export function pinFlags(
  rec: PinRecord | undefined,
  bits: { low: number; final: number; locked: number; change: number },
): number {
  if (!rec) return 0;
  let f = 0;
  if (rec.triesLeft < rec.maxTries) f |= bits.low;
  if (rec.triesLeft === 1) f |= bits.final;
  if (rec.triesLeft === 0) f |= bits.locked;
  if (rec.toBeChanged) f |= bits.change;
  return f;
}
