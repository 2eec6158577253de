/**
 * RSA mechanisms (v2.40 mechanisms §2.1): key-pair generation, CKM_RSA_PKCS (sign a DigestInfo the caller
 * built), CKM_RSA_X_509 (raw), CKM_RSA_PKCS_PSS (sign a digest), and the hash-and-sign forms
 * CKM_SHA*_RSA_PKCS and CKM_SHA*_RSA_PKCS_PSS, SHA-3 ones included (3.0 §2.1.15; rows of hashes.ts).
 * Layer L4.
 * @module
 */
import { readBytes, readUlong } from '../attributes/values.js';
import type { HashName, RsaMaterial, SignScheme } from '../crypto/backend.js';
import { HASH_LENGTHS } from '../crypto/backend.js';
import { Pkcs11Error } from '../errors.js';
import { type BitRange, PROFILE_LIMITS, PROFILES, type Profile } from '../objects/profile.js';
import * as C from '../pkcs11/constants.js';
import type { RawMechanism, RsaPssParams } from '../pkcs11/types.js';
import { decodeUlong } from '../util/bytes.js';
import { encodeOid, encodeSequence, encodeTlv, TAG_NULL, TAG_OCTET_STRING } from '../util/der.js';
import {
  collectingMethods,
  type HashedInput,
  hashingMethods,
  requireNoParameter,
} from './common.js';
import { HASH_OF_DIGEST, HASH_OF_MGF, HASHES, hashRow } from './hashes.js';
import type { GeneratedPair, KeyRef, Mechanism } from './types.js';

/** CK_MECHANISM_INFO key sizes of a range. */
export function keySizeInfo(r: BitRange): { minKeySize: number; maxKeySize: number } {
  return { minKeySize: r.min, maxKeySize: r.max };
}

const DEFAULT_EXPONENT = Uint8Array.of(1, 0, 1);

/** CK_RSA_PKCS_PSS_PARAMS, structured (pkcs11js, RPC) or as its 3×CK_ULONG C layout. */
function pssParams(m: RawMechanism): { hash: HashName; mgfHash: HashName; saltLength: number } {
  let p: Pick<RsaPssParams, 'hashAlg' | 'mgf' | 'saltLen'> | undefined;
  const raw = m.parameter;
  if (raw instanceof Uint8Array) {
    const w = raw.length / 3;
    if (w === 8 || w === 4) {
      const f = (i: number) => decodeUlong(raw.subarray(i * w, (i + 1) * w));
      const [hashAlg, mgf, saltLen] = [f(0), f(1), f(2)];
      if (hashAlg !== undefined && mgf !== undefined && saltLen !== undefined)
        p = { hashAlg, mgf, saltLen };
    }
  } else if (typeof raw === 'object' && raw !== null && 'saltLen' in raw) {
    p = raw;
  }
  const hash = p && HASH_OF_DIGEST.get(p.hashAlg);
  const mgfHash = p && HASH_OF_MGF.get(p.mgf);
  if (
    !p ||
    !hash ||
    !mgfHash ||
    !Number.isInteger(p.saltLen) ||
    p.saltLen < 0 ||
    p.saltLen > 1024
  ) {
    throw new Pkcs11Error(C.CKR_MECHANISM_PARAM_INVALID, 'invalid CK_RSA_PKCS_PSS_PARAMS');
  }
  return { hash, mgfHash, saltLength: p.saltLen };
}

interface RsaVariant {
  type: number;
  scheme: (m: RawMechanism) => SignScheme;
  /** Largest single-part input for a k-byte modulus (undefined: any). */
  maxInput?: (k: number, scheme: SignScheme) => number;
  /** Exact single-part input length (prehashed PSS). */
  exactInput?: (scheme: SignScheme) => number;
  /** Hash-then-sign forms (multi-part): the hash their input is fed to as it arrives. */
  hash?: HashName;
}

function digestInfo(hash: HashName, digest: Uint8Array): Uint8Array {
  const algorithm = encodeSequence(
    encodeOid(hashRow(hash).oid),
    encodeTlv(TAG_NULL, new Uint8Array(0)),
  );
  return encodeSequence(algorithm, encodeTlv(TAG_OCTET_STRING, digest));
}

