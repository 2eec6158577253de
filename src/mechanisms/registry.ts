/**
 * The mechanism registry: the one place where a CKM_ value is looked up. C_GetMechanismList and
 * C_GetMechanismInfo read it; every operation resolves its mechanism here. Layer L4.
 * @module
 */
import { Pkcs11Error } from '../errors.js';
import { CKM_NAMES, CKR_MECHANISM_INVALID } from '../pkcs11/constants.js';
import { DIGEST_MECHANISMS } from './digest.js';
import { EC_MECHANISMS } from './ecdsa.js';
import { MAC_MECHANISMS } from './mac.js';
import { RSA_MECHANISMS } from './rsa.js';
import { SECRET_KEYGEN_MECHANISMS } from './secret-keygen.js';
import type { Mechanism } from './types.js';

const REGISTRY: ReadonlyMap<number, Mechanism> = new Map(
  [
    ...DIGEST_MECHANISMS,
    ...EC_MECHANISMS,
    ...RSA_MECHANISMS,
    ...MAC_MECHANISMS,
    ...SECRET_KEYGEN_MECHANISMS,
  ].map((m) => [m.type, m]),
);

/** The mechanism for a CKM_ value, or CKR_MECHANISM_INVALID. */
export function mechanism(type: number): Mechanism {
  const m = REGISTRY.get(type);
  if (!m) {
    const name = CKM_NAMES.get(type) ?? `0x${type.toString(16)}`;
    throw new Pkcs11Error(CKR_MECHANISM_INVALID, `${name} is not supported by this token`);
  }
  return m;
}

/** Every supported mechanism type, ascending. */
export function mechanismTypes(): number[] {
  return [...REGISTRY.keys()].sort((a, b) => a - b);
}
