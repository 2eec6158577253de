/**
 * The qualification suite's independent crypto: the part mbedTLS plays in the FreeRTOS C suite. It parses
 * the test keys and certificates, checks signatures made by the module under test and makes the one
 * signature the suite feeds back to it, without ever asking that module. node:crypto does the parsing and
 * hashing; ECDSA over a caller-supplied digest (CKM_ECDSA's contract, which node:crypto cannot express
 * because it always hashes) is done here with plain BigInt arithmetic on P-256.
 *
 * Test-only code: the BigInt arithmetic is variable-time, acceptable for public test keys and for
 * verification, never for a token's own keys. Adapter beside the layer stack; imports node:crypto only.
 * @module
 */

import type { KeyObject } from 'node:crypto';
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  randomBytes,
  X509Certificate,
} from 'node:crypto';
import { curve, type WeierstrassParams } from '../../crypto/curves.js';
import type { EcKeyParts, KeyParts, RsaKeyParts, Verifier } from '../../crypto/verifier.js';
import {
  bigIntToBytes,
  bytesToBigInt,
  digestToInteger,
  modInverse,
  modPow,
} from '../../util/bigint.js';
import { concat } from '../../util/bytes.js';
import { ecdsaSignatureToDer, ecdsaSignatureToRaw } from '../../util/der.js';

// NIST P-256 from the curve table: y² = x³ − 3x + b over GF(p), base point G of prime order n.
const P256 = curve('P-256');
const W = P256.weierstrass as WeierstrassParams;
const [P, N, B, GX, GY] = [W.p, W.n, W.b, W.gx, W.gy].map((h) => BigInt(`0x${h}`)) as [
  bigint,
  bigint,
  bigint,
  bigint,
  bigint,
];

/** SHA-256 DigestInfo prefix (RFC 8017 §9.2 note 1). */
const SHA256_DIGEST_INFO = Uint8Array.from([
  0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05,
  0x00, 0x04, 0x20,
]);

function mod(a: bigint, m: bigint): bigint {
  const r = a % m;
  return r < 0n ? r + m : r;
}

/** A point in Jacobian coordinates (X/Z², Y/Z³); Z = 0 is the point at infinity. */
type Jacobian = readonly [bigint, bigint, bigint];
const INFINITY: Jacobian = [0n, 1n, 0n];

function double([x, y, z]: Jacobian): Jacobian {
  if (z === 0n || y === 0n) return INFINITY;
  // a = −3: M = 3(X − Z²)(X + Z²)
  const zz = (z * z) % P;
  const m = mod(3n * (x - zz) * (x + zz), P);
  const yy = (y * y) % P;
  const s = (4n * x * yy) % P;
  const x3 = mod(m * m - 2n * s, P);
  const y3 = mod(m * (s - x3) - 8n * yy * yy, P);
  return [x3, y3, (2n * y * z) % P];
}

function add(p1: Jacobian, p2: Jacobian): Jacobian {
  if (p1[2] === 0n) return p2;
  if (p2[2] === 0n) return p1;
  const z1z1 = (p1[2] * p1[2]) % P;
  const z2z2 = (p2[2] * p2[2]) % P;
  const u1 = (p1[0] * z2z2) % P;
  const u2 = (p2[0] * z1z1) % P;
  const s1 = (p1[1] * z2z2 * p2[2]) % P;
  const s2 = (p2[1] * z1z1 * p1[2]) % P;
  if (u1 === u2) return s1 === s2 ? double(p1) : INFINITY;
  const h = mod(u2 - u1, P);
  const r = mod(s2 - s1, P);
  const hh = (h * h) % P;
  const hhh = (hh * h) % P;
  const v = (u1 * hh) % P;
  const x3 = mod(r * r - hhh - 2n * v, P);
  const y3 = mod(r * (v - x3) - s1 * hhh, P);
  return [x3, y3, (h * p1[2] * p2[2]) % P];
}

function multiply(k: bigint, point: Jacobian): Jacobian {
  let acc = INFINITY;
  for (let i = BigInt(k.toString(2).length - 1); i >= 0n; i--) {
    acc = double(acc);
    if ((k >> i) & 1n) acc = add(acc, point);
  }
  return acc;
}

function affineX([x, , z]: Jacobian): bigint {
  const zi = modInverse(z, P);
  return (x * zi * zi) % P;
}

/** Decodes an uncompressed P-256 point and checks it lies on the curve. */
function decodePoint(point: Uint8Array): Jacobian {
  if (point.length !== 65 || point[0] !== 0x04)
    throw new RangeError('not an uncompressed P-256 point');
  const x = bytesToBigInt(point, 1, 32);
  const y = bytesToBigInt(point, 33, 32);
  if (x >= P || y >= P || mod(y * y - (x * x * x - 3n * x + B), P) !== 0n) {
    throw new RangeError('point is not on P-256');
  }
  return [x, y, 1n];
}

/** SHA-256 of `data`. */
export function sha256(data: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(data).digest());
}

function b64u(s: string | undefined): Uint8Array {
  if (s === undefined) throw new TypeError('key component missing');
  return new Uint8Array(Buffer.from(s, 'base64url'));
}

