/**
 * Key encodings: PKCS#8 PrivateKeyInfo (RFC 5208/5958), SEC1 ECPrivateKey (RFC 5915), PKCS#1
 * RSAPrivateKey and RSAPublicKey (RFC 8017) and SubjectPublicKeyInfo (RFC 5480) for RSA and the curves
 * of the curve table, read by node:crypto (host-crypto.ts) and written with the in-tree DER helpers.
 * Malformed or unsupported input is CKR_ARGUMENTS_BAD (CKR_CURVE_NOT_SUPPORTED for another curve).
 * Layer L7.
 * @module
 */
import { curveList, curveOfOid as curveOfTableOid, curve as curveRow } from '../crypto/curves.js';
import { Pkcs11Error } from '../errors.js';
import { CKR_CURVE_NOT_SUPPORTED } from '../pkcs11/constants.js';
import {
  DerError,
  decodeOid,
  encodeOid,
  encodePrivateKeyInfo,
  encodeSequence,
  encodeSubjectPublicKeyInfo,
  encodeTlv,
  encodeUnsignedInteger,
  readSingle,
  TAG_NULL,
  TAG_OID,
} from '../util/der.js';
import {
  type EcPrivateKeyData,
  ecPublicPoint,
  type PrivateKeyData,
  type PublicKeyData,
  type RsaPrivateKeyData,
  type RsaPublicKeyData,
  readPrivateKey,
  readPublicKey,
} from './host-crypto.js';
import { badInput } from './module.js';
import type { EcCurve } from './pki.js';

export const OID_RSA_ENCRYPTION = '1.2.840.113549.1.1.1';
export const OID_EC_PUBLIC_KEY = '1.2.840.10045.2.1';
export const OID_DSA = '1.2.840.10040.4.1';

export type {
  EcPrivateKeyData,
  EcPublicKeyData,
  PrivateKeyData,
  PublicKeyData,
  RsaPrivateKeyData,
  RsaPublicKeyData,
} from './host-crypto.js';

/** Runs a DER reader, turning DerError into CKR_ARGUMENTS_BAD that names `what`. */
export function parsing<T>(what: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof DerError) throw badInput(`not a valid ${what}: ${e.message}`, e);
    throw e;
  }
}

export function curveOfOid(oid: string): EcCurve {
  const c = curveOfTableOid(oid);
  if (!c) {
    throw new Pkcs11Error(
      CKR_CURVE_NOT_SUPPORTED,
      `curve ${oid} is not supported (${curveList()})`,
    );
  }
  return c.name;
}

/** CKA_EC_PARAMS (DER namedCurve OID) of a curve. */
export function ecParamsOf(curve: EcCurve): Uint8Array {
  return curveRow(curve).ecParams;
}

/** The curve CKA_EC_PARAMS names. */
export function curveOfEcParams(params: Uint8Array): EcCurve {
  return parsing('CKA_EC_PARAMS', () => curveOfOid(decodeOid(readSingle(params, TAG_OID).value)));
}

/** PKCS#1 RSAPrivateKey (two-prime). */
export function parseRsaPrivateKey(der: Uint8Array): RsaPrivateKeyData {
  return readPrivateKey(der, 'pkcs1', 'PKCS#1 RSA private key') as RsaPrivateKeyData;
}

/** SEC1 ECPrivateKey; `curve` stands in for the parameters when the key omits them (PKCS#8 does). */
export function parseEcPrivateKey(der: Uint8Array, curve?: EcCurve): EcPrivateKeyData {
  const what = 'SEC1 EC private key';
  if (curve === undefined) return readPrivateKey(der, 'sec1', what) as EcPrivateKeyData;
  const algorithm = encodeSequence(encodeOid(OID_EC_PUBLIC_KEY), ecParamsOf(curve));
  const key = readPrivateKey(encodePrivateKeyInfo(algorithm, der), 'pkcs8', what);
  if (key.kind !== 'ec') throw badInput(`not a valid ${what}`);
  return key;
}

