/**
 * Key encodings, read and written on the in-tree DER helpers: PKCS#8 PrivateKeyInfo (RFC 5208/5958),
 * SEC1 ECPrivateKey (RFC 5915), PKCS#1 RSAPrivateKey and RSAPublicKey (RFC 8017), and
 * SubjectPublicKeyInfo (RFC 5480) for RSA and the NIST curves the token supports. Malformed or
 * unsupported input is CKR_ARGUMENTS_BAD (CKR_CURVE_NOT_SUPPORTED for another curve). Layer L7.
 * @module
 */
import { curveList, curveOfOid as curveOfTableOid, curve as curveRow } from '../crypto/curves.js';
import { Pkcs11Error } from '../errors.js';
import { CKR_CURVE_NOT_SUPPORTED } from '../pkcs11/constants.js';
import { concat } from '../util/bytes.js';
import {
  DerError,
  decodeOid,
  decodeUnsignedInteger,
  encodeOid,
  encodeSequence,
  encodeTlv,
  encodeUnsignedInteger,
  readChildren,
  readSingle,
  TAG_BIT_STRING,
  TAG_INTEGER,
  TAG_NULL,
  TAG_OCTET_STRING,
  TAG_OID,
  TAG_SEQUENCE,
  type Tlv,
} from '../util/der.js';
import { ecPublicPoint } from './host-crypto.js';
import { badInput } from './module.js';
import type { EcCurve } from './pki.js';

export const OID_RSA_ENCRYPTION = '1.2.840.113549.1.1.1';
export const OID_EC_PUBLIC_KEY = '1.2.840.10045.2.1';

/** Names other tools give the algorithms we cannot store, for a clearer refusal. */
const OTHER_ALGORITHMS: Record<string, string> = {
  '1.3.101.112': 'Ed25519',
  '1.3.101.113': 'Ed448',
  '1.3.101.110': 'X25519',
  '1.2.840.113549.1.1.10': 'RSASSA-PSS-restricted RSA',
  '1.2.840.10040.4.1': 'DSA',
};

export interface RsaPublicKeyData {
  kind: 'rsa';
  n: Uint8Array;
  e: Uint8Array;
}
export interface EcPublicKeyData {
  kind: 'ec';
  curve: EcCurve;
  /** Uncompressed point 04‖X‖Y. */
  point: Uint8Array;
}
export type PublicKeyData = RsaPublicKeyData | EcPublicKeyData;

export interface RsaPrivateKeyData extends RsaPublicKeyData {
  d: Uint8Array;
  p: Uint8Array;
  q: Uint8Array;
  dp: Uint8Array;
  dq: Uint8Array;
  qi: Uint8Array;
}
export interface EcPrivateKeyData {
  kind: 'ec';
  curve: EcCurve;
  /** The private scalar, left-padded to the curve's width. */
  d: Uint8Array;
  /** The public point when the encoding carries it (OpenSSL always writes it). */
  point?: Uint8Array;
}
export type PrivateKeyData = RsaPrivateKeyData | EcPrivateKeyData;

/** Runs a DER reader, turning DerError into CKR_ARGUMENTS_BAD that names `what`. */
export function parsing<T>(what: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof DerError) throw badInput(`not a valid ${what}: ${e.message}`, e);
    throw e;
  }
}

function expect(tlv: Tlv | undefined, tag: number, what: string): Tlv {
  if (!tlv || tlv.tag !== tag) throw new DerError(`${what} is missing or has the wrong type`);
  return tlv;
}

/** A copy (never a Buffer view), so callers may wipe the encoding the value came from. */
function uint(tlv: Tlv | undefined, what: string): Uint8Array {
  return Uint8Array.from(decodeUnsignedInteger(expect(tlv, TAG_INTEGER, what).value));
}

