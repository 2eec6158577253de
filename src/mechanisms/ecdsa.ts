/**
 * ECDSA (v2.40 mechanisms §2.3): CKM_ECDSA over a caller-computed digest (output r‖s), and
 * CKM_ECDSA_SHA1…SHA512 and CKM_ECDSA_SHA3_224…512 (3.0 §2.3.10, the rows of hashes.ts), on the
 * Weierstrass curves of the table the profile offers (key generation: ec-keygen.ts). Layer L4.
 * @module
 */
import { PROFILES } from '../objects/profile.js';
import * as C from '../pkcs11/constants.js';
import { EC_FLAGS, ecSizes } from './ec-keygen.js';
import { rsMechanisms } from './rs-signatures.js';
import type { Mechanism } from './types.js';

/** One family per profile: the curves they offer differ (objects/profile.ts). */
export const EC_MECHANISMS: Mechanism[] = PROFILES.flatMap((profile) =>
  rsMechanisms({
    scheme: 'ecdsa',
    prehashed: C.CKM_ECDSA,
    hashed: (row) => row.ecdsa,
    keyType: C.CKK_EC,
    info: { ...ecSizes(profile), flags: C.CKF_SIGN | C.CKF_VERIFY | EC_FLAGS },
    profiles: [profile],
    // CKM_ECDSA input: a digest; anything past 1 KiB is a caller error, not a digest.
    maxDigest: 1024,
    signatureLength: (key) => 2 * Math.ceil(key.handle().bits / 8),
  }),
);
