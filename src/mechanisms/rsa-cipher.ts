/**
 * RSA encryption and decryption (v2.40 mechanisms §2.1.8–2.1.9), also for wrapping keys:
 * CKM_RSA_PKCS_OAEP, CKM_RSA_PKCS (its decryption with implicit rejection: a wrong padding yields a
 * pseudo-random message, not an error, so there is no padding oracle; see the node:crypto adapter's
 * rsa-pkcs1-decrypt.ts) and raw CKM_RSA_X_509. Layer L4.
 * @module
 */
import type { HashName, RsaCipherScheme } from '../crypto/backend.js';
import { HASH_LENGTHS } from '../crypto/backend.js';
import { Pkcs11Error } from '../errors.js';
import { PROFILE_LIMITS, PROFILES, type Profile } from '../objects/profile.js';
import * as C from '../pkcs11/constants.js';
import type { RawMechanism, RsaOaepParams } from '../pkcs11/types.js';
import { Collected, requireNoParameter } from './common.js';
import { HASH_OF_DIGEST, HASH_OF_MGF } from './hashes.js';
import { keySizeInfo } from './rsa.js';
import type { CipherOperation, KeyRef, Mechanism } from './types.js';

function oaepParams(m: RawMechanism): { hash: HashName; label: Uint8Array } {
  const p = m.parameter as Partial<RsaOaepParams> | undefined;
  const ok =
    typeof p === 'object' &&
    p !== null &&
    !(p instanceof Uint8Array) &&
    typeof p.hashAlg === 'number';
  const hash = ok ? HASH_OF_DIGEST.get(p.hashAlg as number) : undefined;
  const mgf = ok ? HASH_OF_MGF.get(p.mgf as number) : undefined;
  if (!hash || !mgf)
    throw new Pkcs11Error(C.CKR_MECHANISM_PARAM_INVALID, 'CK_RSA_PKCS_OAEP_PARAMS required');
  // OpenSSL through Node ties MGF1's hash to the label hash.
  if (mgf !== hash)
    throw new Pkcs11Error(C.CKR_MECHANISM_PARAM_INVALID, 'OAEP: the MGF1 hash must equal hashAlg');
  const label = (p as RsaOaepParams).sourceData ?? new Uint8Array(0);
  if ((p as RsaOaepParams).source !== C.CKZ_DATA_SPECIFIED && label.length > 0) {
    throw new Pkcs11Error(C.CKR_MECHANISM_PARAM_INVALID, 'OAEP: source must be CKZ_DATA_SPECIFIED');
  }
  return { hash, label };
}

function rsaCipher(
  key: KeyRef,
  scheme: RsaCipherScheme,
  encrypt: boolean,
  run: (data: Uint8Array) => Uint8Array,
  runAsync?: (data: Uint8Array) => Promise<Uint8Array>,
): CipherOperation {
  const k = Math.ceil(key.handle().bits / 8);
  const max = encrypt
    ? scheme.type === 'oaep'
      ? k - 2 * HASH_LENGTHS[scheme.hash] - 2
      : scheme.type === 'pkcs1'
        ? k - 11
        : k
    : k;
  const input = new Collected(k, encrypt ? C.CKR_DATA_LEN_RANGE : C.CKR_ENCRYPTED_DATA_LEN_RANGE);
  const checked = () => {
    const data = input.take();
    if (encrypt && data.length > max)
      throw new Pkcs11Error(C.CKR_DATA_LEN_RANGE, `at most ${max} bytes`);
    if (!encrypt && data.length !== k) {
      throw new Pkcs11Error(C.CKR_ENCRYPTED_DATA_LEN_RANGE, `the ciphertext is ${k} bytes`);
    }
    return data;
  };
  return {
    updateBound: () => 0,
    finishBound: () => k,
    update(d) {
      input.add(d);
      return new Uint8Array(0);
    },
    finish: () => run(checked()),
    ...(runAsync ? { finishAsync: () => runAsync(checked()) } : {}),
  };
}

function rsaCipherMechanism(
  type: number,
  scheme: (m: RawMechanism) => RsaCipherScheme,
  wraps: boolean,
  profile: Profile,
): Mechanism {
  return {
    type,
    profiles: [profile],
    keyTypes: [C.CKK_RSA],
    singlePart: true,
    info: {
      ...keySizeInfo(PROFILE_LIMITS[profile].rsaKeyBits),
      flags: C.CKF_ENCRYPT | C.CKF_DECRYPT | (wraps ? C.CKF_WRAP | C.CKF_UNWRAP : 0),
    },
    encrypt(backend, m, key) {
      const s = scheme(m);
      return rsaCipher(key, s, true, (d) => backend.rsaEncrypt(key.handle(), s, d));
    },
    decrypt(backend, m, key) {
      const s = scheme(m);
      return rsaCipher(
        key,
        s,
        false,
        (d) => backend.rsaDecrypt(key.handle(), s, d),
        (d) => backend.rsaDecryptAsync(key.handle(), s, d),
      );
    },
  };
}

/** Encryption-capable variants of the RSA mechanisms whose signing forms live in rsa.ts (per profile). */
export const RSA_CIPHER_MECHANISMS: Mechanism[] = PROFILES.flatMap((profile) => [
  rsaCipherMechanism(
    C.CKM_RSA_PKCS_OAEP,
    (m) => ({ type: 'oaep', ...oaepParams(m) }),
    true,
    profile,
  ),
  rsaCipherMechanism(
    C.CKM_RSA_PKCS,
    (m) => {
      requireNoParameter(m);
      return { type: 'pkcs1' };
    },
    true,
    profile,
  ),
  rsaCipherMechanism(
    C.CKM_RSA_X_509,
    (m) => {
      requireNoParameter(m);
      return { type: 'raw' };
    },
    false,
    profile,
  ),
]);
