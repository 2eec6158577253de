/**
 * ECDSA signature forms (corePKCS11's core_pki_utils.c, generalised): DER `SEQUENCE { INTEGER r,
 * INTEGER s }` as X.509, TLS and `openssl dgst` use it, and PKCS#11's raw r‖s with each half as wide as
 * the curve order. Both directions for P-256, P-384 and P-521. Only minimal DER is read or written, so a
 * signature has exactly one DER form and conversions round-trip. Layer L7.
 * @module
 */
import { Pkcs11Error } from '../errors.js';
import { CKR_SIGNATURE_INVALID, CKR_SIGNATURE_LEN_RANGE } from '../pkcs11/constants.js';
import {
  DerError,
  decodeUnsignedInteger,
  encodeSequence,
  encodeUnsignedInteger,
  readChildren,
  readSingle,
  TAG_INTEGER,
  TAG_SEQUENCE,
} from '../util/der.js';

export type EcCurve = 'P-256' | 'P-384' | 'P-521';

/** Bytes of each of r and s in PKCS#11's raw form. */
export const EC_COMPONENT_BYTES: Readonly<Record<EcCurve, number>> = {
  'P-256': 32,
  'P-384': 48,
  'P-521': 66,
};

function widthOf(curve: EcCurve): number {
  const n = EC_COMPONENT_BYTES[curve];
  if (n === undefined) throw new TypeError(`unknown curve ${String(curve)}`);
  return n;
}

/** The curve whose raw signatures are `length` bytes, if any. */
export function curveOfRawLength(length: number): EcCurve | undefined {
  return (Object.keys(EC_COMPONENT_BYTES) as EcCurve[]).find(
    (c) => 2 * EC_COMPONENT_BYTES[c] === length,
  );
}

/**
 * PKI_mbedTLSSignatureToPkcs11Signature: DER ECDSA signature → raw r‖s for `curve`. Anything but minimal
 * DER with two non-negative INTEGERs that fit the curve is CKR_SIGNATURE_INVALID, with the reason as
 * the error's detail.
 */
export function ecdsaDerToRaw(der: Uint8Array, curve: EcCurve): Uint8Array {
  const width = widthOf(curve);
  const invalid = (why: string) =>
    new Pkcs11Error(CKR_SIGNATURE_INVALID, `not a DER ECDSA ${curve} signature: ${why}`);
  let parts: Uint8Array[];
  try {
    const items = readChildren(readSingle(der, TAG_SEQUENCE).value);
    if (items.length !== 2) throw invalid(`the SEQUENCE holds ${items.length} values, not 2`);
    parts = items.map((item, i) => {
      if (item.tag !== TAG_INTEGER) throw invalid(`${i === 0 ? 'r' : 's'} is not an INTEGER`);
      return decodeUnsignedInteger(item.value);
    });
  } catch (e) {
    if (e instanceof DerError) throw invalid(e.message);
    throw e;
  }
  const out = new Uint8Array(2 * width);
  parts.forEach((v, i) => {
    const value = v.length === 1 && v[0] === 0 ? v.subarray(1) : v;
    if (value.length > width) {
      throw invalid(`${i === 0 ? 'r' : 's'} is ${value.length} bytes, more than ${width}`);
    }
    out.set(value, (i + 1) * width - value.length);
  });
  return out;
}

/**
 * PKI_pkcs11SignatureTombedTLSSignature: raw r‖s → minimal DER. The curve follows from the length
 * (64, 96 or 132 bytes) unless given; a length that fits no curve is CKR_SIGNATURE_LEN_RANGE.
 */
export function ecdsaRawToDer(raw: Uint8Array, curve?: EcCurve): Uint8Array {
  const c = curve ?? curveOfRawLength(raw.length);
  if (c === undefined || raw.length !== 2 * widthOf(c)) {
    throw new Pkcs11Error(
      CKR_SIGNATURE_LEN_RANGE,
      `a raw ECDSA signature is 64, 96 or 132 bytes (r‖s), not ${raw.length}`,
    );
  }
  const half = raw.length / 2;
  return encodeSequence(
    encodeUnsignedInteger(raw.subarray(0, half)),
    encodeUnsignedInteger(raw.subarray(half)),
  );
}
