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
/** Hashes by their node:crypto names: MD5 (RFC 1321), SHA-1, SHA-2 (FIPS 180-4), SHA-3 (FIPS 202). */
export type HashName =
  | 'md5'
  | 'sha1'
  | 'sha224'
  | 'sha256'
  | 'sha384'
  | 'sha512'
  | 'sha512-224'
  | 'sha512-256'
  | 'sha3-224'
  | 'sha3-256'
  | 'sha3-384'
  | 'sha3-512';

export const HASH_LENGTHS: Readonly<Record<HashName, number>> = {
  md5: 16,
  sha1: 20,
  sha224: 28,
  sha256: 32,
  sha384: 48,
  sha512: 64,
  'sha512-224': 28,
  'sha512-256': 32,
  'sha3-224': 28,
  'sha3-256': 32,
  'sha3-384': 48,
  'sha3-512': 64,
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

/**
 * A key on a curve of the table. Weierstrass: the uncompressed point 04‖X‖Y and, for a private key, the
 * big-endian scalar d. Edwards and Montgomery: the public key and the private key in their RFC 8032 /
 * RFC 7748 encodings (little-endian, fixed length: the curve row's publicBytes and orderBytes).
 */
export interface EcMaterial {
  curve: CurveName;
  point: Uint8Array;
  d?: Uint8Array;
}

/** Finite-field domain parameters: DSA (p, q, g; FIPS 186-4) or PKCS#3 DH (p, g), big-endian. */
export interface FfcParameters {
  p: Uint8Array;
  q?: Uint8Array;
  g: Uint8Array;
}

/** A finite-field key pair: the private value x and the public value y = g^x mod p. */
export interface FfcPair {
  x: Uint8Array;
  y: Uint8Array;
}

/** A DSA key: the parameters and y (public) or x (private). */
export interface DsaMaterial {
  p: Uint8Array;
  q: Uint8Array;
  g: Uint8Array;
  y?: Uint8Array;
  x?: Uint8Array;
}

/** A DH private key (public DH keys are only ever the peer's value: no import). */
export interface DhMaterial {
  p: Uint8Array;
  g: Uint8Array;
  x: Uint8Array;
}

export type KeyMaterial =
  | ({ kind: 'rsa' } & RsaMaterial)
  | ({ kind: 'ec' } & EcMaterial)
  | ({ kind: 'dsa' } & DsaMaterial)
  | ({ kind: 'dh' } & DhMaterial);

/** An imported key, ready for repeated use (the token caches it per object). */
export interface KeyHandle {
  readonly kind: KeyMaterial['kind'];
  readonly isPrivate: boolean;
  /** RSA: modulus bits; EC: order bits; DSA, DH: prime bits. */
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
  | { type: 'ecdsa'; hash: HashName }
  /** Pure EdDSA (RFC 8032 Ed25519 / Ed448, no prehash, no context) over the whole message. */
  | { type: 'eddsa' }
  /** DSA over a digest the caller computed (its leftmost N bits); signature r‖s. */
  | { type: 'dsa-prehashed' }
  /** DSA with the hash computed here; signature r‖s. */
  | { type: 'dsa'; hash: HashName };

export type CmacCipher = 'aes' | 'des3';

/**
 * A block-cipher mode, streaming (the AEAD modes are one-shot: see aead): AES, or 3DES (EDE with a
 * 24-byte key; DES is 3DES with K1 = K2 = K3, which is how the token runs it).
 */
export interface CipherSpec {
  /** Default AES. 3DES has the ECB and CBC modes. */
  cipher?: 'aes' | 'des3';
  mode: 'ecb' | 'cbc' | 'ctr' | 'ofb' | 'cfb8' | 'cfb128' | 'cfb1' | 'xts';
  key: Uint8Array;
  /** The IV (CBC, OFB, CFB), initial counter block (CTR) or tweak (XTS: the key is two AES keys). */
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

export type AeadAlgorithm = 'aes-gcm' | 'aes-ccm' | 'chacha20-poly1305';

/** One AEAD message's key and parameters (CCM: the plaintext length is the message's). */
export interface AeadSpec {
  algorithm: AeadAlgorithm;
  key: Uint8Array;
  iv: Uint8Array;
  aad: Uint8Array;
  tagLength: number;
  encrypt: boolean;
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
  /** CMAC (NIST SP 800-38B): AES with a 16, 24 or 32-byte key, or 3DES with a 24-byte one. */
  createCmac(key: Uint8Array, cipher?: CmacCipher): Accumulator;

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
  /** New DSA domain parameters of L = primeBits, N = subprimeBits (CKR_KEY_SIZE_RANGE for other sizes). */
  generateDsaParameters(primeBits: number, subprimeBits: number): FfcParameters;
  /** New PKCS#3 DH parameters: a safe prime of primeBits (slow: seconds at 2048 bits), generator 2. */
  generateDhParameters(primeBits: number): FfcParameters;
  /**
   * A key pair on DSA or DH parameters (CKR_ATTRIBUTE_VALUE_INVALID for parameters out of range); DH: a
   * private value of `valueBits` bits when given.
   */
  generateFfcPair(params: FfcParameters, valueBits?: number): FfcPair;
  /** The PKCS#3 DH secret with the peer's public value, left-padded to p's length. */
  dh(privateKey: KeyHandle, peerValue: Uint8Array): Uint8Array;
  /** A key pair on any curve of the table. */
  generateEc(curve: CurveName): EcMaterial;
  /**
   * The public key of a private one (for imported keys that come without CKA_EC_POINT): d·G, or the
   * RFC 8032 / RFC 7748 public key of an Edwards or Montgomery private key.
   */
  ecPublicPoint(curve: CurveName, d: Uint8Array): Uint8Array;

  createCipher(spec: CipherSpec): CipherStream;
  /**
   * AES-GCM, AES-CCM or ChaCha20-Poly1305 on one whole message: encrypt appends the tag; decrypt checks
   * and strips it (CKR_ENCRYPTED_DATA_INVALID on mismatch) and releases nothing otherwise.
   */
  aead(spec: AeadSpec, data: Uint8Array): Uint8Array;
  /** AES key wrap (RFC 3394) or, with `pad`, key wrap with padding (RFC 5649); a failed unwrap check is CKR_ENCRYPTED_DATA_INVALID. */
  aesKeyWrap(key: Uint8Array, data: Uint8Array, wrap: boolean, pad: boolean): Uint8Array;
  rsaEncrypt(key: KeyHandle, scheme: RsaCipherScheme, data: Uint8Array): Uint8Array;
  /** CKR_ENCRYPTED_DATA_INVALID when the ciphertext does not decrypt. */
  rsaDecrypt(key: KeyHandle, scheme: RsaCipherScheme, data: Uint8Array): Uint8Array;
  /** As rsaDecrypt, off the event loop. */
  rsaDecryptAsync(key: KeyHandle, scheme: RsaCipherScheme, data: Uint8Array): Promise<Uint8Array>;
  /**
   * The ECDH shared secret Z: x-coordinate of d·Q (Q an uncompressed point on the key's curve), or
   * X25519 / X448 (RFC 7748 §6) with the peer's public key. Throws Error for a point not on the curve
   * or, on a Montgomery curve, one of small order (an all-zero secret).
   */
  ecdh(privateKey: KeyHandle, peerPoint: Uint8Array): Uint8Array;

  /** AES-256-GCM with a fresh 96-bit IV: returns iv ‖ ciphertext ‖ 128-bit tag. */
  seal(key: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Uint8Array;
  /** Opens what seal() made; undefined when the key, the data or the associated data do not match. */
  open(key: Uint8Array, sealed: Uint8Array, aad: Uint8Array): Uint8Array | undefined;
  /** HKDF-SHA256 (RFC 5869). */
  hkdf(ikm: Uint8Array, salt: Uint8Array, info: Uint8Array, length: number): Uint8Array;

  /** PBKDF2 (RFC 8018) with HMAC-`hash`, SHA-256 unless said (the PIN key derivation). */
  pbkdf2(
    password: Uint8Array,
    salt: Uint8Array,
    iterations: number,
    length: number,
    hash?: HashName,
  ): Uint8Array;
  pbkdf2Async(
    password: Uint8Array,
    salt: Uint8Array,
    iterations: number,
    length: number,
  ): Promise<Uint8Array>;
}
