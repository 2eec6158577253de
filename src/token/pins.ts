/**
 * PIN verifiers and retry counters. A PIN is stored only as PBKDF2-HMAC-SHA256(PIN, salt, iterations)
 * (the iteration count is recorded per PIN so it can be raised later) and compared in constant time.
 * The caller persists the decremented counter *before* the KDF runs (see token.ts), so a process killed
 * mid-check has spent the try. Layer L5.
 * @module
 */
import type { CryptoBackend } from '../crypto/backend.js';
import { fromHex, toHex } from '../util/bytes.js';

export const DEFAULT_PIN_ITERATIONS = 600_000;
export const DEFAULT_MAX_TRIES = 10;
export const MIN_PIN_LENGTH = 4;
export const MAX_PIN_LENGTH = 255;

export interface PinRecord {
  kdf: 'pbkdf2-sha256';
  iterations: number;
  salt: string;
  verifier: string;
  triesLeft: number;
  maxTries: number;
  /** The PIN was set by the SO (C_InitPIN) or at token init and should be changed by its owner. */
  toBeChanged: boolean;
}

export function makePinRecord(
  crypto: CryptoBackend,
  pin: Uint8Array,
  iterations: number,
  maxTries: number,
  toBeChanged = false,
): PinRecord {
  const salt = crypto.randomBytes(16);
  const verifier = crypto.pbkdf2(pin, salt, iterations, 32);
  return {
    kdf: 'pbkdf2-sha256',
    iterations,
    salt: toHex(salt),
    verifier: toHex(verifier),
    triesLeft: maxTries,
    maxTries,
    toBeChanged,
  };
}

export function pinMatches(crypto: CryptoBackend, rec: PinRecord, pin: Uint8Array): boolean {
  const derived = crypto.pbkdf2(pin, fromHex(rec.salt), rec.iterations, 32);
  return crypto.timingSafeEqual(derived, fromHex(rec.verifier));
}

export async function pinMatchesAsync(
  crypto: CryptoBackend,
  rec: PinRecord,
  pin: Uint8Array,
): Promise<boolean> {
  const derived = await crypto.pbkdf2Async(pin, fromHex(rec.salt), rec.iterations, 32);
  return crypto.timingSafeEqual(derived, fromHex(rec.verifier));
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