/**
 * The scheme and bytes that sign a hash-then-sign input: one whole part goes to the hashed scheme; a
 * digest of many parts is signed as CKM_RSA_PKCS signs a DigestInfo, or as CKM_RSA_PKCS_PSS a digest.
 */
function overInput(scheme: SignScheme, input: HashedInput): [SignScheme, Uint8Array] {
  if ('data' in input) return [scheme, input.data];
  if (scheme.type === 'rsa-pkcs1')
    return [{ type: 'rsa-pkcs1-raw' }, digestInfo(scheme.hash, input.digest)];
  if (scheme.type === 'rsa-pss') return [{ ...scheme, prehashed: true }, input.digest];
  throw new Pkcs11Error(C.CKR_GENERAL_ERROR, `scheme ${scheme.type} does not hash`);
}

function rsaMechanism(v: RsaVariant, profile: Profile): Mechanism {
  const prepare = (m: RawMechanism, key: KeyRef) => {
    const scheme = v.scheme(m);
    const handle = key.handle();
    const length = Math.ceil(handle.bits / 8);
    const checkKey = () => {
      if (scheme.type === 'rsa-pss' && length < HASH_LENGTHS[scheme.hash] + scheme.saltLength + 2) {
        throw new Pkcs11Error(C.CKR_KEY_SIZE_RANGE, 'key too small for this PSS hash and salt');
      }
    };
    return { scheme, handle, length, checkKey };
  };
  const hash = v.hash;
  return {
    type: v.type,
    profiles: [profile],
    keyTypes: [C.CKK_RSA],
    singlePart: hash === undefined,
    info: { ...keySizeInfo(PROFILE_LIMITS[profile].rsaKeyBits), flags: C.CKF_SIGN | C.CKF_VERIFY },
    ...(hash === undefined
      ? collectingMethods((m, key) => {
          const { scheme, handle, length, checkKey } = prepare(m, key);
          const check = (data: Uint8Array) => {
            const max = v.maxInput?.(length, scheme);
            const exact = v.exactInput?.(scheme);
            if (
              (max !== undefined && data.length > max) ||
              (exact !== undefined && data.length !== exact)
            ) {
              throw new Pkcs11Error(
                C.CKR_DATA_LEN_RANGE,
                `input of ${data.length} bytes is out of range`,
              );
            }
            checkKey();
          };
          return { scheme, handle, length, maxInput: length, check };
        })
      : hashingMethods(hash, (m, key) => {
          const { scheme, handle, length, checkKey } = prepare(m, key);
          const over = (input: HashedInput) => {
            checkKey();
            return overInput(scheme, input);
          };
          return { handle, length, over };
        })),
  };
}

function pairFrom(m: RsaMaterial): GeneratedPair {
  const pub = new Map([
    [C.CKA_MODULUS, m.n],
    [C.CKA_PUBLIC_EXPONENT, m.e],
  ]);
  const priv = new Map<number, Uint8Array>([
    [C.CKA_MODULUS, m.n],
    [C.CKA_PUBLIC_EXPONENT, m.e],
    [C.CKA_PRIVATE_EXPONENT, m.d as Uint8Array],
    [C.CKA_PRIME_1, m.p as Uint8Array],
    [C.CKA_PRIME_2, m.q as Uint8Array],
    [C.CKA_EXPONENT_1, m.dp as Uint8Array],
    [C.CKA_EXPONENT_2, m.dq as Uint8Array],
    [C.CKA_COEFFICIENT, m.qi as Uint8Array],
  ]);
  return {
    publicClass: C.CKO_PUBLIC_KEY,
    privateClass: C.CKO_PRIVATE_KEY,
    keyType: C.CKK_RSA,
    publicComputed: pub,
    privateComputed: priv,
  };
}

