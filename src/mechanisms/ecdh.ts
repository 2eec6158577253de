/**
 * CKM_ECDH1_DERIVE (v2.40 mechanisms §2.3.12): a secret key from an EC private key and the other party's
 * public point, with the null KDF or the ANSI X9.63 SHA-1/SHA-2 KDFs. Layer L4.
 * @module
 */
import { readUlong } from '../attributes/values.js';
import type { CryptoBackend, HashName } from '../crypto/backend.js';
import { HASH_LENGTHS } from '../crypto/backend.js';
import { curve as curveRow } from '../crypto/curves.js';
import { Pkcs11Error } from '../errors.js';
import { decodeEcPoint } from '../objects/key-material.js';
import { PROFILES } from '../objects/profile.js';
import { GENERIC_SECRET_KEY_TYPES } from '../objects/tables.js';
import * as C from '../pkcs11/constants.js';
import type { Ecdh1DeriveParams, RawMechanism } from '../pkcs11/types.js';
import { encodeUlong } from '../util/bytes.js';
import { EC_FLAGS, ecSizes } from './ecdsa.js';
import type { Mechanism } from './types.js';

const KDF_HASH: ReadonlyMap<number, HashName> = new Map([
  [C.CKD_SHA1_KDF, 'sha1'],
  [C.CKD_SHA224_KDF, 'sha224'],
  [C.CKD_SHA256_KDF, 'sha256'],
  [C.CKD_SHA384_KDF, 'sha384'],
  [C.CKD_SHA512_KDF, 'sha512'],
]);

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
  if (p.kdf !== C.CKD_NULL && !KDF_HASH.has(p.kdf as number)) {
    throw new Pkcs11Error(C.CKR_MECHANISM_PARAM_INVALID, 'unsupported KDF');
  }
  if (p.kdf === C.CKD_NULL && p.sharedData && p.sharedData.length > 0) {
    throw new Pkcs11Error(C.CKR_MECHANISM_PARAM_INVALID, 'CKD_NULL takes no shared data');
  }
  return p as Ecdh1DeriveParams;
}

/** ANSI X9.63 KDF: Hash(Z ‖ counter ‖ sharedInfo) for counter = 1, 2, … */
function x963(
  backend: CryptoBackend,
  hash: HashName,
  z: Uint8Array,
  info: Uint8Array,
  length: number,
): Uint8Array {
  const out = new Uint8Array(length);
  for (let counter = 1, off = 0; off < length; counter++, off += HASH_LENGTHS[hash]) {
    const h = backend.createHash(hash);
    h.update(z);
    h.update(
      Uint8Array.of(
        counter >>> 24,
        (counter >>> 16) & 0xff,
        (counter >>> 8) & 0xff,
        counter & 0xff,
      ),
    );
    h.update(info);
    out.set(h.finish().subarray(0, Math.min(HASH_LENGTHS[hash], length - off)), off);
  }
  return out;
}

export const ECDH_MECHANISMS: Mechanism[] = PROFILES.map((profile) => ({
  type: C.CKM_ECDH1_DERIVE,
  profiles: [profile],
  keyTypes: [C.CKK_EC],
  info: { ...ecSizes(profile), flags: C.CKF_DERIVE | EC_FLAGS },
  derive(backend, m, base, template) {
    const p = params(m);
    const handle = base.handle();
    const curve = handle.curve;
    if (curve === undefined) throw new Pkcs11Error(C.CKR_KEY_TYPE_INCONSISTENT, 'not an EC key');
    const peer = decodeEcPoint(p.publicData, curve);
    const z = backend.ecdh(handle, peer);
    const keyType = readUlong(template, C.CKA_KEY_TYPE) ?? C.CKK_GENERIC_SECRET;
    if (keyType !== C.CKK_AES && !GENERIC_SECRET_KEY_TYPES.includes(keyType)) {
      throw new Pkcs11Error(C.CKR_TEMPLATE_INCONSISTENT, 'ECDH derives AES or generic secret keys');
    }
    const length =
      readUlong(template, C.CKA_VALUE_LEN) ??
      (keyType === C.CKK_AES ? 32 : curveRow(curve).fieldBytes);
    if (keyType === C.CKK_AES && ![16, 24, 32].includes(length)) {
      throw new Pkcs11Error(
        C.CKR_ATTRIBUTE_VALUE_INVALID,
        'CKA_VALUE_LEN: AES keys are 16, 24 or 32 bytes',
      );
    }
    const hash = KDF_HASH.get(p.kdf);
    if (!hash && length > z.length) {
      throw new Pkcs11Error(
        C.CKR_ATTRIBUTE_VALUE_INVALID,
        `CKD_NULL gives at most ${z.length} bytes`,
      );
    }
    if (length < 1 || length > 512)
      throw new Pkcs11Error(C.CKR_ATTRIBUTE_VALUE_INVALID, 'CKA_VALUE_LEN: 1..512');
    // CKD_NULL: the leftmost bytes of Z (as SoftHSMv2 and OpenSSL-based tokens do)
    const value = hash
      ? x963(backend, hash, z, p.sharedData ?? new Uint8Array(0), length)
      : z.slice(0, length);
    z.fill(0);
    return {
      keyType,
      computed: new Map([
        [C.CKA_VALUE, value],
        [C.CKA_VALUE_LEN, encodeUlong(length)],
      ]),
    };
  },
}));
