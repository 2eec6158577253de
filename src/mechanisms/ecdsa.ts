/**
 * ECDSA (v2.40 mechanisms §2.3): CKM_ECDSA over a caller-computed digest (output r‖s), and
 * CKM_ECDSA_SHA1…SHA512 and CKM_ECDSA_SHA3_224…512 (3.0 §2.3.10, the rows of hashes.ts), on the
 * Weierstrass curves of the table the profile offers (key generation: ec-keygen.ts). Layer L4.
 * @module
 */
import type { HashName, SignScheme } from '../crypto/backend.js';
import { Pkcs11Error } from '../errors.js';
import { PROFILES, type Profile } from '../objects/profile.js';
import * as C from '../pkcs11/constants.js';
import {
  collectingSign,
  collectingVerify,
  type HashedInput,
  HashingInput,
  hashingSign,
  hashingVerify,
  requireNoParameter,
  signatureLengthRange,
} from './common.js';
import { EC_FLAGS, ecSizes } from './ec-keygen.js';
import { HASHES } from './hashes.js';
import type { KeyRef, Mechanism } from './types.js';

/** CKM_ECDSA input: a digest; anything past 1 KiB is a caller error, not a digest. */
const MAX_DIGEST = 1024;
const PREHASHED: SignScheme = { type: 'ecdsa-prehashed' };

function signatureLength(key: KeyRef): number {
  const handle = key.handle();
  return 2 * Math.ceil(handle.bits / 8);
}

function prehashedMechanism(profile: Profile): Mechanism {
  const scheme = PREHASHED;
  const checkInput = (data: Uint8Array) => {
    if (data.length === 0 || data.length > MAX_DIGEST) {
      throw new Pkcs11Error(C.CKR_DATA_LEN_RANGE, 'CKM_ECDSA signs a digest of 1..1024 bytes');
    }
  };
  return {
    type: C.CKM_ECDSA,
    profiles: [profile],
    keyTypes: [C.CKK_EC],
    singlePart: true,
    info: { ...ecSizes(profile), flags: C.CKF_SIGN | C.CKF_VERIFY | EC_FLAGS },
    sign(backend, m, key) {
      requireNoParameter(m);
      const handle = key.handle();
      const sizes = { length: signatureLength(key), maxInput: MAX_DIGEST };
      return collectingSign(backend, handle, scheme, sizes, checkInput);
    },
    verify(backend, m, key) {
      requireNoParameter(m);
      const handle = key.handle();
      const length = signatureLength(key);
      return collectingVerify((data, sig) => {
        signatureLengthRange(length, sig.length);
        checkInput(data);
        return backend.verify(handle, scheme, data, sig);
      }, MAX_DIGEST);
    },
  };
}

/**
 * CKM_ECDSA_SHA*: any message, the empty one included. One part goes to the backend's hashed scheme;
 * several are hashed as they arrive and their digest signed as CKM_ECDSA signs one.
 */
function hashedMechanism(type: number, hash: HashName, profile: Profile): Mechanism {
  const schemeOf = (input: HashedInput): [SignScheme, Uint8Array] =>
    'digest' in input ? [PREHASHED, input.digest] : [{ type: 'ecdsa', hash }, input.data];
  return {
    type,
    profiles: [profile],
    keyTypes: [C.CKK_EC],
    info: { ...ecSizes(profile), flags: C.CKF_SIGN | C.CKF_VERIFY | EC_FLAGS },
    sign(backend, m, key) {
      requireNoParameter(m);
      const handle = key.handle();
      return hashingSign(
        new HashingInput(backend, hash),
        signatureLength(key),
        (input) => backend.sign(handle, ...schemeOf(input)),
        (input) => backend.signAsync(handle, ...schemeOf(input)),
      );
    },
    verify(backend, m, key) {
      requireNoParameter(m);
      const handle = key.handle();
      const length = signatureLength(key);
      return hashingVerify(new HashingInput(backend, hash), (input, sig) => {
        signatureLengthRange(length, sig.length);
        return backend.verify(handle, ...schemeOf(input), sig);
      });
    },
  };
}

/** One family per profile: the curves they offer differ (objects/profile.ts). */
export const EC_MECHANISMS: Mechanism[] = PROFILES.flatMap((profile) => [
  prehashedMechanism(profile),
  ...HASHES.flatMap((r) =>
    r.ecdsa === undefined ? [] : [hashedMechanism(r.ecdsa, r.hash, profile)],
  ),
]);
