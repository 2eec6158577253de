/**
 * Secret keys, made: the key generation mechanisms (CKM_AES_KEY_GEN §2.14, CKM_GENERIC_SECRET_KEY_GEN
 * §2.36 — also for the HMAC key types the template names — and the 3.0 ones for AES-XTS, ChaCha20, HKDF
 * and each HMAC key type), and `secretShape`, the one reading of a template's CKA_KEY_TYPE and
 * CKA_VALUE_LEN that every mechanism making a secret (generation, ECDH, HKDF, PBKDF2) shares, against the
 * key-type table of objects/secret-keys.ts. Layer L4.
 * @module
 */
import type { AttributeMap } from '../attributes/values.js';
import { readUlong } from '../attributes/values.js';
import { Pkcs11Error } from '../errors.js';
import type { Profile } from '../objects/profile.js';
import {
  checkSecretLength,
  checkSecretType,
  HMAC_KEY_TYPES,
  impliedLength,
  secretKeyType,
  withOddParity,
} from '../objects/secret-keys.js';
import * as C from '../pkcs11/constants.js';
import { encodeUlong } from '../util/bytes.js';
import { requireNoParameter } from './common.js';
import { HASHES } from './hashes.js';
import type { GeneratedKey, Mechanism } from './types.js';

export interface ShapeOptions {
  /** The key type when the template names none. */
  defaultKeyType: number;
  /** The length when the template gives no CKA_VALUE_LEN and the type implies none (per key type). */
  defaultLength?: number | ((keyType: number) => number | undefined);
  /** The key types the mechanism may make (default: every secret key type). */
  allowed?: readonly number[];
  /** Make a data object (CKM_HKDF_DATA): CKA_VALUE_LEN is the mechanism's input, not an attribute. */
  data?: boolean;
}

export interface SecretShape {
  readonly keyType: number;
  readonly length: number;
  /** The new object's attributes around `value`. */
  made(value: Uint8Array): GeneratedKey;
}

/**
 * The key type and length of the secret a mechanism is asked for: CKA_KEY_TYPE, then CKA_VALUE_LEN, the
 * length the type implies, or the mechanism's default (CKR_TEMPLATE_INCOMPLETE without any). A type the
 * mechanism cannot make is CKR_TEMPLATE_INCONSISTENT, a length the type does not take
 * CKR_ATTRIBUTE_VALUE_INVALID.
 */
export function secretShape(template: AttributeMap, opts: ShapeOptions): SecretShape {
  const fallback = (keyType: number) =>
    typeof opts.defaultLength === 'function' ? opts.defaultLength(keyType) : opts.defaultLength;
  const asked = readUlong(template, C.CKA_VALUE_LEN);
  if (opts.data) {
    const length = asked ?? fallback(C.CKK_GENERIC_SECRET);
    if (length === undefined)
      throw new Pkcs11Error(C.CKR_TEMPLATE_INCOMPLETE, 'CKA_VALUE_LEN is required');
    checkSecretLength(C.CKK_GENERIC_SECRET, length);
    return {
      keyType: C.CKK_GENERIC_SECRET,
      length,
      made: (value) => ({
        objectClass: C.CKO_DATA,
        computed: new Map([[C.CKA_VALUE, value]]),
        consumes: [C.CKA_VALUE_LEN],
      }),
    };
  }
  const keyType = readUlong(template, C.CKA_KEY_TYPE) ?? opts.defaultKeyType;
  checkSecretType(keyType, opts.allowed);
  const length = asked ?? impliedLength(keyType) ?? fallback(keyType);
  if (length === undefined)
    throw new Pkcs11Error(C.CKR_TEMPLATE_INCOMPLETE, 'CKA_VALUE_LEN is required');
  checkSecretLength(keyType, length, opts.allowed);
  // DES keys the token makes, derived ones included, get their parity bits set (SoftHSMv2 does too).
  const parity = secretKeyType(keyType)?.parity === true;
  return {
    keyType,
    length,
    made: (value) => ({
      keyType,
      computed: new Map([
        [C.CKA_VALUE, parity ? withOddParity(value) : value],
        [C.CKA_VALUE_LEN, encodeUlong(length)],
      ]),
    }),
  };
}

/** A mechanism that makes random secret keys of `allowed` types (the first is the default). */
export function keyGen(
  type: number,
  allowed: readonly number[],
  sizes: [number, number],
  profiles?: readonly Profile[],
): Mechanism {
  return {
    type,
    ...(profiles ? { profiles } : {}),
    info: { minKeySize: sizes[0], maxKeySize: sizes[1], flags: C.CKF_GENERATE },
    generateKey(backend, m, template) {
      requireNoParameter(m);
      const shape = secretShape(template, { defaultKeyType: allowed[0] as number, allowed });
      return shape.made(backend.randomBytes(shape.length));
    },
  };
}

export const SECRET_KEYGEN_MECHANISMS: Mechanism[] = [
  keyGen(C.CKM_AES_KEY_GEN, [C.CKK_AES], [16, 32]),
  keyGen(C.CKM_GENERIC_SECRET_KEY_GEN, HMAC_KEY_TYPES, [1, 512]),
  keyGen(C.CKM_AES_XTS_KEY_GEN, [C.CKK_AES_XTS], [32, 64]),
  keyGen(C.CKM_CHACHA20_KEY_GEN, [C.CKK_CHACHA20], [32, 32]),
  keyGen(C.CKM_HKDF_KEY_GEN, [C.CKK_HKDF], [1, 512]),
  ...HASHES.flatMap(({ hmacKey: [keyType, gen] }) =>
    gen === undefined ? [] : [keyGen(gen, [keyType], [1, 512])],
  ),
];
