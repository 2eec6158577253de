/**
 * Elliptic-curve mechanisms (v2.40 mechanisms §2.3): CKM_EC_KEY_PAIR_GEN for every Weierstrass curve of
 * the curve table the profile offers, CKM_ECDSA over a caller-computed digest (output r‖s), and
 * CKM_ECDSA_SHA1…SHA512. Layer L4.
 * @module
 */
import { readBytes } from '../attributes/values.js';
import type { EcMaterial, HashName, SignScheme } from '../crypto/backend.js';
import { curve as curveRow, keySizes } from '../crypto/curves.js';
import { Pkcs11Error } from '../errors.js';
import { curveForProfile } from '../objects/ec-params.js';
import { ecParamsOf, encodeEcPoint } from '../objects/key-material.js';
import { PROFILE_LIMITS, PROFILES, type Profile } from '../objects/profile.js';
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
import type { GeneratedPair, KeyRef, Mechanism } from './types.js';

/** Prime fields; curves named by OID or name, or given as explicit parameters; uncompressed points. */
export const EC_FLAGS =
  C.CKF_EC_F_P | C.CKF_EC_NAMEDCURVE | C.CKF_EC_ECPARAMETERS | C.CKF_EC_UNCOMPRESS;

/** CK_MECHANISM_INFO key sizes: the curves a token of `profile` offers. */
export const ecSizes = (profile: Profile) =>
  keySizes('weierstrass', PROFILE_LIMITS[profile].minCurveBits);
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

const HASHED: [number, HashName][] = [
  [C.CKM_ECDSA_SHA1, 'sha1'],
  [C.CKM_ECDSA_SHA224, 'sha224'],
  [C.CKM_ECDSA_SHA256, 'sha256'],
  [C.CKM_ECDSA_SHA384, 'sha384'],
  [C.CKM_ECDSA_SHA512, 'sha512'],
];

function pairFrom(material: EcMaterial): GeneratedPair {
  const params = ecParamsOf(material.curve);
  return {
    publicClass: C.CKO_PUBLIC_KEY,
    privateClass: C.CKO_PRIVATE_KEY,
    keyType: C.CKK_EC,
    publicComputed: new Map([
      [C.CKA_EC_PARAMS, params],
      [C.CKA_EC_POINT, encodeEcPoint(material.point)],
    ]),
    privateComputed: new Map([
      [C.CKA_EC_PARAMS, params],
      [C.CKA_VALUE, material.d as Uint8Array],
    ]),
  };
}

function keyPairGen(profile: Profile): Mechanism {
  return {
    type: C.CKM_EC_KEY_PAIR_GEN,
    keyPairType: C.CKK_EC,
    profiles: [profile],
    info: { ...ecSizes(profile), flags: C.CKF_GENERATE_KEY_PAIR | EC_FLAGS },
    generateKeyPair(backend, m, pub) {
      requireNoParameter(m);
      const params = readBytes(pub, C.CKA_EC_PARAMS);
      if (!params) throw new Pkcs11Error(C.CKR_TEMPLATE_INCOMPLETE, 'CKA_EC_PARAMS is required');
      const curve = curveForProfile(params, profile);
      const material = backend.generateEc(curve);
      if (material.d?.length !== curveRow(curve).orderBytes)
        throw new Pkcs11Error(C.CKR_FUNCTION_FAILED);
      return pairFrom(material);
    },
  };
}

/** One family per profile: the curves they offer differ (objects/profile.ts). */
export const EC_MECHANISMS: Mechanism[] = PROFILES.flatMap((profile) => [
  keyPairGen(profile),
  prehashedMechanism(profile),
  ...HASHED.map(([type, hash]) => hashedMechanism(type, hash, profile)),
]);
