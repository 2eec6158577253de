/**
 * Class-specific completion of a new object after the generic policy ran: certificate fields taken from
 * the DER value, lengths the token derives (CKA_VALUE_LEN, CKA_MODULUS_BITS), value checks the policy table
 * cannot express (AES key sizes, EC parameters), and CKA_CHECK_VALUE (v2.40 §4.6.3, §4.10 and the AES and
 * generic-secret key sections): three bytes that identify a certificate or a secret key without revealing
 * it. Layer L3.
 * @module
 */
import type { AttributeMap } from '../attributes/values.js';
import { readBytes, readUlong } from '../attributes/values.js';
import type { CryptoBackend } from '../crypto/backend.js';
import { Pkcs11Error } from '../errors.js';
import * as C from '../pkcs11/constants.js';
import { encodeUlong, equalBytes, stripLeadingZeros } from '../util/bytes.js';
import { DerError, readCertificate } from '../util/der.js';
import { curveForProfile, curveOf } from './ec-params.js';
import { EC_KEY_TYPES } from './key-material.js';
import { PROFILE_LIMITS, type Profile } from './profile.js';
import { ede3Key, GENERIC_SECRET_KEY_TYPES, hasOddParity, secretKeyType } from './secret-keys.js';

function completeCertificate(attrs: AttributeMap): void {
  const value = readBytes(attrs, C.CKA_VALUE) ?? new Uint8Array(0);
  let fields: { subject: Uint8Array; issuer: Uint8Array; serialNumber: Uint8Array } | undefined;
  try {
    // RFC 5280 §4.1: the token copies the DER of these fields as they stand in the certificate.
    const c = readCertificate(value);
    fields = {
      subject: c.subject.encoded,
      issuer: c.issuer.encoded,
      serialNumber: c.serialNumber.encoded,
    };
  } catch (e) {
    if (!(e instanceof DerError)) throw e;
    fields = undefined;
  }
  if (!fields && !attrs.has(C.CKA_SUBJECT)) {
    throw new Pkcs11Error(
      C.CKR_ATTRIBUTE_VALUE_INVALID,
      'CKA_VALUE is not a DER X.509 certificate (give CKA_SUBJECT to store it anyway)',
    );
  }
  if (!attrs.has(C.CKA_SUBJECT)) attrs.set(C.CKA_SUBJECT, fields?.subject ?? new Uint8Array(0));
  if (!attrs.has(C.CKA_ISSUER)) attrs.set(C.CKA_ISSUER, fields?.issuer ?? new Uint8Array(0));
  if (!attrs.has(C.CKA_SERIAL_NUMBER))
    attrs.set(C.CKA_SERIAL_NUMBER, fields?.serialNumber ?? new Uint8Array(0));
}

function completeSecretKey(attrs: AttributeMap, keyType: number, profile: Profile): void {
  const type = secretKeyType(keyType);
  if (type?.profiles && !type.profiles.includes(profile)) {
    throw new Pkcs11Error(
      C.CKR_ATTRIBUTE_VALUE_INVALID,
      `a ${type.name} is held only by tokens of the ${type.profiles.join(', ')} profile`,
    );
  }
  const value = readBytes(attrs, C.CKA_VALUE);
  if (value === undefined) return;
  if (value.length === 0) throw new Pkcs11Error(C.CKR_ATTRIBUTE_VALUE_INVALID, 'empty secret key');
  // The fixed-size types (AES, AES-XTS, ChaCha20, DES) take only their sizes; generic secrets any length.
  const lengths = type?.lengths;
  if (Array.isArray(lengths) && !lengths.includes(value.length)) {
    throw new Pkcs11Error(
      C.CKR_ATTRIBUTE_VALUE_INVALID,
      `a ${type?.name} is ${lengths.join(', ')} bytes`,
    );
  }
  if (type?.parity && !hasOddParity(value)) {
    throw new Pkcs11Error(
      C.CKR_ATTRIBUTE_VALUE_INVALID,
      `a ${type.name} has odd parity in every byte`,
    );
  }
  // IEEE 1619 / SP 800-38E: the two halves of an XTS key must differ (OpenSSL refuses them too).
  if (
    keyType === C.CKK_AES_XTS &&
    equalBytes(value.subarray(0, value.length / 2), value.subarray(value.length / 2))
  ) {
    throw new Pkcs11Error(
      C.CKR_ATTRIBUTE_VALUE_INVALID,
      'the two halves of an AES-XTS key are equal',
    );
  }
  attrs.set(C.CKA_VALUE_LEN, encodeUlong(value.length));
}

/** Lengths the token states for DSA/DH domain parameters (CKA_PRIME_BITS …) and DH private values. */
function completeFfc(attrs: AttributeMap, cls: number): void {
  const set = (type: number, of: number) => {
    const v = readBytes(attrs, of);
    if (v && !attrs.has(type)) attrs.set(type, encodeUlong(bitLength(v)));
  };
  if (cls === C.CKO_DOMAIN_PARAMETERS) {
    set(C.CKA_PRIME_BITS, C.CKA_PRIME);
    if (attrs.has(C.CKA_SUBPRIME)) set(C.CKA_SUBPRIME_BITS, C.CKA_SUBPRIME);
  } else set(C.CKA_VALUE_BITS, C.CKA_VALUE);
}

