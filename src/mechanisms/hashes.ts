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

/** The header's constant `name` (pkcs11/constants.ts); a row naming one it lacks fails at load. */
function named(name: string): number {
  const v = (C as unknown as Readonly<Record<string, unknown>>)[name];
  if (typeof v !== 'number') throw new Error(`pkcs11/constants.ts has no ${name}`);
  return v;
}

/**
 * The row of a hash whose PKCS#11 numbers follow the header's naming: `stem` names its digest, HMAC and
 * key forms (CKM_SHA256, CKM_SHA256_HMAC, CKK_SHA256_HMAC, CKM_SHA256_KEY_GEN; SHA_1 for SHA-1); `sign`,
 * for a hash that has them, its MGF1, KDF and signature forms (CKG_MGF1_SHA256, CKD_SHA256_KDF,
 * CKM_ECDSA_SHA256, CKM_DSA_SHA256, CKM_SHA256_RSA_PKCS and _PSS; SHA1 for SHA-1).
 */
function row(hash: HashName, stem: string, oid: string, sign?: string): HashRow {
  const base: HashRow = {
    hash,
    digest: named(`CKM_${stem}`),
    hmac: [named(`CKM_${stem}_HMAC`), named(`CKM_${stem}_HMAC_GENERAL`)],
    hmacKey: [named(`CKK_${stem}_HMAC`), named(`CKM_${stem}_KEY_GEN`)],
    oid,
  };
  if (sign === undefined) return base;
  return {
    ...base,
    mgf: named(`CKG_MGF1_${sign}`),
    kdf: named(`CKD_${sign}_KDF`),
    ecdsa: named(`CKM_ECDSA_${sign}`),
    dsa: named(`CKM_DSA_${sign}`),
    rsa: [named(`CKM_${sign}_RSA_PKCS`), named(`CKM_${sign}_RSA_PKCS_PSS`)],
  };
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
  row('sha1', 'SHA_1', '1.3.14.3.2.26', 'SHA1'),
  row('sha224', 'SHA224', '2.16.840.1.101.3.4.2.4', 'SHA224'),
  row('sha256', 'SHA256', '2.16.840.1.101.3.4.2.1', 'SHA256'),
  row('sha384', 'SHA384', '2.16.840.1.101.3.4.2.2', 'SHA384'),
  row('sha512', 'SHA512', '2.16.840.1.101.3.4.2.3', 'SHA512'),
  // PKCS#11 defines no MGF1, KDF or signature with SHA-512/t.
  row('sha512-224', 'SHA512_224', '2.16.840.1.101.3.4.2.5'),
  row('sha512-256', 'SHA512_256', '2.16.840.1.101.3.4.2.6'),
  row('sha3-224', 'SHA3_224', '2.16.840.1.101.3.4.2.7', 'SHA3_224'),
  row('sha3-256', 'SHA3_256', '2.16.840.1.101.3.4.2.8', 'SHA3_256'),
  row('sha3-384', 'SHA3_384', '2.16.840.1.101.3.4.2.9', 'SHA3_384'),
  row('sha3-512', 'SHA3_512', '2.16.840.1.101.3.4.2.10', 'SHA3_512'),
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
