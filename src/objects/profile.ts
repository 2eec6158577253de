/**
 * Token profiles: the choices PKCS#11 leaves to a token, made once when the token is initialized
 * (C_InitToken) and recorded with it, like the PIN iteration count. `compatible`, the default, makes the
 * choices SoftHSMv2 2.6 makes, so clients and test suites written against it work unchanged; `strict`
 * refuses weak requests (small keys, legacy algorithms) and makes new keys sensitive by default. Both
 * keep every rule of the specification and every protection that costs clients nothing (PIN lockout,
 * encryption at rest, the attribute rules, the wrap rules). Object defaults read the profile in
 * tables.ts, mechanisms by being registered for one profile or both (mechanisms/registry.ts).
 * README "Token profiles" lists every difference. Layer L3.
 * @module
 */

export type Profile = 'compatible' | 'strict';

export const PROFILES: readonly Profile[] = ['compatible', 'strict'];

/** The profile of a token initialized without one being asked for. */
export const DEFAULT_PROFILE: Profile = 'compatible';

/**
 * The profile of a token record stored before profiles existed: it was made, and its objects were
 * checked, under the choices that `strict` keeps.
 */
export const LEGACY_PROFILE: Profile = 'strict';

export function isProfile(v: unknown): v is Profile {
  return v === 'compatible' || v === 'strict';
}

/** A size range in bits. */
export interface BitRange {
  readonly min: number;
  readonly max: number;
}

/** The numeric choices that differ between the profiles. */
export interface ProfileLimits {
  /** RSA moduli the token stores and operates on (C_CreateObject accepts exactly what the operations do). */
  readonly rsaKeyBits: BitRange;
  /** RSA moduli C_GenerateKeyPair makes (a multiple of 8 within this range). */
  readonly rsaGenerateBits: BitRange;
  /** The smallest elliptic-curve group order, in bits (P-192 and brainpoolP160/192 are below 224). */
  readonly minCurveBits: number;
}

export const PROFILE_LIMITS: Readonly<Record<Profile, ProfileLimits>> = {
  // SoftHSMv2 2.6: RSA 512..16384 bits for every use; generation from 1024 as the issue asks of us.
  compatible: {
    rsaKeyBits: { min: 512, max: 16384 },
    rsaGenerateBits: { min: 1024, max: 8192 },
    minCurveBits: 0,
  },
  // 112-bit security at least (NIST SP 800-57): RSA-2048 and 224-bit curves; 1024-bit keys are still
  // accepted for verification and import, as before profiles existed.
  strict: {
    rsaKeyBits: { min: 1024, max: 8192 },
    rsaGenerateBits: { min: 2048, max: 4096 },
    minCurveBits: 224,
  },
};