/** Key types whose check value is the SHA-1 of the key: generic secrets, the HMAC and HKDF key types. */
const HASH_CHECKED = new Set([...GENERIC_SECRET_KEY_TYPES, C.CKK_HKDF, C.CKK_MD5_HMAC]);

/**
 * The first three bytes of SHA-1 over a certificate's DER or a generic secret, or of an AES encryption
 * of one zero block under an AES key; undefined for objects that have no check value.
 */
function checkValueOf(
  crypto: CryptoBackend,
  cls: number | undefined,
  keyType: number | undefined,
  value: Uint8Array,
): Uint8Array | undefined {
  let full: Uint8Array;
  if (cls === C.CKO_CERTIFICATE || (keyType !== undefined && HASH_CHECKED.has(keyType))) {
    const hash = crypto.createHash('sha1');
    if (hash.once) full = hash.once(value);
    else {
      hash.update(value);
      full = hash.finish();
    }
  } else if (keyType === C.CKK_AES) {
    const ecb = crypto.createCipher({ mode: 'ecb', key: value, padding: false, encrypt: true });
    full = ecb.update(new Uint8Array(16));
  } else if (keyType !== undefined && secretKeyType(keyType)?.parity) {
    // DES keys (v2.40 §2.30.2): ECB encryption of one zero block, run as 3DES EDE like every DES use.
    const key = ede3Key(value);
    const ecb = crypto.createCipher({
      cipher: 'des3',
      mode: 'ecb',
      key,
      padding: false,
      encrypt: true,
    });
    full = ecb.update(new Uint8Array(8));
  } else {
    return undefined;
  }
  const check = full.slice(0, 3);
  full.fill(0);
  return check;
}

/**
 * Sets CKA_CHECK_VALUE, or checks the one the template gave: a wrong value is CKR_ATTRIBUTE_VALUE_INVALID;
 * an empty one is kept, the caller's way of asking for no check value (as PKCS#11 v3 words it).
 */
function completeCheckValue(crypto: CryptoBackend, attrs: AttributeMap): void {
  const cls = readUlong(attrs, C.CKA_CLASS);
  if (cls !== C.CKO_CERTIFICATE && cls !== C.CKO_SECRET_KEY) return;
  const value = readBytes(attrs, C.CKA_VALUE);
  if (value === undefined) return;
  const expected = checkValueOf(crypto, cls, readUlong(attrs, C.CKA_KEY_TYPE), value);
  if (expected === undefined) return;
  const given = readBytes(attrs, C.CKA_CHECK_VALUE);
  if (given === undefined) attrs.set(C.CKA_CHECK_VALUE, expected);
  else if (given.length !== 0 && !equalBytes(given, expected)) {
    throw new Pkcs11Error(
      C.CKR_ATTRIBUTE_VALUE_INVALID,
      "CKA_CHECK_VALUE does not match the object's value",
    );
  }
}

/** The bit length of a big-endian unsigned integer. */
function bitLength(value: Uint8Array): number {
  const m = stripLeadingZeros(value);
  return m.length === 0 || m[0] === 0 ? 0 : (m.length - 1) * 8 + (32 - Math.clz32(m[0] as number));
}

/**
 * An RSA key's modulus must be one the token's operations take (PROFILE_LIMITS.rsaKeyBits), so that
 * nothing is stored only to be refused at first use; C_CreateObject has no CKR_KEY_SIZE_RANGE.
 */
function completeRsaKey(attrs: AttributeMap, cls: number | undefined, profile: Profile): void {
  const n = readBytes(attrs, C.CKA_MODULUS);
  if (!n) return;
  const bits = bitLength(n);
  const { min, max } = PROFILE_LIMITS[profile].rsaKeyBits;
  if (bits < min || bits > max) {
    throw new Pkcs11Error(
      C.CKR_ATTRIBUTE_VALUE_INVALID,
      `CKA_MODULUS: a ${bits}-bit RSA key is outside the ${min}..${max} bits this token uses`,
    );
  }
  if (cls === C.CKO_PUBLIC_KEY && !attrs.has(C.CKA_MODULUS_BITS)) {
    attrs.set(C.CKA_MODULUS_BITS, encodeUlong(bits));
  }
}

/** Completes and checks a new object's attributes for a token of `profile`. */
export function completeAttributes(
  attrs: AttributeMap,
  crypto: CryptoBackend,
  profile: Profile,
): void {
  const cls = readUlong(attrs, C.CKA_CLASS);
  const keyType = readUlong(attrs, C.CKA_KEY_TYPE);
  if (cls === C.CKO_CERTIFICATE) completeCertificate(attrs);
  else if (cls === C.CKO_SECRET_KEY && keyType !== undefined)
    completeSecretKey(attrs, keyType, profile);
  else if (keyType === C.CKK_RSA) completeRsaKey(attrs, cls, profile);
  else if (cls === C.CKO_DOMAIN_PARAMETERS || (keyType === C.CKK_DH && cls === C.CKO_PRIVATE_KEY)) {
    completeFfc(attrs, cls);
  } else if (keyType !== undefined && EC_KEY_TYPES.has(keyType)) {
    const params = readBytes(attrs, C.CKA_EC_PARAMS);
    if (params) {
      curveOf(params, EC_KEY_TYPES.get(keyType), C.CKR_ATTRIBUTE_VALUE_INVALID);
      curveForProfile(params, profile);
    }
  }
  completeCheckValue(crypto, attrs);
}
