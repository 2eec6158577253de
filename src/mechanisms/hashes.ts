/**
 * The hash table: every hash the token offers, with each PKCS#11 number that names it — the digest
 * mechanism, the HMAC pair, MGF1 (PSS, OAEP), the ANSI X9.63 KDF of ECDH, the hash-then-sign mechanisms —
 * and its DigestInfo OID (RFC 8017 §9.2). digest.ts, mac.ts, ecdsa.ts, rsa.ts, rsa-cipher.ts and ecdh.ts
 * read their lists from here; adding a hash is adding a row. SHA-2 and SHA-1: v2.40 mechanisms §2.20–2.25;
 * SHA-512/224, SHA-512/256: §2.22; SHA-3: PKCS#11 3.0 mechanisms §2.27. Layer L4.
 * @module
 */
import type { HashName } from '../crypto/backend.js';
import type { Profile } from '../objects/profile.js';
import * as C from '../pkcs11/constants.js';

export interface HashRow {
  readonly hash: HashName;
  /** The digest mechanism (CKM_SHA256). */
  readonly digest: number;
  /** CKM_*_HMAC and CKM_*_HMAC_GENERAL. */
  readonly hmac: readonly [number, number];
  /** The HMAC key type (CKK_SHA256_HMAC) and the 3.0 mechanism that generates one (CKM_SHA256_KEY_GEN). */
  readonly hmacKey: readonly [number, number?];
  /** CKG_MGF1_* (none for SHA-512/t: PKCS#11 defines no MGF1 with them). */
  readonly mgf?: number;
  /** CKD_*_KDF of CKM_ECDH1_DERIVE. */
  readonly kdf?: number;
  /** CKM_ECDSA_* */
  readonly ecdsa?: number;
  /** CKM_DSA_* */
  readonly dsa?: number;
  /** CKM_*_RSA_PKCS and CKM_*_RSA_PKCS_PSS (MD5 has no PSS form). */
  readonly rsa?: readonly [number, number?];
  /** The AlgorithmIdentifier OID of a PKCS#1 v1.5 DigestInfo. */
  readonly oid: string;
  /** The token profiles that offer this hash's mechanisms (absent: every profile). */
  readonly profiles?: readonly Profile[];
}

