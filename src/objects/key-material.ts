/**
 * Key attributes ⇄ key material: CKA_EC_PARAMS (in any form ec-params.ts reads), EC points
 * (CKA_EC_POINT as a DER OCTET STRING, raw points accepted on input as many clients send them), RSA
 * components, and the reverse for keys the token generates. The three EC key types (PKCS#11 3.0 §2.3)
 * share these attributes, each on its own curve family. Layer L3.
 * @module
 */
import type { AttributeMap } from '../attributes/values.js';
import { readBytes } from '../attributes/values.js';
import type { KeyMaterial } from '../crypto/backend.js';
import { type Curve, type CurveName, curve as curveRow } from '../crypto/curves.js';
import { Pkcs11Error } from '../errors.js';
import * as C from '../pkcs11/constants.js';
import { stripLeadingZeros } from '../util/bytes.js';
import { encodeTlv, readSingle, TAG_OCTET_STRING } from '../util/der.js';
import { curveOf } from './ec-params.js';

/** The curve family of each EC key type: CKK_EC, CKK_EC_EDWARDS, CKK_EC_MONTGOMERY. */
export const EC_KEY_TYPES: ReadonlyMap<number, Curve['family']> = new Map([
  [C.CKK_EC, 'weierstrass'],
  [C.CKK_EC_EDWARDS, 'edwards'],
  [C.CKK_EC_MONTGOMERY, 'montgomery'],
]);

/** The key type of a curve's keys (CKK_EC, CKK_EC_EDWARDS or CKK_EC_MONTGOMERY). */
export function ecKeyTypeOf(curve: CurveName): number {
  const family = curveRow(curve).family;
  for (const [keyType, f] of EC_KEY_TYPES) if (f === family) return keyType;
  throw new Pkcs11Error(C.CKR_GENERAL_ERROR, `no key type for the ${family} family`);
}

/** The DER CKA_EC_PARAMS (namedCurve OID) of a curve. */
export function ecParamsOf(curve: CurveName): Uint8Array {
  return curveRow(curve).ecParams;
}

/** CKA_EC_POINT in its DER OCTET STRING form. */
export function encodeEcPoint(point: Uint8Array): Uint8Array {
  return encodeTlv(TAG_OCTET_STRING, point);
}

/**
 * The raw public key from CKA_EC_POINT (DER-wrapped as PKCS#11 3.0 says, or raw as some clients send
 * it and 3.1 words it for Edwards and Montgomery keys): an uncompressed point 04‖X‖Y on a Weierstrass
 * curve, the RFC 8032 / RFC 7748 public key otherwise.
 */
export function decodeEcPoint(value: Uint8Array, curve: CurveName): Uint8Array {
  const row = curveRow(curve);
  const weierstrass = row.family === 'weierstrass';
  const fits = (p: Uint8Array) => p.length === row.publicBytes && (!weierstrass || p[0] === 0x04);
  if (fits(value)) return value;
  try {
    const tlv = readSingle(value, TAG_OCTET_STRING);
    if (fits(tlv.value)) return tlv.value;
  } catch {
    // fall through to the error below
  }
  const form = weierstrass
    ? `an uncompressed ${curve} point (04‖X‖Y`
    : `a ${row.publicBytes}-byte ${curve} public key (`;
  throw new Pkcs11Error(
    C.CKR_ATTRIBUTE_VALUE_INVALID,
    `CKA_EC_POINT must be ${form}, optionally in a DER OCTET STRING)`,
  );
}

/**
 * A private key's CKA_VALUE: a big-endian scalar no longer than the order (Weierstrass), or exactly the
 * RFC 8032 / RFC 7748 private key (little-endian: leading zero bytes are part of it).
 */
function ecPrivateValue(value: Uint8Array, curve: CurveName): Uint8Array {
  const row = curveRow(curve);
  if (row.family !== 'weierstrass') {
    if (value.length !== row.orderBytes) {
      throw new Pkcs11Error(
        C.CKR_ATTRIBUTE_VALUE_INVALID,
        `a ${curve} private key is ${row.orderBytes} bytes`,
      );
    }
    return value;
  }
  const d = stripLeadingZeros(value);
  if (d.length > row.orderBytes) {
    throw new Pkcs11Error(
      C.CKR_ATTRIBUTE_VALUE_INVALID,
      'EC private value longer than the curve order',
    );
  }
  return d;
}

