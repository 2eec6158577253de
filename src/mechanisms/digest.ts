/**
 * Message digests, one per row of the hash table (hashes.ts): MD5 (`compatible` profile), SHA-1, SHA-2
 * (v2.40 mechanisms §2.20–2.25) and SHA-3 (3.0 mechanisms §2.27). Layer L4.
 * @module
 */
import { HASH_LENGTHS } from '../crypto/backend.js';
import { CKF_DIGEST } from '../pkcs11/constants.js';
import { digestOperation, requireNoParameter } from './common.js';
import { HASHES, rowProfiles } from './hashes.js';
import type { Mechanism } from './types.js';

export const DIGEST_MECHANISMS: Mechanism[] = HASHES.map((row) => ({
  type: row.digest,
  ...rowProfiles(row),
  info: { minKeySize: 0, maxKeySize: 0, flags: CKF_DIGEST },
  digest(backend, m) {
    requireNoParameter(m);
    return digestOperation(backend.createHash(row.hash), HASH_LENGTHS[row.hash]);
  },
}));
