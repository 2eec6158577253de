/**
 * The crypto port: everything the token asks of a cryptographic library, as plain data in and out.
 * Mechanisms (L4) speak PKCS#11 and translate to these calls; the node:crypto adapter implements them.
 * No CKM_ values cross this line: the backend has its own small vocabulary. Layer L2 (port interface).
 *
 * Error contract. A method either returns or throws:
 * - a Pkcs11Error, when the caller's input is what is wrong, with the CKR that names it: key material
 *   that is inconsistent or off the curve (importKey: CKR_ATTRIBUTE_VALUE_INVALID), data a raw RSA
 *   operation cannot take (CKR_DATA_INVALID), ciphertext that does not decrypt or authenticate
 *   (CKR_ENCRYPTED_DATA_INVALID), a peer point not on the curve (ecdh: CKR_MECHANISM_PARAM_INVALID), a
 *   key of a size the primitive does not take (CKR_KEY_SIZE_RANGE), a public exponent it cannot use
 *   (generateRsa: CKR_TEMPLATE_INCONSISTENT). The adapter translates its library's exceptions for such
 *   input once, keeping the original as `cause`. A mechanism may re-code a Pkcs11Error for its own
 *   context (an unwrap reports CKR_WRAPPED_KEY_INVALID) but never catches anything else;
 * - anything else, which is a bug (a broken invariant, a library failure on valid input): it propagates
 *   unchanged and the API boundary reports it as CKR_GENERAL_ERROR with the error as `cause`.
 * Verification answers false for a signature that does not verify; it does not throw for one.
 * @module
 */

import type { CurveName } from './curves.js';

export type { CurveName } from './curves.js';
export type HashName = 'sha1' | 'sha224' | 'sha256' | 'sha384' | 'sha512';

export const HASH_LENGTHS: Readonly<Record<HashName, number>> = {
  sha1: 20,
  sha224: 28,
  sha256: 32,
  sha384: 48,
  sha512: 64,
};

/** A running hash or MAC. `finish` may be called once. */
export interface Accumulator {
  update(data: Uint8Array): void;
  finish(): Uint8Array;
  /** Optional: update + finish over the whole input in one call, before any update (single-part C_Digest). */
  once?(data: Uint8Array): Uint8Array;
}

/** RSA key components, big-endian unsigned. The CRT parts may be absent (then d is used directly). */
export interface RsaMaterial {
  n: Uint8Array;
  e: Uint8Array;
  d?: Uint8Array;
  p?: Uint8Array;
  q?: Uint8Array;
  dp?: Uint8Array;
  dq?: Uint8Array;
  qi?: Uint8Array;
}

/** An EC key: the uncompressed point 04‖X‖Y, and the scalar for a private key. */
export interface EcMaterial {
  curve: CurveName;
  point: Uint8Array;
  d?: Uint8Array;
}

export type KeyMaterial = ({ kind: 'rsa' } & RsaMaterial) | ({ kind: 'ec' } & EcMaterial);

/** An imported key, ready for repeated use (the token caches it per object). */
export interface KeyHandle {
  readonly kind: 'rsa' | 'ec';
  readonly isPrivate: boolean;
  /** RSA: modulus bits; EC: order bits. */
  readonly bits: number;
  /** EC keys: the curve. */
  readonly curve?: CurveName;
}

/** Signature schemes, in the backend's own terms. */
export type SignScheme =
  /** PKCS#1 v1.5 over caller-supplied bytes (a DigestInfo for CKM_RSA_PKCS). */
  | { type: 'rsa-pkcs1-raw' }
  /** Raw RSA (CKM_RSA_X_509): input left-padded with zeros to the modulus size. */
  | { type: 'rsa-x509' }
  /** PKCS#1 v1.5 with the hash computed here. */
  | { type: 'rsa-pkcs1'; hash: HashName }
  /** PSS; `prehashed` when the caller already computed the digest. MGF1 hash may differ from the hash. */
  | { type: 'rsa-pss'; hash: HashName; mgfHash: HashName; saltLength: number; prehashed: boolean }
  /** ECDSA over a digest the caller computed; signature r‖s. */
  | { type: 'ecdsa-prehashed' }
  /** ECDSA with the hash computed here; signature r‖s. */
  | { type: 'ecdsa'; hash: HashName };

/** A block-cipher mode of AES, streaming (GCM is one-shot: see aesGcm). */
export interface CipherSpec {
  mode: 'ecb' | 'cbc' | 'ctr';
  key: Uint8Array;
  /** The IV (CBC) or initial counter block (CTR). */
  iv?: Uint8Array;
  /** PKCS#7 padding (CBC only). */
  padding: boolean;
  encrypt: boolean;
}

