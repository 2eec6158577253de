/**
 * The qualification suite's independent crypto: the part mbedTLS plays in the FreeRTOS C suite. It parses
 * the test keys and certificates, checks signatures made by the module under test and makes the one
 * signature the suite feeds back to it, without ever asking that module. node:crypto does the parsing,
 * hashing and the RSA check; ECDSA over a caller-supplied digest (CKM_ECDSA's contract, which
 * node:crypto cannot express because it always hashes) is this adapter's CKM_ECDSA code (ecdsa/), whose
 * scalar multiplications are OpenSSL's. Adapter beside the layer stack; imports node:crypto only.
 * @module
 */

import type { KeyObject } from 'node:crypto';
import {
  constants,
  createECDH,
  createHash,
  createPrivateKey,
  createPublicKey,
  publicDecrypt,
  X509Certificate,
} from 'node:crypto';
import type { EcKeyParts, KeyParts, RsaKeyParts, Verifier } from '../../crypto/verifier.js';
import { concat, equalBytes } from '../../util/bytes.js';
import { ecdsaSignatureToDer, ecdsaSignatureToRaw } from '../../util/der.js';
import { createEcdsaKey, type EcdsaKeyMaterial } from './ecdsa/index.js';

/** SHA-256 DigestInfo prefix (RFC 8017 §9.2 note 1). */
const SHA256_DIGEST_INFO = Uint8Array.from([
  0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05,
  0x00, 0x04, 0x20,
]);

/** A P-256 ECDSA key of this material, or undefined when the material is not one. */
function p256Key(material: EcdsaKeyMaterial) {
  try {
    return createEcdsaKey('P-256', material, { verifyWithPrivateKey: false });
  } catch {
    return undefined;
  }
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
  if (digest.length === 0) return false;
  return p256Key({ point })?.verify(digest, signature) ?? false;
}

/** Signs a digest with a P-256 scalar, returning DER like mbedtls_pk_sign (fresh random nonce). */
export function signEcdsaP256(d: Uint8Array, digest: Uint8Array): Uint8Array {
  const ecdh = createECDH('prime256v1');
  ecdh.setPrivateKey(d);
  const key = p256Key({ d, point: ecdh.getPublicKey() });
  if (!key) throw new RangeError('invalid P-256 private scalar');
  return ecdsaSignatureToDer(key.sign(digest));
}

/** Verifies an RSASSA-PKCS1-v1_5 signature over a SHA-256 digest: the recovered block must be exactly its DigestInfo. */
export function verifyRsaPkcs1Sha256(
  modulus: Uint8Array,
  exponent: Uint8Array,
  digest: Uint8Array,
  signature: Uint8Array,
): boolean {
  const b64 = (v: Uint8Array) => Buffer.from(v).toString('base64url');
  try {
    const key = createPublicKey({
      key: { kty: 'RSA', n: b64(modulus), e: b64(exponent) },
      format: 'jwk',
    });
    // mbedTLS takes only a signature as long as the modulus; OpenSSL would also take a shorter one.
    if (
      digest.length !== 32 ||
      signature.length !== Math.ceil((key.asymmetricKeyDetails?.modulusLength ?? 0) / 8)
    ) {
      return false;
    }
    const block = publicDecrypt({ key, padding: constants.RSA_PKCS1_PADDING }, signature);
    return equalBytes(block, concat(SHA256_DIGEST_INFO, digest));
  } catch {
    return false;
  }
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
    // The P-256 halves are 32 bytes each.
    ecdsaDerToRaw: (der) => ecdsaSignatureToRaw(der, 32),
    ecdsaRawToDer: ecdsaSignatureToDer,
    verifyRsaPkcs1Sha256,
    parsesAsCertificate,
  };
}
