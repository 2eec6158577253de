/**
 * node:crypto for reading the user's files on the host (reading a file is not token crypto): private
 * and public keys parsed by OpenSSL (PKCS#8, encrypted PKCS#8 with its passphrase, SEC1, PKCS#1,
 * SubjectPublicKeyInfo) and read back as components, and an EC private key's public point. The one
 * module of helpers/ and cli/ that imports node:crypto; token crypto never passes through here (the
 * helpers still work over any pkcs11js-shaped module, native ones included). Malformed input is
 * CKR_ARGUMENTS_BAD, a curve outside the curve table CKR_CURVE_NOT_SUPPORTED. Layer L7.
 * @module
 */
import { createECDH, createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { type CurveName, curve, curveList, curveNamed } from '../crypto/curves.js';
import { Pkcs11Error } from '../errors.js';
import { CKR_CURVE_NOT_SUPPORTED } from '../pkcs11/constants.js';
import { bytesToBigInt } from '../util/bigint.js';
import { leftPad } from '../util/bytes.js';
import { decodeUnsignedInteger, readChildren, readSingle, TAG_SEQUENCE } from '../util/der.js';
import { badInput } from './module.js';

export interface RsaPublicKeyData {
  kind: 'rsa';
  n: Uint8Array;
  e: Uint8Array;
}
export interface EcPublicKeyData {
  kind: 'ec';
  curve: CurveName;
  /** Uncompressed point 04‖X‖Y; an Edwards or Montgomery curve's RFC 8032 / RFC 7748 public key. */
  point: Uint8Array;
}
/** A DSA key's domain parameters and public value (FIPS 186-4), big-endian. */
export interface DsaPublicKeyData {
  kind: 'dsa';
  p: Uint8Array;
  q: Uint8Array;
  g: Uint8Array;
  y: Uint8Array;
}
export type PublicKeyData = RsaPublicKeyData | EcPublicKeyData | DsaPublicKeyData;

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
  curve: CurveName;
  /** The private scalar, left-padded to the curve's width; an Edwards or Montgomery private key. */
  d: Uint8Array;
  /** The public point (computed when the encoding left it out). */
  point?: Uint8Array;
}
export interface DsaPrivateKeyData extends DsaPublicKeyData {
  x: Uint8Array;
}
export type PrivateKeyData = RsaPrivateKeyData | EcPrivateKeyData | DsaPrivateKeyData;

/** node:crypto's key types the token cannot hold, by the names other tools give them. */
const OTHER_TYPES: Record<string, string> = {
  'rsa-pss': 'RSASSA-PSS-restricted RSA',
  dh: 'DH',
};

/** d·G as an uncompressed point; CKR_ARGUMENTS_BAD when d is not a scalar of the curve. */
export function ecPublicPoint(name: CurveName, d: Uint8Array): Uint8Array {
  const ecdh = createECDH(curve(name).openssl);
  try {
    ecdh.setPrivateKey(d);
  } catch (e) {
    throw badInput(`the private value is not a ${name} private key`, e);
  }
  return new Uint8Array(ecdh.getPublicKey());
}

function b64u(s: string | undefined): Uint8Array {
  return new Uint8Array(Buffer.from(s ?? '', 'base64url'));
}

/** The components of a parsed key, private ones when `key` is private. */
function dataOf(key: KeyObject): PrivateKeyData | PublicKeyData {
  const type = key.asymmetricKeyType ?? '';
  const priv = key.type === 'private';
  if (type === 'rsa') {
    const j = key.export({ format: 'jwk' });
    const [n, e, d, p, q, dp, dq, qi] = [j.n, j.e, j.d, j.p, j.q, j.dp, j.dq, j.qi].map(b64u) as [
      Uint8Array,
      Uint8Array,
      Uint8Array,
      Uint8Array,
      Uint8Array,
      Uint8Array,
      Uint8Array,
      Uint8Array,
    ];
    if (!priv) return { kind: 'rsa', n, e };
    // OpenSSL reads multi-prime keys, and its JWK holds only the first two primes.
    if (bytesToBigInt(p) * bytesToBigInt(q) !== bytesToBigInt(n)) {
      throw badInput('multi-prime RSA keys are not supported');
    }
    return { kind: 'rsa', n, e, d, p, q, dp, dq, qi };
  }
  if (type === 'ec') {
    const named = key.asymmetricKeyDetails?.namedCurve;
    if (named === undefined)
      throw badInput('EC keys with explicit curve parameters are not supported');
    const c = curveNamed(named);
    if (c === undefined || c.family !== 'weierstrass') {
      throw new Pkcs11Error(
        CKR_CURVE_NOT_SUPPORTED,
        `curve ${named} is not supported (${curveList()})`,
      );
    }
    // DER rather than JWK: node:crypto writes a JWK only for P-256, P-384, P-521 and secp256k1.
    const publicKey = priv ? createPublicKey(key) : key;
    const spki = new Uint8Array(publicKey.export({ type: 'spki', format: 'der' }));
    const [, bits] = readChildren(readSingle(spki, TAG_SEQUENCE).value);
    const point = (bits?.value ?? new Uint8Array(1)).slice(1);
    if (!priv) return { kind: 'ec', curve: c.name, point };
    const sec1 = new Uint8Array(key.export({ type: 'sec1', format: 'der' }));
    try {
      const d = readChildren(readSingle(sec1, TAG_SEQUENCE).value)[1]?.value ?? new Uint8Array(0);
      return { kind: 'ec', curve: c.name, d: leftPad(d, c.orderBytes), point };
    } finally {
      sec1.fill(0);
    }
  }
  if (type === 'dsa') return dsaDataOf(key);
  // Edwards and Montgomery keys: node:crypto's key type is the table's OpenSSL name (ed25519 …).
  const okp = curveNamed(type);
  if (okp && okp.family !== 'weierstrass') {
    const j = key.export({ format: 'jwk' });
    const point = b64u(j.x);
    return priv
      ? { kind: 'ec', curve: okp.name, d: b64u(j.d), point }
      : { kind: 'ec', curve: okp.name, point };
  }
  throw badInput(
    `${OTHER_TYPES[type] ?? type} keys are not supported (RSA, EC, EdDSA, X25519/X448 or DSA)`,
  );
}