function genParams(
  m: RawMechanism,
  pub: Map<number, unknown>,
  sizes: BitRange,
): { bits: number; e: Uint8Array } {
  requireNoParameter(m);
  const bits = readUlong(pub as never, C.CKA_MODULUS_BITS);
  if (bits === undefined)
    throw new Pkcs11Error(C.CKR_TEMPLATE_INCOMPLETE, 'CKA_MODULUS_BITS is required');
  if (bits < sizes.min || bits > sizes.max || bits % 8 !== 0) {
    throw new Pkcs11Error(
      C.CKR_KEY_SIZE_RANGE,
      `RSA keys of ${sizes.min}..${sizes.max} bits (multiple of 8) on this token`,
    );
  }
  const e = readBytes(pub as never, C.CKA_PUBLIC_EXPONENT) ?? DEFAULT_EXPONENT;
  return { bits, e };
}

/** Key-pair generation in the sizes the profile makes (PROFILE_LIMITS.rsaGenerateBits). */
function keyPairGen(profile: Profile): Mechanism {
  const sizes = PROFILE_LIMITS[profile].rsaGenerateBits;
  return {
    type: C.CKM_RSA_PKCS_KEY_PAIR_GEN,
    keyPairType: C.CKK_RSA,
    profiles: [profile],
    info: { ...keySizeInfo(sizes), flags: C.CKF_GENERATE_KEY_PAIR },
    generateKeyPair(backend, m, pub) {
      const { bits, e } = genParams(m, pub, sizes);
      return pairFrom(backend.generateRsa(bits, e));
    },
    async generateKeyPairAsync(backend, m, pub) {
      const { bits, e } = genParams(m, pub, sizes);
      return pairFrom(await backend.generateRsaAsync(bits, e));
    },
  };
}

/** CKM_*_RSA_PKCS: PKCS#1 v1.5 with the hash computed here. */
function hashedPkcs1(type: number, hash: HashName, profile: Profile): Mechanism {
  return rsaMechanism(
    {
      type,
      hash,
      scheme: (m) => {
        requireNoParameter(m);
        return { type: 'rsa-pkcs1', hash };
      },
    },
    profile,
  );
}

/** CKM_*_RSA_PKCS_PSS: PSS with the hash computed here, named again by the parameter. */
function hashedPss(type: number, hash: HashName, profile: Profile): Mechanism {
  return rsaMechanism(
    {
      type,
      hash,
      scheme: (m) => {
        const p = pssParams(m);
        if (p.hash !== hash) {
          throw new Pkcs11Error(
            C.CKR_MECHANISM_PARAM_INVALID,
            'PSS hashAlg must match the mechanism',
          );
        }
        return { type: 'rsa-pss', ...p, prehashed: false };
      },
    },
    profile,
  );
}

/** One family per profile: their key sizes differ (objects/profile.ts). */
const rsaFamily = (profile: Profile): Mechanism[] => [
  keyPairGen(profile),
  rsaMechanism(
    {
      type: C.CKM_RSA_PKCS,
      scheme: (m) => {
        requireNoParameter(m);
        return { type: 'rsa-pkcs1-raw' };
      },
      maxInput: (k) => k - 11,
    },
    profile,
  ),
  rsaMechanism(
    {
      type: C.CKM_RSA_X_509,
      scheme: (m) => {
        requireNoParameter(m);
        return { type: 'rsa-x509' };
      },
      maxInput: (k) => k,
    },
    profile,
  ),
  rsaMechanism(
    {
      type: C.CKM_RSA_PKCS_PSS,
      scheme: (m) => ({ type: 'rsa-pss', ...pssParams(m), prehashed: true }),
      exactInput: (s) => (s.type === 'rsa-pss' ? HASH_LENGTHS[s.hash] : 0),
    },
    profile,
  ),
  ...HASHES.filter((r) => r.rsa && (!r.profiles || r.profiles.includes(profile))).flatMap(
    ({ rsa, hash }) => {
      const [pkcs, pss] = rsa as readonly [number, number?];
      return [
        hashedPkcs1(pkcs, hash, profile),
        ...(pss === undefined ? [] : [hashedPss(pss, hash, profile)]),
      ];
    },
  ),
];

export const RSA_MECHANISMS: Mechanism[] = PROFILES.flatMap(rsaFamily);