/** A running cipher. `update` returns what is ready; `finish` the rest (bad padding: CKR_ENCRYPTED_DATA_INVALID). */
export interface CipherStream {
  update(data: Uint8Array): Uint8Array;
  finish(): Uint8Array;
}

/** RSA encryption schemes, in the backend's own terms. */
export type RsaCipherScheme =
  | { type: 'oaep'; hash: HashName; label: Uint8Array }
  | { type: 'pkcs1' }
  | { type: 'raw' };

export interface CryptoBackend {
  randomBytes(length: number): Uint8Array;
  /** Mixes caller-supplied seed material into what randomBytes returns (never its only source). */
  seedRandom(seed: Uint8Array): void;
  /** Constant-time equality for MACs and secrets (false on length mismatch). */
  timingSafeEqual(a: Uint8Array, b: Uint8Array): boolean;

  createHash(hash: HashName): Accumulator;
  createHmac(hash: HashName, key: Uint8Array): Accumulator;
  /** AES-CMAC (NIST SP 800-38B) with a 16, 24 or 32-byte key. */
  createCmac(key: Uint8Array): Accumulator;

  /** Imports a key; CKR_ATTRIBUTE_VALUE_INVALID when the material is inconsistent or unsupported. */
  importKey(material: KeyMaterial): KeyHandle;
  sign(key: KeyHandle, scheme: SignScheme, data: Uint8Array): Uint8Array;
  /**
   * As sign, off the event loop where the work is worth a thread hop (RSA: node:crypto's own thread
   * pool or a worker); ECDSA (tens of microseconds) may answer at once.
   */
  signAsync(key: KeyHandle, scheme: SignScheme, data: Uint8Array): Promise<Uint8Array>;
  /** False when the signature does not verify (never throws for a bad signature). */
  verify(key: KeyHandle, scheme: SignScheme, data: Uint8Array, signature: Uint8Array): boolean;

  generateRsa(bits: number, publicExponent: Uint8Array): RsaMaterial;
  generateRsaAsync(bits: number, publicExponent: Uint8Array): Promise<RsaMaterial>;
  generateEc(curve: CurveName): EcMaterial;
  /** The public point d·G of a private scalar (for imported EC keys that come without CKA_EC_POINT). */
  ecPublicPoint(curve: CurveName, d: Uint8Array): Uint8Array;

  createCipher(spec: CipherSpec): CipherStream;
  /** AES-GCM in one call: encrypt appends the tag; decrypt checks and strips it (CKR_ENCRYPTED_DATA_INVALID on mismatch). */
  aesGcm(
    key: Uint8Array,
    iv: Uint8Array,
    aad: Uint8Array,
    tagLength: number,
    encrypt: boolean,
    data: Uint8Array,
  ): Uint8Array;
  /** AES key wrap (RFC 3394) or, with `pad`, key wrap with padding (RFC 5649); a failed unwrap check is CKR_ENCRYPTED_DATA_INVALID. */
  aesKeyWrap(key: Uint8Array, data: Uint8Array, wrap: boolean, pad: boolean): Uint8Array;
  rsaEncrypt(key: KeyHandle, scheme: RsaCipherScheme, data: Uint8Array): Uint8Array;
  /** CKR_ENCRYPTED_DATA_INVALID when the ciphertext does not decrypt. */
  rsaDecrypt(key: KeyHandle, scheme: RsaCipherScheme, data: Uint8Array): Uint8Array;
  /** As rsaDecrypt, off the event loop. */
  rsaDecryptAsync(key: KeyHandle, scheme: RsaCipherScheme, data: Uint8Array): Promise<Uint8Array>;
  /** The ECDH shared secret Z: x-coordinate of d·Q (Q an uncompressed point on the key's curve). */
  ecdh(privateKey: KeyHandle, peerPoint: Uint8Array): Uint8Array;

  /** AES-256-GCM with a fresh 96-bit IV: returns iv ‖ ciphertext ‖ 128-bit tag. */
  seal(key: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Uint8Array;
  /** Opens what seal() made; undefined when the key, the data or the associated data do not match. */
  open(key: Uint8Array, sealed: Uint8Array, aad: Uint8Array): Uint8Array | undefined;
  /** HKDF-SHA256 (RFC 5869). */
  hkdf(ikm: Uint8Array, salt: Uint8Array, info: Uint8Array, length: number): Uint8Array;

  /** PBKDF2-HMAC-SHA256 (PIN key derivation). */
  pbkdf2(password: Uint8Array, salt: Uint8Array, iterations: number, length: number): Uint8Array;
  pbkdf2Async(
    password: Uint8Array,
    salt: Uint8Array,
    iterations: number,
    length: number,
  ): Promise<Uint8Array>;
}
