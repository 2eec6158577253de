/**
 * The mechanism registry: the one place where a CKM_ value is looked up. C_GetMechanismList and
 * C_GetMechanismInfo read it; every operation resolves its mechanism here, for the token's profile
 * (an entry registered only for `compatible` does not exist on a `strict` token). Layer L4.
 * @module
 */
import { Pkcs11Error } from '../errors.js';
import { PROFILES, type Profile } from '../objects/profile.js';
import { CKM_NAMES, CKR_MECHANISM_INVALID } from '../pkcs11/constants.js';
import { AEAD_MECHANISMS } from './aead.js';
import { AES_MECHANISMS } from './aes.js';
import { DES_MECHANISMS } from './des.js';
import { DH_MECHANISMS } from './dh.js';
import { DIGEST_MECHANISMS } from './digest.js';
import { DSA_MECHANISMS } from './dsa.js';
import { EC_KEYGEN_MECHANISMS } from './ec-keygen.js';
import { ECDH_MECHANISMS } from './ecdh.js';
import { EC_MECHANISMS } from './ecdsa.js';
import { EDDSA_MECHANISMS } from './eddsa.js';
import { KDF_MECHANISMS } from './kdf.js';
import { MAC_MECHANISMS } from './mac.js';
import { RSA_MECHANISMS } from './rsa.js';
import { RSA_CIPHER_MECHANISMS } from './rsa-cipher.js';
import { SECRET_DERIVE_MECHANISMS } from './secret-derive.js';
import { SECRET_KEYGEN_MECHANISMS } from './secret-keygen.js';
import type { Mechanism } from './types.js';

/**
 * One entry per CKM_ value. A family file describes one capability set (RSA signing in rsa.ts, RSA
 * encryption in rsa-cipher.ts); entries of the same type are merged here, their flags OR-ed.
 */
function merge(a: Mechanism, b: Mechanism): Mechanism {
  return {
    ...a,
    ...b,
    keyTypes: [...new Set([...(a.keyTypes ?? []), ...(b.keyTypes ?? [])])],
    singlePart: a.singlePart === true && b.singlePart === true,
    info: {
      minKeySize: Math.min(a.info.minKeySize, b.info.minKeySize),
      maxKeySize: Math.max(a.info.maxKeySize, b.info.maxKeySize),
      flags: a.info.flags | b.info.flags,
    },
  };
}

const ALL: readonly Mechanism[] = [
  ...DIGEST_MECHANISMS,
  ...EC_KEYGEN_MECHANISMS,
  ...EC_MECHANISMS,
  ...EDDSA_MECHANISMS,
  ...DSA_MECHANISMS,
  ...DH_MECHANISMS,
  ...ECDH_MECHANISMS,
  ...RSA_MECHANISMS,
  ...RSA_CIPHER_MECHANISMS,
  ...MAC_MECHANISMS,
  ...AES_MECHANISMS,
  ...AEAD_MECHANISMS,
  ...DES_MECHANISMS,
  ...SECRET_KEYGEN_MECHANISMS,
  ...KDF_MECHANISMS,
  ...SECRET_DERIVE_MECHANISMS,
];

/** The entries a profile offers, merged per CKM_ value. */
export function buildRegistry(
  entries: readonly Mechanism[],
  profile: Profile,
): ReadonlyMap<number, Mechanism> {
  const map = new Map<number, Mechanism>();
  for (const m of entries) {
    if (m.profiles && !m.profiles.includes(profile)) continue;
    const have = map.get(m.type);
    map.set(m.type, have ? merge(have, m) : m);
  }
  return map;
}

const REGISTRIES = new Map(PROFILES.map((p) => [p, buildRegistry(ALL, p)]));

function registry(profile: Profile): ReadonlyMap<number, Mechanism> {
  return REGISTRIES.get(profile) as ReadonlyMap<number, Mechanism>;
}

/** The mechanism for a CKM_ value on a token of `profile`, or CKR_MECHANISM_INVALID. */
export function mechanism(type: number, profile: Profile): Mechanism {
  const m = registry(profile).get(type);
  if (!m) {
    const name = CKM_NAMES.get(type) ?? `0x${type.toString(16)}`;
    const other = PROFILES.find((p) => p !== profile && registry(p).has(type));
    throw new Pkcs11Error(
      CKR_MECHANISM_INVALID,
      other
        ? `${name} is offered only by tokens of the ${other} profile`
        : `${name} is not supported by this token`,
    );
  }
  return m;
}

/** Every mechanism type a token of `profile` supports, ascending. */
export function mechanismTypes(profile: Profile): number[] {
  return [...registry(profile).keys()].sort((a, b) => a - b);
}
