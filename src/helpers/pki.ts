/**
 * ECDSA and DSA signature forms (corePKCS11's core_pki_utils.c, generalised): DER `SEQUENCE { INTEGER r,
 * INTEGER s }` as X.509, TLS and `openssl dgst` use it, and PKCS#11's raw r‖s with each half as wide as
 * the curve order, for every curve of the curve table. The conversions are util/der.ts's; this module
 * gives them corePKCS11's names and CKR codes. Layer L7.
 * @module
 */
import { CURVES, type CurveName, curveNamed, curveOfSignatureLength } from '../crypto/curves.js';
import { Pkcs11Error } from '../errors.js';
import { CKR_SIGNATURE_INVALID, CKR_SIGNATURE_LEN_RANGE } from '../pkcs11/constants.js';
import { DerError, ecdsaSignatureToDer, ecdsaSignatureToRaw } from '../util/der.js';

export type EcCurve = CurveName;

/** Bytes of each of r and s in PKCS#11's raw form. */
export const EC_COMPONENT_BYTES: Readonly<Record<EcCurve, number>> = Object.fromEntries(
  CURVES.map((c) => [c.name, c.orderBytes]),
) as Record<EcCurve, number>;

function widthOf(c: EcCurve): number {
  const row = curveNamed(c);
  if (row?.name !== c) throw new TypeError(`unknown curve ${String(c)}`);
  return row.orderBytes;
}

/** The curve whose raw signatures are `length` bytes, if any. */
export function curveOfRawLength(length: number): EcCurve | undefined {
  return curveOfSignatureLength(length)?.name;
}

/**
 * PKI_mbedTLSSignatureToPkcs11Signature: DER ECDSA signature → raw r‖s for `curve`. Anything but minimal
 * DER with two non-negative INTEGERs that fit the curve is CKR_SIGNATURE_INVALID, with the reason as
 * the error's detail.
 */
export function ecdsaDerToRaw(der: Uint8Array, curve: EcCurve): Uint8Array {
  const width = widthOf(curve);
  try {
    return ecdsaSignatureToRaw(der, width);
  } catch (e) {
    if (!(e instanceof DerError)) throw e;
    throw new Pkcs11Error(
      CKR_SIGNATURE_INVALID,
      `not a DER ECDSA ${curve} signature: ${e.message}`,
    );
  }
}

/**
 * PKI_pkcs11SignatureTombedTLSSignature: raw r‖s → minimal DER. The length must be that of the curve's
 * signatures when one is given, of some curve's otherwise; else CKR_SIGNATURE_LEN_RANGE.
 */
export function ecdsaRawToDer(raw: Uint8Array, curve?: EcCurve): Uint8Array {
  const fits = curve === undefined ? curveOfRawLength(raw.length) : undefined;
  if (curve === undefined ? fits === undefined : raw.length !== 2 * widthOf(curve)) {
    throw new Pkcs11Error(
      CKR_SIGNATURE_LEN_RANGE,
      `a raw ECDSA signature is r‖s of the curve's size, not ${raw.length} bytes`,
    );
  }
  return ecdsaSignatureToDer(raw);
}

/**
 * A DSA signature (RFC 3279 §2.2.2, the same SEQUENCE { r, s } as ECDSA's) → PKCS#11's raw r‖s, each
 * half as wide as the subprime q (`width` bytes). Anything else is CKR_SIGNATURE_INVALID.
 */
export function dsaDerToRaw(der: Uint8Array, width: number): Uint8Array {
  try {
    return ecdsaSignatureToRaw(der, width);
  } catch (e) {
    if (!(e instanceof DerError)) throw e;
    throw new Pkcs11Error(CKR_SIGNATURE_INVALID, `not a DER DSA signature: ${e.message}`);
  }
}

/** PKCS#11's raw DSA signature r‖s → DER (what `openssl dgst -verify` takes). */
export function dsaRawToDer(raw: Uint8Array): Uint8Array {
  try {
    return ecdsaSignatureToDer(raw);
  } catch (e) {
    if (!(e instanceof DerError)) throw e;
    throw new Pkcs11Error(CKR_SIGNATURE_LEN_RANGE, `not a raw DSA signature: ${e.message}`);
  }
}
