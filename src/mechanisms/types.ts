/**
 * The shape of a mechanism family entry: what a mechanism can do (digest, sign, verify, generate) and
 * the facts the token checks before calling it (key types, key-size range, which key class). A missing
 * capability means CKR_MECHANISM_INVALID for that function. Layer L4.
 * @module
 */
import type { AttributeMap } from '../attributes/values.js';
import type { CryptoBackend, KeyHandle } from '../crypto/backend.js';
import type { TokenObject } from '../objects/object.js';
import type { Profile } from '../objects/profile.js';
import type { MechanismInfo, RawMechanism } from '../pkcs11/types.js';

/** A key as a mechanism sees it: the object (attributes) and its imported form for the backend. */
export interface KeyRef {
  readonly object: TokenObject;
  /** The backend handle of an asymmetric key (imported on first use, cached on the object). */
  handle(): KeyHandle;
}

/** A running sign (or MAC) operation. Single-part calls are update(data) then finish(). */
export interface SignOperation {
  /** Signature length in bytes (known once the key is bound). */
  readonly length: number;
  update(data: Uint8Array): void;
  finish(): Uint8Array;
  finishAsync(): Promise<Uint8Array>;
  /** Optional: the signature of the whole input in one call, before any update (single-part C_Sign). */
  once?(data: Uint8Array): Uint8Array;
}

export interface VerifyOperation {
  update(data: Uint8Array): void;
  /** Throws CKR_SIGNATURE_LEN_RANGE for a malformed length; returns false when the signature is wrong. */
  finish(signature: Uint8Array): boolean;
  /** Optional: update + finish in one call, before any update (single-part C_Verify). */
  once?(data: Uint8Array, signature: Uint8Array): boolean;
}

export interface DigestOperation {
  readonly length: number;
  update(data: Uint8Array): void;
  finish(): Uint8Array;
  /** Optional: the digest of the whole input in one call, before any update. */
  once?(data: Uint8Array): Uint8Array;
}

/**
 * A running encryption or decryption. `update` returns the output ready so far, `finish` the rest; the
 * bounds give a length that is always enough (for C length queries, PKCS#11 §5.2).
 */
export interface CipherOperation {
  updateBound(inputLength: number): number;
  /** Bound of finish's output once `pending` more input bytes have gone through update (single-part). */
  finishBound(pending: number): number;
  update(data: Uint8Array): Uint8Array;
  finish(): Uint8Array;
  /** finish off the event loop, where the mechanism has a slow form (RSA private-key decryption). */
  finishAsync?(): Promise<Uint8Array>;
}

/** The generated material of a key pair, as attributes for each half. */
export interface GeneratedPair {
  publicClass: number;
  privateClass: number;
  keyType: number;
  publicComputed: AttributeMap;
  privateComputed: AttributeMap;
}

/**
 * What C_GenerateKey or C_DeriveKey makes: a secret key of `keyType`, or an object of another class
 * (CKM_HKDF_DATA: a data object; the parameter-generation mechanisms: domain parameters).
 */
export interface GeneratedKey {
  keyType?: number;
  /** Default CKO_SECRET_KEY. */
  objectClass?: number;
  computed: AttributeMap;
  /** Template attributes the mechanism read as its own input and the new object does not have. */
  consumes?: readonly number[];
}

/** For mechanisms whose parameter names a second key (CKF_HKDF_SALT_KEY): that key, checked for `use`. */
export type KeyLookup = (handle: number, use: 'derive') => KeyRef;

export interface Mechanism {
  readonly type: number;
  readonly info: MechanismInfo;
  /**
   * The token profiles that offer this entry (objects/profile.ts); absent: every profile. Legacy
   * algorithms are `['compatible']`; an entry whose key sizes differ per profile is registered once per
   * profile.
   */
  readonly profiles?: readonly Profile[];
  /** Key types this mechanism accepts (sign/verify). */
  readonly keyTypes?: readonly number[];
  /** Only C_Sign/C_Verify (no C_*Update): CKM_ECDSA, CKM_RSA_PKCS, … */
  readonly singlePart?: boolean;
  digest?(backend: CryptoBackend, m: RawMechanism): DigestOperation;
  sign?(backend: CryptoBackend, m: RawMechanism, key: KeyRef): SignOperation;
  verify?(backend: CryptoBackend, m: RawMechanism, key: KeyRef): VerifyOperation;
  encrypt?(backend: CryptoBackend, m: RawMechanism, key: KeyRef): CipherOperation;
  decrypt?(backend: CryptoBackend, m: RawMechanism, key: KeyRef): CipherOperation;
  /**
   * C_DeriveKey: the new key's value (and type) from a base key and the caller's template; `other` is
   * the second base key of a mechanism that names one (otherKeyHandle).
   */
  derive?(
    backend: CryptoBackend,
    m: RawMechanism,
    base: KeyRef,
    template: AttributeMap,
    other?: KeyRef,
    keys?: KeyLookup,
  ): GeneratedKey;
  /** The handle of the second base key the parameter names (CKM_CONCATENATE_BASE_AND_KEY). */
  otherKeyHandle?(m: RawMechanism): number;
  /** The derived key is sensitive if a base key is ("sensitivity only goes up"), whatever the defaults. */
  readonly sensitiveFromBase?: boolean;
  /**
   * The derived key is made of its base keys' bytes: it is extractable only if all of them are (v2.40
   * mechanisms §2.41).
   */
  readonly unextractableFromBase?: boolean;
  generateKey?(backend: CryptoBackend, m: RawMechanism, template: AttributeMap): GeneratedKey;
  /** With generateKeyPair: the CKK_ of the keys it makes (the templates are checked against it first). */
  readonly keyPairType?: number;
  generateKeyPair?(
    backend: CryptoBackend,
    m: RawMechanism,
    publicTemplate: AttributeMap,
    privateTemplate: AttributeMap,
  ): GeneratedPair;
  generateKeyPairAsync?(
    backend: CryptoBackend,
    m: RawMechanism,
    publicTemplate: AttributeMap,
    privateTemplate: AttributeMap,
  ): Promise<GeneratedPair>;
}
