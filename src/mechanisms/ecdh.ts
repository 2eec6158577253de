/**
 * CKM_ECDH1_DERIVE (v2.40 mechanisms §2.3.12): a secret key from an EC private key and the other party's
 * public point, with the null KDF or the ANSI X9.63 KDFs (SHA-1, SHA-2, SHA-3: hashes.ts). On CKK_EC keys Z is the
 * x-coordinate of d·Q; on CKK_EC_MONTGOMERY keys (PKCS#11 3.0 §2.3.8) it is X25519 / X448 (RFC 7748 §6)
 * of the peer's public key. Layer L4.
 * @module
 */
import type { AttributeMap } from '../attributes/values.js';
import type { CryptoBackend } from '../crypto/backend.js';
import { counterHash } from '../crypto/counter-hash.js';
import { curve as curveRow, keySizes } from '../crypto/curves.js';
import { Pkcs11Error } from '../errors.js';
import { decodeEcPoint } from '../objects/key-material.js';
import { PROFILES } from '../objects/profile.js';
import { GENERIC_SECRET_KEY_TYPES } from '../objects/secret-keys.js';
import * as C from '../pkcs11/constants.js';
import type { Ecdh1DeriveParams, RawMechanism } from '../pkcs11/types.js';
import { EC_FLAGS, ecSizes, OKP_FLAGS } from './ec-keygen.js';
import { HASH_OF_KDF } from './hashes.js';
import { secretShape } from './secret-keygen.js';
import type { GeneratedKey, KeyRef, Mechanism } from './types.js';

function params(m: RawMechanism): Ecdh1DeriveParams {
  const p = m.parameter as Partial<Ecdh1DeriveParams> | undefined;
  if (
    typeof p !== 'object' ||
    p === null ||
    p instanceof Uint8Array ||
    !(p.publicData instanceof Uint8Array)
  ) {
    throw new Pkcs11Error(C.CKR_MECHANISM_PARAM_INVALID, 'CK_ECDH1_DERIVE_PARAMS required');
  }
  if (p.kdf !== C.CKD_NULL && !HASH_OF_KDF.has(p.kdf as number)) {
    throw new Pkcs11Error(C.CKR_MECHANISM_PARAM_INVALID, 'unsupported KDF');
  }
  if (p.kdf === C.CKD_NULL && p.sharedData && p.sharedData.length > 0) {
    throw new Pkcs11Error(C.CKR_MECHANISM_PARAM_INVALID, 'CKD_NULL takes no shared data');
  }
  return p as Ecdh1DeriveParams;
}

/** What ECDH makes: AES keys and generic secrets. */
const DERIVED_KEY_TYPES = [C.CKK_AES, ...GENERIC_SECRET_KEY_TYPES];

function derive(
  backend: CryptoBackend,
  m: RawMechanism,
  base: KeyRef,
  template: AttributeMap,
): GeneratedKey {
  const p = params(m);
  const handle = base.handle();
  const curve = handle.curve;
  if (curve === undefined) throw new Pkcs11Error(C.CKR_KEY_TYPE_INCONSISTENT, 'not an EC key');
  const peer = decodeEcPoint(p.publicData, curve);
  // A point off the curve (or, on X25519/X448, of small order): CKR_MECHANISM_PARAM_INVALID (adapter).
  const z = backend.ecdh(handle, peer);
  const hash = HASH_OF_KDF.get(p.kdf);
  // ECDH derives AES or generic secrets; AES keys are 32 bytes, the others Z's size, unless asked.
  const shape = secretShape(template, {
    defaultKeyType: C.CKK_GENERIC_SECRET,
    defaultLength: (keyType) => (keyType === C.CKK_AES ? 32 : curveRow(curve).fieldBytes),
    allowed: DERIVED_KEY_TYPES,
  });
  const length = shape.length;
  if (!hash && length > z.length) {
    throw new Pkcs11Error(
      C.CKR_ATTRIBUTE_VALUE_INVALID,
      `CKD_NULL gives at most ${z.length} bytes`,
    );
  }
  // CKD_NULL: the leftmost bytes of Z (as SoftHSMv2 and OpenSSL-based tokens do)
  const value = hash
    ? counterHash((h) => backend.createHash(h), hash, z, 1, length, p.sharedData ?? undefined) // X9.63
    : z.slice(0, length);
  z.fill(0);
  return shape.made(value);
}

/**
 * One entry per key type (and, for CKK_EC, per profile: the curves differ), merged by the registry: the
 * union of their key types and size ranges.
 */
export const ECDH_MECHANISMS: Mechanism[] = [
  ...PROFILES.map((profile) => ({
    type: C.CKM_ECDH1_DERIVE,
    profiles: [profile],
    keyTypes: [C.CKK_EC],
    info: { ...ecSizes(profile), flags: C.CKF_DERIVE | EC_FLAGS },
    derive,
  })),
  {
    type: C.CKM_ECDH1_DERIVE,
    keyTypes: [C.CKK_EC_MONTGOMERY],
    info: { ...keySizes('montgomery'), flags: C.CKF_DERIVE | OKP_FLAGS },
    derive,
  },
];
