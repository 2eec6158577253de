/**
 * Key derivation functions of PKCS#11 3.0: CKM_HKDF_DERIVE and CKM_HKDF_DATA (3.0 mechanisms §2.43,
 * RFC 5869, over the HMACs of hashes.ts), CKM_HKDF_KEY_GEN (CKK_HKDF keys), and CKM_PKCS5_PBKD2
 * (v2.40 §2.39 with 3.0's CK_PKCS5_PBKD2_PARAMS2, RFC 8018 PBKDF2). HKDF is written out here over the
 * backend's HMAC (the RFC's two steps are a dozen lines, and extract-only and expand-only are PKCS#11
 * choices node:crypto's hkdf has no form for). Layer L4.
 * @module
 */
import type { AttributeMap } from '../attributes/values.js';
import type { CryptoBackend, HashName } from '../crypto/backend.js';
import { HASH_LENGTHS } from '../crypto/backend.js';
import { Pkcs11Error } from '../errors.js';
import * as C from '../pkcs11/constants.js';
import type { HkdfParams, Pbkdf2Params, RawMechanism } from '../pkcs11/types.js';
import { bytesField, secretKeyOf, structuredParam } from './common.js';
import { HASH_OF_DIGEST } from './hashes.js';
import { secretShape } from './secret-keygen.js';
import type { GeneratedKey, KeyLookup, KeyRef, Mechanism } from './types.js';

const PARAM = C.CKR_MECHANISM_PARAM_INVALID;
/** The key types an HKDF input (base key or salt key) may have (3.0 §2.43.1). */
const HKDF_INPUT_TYPES = [C.CKK_GENERIC_SECRET, C.CKK_HKDF];

/** HKDF-Extract (RFC 5869 §2.2): PRK = HMAC-Hash(salt, IKM). */
function extract(backend: CryptoBackend, hash: HashName, salt: Uint8Array, ikm: Uint8Array) {
  const mac = backend.createHmac(hash, salt);
  mac.update(ikm);
  return mac.finish();
}

/** HKDF-Expand (RFC 5869 §2.3): T(i) = HMAC-Hash(PRK, T(i-1) ‖ info ‖ i), the first `length` bytes. */
function expand(
  backend: CryptoBackend,
  hash: HashName,
  prk: Uint8Array,
  info: Uint8Array,
  length: number,
): Uint8Array {
  const out = new Uint8Array(length);
  let t: Uint8Array = new Uint8Array(0);
  for (let i = 1, off = 0; off < length; i++) {
    const mac = backend.createHmac(hash, prk);
    mac.update(t);
    mac.update(info);
    mac.update(Uint8Array.of(i));
    t = mac.finish();
    out.set(t.subarray(0, Math.min(t.length, length - off)), off);
    off += t.length;
  }
  t.fill(0);
  return out;
}

interface Hkdf {
  extract: boolean;
  expand: boolean;
  hash: HashName;
  /** Undefined: the salt is the value of the key `saltKey` names. */
  salt: Uint8Array | undefined;
  saltKey: number | undefined;
  info: Uint8Array;
}

/** CK_HKDF_PARAMS, checked as kryoptic and the 3.0 text check them. */
function hkdfParams(m: RawMechanism): Hkdf {
  const p = structuredParam<HkdfParams>(m, 'CK_HKDF_PARAMS');
  if (typeof p.extract !== 'boolean' || typeof p.expand !== 'boolean' || !(p.extract || p.expand)) {
    throw new Pkcs11Error(PARAM, 'CK_HKDF_PARAMS: extract, expand or both');
  }
  const hash = HASH_OF_DIGEST.get(p.prfHashMechanism as number);
  if (!hash) throw new Pkcs11Error(PARAM, 'CK_HKDF_PARAMS: prfHashMechanism is not a digest');
  const salt = bytesField(p.salt, 'salt');
  let saltBytes: Uint8Array | undefined;
  let saltKey: number | undefined;
  if (p.saltType === C.CKF_HKDF_SALT_NULL) {
    if (salt.length > 0) throw new Pkcs11Error(PARAM, 'CKF_HKDF_SALT_NULL takes no salt');
    saltBytes = new Uint8Array(HASH_LENGTHS[hash]); // RFC 5869 §2.2: HashLen zeros
  } else if (p.saltType === C.CKF_HKDF_SALT_DATA) {
    if (salt.length === 0) throw new Pkcs11Error(PARAM, 'CKF_HKDF_SALT_DATA needs a salt');
    saltBytes = salt;
  } else if (p.saltType === C.CKF_HKDF_SALT_KEY) {
    if (typeof p.saltKey !== 'number')
      throw new Pkcs11Error(PARAM, 'CKF_HKDF_SALT_KEY needs saltKey');
    saltKey = p.saltKey;
  } else if (p.extract) {
    throw new Pkcs11Error(PARAM, 'CK_HKDF_PARAMS: unknown saltType');
  }
  return {
    extract: p.extract,
    expand: p.expand,
    hash,
    salt: saltBytes,
    saltKey,
    info: bytesField(p.info, 'info'),
  };
}

