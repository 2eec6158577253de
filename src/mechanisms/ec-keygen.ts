/**
 * Key-pair generation on the curve table: CKM_EC_KEY_PAIR_GEN (v2.40 mechanisms §2.3.6, Weierstrass
 * curves), CKM_EC_EDWARDS_KEY_PAIR_GEN and CKM_EC_MONTGOMERY_KEY_PAIR_GEN (PKCS#11 3.0 mechanisms
 * §2.3.7–2.3.8). The public template's CKA_EC_PARAMS names the curve, which must be of the mechanism's
 * family. Layer L4.
 * @module
 */
import { readBytes } from '../attributes/values.js';
import { type Curve, curve as curveRow, keySizes } from '../crypto/curves.js';
import { Pkcs11Error } from '../errors.js';
import { curveForProfile, curveOf } from '../objects/ec-params.js';
import { ecParamsOf, encodeEcPoint } from '../objects/key-material.js';
import { PROFILE_LIMITS, PROFILES, type Profile } from '../objects/profile.js';
import * as C from '../pkcs11/constants.js';
import { requireNoParameter } from './common.js';
import type { Mechanism } from './types.js';

/**
 * CKF_EC_* of the Weierstrass mechanisms: prime fields; curves named by OID or name, or given as explicit
 * parameters (objects/ec-params.ts); uncompressed points.
 */
export const EC_FLAGS = C.CKF_EC_F_P | C.CKF_EC_OID | C.CKF_EC_ECPARAMETERS | C.CKF_EC_UNCOMPRESS;

/** CK_MECHANISM_INFO key sizes of the Weierstrass curves a token of `profile` offers. */
export const ecSizes = (profile: Profile) =>
  keySizes('weierstrass', PROFILE_LIMITS[profile].minCurveBits);
/** Edwards and Montgomery curves: also named by PrintableString (PKCS#11 3.0 §2.3.7, CKF_EC_CURVENAME). */
export const OKP_FLAGS = C.CKF_EC_F_P | C.CKF_EC_OID | C.CKF_EC_CURVENAME;

/** A key-pair generator of a curve family; `profile` limits the Weierstrass curves (strict: 224 bits up). */
function ecKeyPairGen(
  type: number,
  family: Curve['family'],
  keyPairType: number,
  flags: number,
  profile?: Profile,
): Mechanism {
  return {
    type,
    keyPairType,
    ...(profile ? { profiles: [profile] } : {}),
    info: {
      ...(profile ? ecSizes(profile) : keySizes(family)),
      flags: C.CKF_GENERATE_KEY_PAIR | flags,
    },
    generateKeyPair(backend, m, pub) {
      requireNoParameter(m);
      const params = readBytes(pub, C.CKA_EC_PARAMS);
      if (!params) throw new Pkcs11Error(C.CKR_TEMPLATE_INCOMPLETE, 'CKA_EC_PARAMS is required');
      const curve = profile ? curveForProfile(params, profile) : curveOf(params, family);
      if (curveRow(curve).family !== family)
        throw new Pkcs11Error(C.CKR_CURVE_NOT_SUPPORTED, `${curve} is not a ${family} curve`);
      const material = backend.generateEc(curve);
      if (material.d?.length !== curveRow(curve).orderBytes)
        throw new Pkcs11Error(C.CKR_FUNCTION_FAILED, 'the backend made a key of the wrong size');
      const ecParams = ecParamsOf(curve);
      return {
        publicClass: C.CKO_PUBLIC_KEY,
        privateClass: C.CKO_PRIVATE_KEY,
        keyType: keyPairType,
        publicComputed: new Map([
          [C.CKA_EC_PARAMS, ecParams],
          [C.CKA_EC_POINT, encodeEcPoint(material.point)],
        ]),
        privateComputed: new Map([
          [C.CKA_EC_PARAMS, ecParams],
          [C.CKA_VALUE, material.d],
        ]),
      };
    },
  };
}

export const EC_KEYGEN_MECHANISMS: Mechanism[] = [
  ...PROFILES.map((profile) =>
    ecKeyPairGen(C.CKM_EC_KEY_PAIR_GEN, 'weierstrass', C.CKK_EC, EC_FLAGS, profile),
  ),
  ecKeyPairGen(C.CKM_EC_EDWARDS_KEY_PAIR_GEN, 'edwards', C.CKK_EC_EDWARDS, OKP_FLAGS),
  ecKeyPairGen(C.CKM_EC_MONTGOMERY_KEY_PAIR_GEN, 'montgomery', C.CKK_EC_MONTGOMERY, OKP_FLAGS),
];