function partsOf(key: KeyObject, withPrivate: boolean): KeyParts {
  const jwk = key.export({ format: 'jwk' });
  if (jwk.kty === 'RSA') {
    const pub: RsaKeyParts = { type: 'rsa', n: b64u(jwk.n), e: b64u(jwk.e) };
    if (!withPrivate) return pub;
    return {
      ...pub,
      d: b64u(jwk.d),
      p: b64u(jwk.p),
      q: b64u(jwk.q),
      dp: b64u(jwk.dp),
      dq: b64u(jwk.dq),
      qi: b64u(jwk.qi),
    };
  }
  if (jwk.kty === 'EC' && jwk.crv === 'P-256') {
    const point = new Uint8Array(65);
    point[0] = 0x04;
    point.set(b64u(jwk.x), 1);
    point.set(b64u(jwk.y), 33);
    const ec: EcKeyParts = { type: 'ec', curve: 'P-256', point };
    return withPrivate ? { ...ec, d: b64u(jwk.d) } : ec;
  }
  throw new TypeError(`unsupported key type ${String(jwk.kty)} ${String(jwk.crv ?? '')}`);
}

/** Parses a PEM private key (PKCS#1, SEC1 or PKCS#8) into its components, like mbedtls_pk_parse_key. */
export function parsePrivateKeyPem(pem: string): KeyParts {
  return partsOf(createPrivateKey(pem), true);
}

/** Parses a PEM public key, or the public half of a PEM private key, like the C provisioning helper does. */
export function parsePublicKeyPem(pem: string): KeyParts {
  try {
    return partsOf(createPublicKey(createPrivateKey(pem)), false);
  } catch {
    return partsOf(createPublicKey(pem), false);
  }
}

/** Verifies a raw `r‖s` P-256 ECDSA signature over a digest the caller computed (SEC 1 §4.1.4). */
export function verifyEcdsaP256(
  point: Uint8Array,
  digest: Uint8Array,
  signature: Uint8Array,
): boolean {
  if (signature.length !== 64 || digest.length === 0) return false;
  let q: Jacobian;
  try {
    q = decodePoint(point);
  } catch {
    return false;
  }
  const r = bytesToBigInt(signature, 0, 32);
  const s = bytesToBigInt(signature, 32, 32);
  if (r === 0n || s === 0n || r >= N || s >= N) return false;
  const e = digestToInteger(digest, 256);
  const w = modInverse(s, N);
  const sum = add(multiply((e * w) % N, [GX, GY, 1n]), multiply((r * w) % N, q));
  if (sum[2] === 0n) return false;
  return affineX(sum) % N === r;
}

/** Signs a digest with a P-256 scalar, returning DER like mbedtls_pk_sign (fresh random nonce). */
export function signEcdsaP256(d: Uint8Array, digest: Uint8Array): Uint8Array {
  const x = bytesToBigInt(d);
  if (x === 0n || x >= N) throw new RangeError('invalid P-256 private scalar');
  const e = digestToInteger(digest, 256);
  for (;;) {
    const k = bytesToBigInt(randomBytes(32));
    if (k === 0n || k >= N) continue;
    const r = affineX(multiply(k, [GX, GY, 1n])) % N;
    const s = (modInverse(k, N) * (e + r * x)) % N;
    if (r !== 0n && s !== 0n) {
      return ecdsaSignatureToDer(concat(bigIntToBytes(r, 32), bigIntToBytes(s, 32)));
    }
  }
}

/** Raw `r‖s` (two equal halves) → DER `SEQUENCE { INTEGER r, INTEGER s }`, minimal encoding. */
export function ecdsaRawToDer(raw: Uint8Array): Uint8Array {
  return ecdsaSignatureToDer(raw);
}

/** DER ECDSA signature → raw `r‖s` with each half right-aligned to `size` bytes (32 for P-256). */
export function ecdsaDerToRaw(der: Uint8Array, size = 32): Uint8Array {
  return ecdsaSignatureToRaw(der, size);
}

/** Verifies an RSASSA-PKCS1-v1_5 signature over a SHA-256 digest by rebuilding the whole encoded block. */
export function verifyRsaPkcs1Sha256(
  modulus: Uint8Array,
  exponent: Uint8Array,
  digest: Uint8Array,
  signature: Uint8Array,
): boolean {
  const n = bytesToBigInt(modulus);
  const k = Math.ceil(n.toString(16).length / 2);
  if (signature.length !== k || digest.length !== 32) return false;
  const s = bytesToBigInt(signature);
  if (s >= n) return false;
  const em = bigIntToBytes(modPow(s, bytesToBigInt(exponent), n), k);
  const t = concat(SHA256_DIGEST_INFO, digest);
  if (k < t.length + 11) return false;
  const expected = new Uint8Array(k).fill(0xff);
  expected[0] = 0x00;
  expected[1] = 0x01;
  expected[k - t.length - 1] = 0x00;
  expected.set(t, k - t.length);
  let diff = 0;
  for (let i = 0; i < k; i++) diff |= (em[i] ?? 0) ^ (expected[i] ?? 0);
  return diff === 0;
}

/** True when `der` parses as an X.509 certificate (mbedtls_x509_crt_parse's role in the C suite). */
export function parsesAsCertificate(der: Uint8Array): boolean {
  try {
    new X509Certificate(der);
    return true;
  } catch {
    return false;
  }
}

/** The kit as one object, shaped like the suite's `Verifier` (qualification/types.ts). */
export function createVerifyKit(): Verifier {
  return {
    sha256,
    parsePrivateKeyPem,
    parsePublicKeyPem,
    verifyEcdsaP256,
    signEcdsaP256,
    ecdsaDerToRaw,
    ecdsaRawToDer,
    verifyRsaPkcs1Sha256,
    parsesAsCertificate,
  };
}
