/**
 * Message digests: CKM_SHA_1, CKM_SHA224, CKM_SHA256, CKM_SHA384, CKM_SHA512 (PKCS#11 v2.40 mechanisms
 * §2.20–2.25). Layer L4.
 * @module
 */
import { HASH_LENGTHS } from '../crypto/backend.js';
import { CKF_DIGEST } from '../pkcs11/constants.js';
import { digestOperation, HASH_OF_DIGEST, requireNoParameter } from './common.js';
import type { Mechanism } from './types.js';

export const DIGEST_MECHANISMS: Mechanism[] = [...HASH_OF_DIGEST].map(([type, hash]) => ({
  type,
  info: { minKeySize: 0, maxKeySize: 0, flags: CKF_DIGEST },
  digest(backend, m) {
    requireNoParameter(m);
    return digestOperation(backend.createHash(hash), HASH_LENGTHS[hash]);
  },
}));
