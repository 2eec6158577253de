/**
 * Key attributes ⇄ key material: CKA_EC_PARAMS (in any form ec-params.ts reads), EC points
 * (CKA_EC_POINT as a DER OCTET STRING, raw points accepted on input as many clients send them), RSA
 * components, and the reverse for keys the token generates. Layer L3.
 * @module
 */
import type { AttributeMap } from '../attributes/values.js';
import { readBytes } from '../attributes/values.js';
import type { KeyMaterial } from '../crypto/backend.js';
import { type CurveName, curve as curveRow } from '../crypto/curves.js';
import { Pkcs11Error } from '../errors.js';
import * as C from '../pkcs11/constants.js';
import { stripLeadingZeros } from '../util/bytes.js';
import { encodeTlv, readSingle, TAG_OCTET_STRING } from '../util/der.js';
import { curveOf } from './ec-params.js';

/** The DER CKA_EC_PARAMS (namedCurve OID) of a curve. */
export function ecParamsOf(curve: CurveName): Uint8Array {
  return curveRow(curve).ecParams;
}

/** CKA_EC_POINT in its DER OCTET STRING form. */
export function encodeEcPoint(point: Uint8Array): Uint8Array {
  return encodeTlv(TAG_OCTET_STRING, point);
}

/** The raw uncompressed point from CKA_EC_POINT (DER-wrapped, or raw as some clients send it). */
export function decodeEcPoint(value: Uint8Array, curve: CurveName): Uint8Array {
  const rawLength = 2 * curveRow(curve).fieldBytes + 1;
  if (value.length === rawLength && value[0] === 0x04) return value;
  try {
    const tlv = readSingle(value, TAG_OCTET_STRING);
    if (tlv.value.length === rawLength && tlv.value[0] === 0x04) return tlv.value;
  } catch {
    // fall through to the error below
  }
  throw new Pkcs11Error(
    C.CKR_ATTRIBUTE_VALUE_INVALID,
    `CKA_EC_POINT must be an uncompressed ${curve} point (04‖X‖Y, optionally in a DER OCTET STRING)`,
  );
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
  if (keyType === C.CKK_EC) {
    const curve = curveOf(need(attrs, C.CKA_EC_PARAMS, 'CKA_EC_PARAMS'));
    if (objectClass === C.CKO_PUBLIC_KEY) {
      return {
        kind: 'ec',
        curve,
        point: decodeEcPoint(need(attrs, C.CKA_EC_POINT, 'CKA_EC_POINT'), curve),
      };
    }
    const d = stripLeadingZeros(need(attrs, C.CKA_VALUE, 'CKA_VALUE'));
    if (d.length > curveRow(curve).orderBytes) {
      throw new Pkcs11Error(
        C.CKR_ATTRIBUTE_VALUE_INVALID,
        'EC private value longer than the curve order',
      );
    }
    // The point is filled in by the token from d (private key objects do not carry CKA_EC_POINT).
    return { kind: 'ec', curve, d, point: new Uint8Array(0) };
  }
  throw new Pkcs11Error(
    C.CKR_KEY_TYPE_INCONSISTENT,
    `key type 0x${keyType.toString(16)} has no asymmetric material`,
  );
}