/** PKCS#8 PrivateKeyInfo / OneAsymmetricKey (unencrypted). */
export function parsePrivateKeyInfo(der: Uint8Array): PrivateKeyData {
  return readPrivateKey(der, 'pkcs8', 'PKCS#8 private key');
}

/** PKCS#1 RSAPublicKey. */
export function parseRsaPublicKey(der: Uint8Array): RsaPublicKeyData {
  return readPublicKey(der, 'pkcs1', 'PKCS#1 RSA public key') as RsaPublicKeyData;
}

/** SubjectPublicKeyInfo. */
export function parseSpki(der: Uint8Array): PublicKeyData {
  return readPublicKey(der, 'spki', 'SubjectPublicKeyInfo');
}

/**
 * The subjectPublicKey bits of a key: the EC point (the raw key of an Edwards or Montgomery curve,
 * RFC 8410 §4), the DER RSAPublicKey, or DSA's DER INTEGER y (RFC 3279 §2.3.2).
 */
export function subjectPublicKeyBits(key: PublicKeyData): Uint8Array {
  if (key.kind === 'ec') return key.point;
  if (key.kind === 'dsa') return encodeUnsignedInteger(key.y);
  return encodeSequence(encodeUnsignedInteger(key.n), encodeUnsignedInteger(key.e));
}

/** The AlgorithmIdentifier of a key's SPKI (RFC 5480, RFC 8410 §3: no parameters, RFC 3279). */
function spkiAlgorithm(key: PublicKeyData): Uint8Array {
  if (key.kind === 'rsa')
    return encodeSequence(encodeOid(OID_RSA_ENCRYPTION), encodeTlv(TAG_NULL, new Uint8Array(0)));
  if (key.kind === 'dsa') {
    const params = encodeSequence(...[key.p, key.q, key.g].map(encodeUnsignedInteger));
    return encodeSequence(encodeOid(OID_DSA), params);
  }
  const row = curveRow(key.curve);
  return row.family === 'weierstrass'
    ? encodeSequence(encodeOid(OID_EC_PUBLIC_KEY), ecParamsOf(key.curve))
    : encodeSequence(encodeOid(row.oid));
}

/** DER SubjectPublicKeyInfo of a key (what `openssl pkey -pubin` reads as PUBLIC KEY). */
export function encodeSpki(key: PublicKeyData): Uint8Array {
  return encodeSubjectPublicKeyInfo(spkiAlgorithm(key), subjectPublicKeyBits(key));
}

/** The public half of a private key, when its encoding carries it (EC keys may omit the point). */
export function publicKeyOf(key: PrivateKeyData): PublicKeyData | undefined {
  if (key.kind === 'rsa') return { kind: 'rsa', n: key.n, e: key.e };
  if (key.kind === 'dsa') return { kind: 'dsa', p: key.p, q: key.q, g: key.g, y: key.y };
  return key.point ? { kind: 'ec', curve: key.curve, point: key.point } : undefined;
}

/**
 * `key` with its public point, computed on the host when the encoding left it out (SEC1 and PKCS#8
 * make it optional; `openssl ec -no_public` and some Java tools omit it).
 */
export function withPublicPoint(key: EcPrivateKeyData): EcPrivateKeyData {
  return key.point ? key : { ...key, point: ecPublicPoint(key.curve, key.d) };
}

/** Same key? (Compares the public halves.) */
export function samePublicKey(a: PublicKeyData, b: PublicKeyData): boolean {
  const x = subjectPublicKeyBits(a);
  const y = subjectPublicKeyBits(b);
  return a.kind === b.kind && x.length === y.length && x.every((v, i) => v === y[i]);
}

/** Key size in bits: the modulus length for RSA, the prime's for DSA, the curve size for EC. */
export function keyBits(key: PublicKeyData | PrivateKeyData): number {
  if (key.kind === 'ec') return curveRow(key.curve).orderBits;
  const n = key.kind === 'dsa' ? key.p : key.n;
  let i = 0;
  while (i < n.length && n[i] === 0) i++;
  if (i === n.length) return 0;
  return (n.length - i - 1) * 8 + (32 - Math.clz32(n[i] as number));
}
