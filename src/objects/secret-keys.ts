/**
 * The secret key types and their value lengths, in one table: what C_CreateObject accepts as CKA_VALUE,
 * what a key generation or derivation may make (CKA_VALUE_LEN), and the length a type implies when the
 * template gives none. Generic secrets and the HMAC and HKDF key types take any length; AES, AES-XTS
 * (PKCS#11 3.0 §2.13) and ChaCha20 (3.0 §2.45) have fixed ones. Layer L3.
 * @module
 */
import { Pkcs11Error } from '../errors.js';
import * as C from '../pkcs11/constants.js';
import type { Profile } from './profile.js';

export interface SecretKeyType {
  readonly keyType: number;
  /** What the policy table calls such a key. */
  readonly name: string;
  /** The lengths in bytes a value may have: a list, or a range. */
  readonly lengths: readonly number[] | { readonly min: number; readonly max: number };
  /** The token profiles that hold such keys (absent: every profile). */
  readonly profiles?: readonly Profile[];
  /** DES keys: every byte has odd parity (FIPS 46-3 §3). */
  readonly parity?: true;
}

/** Generic secrets the token makes: 1..512 bytes (C_CreateObject takes any non-empty value). */
const ANY = { min: 1, max: 512 };

/** The key types of arbitrary-length secrets: generic, the HMAC key types, HKDF (3.0 §2.43). */
export const GENERIC_SECRET_KEY_TYPES: readonly number[] = [
  C.CKK_GENERIC_SECRET,
  C.CKK_SHA_1_HMAC,
  C.CKK_SHA224_HMAC,
  C.CKK_SHA256_HMAC,
  C.CKK_SHA384_HMAC,
  C.CKK_SHA512_HMAC,
  C.CKK_SHA512_224_HMAC,
  C.CKK_SHA512_256_HMAC,
  C.CKK_SHA3_224_HMAC,
  C.CKK_SHA3_256_HMAC,
  C.CKK_SHA3_384_HMAC,
  C.CKK_SHA3_512_HMAC,
];

/** The key types an HMAC takes (a generic secret or any HMAC key type, MD5's included). */
export const HMAC_KEY_TYPES: readonly number[] = [...GENERIC_SECRET_KEY_TYPES, C.CKK_MD5_HMAC];

const LEGACY: readonly [number, string, number][] = [
  [C.CKK_DES, 'DES key', 8],
  [C.CKK_DES2, 'DES2 key', 16],
  [C.CKK_DES3, 'DES3 key', 24],
];

export const SECRET_KEY_TYPES: readonly SecretKeyType[] = [
  ...GENERIC_SECRET_KEY_TYPES.map((keyType) => ({
    keyType,
    name: 'generic secret key',
    lengths: ANY,
  })),
  { keyType: C.CKK_HKDF, name: 'HKDF key', lengths: ANY },
  { keyType: C.CKK_AES, name: 'AES key', lengths: [16, 24, 32] },
  { keyType: C.CKK_AES_XTS, name: 'AES-XTS key', lengths: [32, 64] },
  { keyType: C.CKK_CHACHA20, name: 'ChaCha20 key', lengths: [32] },
  // Legacy algorithms SoftHSMv2 offers: tokens of the `compatible` profile hold them (v2.40 §2.30, §2.19).
  ...LEGACY.map(([keyType, name, length]) => ({
    keyType,
    name,
    lengths: [length],
    profiles: ['compatible'] as const,
    parity: true as const,
  })),
  {
    keyType: C.CKK_MD5_HMAC,
    name: 'generic secret key',
    lengths: ANY,
    profiles: ['compatible'],
  },
];

const BY_TYPE = new Map(SECRET_KEY_TYPES.map((t) => [t.keyType, t]));

/** The row of a secret key type, or undefined for types the token does not make. */
export function secretKeyType(keyType: number): SecretKeyType | undefined {
  return BY_TYPE.get(keyType);
}

function fits(t: SecretKeyType, length: number): boolean {
  const l = t.lengths;
  return Array.isArray(l)
    ? (l as readonly number[]).includes(length)
    : length >= (l as { min: number }).min && length <= (l as { max: number }).max;
}

function describe(t: SecretKeyType): string {
  const l = t.lengths;
  if (!Array.isArray(l))
    return `${(l as { min: number }).min}..${(l as { max: number }).max} bytes`;
  const list = l as readonly number[];
  return list.length === 1
    ? `${list[0]} bytes`
    : `${list.slice(0, -1).join(', ')} or ${list[list.length - 1]} bytes`;
}

/** The one length of a fixed-size type (ChaCha20: 32), else undefined. */
export function impliedLength(keyType: number): number | undefined {
  const l = BY_TYPE.get(keyType)?.lengths;
  return Array.isArray(l) && l.length === 1 ? (l[0] as number) : undefined;
}

/** CKR_TEMPLATE_INCONSISTENT for a secret key type the caller may not ask for here (`allowed`). */
export function checkSecretType(
  keyType: number,
  allowed: readonly number[] = SECRET_KEY_TYPES.map((t) => t.keyType),
): SecretKeyType {
  const t = BY_TYPE.get(keyType);
  if (!t || !allowed.includes(keyType)) {
    const name = C.CKK_NAMES.get(keyType) ?? `0x${keyType.toString(16)}`;
    throw new Pkcs11Error(C.CKR_TEMPLATE_INCONSISTENT, `${name} keys cannot be made here`);
  }
  return t;
}

/**
 * Checks that a secret of `keyType` (one of `allowed`) may be `length` bytes long:
 * CKR_ATTRIBUTE_VALUE_INVALID when not (the length came from CKA_VALUE or CKA_VALUE_LEN).
 */
export function checkSecretLength(
  keyType: number,
  length: number,
  allowed?: readonly number[],
): void {
  const t = checkSecretType(keyType, allowed);
  if (!fits(t, length)) {
    const name = C.CKK_NAMES.get(keyType) ?? 'secret';
    throw new Pkcs11Error(
      C.CKR_ATTRIBUTE_VALUE_INVALID,
      `a ${name} key is ${describe(t)}, not ${length}`,
    );
  }
}

/** Sets odd parity in every byte of a DES key (the low bit of each byte is its parity bit). */
export function withOddParity(key: Uint8Array): Uint8Array {
  const out = new Uint8Array(key.length);
  for (let i = 0; i < key.length; i++) {
    const b = (key[i] as number) & 0xfe;
    let ones = 0;
    for (let v = b; v > 0; v >>= 1) ones += v & 1;
    out[i] = b | (ones % 2 === 0 ? 1 : 0);
  }
  return out;
}

/** True when every byte of a DES key has odd parity. */
export function hasOddParity(key: Uint8Array): boolean {
  return withOddParity(key).every((b, i) => b === key[i]);
}

/**
 * The 24-byte 3DES EDE key a DES (K → K‖K‖K, which is single DES), DES2 (K1‖K2 → K1‖K2‖K1) or DES3
 * value runs as: Node 20's OpenSSL has no single DES.
 */
export function ede3Key(v: Uint8Array): Uint8Array {
  if (v.length !== 8 && v.length !== 16 && v.length !== 24) {
    throw new Pkcs11Error(C.CKR_KEY_SIZE_RANGE, `a ${v.length}-byte key is not a DES key`);
  }
  const out = new Uint8Array(24);
  // K1, then K2 (K1 again for DES), then K3 (K1 again for DES and DES2).
  for (let at = 0; at < 24; at += 8) out.set(v.subarray(at % v.length, (at % v.length) + 8), at);
  return out;
}
