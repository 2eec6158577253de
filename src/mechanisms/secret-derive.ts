/**
 * Key derivation from secret keys (v2.40 mechanisms §2.41): the simple derivations that build a key
 * from the bytes of others (CKM_CONCATENATE_BASE_AND_KEY, CKM_CONCATENATE_BASE_AND_DATA,
 * CKM_XOR_BASE_AND_DATA, CKM_EXTRACT_KEY_FROM_KEY). The *_ENCRYPT_DATA derivations, AES and DES,
 * are encrypt-data.ts's. The derived key's value is the leading bytes of
 * the result: CKA_VALUE_LEN of the template, else all of it, a length its CKA_KEY_TYPE (generic secret
 * when absent) must take. The derived key is sensitive if a base key is (all four); one made of the base keys'
 * own bytes (§2.41) is also extractable only if every base key is — token/keygen-calls.ts applies
 * both. Layer L4.
 * @module
 */
import type { AttributeMap } from '../attributes/values.js';
import { readBytes, readUlong } from '../attributes/values.js';
import { Pkcs11Error } from '../errors.js';
import { checkSecretLength, GENERIC_SECRET_KEY_TYPES } from '../objects/secret-keys.js';
import * as C from '../pkcs11/constants.js';
import type { RawMechanism } from '../pkcs11/types.js';
import { concat, encodeUlong } from '../util/bytes.js';
import { ulongParameter } from './common.js';
import type { GeneratedKey, KeyRef, Mechanism } from './types.js';

/** Largest input a derivation takes: key material, not bulk data. */
const MAX_DATA = 4096;
const SECRET_TYPES = [C.CKK_AES, ...GENERIC_SECRET_KEY_TYPES];

function secretBytes(key: KeyRef): Uint8Array {
  const v = readBytes(key.object.attrs, C.CKA_VALUE);
  if (!v || v.length === 0) throw new Pkcs11Error(C.CKR_KEY_TYPE_INCONSISTENT, 'not a secret key');
  return v;
}

/** The CK_KEY_DERIVATION_STRING_DATA of a mechanism: pkcs11js passes its bytes as the parameter. */
function dataParameter(m: RawMechanism): Uint8Array {
  const p = m.parameter;
  if (!(p instanceof Uint8Array) || p.length === 0 || p.length > MAX_DATA) {
    throw new Pkcs11Error(
      C.CKR_MECHANISM_PARAM_INVALID,
      `the parameter is the data (1..${MAX_DATA} bytes)`,
    );
  }
  return p;
}

/**
 * The derived key from the bytes a mechanism produced: its type from the template (a generic secret
 * when absent), its length from CKA_VALUE_LEN, else all of them. A type this cannot make is
 * CKR_TEMPLATE_INCONSISTENT; a length the type cannot have (an AES key of 20 bytes, asked for or
 * implied) CKR_ATTRIBUTE_VALUE_INVALID, as key generation and the *_ENCRYPT_DATA derivations answer
 * (checkSecretLength, shared); more than the bytes there are CKR_TEMPLATE_INCONSISTENT.
 */
export function derivedSecret(template: AttributeMap, material: Uint8Array): GeneratedKey {
  const keyType = readUlong(template, C.CKA_KEY_TYPE) ?? C.CKK_GENERIC_SECRET;
  const length = readUlong(template, C.CKA_VALUE_LEN) ?? material.length;
  checkSecretLength(keyType, length, SECRET_TYPES);
  if (length > material.length) {
    throw new Pkcs11Error(
      C.CKR_TEMPLATE_INCONSISTENT,
      `CKA_VALUE_LEN ${length}: the derivation gives ${material.length} bytes`,
    );
  }
  const value = material.slice(0, length);
  material.fill(0);
  return {
    keyType,
    computed: new Map([
      [C.CKA_VALUE, value],
      [C.CKA_VALUE_LEN, encodeUlong(length)],
    ]),
  };
}

/**
 * The bits of `v` from bit `start` on (bit 0 is the most significant bit of the first byte), wrapping
 * around to the start, `n` bytes of them (§2.41.9).
 */
function extractBits(v: Uint8Array, start: number, n: number): Uint8Array {
  const total = v.length * 8;
  const out = new Uint8Array(n);
  for (let i = 0; i < n * 8; i++) {
    const bit = (start + i) % total;
    const b = ((v[bit >> 3] as number) >> (7 - (bit & 7))) & 1;
    out[i >> 3] = (out[i >> 3] as number) | (b << (7 - (i & 7)));
  }
  return out;
}

/** What the four mechanisms share: any secret base key, whose sensitivity and extractability carry over. */
const fromSecret = (type: number, derive: NonNullable<Mechanism['derive']>): Mechanism => ({
  type,
  keyTypes: SECRET_TYPES,
  sensitiveFromBase: true,
  unextractableFromBase: true,
  info: { minKeySize: 1, maxKeySize: 512, flags: C.CKF_DERIVE },
  derive,
});

export const SECRET_DERIVE_MECHANISMS: Mechanism[] = [
  {
    ...fromSecret(C.CKM_CONCATENATE_BASE_AND_KEY, (_backend, _m, base, template, other) => {
      if (!other) throw new Pkcs11Error(C.CKR_MECHANISM_PARAM_INVALID, 'no second key');
      return derivedSecret(template, concat(secretBytes(base), secretBytes(other)));
    }),
    otherKeyHandle: (m) => ulongParameter(m, 'the parameter is the handle of the second key'),
  },
  fromSecret(C.CKM_CONCATENATE_BASE_AND_DATA, (_backend, m, base, template) =>
    derivedSecret(template, concat(secretBytes(base), dataParameter(m))),
  ),
  fromSecret(C.CKM_XOR_BASE_AND_DATA, (_backend, m, base, template) => {
    const v = secretBytes(base);
    const d = dataParameter(m);
    // as long as the shorter of the two (§2.41.8)
    const x = new Uint8Array(Math.min(v.length, d.length));
    for (let i = 0; i < x.length; i++) x[i] = (v[i] as number) ^ (d[i] as number);
    return derivedSecret(template, x);
  }),
  fromSecret(C.CKM_EXTRACT_KEY_FROM_KEY, (_backend, m, base, template) => {
    const v = secretBytes(base);
    const start = ulongParameter(m, 'the parameter is the index of the first bit');
    if (start >= v.length * 8) {
      throw new Pkcs11Error(
        C.CKR_MECHANISM_PARAM_INVALID,
        `bit ${start} is past the ${v.length * 8}-bit key`,
      );
    }
    // the key is taken from the bits with wrap-around, so it may be as long as the key itself
    const keyType = readUlong(template, C.CKA_KEY_TYPE);
    const n = readUlong(template, C.CKA_VALUE_LEN) ?? (keyType === C.CKK_AES ? 0 : v.length);
    if (n < 1 || n > v.length) {
      throw new Pkcs11Error(
        C.CKR_TEMPLATE_INCONSISTENT,
        `CKA_VALUE_LEN 1..${v.length} is required (the key is ${v.length} bytes)`,
      );
    }
    return derivedSecret(template, extractBits(v, start, n));
  }),
];