function smallInt(tlv: Tlv | undefined, what: string): number {
  const v = uint(tlv, what);
  if (v.length > 4) throw new DerError(`${what} is too large`);
  return v.reduce((acc, b) => acc * 256 + b, 0);
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

function checkPoint(point: Uint8Array, curve: EcCurve): Uint8Array {
  if (point.length !== 2 * curveRow(curve).fieldBytes + 1 || point[0] !== 0x04) {
    throw badInput(`the ${curve} public key is not an uncompressed point (04‖X‖Y)`);
  }
  return Uint8Array.from(point);
}

function bitString(tlv: Tlv | undefined, what: string): Uint8Array {
  const v = expect(tlv, TAG_BIT_STRING, what).value;
  if (v[0] !== 0) throw new DerError(`${what} has unused bits`);
  return v.subarray(1);
}

/** AlgorithmIdentifier → key algorithm (and curve for EC). */
function keyAlgorithm(tlv: Tlv | undefined): { kind: 'rsa' } | { kind: 'ec'; curve: EcCurve } {
  const [oidTlv, params] = readChildren(expect(tlv, TAG_SEQUENCE, 'AlgorithmIdentifier').value);
  const oid = decodeOid(expect(oidTlv, TAG_OID, 'algorithm').value);
  if (oid === OID_RSA_ENCRYPTION) return { kind: 'rsa' };
  if (oid === OID_EC_PUBLIC_KEY) {
    if (params?.tag !== TAG_OID)
      throw badInput('EC keys with explicit curve parameters are not supported');
    return { kind: 'ec', curve: curveOfOid(decodeOid(params.value)) };
  }
  throw badInput(
    `${OTHER_ALGORITHMS[oid] ?? `algorithm ${oid}`} keys are not supported (RSA or EC only)`,
  );
}

/** PKCS#1 RSAPrivateKey (two-prime). */
export function parseRsaPrivateKey(der: Uint8Array): RsaPrivateKeyData {
  return parsing('PKCS#1 RSA private key', () => {
    const f = readChildren(readSingle(der, TAG_SEQUENCE).value);
    const version = smallInt(f[0], 'version');
    if (version === 1 && f.length === 10) throw badInput('multi-prime RSA keys are not supported');
    if (version !== 0 || f.length !== 9) throw new DerError('expected version 0 and 8 integers');
    const [n, e, d, p, q, dp, dq, qi] = ['n', 'e', 'd', 'p', 'q', 'dp', 'dq', 'qi'].map((w, i) =>
      uint(f[i + 1], w),
    ) as Uint8Array[];
    return { kind: 'rsa', n, e, d, p, q, dp, dq, qi } as RsaPrivateKeyData;
  });
}

/** SEC1 ECPrivateKey; `curve` comes from the PKCS#8 wrapper when the inner key omits it. */
export function parseEcPrivateKey(der: Uint8Array, curve?: EcCurve): EcPrivateKeyData {
  return parsing('SEC1 EC private key', () => {
    const f = readChildren(readSingle(der, TAG_SEQUENCE).value);
    if (smallInt(f[0], 'version') !== 1) throw new DerError('version must be 1');
    const d = expect(f[1], TAG_OCTET_STRING, 'privateKey').value;
    let c = curve;
    let point: Uint8Array | undefined;
    for (const t of f.slice(2)) {
      if (t.tag === 0xa0) {
        const named = curveOfOid(decodeOid(readSingle(t.value, TAG_OID).value));
        if (c && c !== named) throw badInput(`the key says ${named}, its wrapper ${c}`);
        c = named;
      } else if (t.tag === 0xa1) {
        point = bitString(readSingle(t.value), 'publicKey');
      }
    }
    if (!c) throw badInput('the EC private key does not name its curve');
    const width = curveRow(c).orderBytes;
    let i = 0;
    while (d.length - i > width && d[i] === 0) i++;
    if (d.length - i > width) throw badInput(`the private value is longer than a ${c} scalar`);
    const padded = new Uint8Array(width);
    padded.set(d.subarray(i), width - (d.length - i));
    return point
      ? { kind: 'ec', curve: c, d: padded, point: checkPoint(point, c) }
      : { kind: 'ec', curve: c, d: padded };
  });
}

/** PKCS#8 PrivateKeyInfo / OneAsymmetricKey (unencrypted). */
export function parsePrivateKeyInfo(der: Uint8Array): PrivateKeyData {
  return parsing('PKCS#8 private key', () => {
    const f = readChildren(readSingle(der, TAG_SEQUENCE).value);
    const version = smallInt(f[0], 'version');
    if (version > 1) throw new DerError(`unknown version ${version}`);
    const alg = keyAlgorithm(f[1]);
    const inner = expect(f[2], TAG_OCTET_STRING, 'privateKey').value;
    return alg.kind === 'rsa' ? parseRsaPrivateKey(inner) : parseEcPrivateKey(inner, alg.curve);
  });
}

/** PKCS#1 RSAPublicKey. */
export function parseRsaPublicKey(der: Uint8Array): RsaPublicKeyData {
  return parsing('PKCS#1 RSA public key', () => {
    const f = readChildren(readSingle(der, TAG_SEQUENCE).value);
    if (f.length !== 2) throw new DerError('expected SEQUENCE { n, e }');
    return { kind: 'rsa', n: uint(f[0], 'n'), e: uint(f[1], 'e') };
  });
}

/** SubjectPublicKeyInfo. */
export function parseSpki(der: Uint8Array): PublicKeyData {
  return parsing('SubjectPublicKeyInfo', () => {
    const f = readChildren(readSingle(der, TAG_SEQUENCE).value);
    if (f.length !== 2) throw new DerError('expected SEQUENCE { algorithm, subjectPublicKey }');
    const alg = keyAlgorithm(f[0]);
    const bits = bitString(f[1], 'subjectPublicKey');
    if (alg.kind === 'rsa') return parseRsaPublicKey(bits);
    return { kind: 'ec', curve: alg.curve, point: checkPoint(bits, alg.curve) };
  });
}

/** The subjectPublicKey bits of a key: the EC point, or the DER RSAPublicKey. */
export function subjectPublicKeyBits(key: PublicKeyData): Uint8Array {
  if (key.kind === 'ec') return key.point;
  return encodeSequence(encodeUnsignedInteger(key.n), encodeUnsignedInteger(key.e));
}

/** DER SubjectPublicKeyInfo of a key (what `openssl pkey -pubin` reads as PUBLIC KEY). */
export function encodeSpki(key: PublicKeyData): Uint8Array {
  const algorithm =
    key.kind === 'rsa'
      ? encodeSequence(encodeOid(OID_RSA_ENCRYPTION), encodeTlv(TAG_NULL, new Uint8Array(0)))
      : encodeSequence(encodeOid(OID_EC_PUBLIC_KEY), ecParamsOf(key.curve));
  return encodeSequence(
    algorithm,
    encodeTlv(TAG_BIT_STRING, concat(Uint8Array.of(0), subjectPublicKeyBits(key))),
  );
}

/** The public half of a private key, when its encoding carries it (EC keys may omit the point). */
export function publicKeyOf(key: PrivateKeyData): PublicKeyData | undefined {
  if (key.kind === 'rsa') return { kind: 'rsa', n: key.n, e: key.e };
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

/** Key size in bits: the modulus length for RSA, the curve size for EC. */
export function keyBits(key: PublicKeyData | PrivateKeyData): number {
  if (key.kind === 'ec') return curveRow(key.curve).orderBits;
  const n = key.n;
  let i = 0;
  while (i < n.length && n[i] === 0) i++;
  if (i === n.length) return 0;
  return (n.length - i - 1) * 8 + (32 - Math.clz32(n[i] as number));
}