function need(attrs: AttributeMap, type: number, name: string): Uint8Array {
  const v = readBytes(attrs, type);
  if (v === undefined || v.length === 0) {
    throw new Pkcs11Error(C.CKR_TEMPLATE_INCOMPLETE, `${name} is required`);
  }
  return v;
}

/** The material of a key object, for import into the crypto backend. */
export function keyMaterialOf(
  objectClass: number,
  keyType: number,
  attrs: AttributeMap,
): KeyMaterial {
  if (keyType === C.CKK_RSA) {
    const n = stripLeadingZeros(need(attrs, C.CKA_MODULUS, 'CKA_MODULUS'));
    if (objectClass === C.CKO_PUBLIC_KEY) {
      return { kind: 'rsa', n, e: need(attrs, C.CKA_PUBLIC_EXPONENT, 'CKA_PUBLIC_EXPONENT') };
    }
    const opt = (t: number) => {
      const v = readBytes(attrs, t);
      return v && v.length > 0 ? stripLeadingZeros(v) : undefined;
    };
    const e = opt(C.CKA_PUBLIC_EXPONENT);
    if (!e) throw new Pkcs11Error(C.CKR_TEMPLATE_INCOMPLETE, 'CKA_PUBLIC_EXPONENT is required');
    const m = {
      kind: 'rsa' as const,
      n,
      e,
      d: need(attrs, C.CKA_PRIVATE_EXPONENT, 'CKA_PRIVATE_EXPONENT'),
    };
    const crt = {
      p: opt(C.CKA_PRIME_1),
      q: opt(C.CKA_PRIME_2),
      dp: opt(C.CKA_EXPONENT_1),
      dq: opt(C.CKA_EXPONENT_2),
      qi: opt(C.CKA_COEFFICIENT),
    };
    return crt.p && crt.q && crt.dp && crt.dq && crt.qi ? ({ ...m, ...crt } as KeyMaterial) : m;
  }
  const family = EC_KEY_TYPES.get(keyType);
  if (family !== undefined) {
    const params = need(attrs, C.CKA_EC_PARAMS, 'CKA_EC_PARAMS');
    const curve = curveOf(params, family, C.CKR_ATTRIBUTE_VALUE_INVALID);
    if (objectClass === C.CKO_PUBLIC_KEY) {
      return {
        kind: 'ec',
        curve,
        point: decodeEcPoint(need(attrs, C.CKA_EC_POINT, 'CKA_EC_POINT'), curve),
      };
    }
    const d = ecPrivateValue(need(attrs, C.CKA_VALUE, 'CKA_VALUE'), curve);
    // The point is filled in by the token from d (private key objects do not carry CKA_EC_POINT).
    return { kind: 'ec', curve, d, point: new Uint8Array(0) };
  }
  if (keyType === C.CKK_DSA) {
    const params = {
      p: stripLeadingZeros(need(attrs, C.CKA_PRIME, 'CKA_PRIME')),
      q: stripLeadingZeros(need(attrs, C.CKA_SUBPRIME, 'CKA_SUBPRIME')),
      g: stripLeadingZeros(need(attrs, C.CKA_BASE, 'CKA_BASE')),
    };
    const value = stripLeadingZeros(need(attrs, C.CKA_VALUE, 'CKA_VALUE'));
    return objectClass === C.CKO_PUBLIC_KEY
      ? { kind: 'dsa', ...params, y: value }
      : { kind: 'dsa', ...params, x: value };
  }
  if (keyType === C.CKK_DH && objectClass === C.CKO_PRIVATE_KEY) {
    return {
      kind: 'dh',
      p: stripLeadingZeros(need(attrs, C.CKA_PRIME, 'CKA_PRIME')),
      g: stripLeadingZeros(need(attrs, C.CKA_BASE, 'CKA_BASE')),
      x: stripLeadingZeros(need(attrs, C.CKA_VALUE, 'CKA_VALUE')),
    };
  }
  throw new Pkcs11Error(
    C.CKR_KEY_TYPE_INCONSISTENT,
    `key type 0x${keyType.toString(16)} has no ${objectClass === C.CKO_PUBLIC_KEY ? 'public' : 'private'} key operations`,
  );
}