/** The value of an HKDF input key: a generic or HKDF secret key (3.0 §2.43.1). */
function inputKey(key: KeyRef, what: string): Uint8Array {
  const o = key.object;
  if (o.objectClass !== C.CKO_SECRET_KEY || !HKDF_INPUT_TYPES.includes(o.keyType ?? -1)) {
    throw new Pkcs11Error(C.CKR_KEY_TYPE_INCONSISTENT, `${what}: a generic or HKDF secret key`);
  }
  return secretKeyOf(key);
}

function hkdfDerive(data: boolean): Mechanism['derive'] {
  return (backend, m, base, template, _other, keys?: KeyLookup): GeneratedKey => {
    const p = hkdfParams(m);
    const ikm = inputKey(base, 'the base key');
    let salt = p.salt;
    if (salt === undefined && p.extract) {
      if (!keys || p.saltKey === undefined) throw new Pkcs11Error(PARAM, 'no salt key');
      const key = keys(p.saltKey, 'derive');
      salt = inputKey(key, 'the salt key');
    }
    const hLen = HASH_LENGTHS[p.hash];
    const shape = secretShape(template, {
      defaultKeyType: C.CKK_GENERIC_SECRET,
      defaultLength: hLen,
      data,
    });
    if (p.extract && !p.expand && shape.length !== hLen) {
      throw new Pkcs11Error(C.CKR_TEMPLATE_INCONSISTENT, `HKDF-Extract gives ${hLen} bytes`);
    }
    // HKDF-Expand's own bound, 255 HashLen, is above the 512 bytes any secret of ours may have.
    const prk = p.extract ? extract(backend, p.hash, salt as Uint8Array, ikm) : ikm;
    const value = p.expand ? expand(backend, p.hash, prk, p.info, shape.length) : prk.slice();
    if (p.extract) prk.fill(0);
    return shape.made(value);
  };
}

/** CK_PKCS5_PBKD2_PARAMS2: the PRFs node:crypto has (GOST R 34.11 is not one). */
const PBKDF2_PRF: ReadonlyMap<number, HashName> = new Map([
  [C.CKP_PKCS5_PBKD2_HMAC_SHA1, 'sha1'],
  [C.CKP_PKCS5_PBKD2_HMAC_SHA224, 'sha224'],
  [C.CKP_PKCS5_PBKD2_HMAC_SHA256, 'sha256'],
  [C.CKP_PKCS5_PBKD2_HMAC_SHA384, 'sha384'],
  [C.CKP_PKCS5_PBKD2_HMAC_SHA512, 'sha512'],
  [C.CKP_PKCS5_PBKD2_HMAC_SHA512_224, 'sha512-224'],
  [C.CKP_PKCS5_PBKD2_HMAC_SHA512_256, 'sha512-256'],
]);
/** A bound on the work one call may ask for (10 million rounds: seconds, not hours, of one core). */
const MAX_PBKDF2_ITERATIONS = 10_000_000;

function pbkdf2(backend: CryptoBackend, m: RawMechanism, template: AttributeMap): GeneratedKey {
  const p = structuredParam<Pbkdf2Params>(m, 'CK_PKCS5_PBKD2_PARAMS2');
  const hash = PBKDF2_PRF.get(p.prf as number);
  if (!hash) throw new Pkcs11Error(PARAM, 'CK_PKCS5_PBKD2_PARAMS2: unsupported prf');
  if (p.saltSource !== C.CKZ_SALT_SPECIFIED) {
    throw new Pkcs11Error(PARAM, 'CK_PKCS5_PBKD2_PARAMS2: saltSource must be CKZ_SALT_SPECIFIED');
  }
  if (bytesField(p.prfData, 'prfData').length > 0) {
    throw new Pkcs11Error(PARAM, 'CK_PKCS5_PBKD2_PARAMS2: prfData is only for GOST R 34.11');
  }
  const iterations = p.iterations;
  if (
    typeof iterations !== 'number' ||
    !Number.isInteger(iterations) ||
    iterations < 1 ||
    iterations > MAX_PBKDF2_ITERATIONS
  ) {
    throw new Pkcs11Error(PARAM, `iterations: 1..${MAX_PBKDF2_ITERATIONS}`);
  }
  const salt = bytesField(p.saltSourceData, 'saltSourceData');
  const password = bytesField(p.password, 'password');
  const shape = secretShape(template, { defaultKeyType: C.CKK_GENERIC_SECRET });
  return shape.made(backend.pbkdf2(password, salt, iterations, shape.length, hash));
}

export const KDF_MECHANISMS: Mechanism[] = [
  {
    type: C.CKM_HKDF_DERIVE,
    keyTypes: HKDF_INPUT_TYPES,
    info: { minKeySize: 1, maxKeySize: 512, flags: C.CKF_DERIVE },
    derive: hkdfDerive(false),
  },
  {
    type: C.CKM_HKDF_DATA,
    keyTypes: HKDF_INPUT_TYPES,
    info: { minKeySize: 1, maxKeySize: 512, flags: C.CKF_DERIVE },
    derive: hkdfDerive(true),
  },
  {
    type: C.CKM_PKCS5_PBKD2,
    info: { minKeySize: 1, maxKeySize: 512, flags: C.CKF_GENERATE },
    generateKey: pbkdf2,
  },
];
