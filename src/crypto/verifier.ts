/**
 * The verifier port: cryptography independent of the module under test, which the qualification suite uses
 * to check what a module returns (the C suite uses mbedTLS for this). The node:crypto adapter implements
 * it (adapters/crypto-node/verify-kit.ts). Layer L2 (port interface).
 * @module
 */
import type { RsaMaterial } from './backend.js';

/** RSA key components, big-endian (private parts absent for a public key). */
export type RsaKeyParts = { type: 'rsa' } & RsaMaterial;

/** A P-256 key: the public point as 65-byte uncompressed `04‖X‖Y`, the 32-byte scalar if private. */
export interface EcKeyParts {
  type: 'ec';
  curve: 'P-256';
  point: Uint8Array;
  d?: Uint8Array;
}

export type KeyParts = RsaKeyParts | EcKeyParts;

/**
 * Crypto independent of the module under test (the C suite uses mbedTLS). corepkcs11 ships one in
 * adapters/crypto-node/verify-kit.ts; the CLI injects it. Parse functions throw on malformed input.
 */
export interface Verifier {
  sha256(data: Uint8Array): Uint8Array;
  parsePrivateKeyPem(pem: string): KeyParts;
  parsePublicKeyPem(pem: string): KeyParts;
  verifyEcdsaP256(point: Uint8Array, digest: Uint8Array, rawSignature: Uint8Array): boolean;
  /** Signs a digest with a P-256 scalar; DER output, as mbedtls_pk_sign gives. */
  signEcdsaP256(d: Uint8Array, digest: Uint8Array): Uint8Array;
  ecdsaDerToRaw(der: Uint8Array): Uint8Array;
  ecdsaRawToDer(raw: Uint8Array): Uint8Array;
  verifyRsaPkcs1Sha256(
    modulus: Uint8Array,
    exponent: Uint8Array,
    digest: Uint8Array,
    signature: Uint8Array,
  ): boolean;
  parsesAsCertificate(der: Uint8Array): boolean;
}