export const HASHES: readonly HashRow[] = [
  // RFC 1321. Broken for collisions: SoftHSMv2 offers it, so the `compatible` profile does (v2.40 §2.19).
  {
    hash: 'md5',
    digest: C.CKM_MD5,
    hmac: [C.CKM_MD5_HMAC, C.CKM_MD5_HMAC_GENERAL],
    hmacKey: [C.CKK_MD5_HMAC],
    rsa: [C.CKM_MD5_RSA_PKCS],
    oid: '1.2.840.113549.2.5',
    profiles: ['compatible'],
  },
  {
    hash: 'sha1',
    digest: C.CKM_SHA_1,
    hmac: [C.CKM_SHA_1_HMAC, C.CKM_SHA_1_HMAC_GENERAL],
    hmacKey: [C.CKK_SHA_1_HMAC, C.CKM_SHA_1_KEY_GEN],
    mgf: C.CKG_MGF1_SHA1,
    kdf: C.CKD_SHA1_KDF,
    ecdsa: C.CKM_ECDSA_SHA1,
    dsa: C.CKM_DSA_SHA1,
    rsa: [C.CKM_SHA1_RSA_PKCS, C.CKM_SHA1_RSA_PKCS_PSS],
    oid: '1.3.14.3.2.26',
  },
  {
    hash: 'sha224',
    digest: C.CKM_SHA224,
    hmac: [C.CKM_SHA224_HMAC, C.CKM_SHA224_HMAC_GENERAL],
    hmacKey: [C.CKK_SHA224_HMAC, C.CKM_SHA224_KEY_GEN],
    mgf: C.CKG_MGF1_SHA224,
    kdf: C.CKD_SHA224_KDF,
    ecdsa: C.CKM_ECDSA_SHA224,
    dsa: C.CKM_DSA_SHA224,
    rsa: [C.CKM_SHA224_RSA_PKCS, C.CKM_SHA224_RSA_PKCS_PSS],
    oid: '2.16.840.1.101.3.4.2.4',
  },
  {
    hash: 'sha256',
    digest: C.CKM_SHA256,
    hmac: [C.CKM_SHA256_HMAC, C.CKM_SHA256_HMAC_GENERAL],
    hmacKey: [C.CKK_SHA256_HMAC, C.CKM_SHA256_KEY_GEN],
    mgf: C.CKG_MGF1_SHA256,
    kdf: C.CKD_SHA256_KDF,
    ecdsa: C.CKM_ECDSA_SHA256,
    dsa: C.CKM_DSA_SHA256,
    rsa: [C.CKM_SHA256_RSA_PKCS, C.CKM_SHA256_RSA_PKCS_PSS],
    oid: '2.16.840.1.101.3.4.2.1',
  },
  {
    hash: 'sha384',
    digest: C.CKM_SHA384,
    hmac: [C.CKM_SHA384_HMAC, C.CKM_SHA384_HMAC_GENERAL],
    hmacKey: [C.CKK_SHA384_HMAC, C.CKM_SHA384_KEY_GEN],
    mgf: C.CKG_MGF1_SHA384,
    kdf: C.CKD_SHA384_KDF,
    ecdsa: C.CKM_ECDSA_SHA384,
    dsa: C.CKM_DSA_SHA384,
    rsa: [C.CKM_SHA384_RSA_PKCS, C.CKM_SHA384_RSA_PKCS_PSS],
    oid: '2.16.840.1.101.3.4.2.2',
  },
  {
    hash: 'sha512',
    digest: C.CKM_SHA512,
    hmac: [C.CKM_SHA512_HMAC, C.CKM_SHA512_HMAC_GENERAL],
    hmacKey: [C.CKK_SHA512_HMAC, C.CKM_SHA512_KEY_GEN],
    mgf: C.CKG_MGF1_SHA512,
    kdf: C.CKD_SHA512_KDF,
    ecdsa: C.CKM_ECDSA_SHA512,
    dsa: C.CKM_DSA_SHA512,
    rsa: [C.CKM_SHA512_RSA_PKCS, C.CKM_SHA512_RSA_PKCS_PSS],
    oid: '2.16.840.1.101.3.4.2.3',
  },
  {
    hash: 'sha512-224',
    digest: C.CKM_SHA512_224,
    hmac: [C.CKM_SHA512_224_HMAC, C.CKM_SHA512_224_HMAC_GENERAL],
    hmacKey: [C.CKK_SHA512_224_HMAC, C.CKM_SHA512_224_KEY_GEN],
    oid: '2.16.840.1.101.3.4.2.5',
  },
  {
    hash: 'sha512-256',
    digest: C.CKM_SHA512_256,
    hmac: [C.CKM_SHA512_256_HMAC, C.CKM_SHA512_256_HMAC_GENERAL],
    hmacKey: [C.CKK_SHA512_256_HMAC, C.CKM_SHA512_256_KEY_GEN],
    oid: '2.16.840.1.101.3.4.2.6',
  },
  {
    hash: 'sha3-224',
    digest: C.CKM_SHA3_224,
    hmac: [C.CKM_SHA3_224_HMAC, C.CKM_SHA3_224_HMAC_GENERAL],
    hmacKey: [C.CKK_SHA3_224_HMAC, C.CKM_SHA3_224_KEY_GEN],
    mgf: C.CKG_MGF1_SHA3_224,
    kdf: C.CKD_SHA3_224_KDF,
    ecdsa: C.CKM_ECDSA_SHA3_224,
    dsa: C.CKM_DSA_SHA3_224,
    rsa: [C.CKM_SHA3_224_RSA_PKCS, C.CKM_SHA3_224_RSA_PKCS_PSS],
    oid: '2.16.840.1.101.3.4.2.7',
  },
  {
    hash: 'sha3-256',
    digest: C.CKM_SHA3_256,
    hmac: [C.CKM_SHA3_256_HMAC, C.CKM_SHA3_256_HMAC_GENERAL],
    hmacKey: [C.CKK_SHA3_256_HMAC, C.CKM_SHA3_256_KEY_GEN],
    mgf: C.CKG_MGF1_SHA3_256,
    kdf: C.CKD_SHA3_256_KDF,
    ecdsa: C.CKM_ECDSA_SHA3_256,
    dsa: C.CKM_DSA_SHA3_256,
    rsa: [C.CKM_SHA3_256_RSA_PKCS, C.CKM_SHA3_256_RSA_PKCS_PSS],
    oid: '2.16.840.1.101.3.4.2.8',
  },
  {
    hash: 'sha3-384',
    digest: C.CKM_SHA3_384,
    hmac: [C.CKM_SHA3_384_HMAC, C.CKM_SHA3_384_HMAC_GENERAL],
    hmacKey: [C.CKK_SHA3_384_HMAC, C.CKM_SHA3_384_KEY_GEN],
    mgf: C.CKG_MGF1_SHA3_384,
    kdf: C.CKD_SHA3_384_KDF,
    ecdsa: C.CKM_ECDSA_SHA3_384,
    dsa: C.CKM_DSA_SHA3_384,
    rsa: [C.CKM_SHA3_384_RSA_PKCS, C.CKM_SHA3_384_RSA_PKCS_PSS],
    oid: '2.16.840.1.101.3.4.2.9',
  },
  {
    hash: 'sha3-512',
    digest: C.CKM_SHA3_512,
    hmac: [C.CKM_SHA3_512_HMAC, C.CKM_SHA3_512_HMAC_GENERAL],
    hmacKey: [C.CKK_SHA3_512_HMAC, C.CKM_SHA3_512_KEY_GEN],
    mgf: C.CKG_MGF1_SHA3_512,
    kdf: C.CKD_SHA3_512_KDF,
    ecdsa: C.CKM_ECDSA_SHA3_512,
    dsa: C.CKM_DSA_SHA3_512,
    rsa: [C.CKM_SHA3_512_RSA_PKCS, C.CKM_SHA3_512_RSA_PKCS_PSS],
    oid: '2.16.840.1.101.3.4.2.10',
  },
];

/** The profile field a mechanism entry made from `row` carries. */
export function rowProfiles(row: HashRow): { profiles?: readonly Profile[] } {
  return row.profiles ? { profiles: row.profiles } : {};
}

/** Parameters name hashes too (PSS, OAEP, KDFs): those of the hashes every profile offers. */
function mapOf(key: 'digest' | 'mgf' | 'kdf'): ReadonlyMap<number, HashName> {
  const map = new Map<number, HashName>();
  for (const row of HASHES) {
    if (row.profiles) continue;
    const v = row[key];
    if (v !== undefined) map.set(v, row.hash);
  }
  return map;
}

/** CKM digest mechanism → hash. */
export const HASH_OF_DIGEST = mapOf('digest');
/** CKG_MGF1_* → hash. */
export const HASH_OF_MGF = mapOf('mgf');
/** CKD_*_KDF (ANSI X9.63) → hash. */
export const HASH_OF_KDF = mapOf('kdf');

/** The row of a hash. */
export function hashRow(hash: HashName): HashRow {
  return HASHES.find((r) => r.hash === hash) as HashRow;
}