/** The INTEGERs of consecutive DER TLVs (a SEQUENCE's value), as unsigned big-endian bytes. */
function integers(value: Uint8Array): Uint8Array[] {
  return readChildren(value).map((t) => Uint8Array.from(decodeUnsignedInteger(t.value)));
}

/**
 * A DSA key's components, read from its DER (node:crypto has no JWK for DSA): the Dss-Parms of the
 * SPKI's AlgorithmIdentifier (RFC 3279 §2.3.2), y from its BIT STRING, x from the PKCS#8 OCTET STRING.
 */
function dsaDataOf(key: KeyObject): DsaPublicKeyData | DsaPrivateKeyData {
  const publicKey = key.type === 'private' ? createPublicKey(key) : key;
  const spki = publicKey.export({ format: 'der', type: 'spki' });
  const [algorithm, bits] = readChildren(readSingle(spki, TAG_SEQUENCE).value);
  const params = algorithm && readChildren(algorithm.value)[1];
  if (!params || !bits) throw badInput('a DSA key without domain parameters is not supported');
  const [p, q, g] = integers(params.value);
  // BIT STRING: an unused-bits byte, then the DER INTEGER y.
  const [y] = integers(bits.value.subarray(1));
  if (!p || !q || !g || !y) throw badInput('incomplete DSA key');
  const pub: DsaPublicKeyData = { kind: 'dsa', p, q, g, y };
  if (key.type !== 'private') return pub;
  const pkcs8 = key.export({ format: 'der', type: 'pkcs8' });
  const octets = readChildren(readSingle(pkcs8, TAG_SEQUENCE).value)[2];
  const x = octets && Uint8Array.from(decodeUnsignedInteger(readSingle(octets.value).value));
  if (!x) throw badInput('a DSA private key without its value');
  return { ...pub, x };
}

/** Runs node:crypto's parser on the caller's bytes: whatever it refuses is CKR_ARGUMENTS_BAD. */
function parsed(what: string, parse: () => KeyObject): KeyObject {
  try {
    return parse();
  } catch (e) {
    throw badInput(`not a valid ${what}: ${(e as Error).message}`, e);
  }
}

/** A private key in DER: PKCS#8 (decrypted with `passphrase` when encrypted), SEC1 or PKCS#1. */
export function readPrivateKey(
  der: Uint8Array,
  type: 'pkcs8' | 'sec1' | 'pkcs1',
  what: string,
  passphrase?: string,
): PrivateKeyData {
  const key = parsed(what, () =>
    createPrivateKey({ key: Buffer.from(der), format: 'der', type, passphrase }),
  );
  return dataOf(key) as PrivateKeyData;
}

/** A public key in DER: SubjectPublicKeyInfo or PKCS#1 RSAPublicKey. */
export function readPublicKey(
  der: Uint8Array,
  type: 'spki' | 'pkcs1',
  what: string,
): PublicKeyData {
  const key = parsed(what, () => createPublicKey({ key: Buffer.from(der), format: 'der', type }));
  return dataOf(key) as PublicKeyData;
}

/**
 * The key inside an EncryptedPrivateKeyInfo (RFC 5958 §3), decrypted with `passphrase` (PBES2 and the
 * PBES1 schemes OpenSSL reads). A wrong passphrase or a damaged file is CKR_ARGUMENTS_BAD saying so.
 */
export function decryptPrivateKey(der: Uint8Array, passphrase: string): PrivateKeyData {
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: Buffer.from(der), format: 'der', type: 'pkcs8', passphrase });
  } catch (e) {
    throw badInput('cannot decrypt the private key: wrong passphrase or damaged file', e);
  }
  return dataOf(key) as PrivateKeyData;
}
