/**
 * MACs as sign/verify mechanisms: an HMAC and its _GENERAL form for every row of hashes.ts (v2.40
 * mechanisms §2.20–2.25, 3.0 §2.27), CKM_AES_CMAC and CKM_AES_CMAC_GENERAL (§2.14). corePKCS11 has
 * CKM_SHA256_HMAC and CKM_AES_CMAC. Layer L4.
 * @module
 */
import type { Accumulator, CryptoBackend } from '../crypto/backend.js';
import { HASH_LENGTHS } from '../crypto/backend.js';
import { Pkcs11Error } from '../errors.js';
import type { Profile } from '../objects/profile.js';
import { HMAC_KEY_TYPES } from '../objects/secret-keys.js';
import * as C from '../pkcs11/constants.js';
import type { RawMechanism } from '../pkcs11/types.js';
import { requireNoParameter, secretKeyOf, ulongParameter } from './common.js';
import { HASHES, rowProfiles } from './hashes.js';
import type { KeyRef, Mechanism, SignOperation, VerifyOperation } from './types.js';

/** The MAC length: the full output, or the CK_MAC_GENERAL_PARAMS length of a _GENERAL mechanism. */
function macLength(m: RawMechanism, full: number, general: boolean): number {
  if (!general) {
    requireNoParameter(m);
    return full;
  }
  const what = `MAC length must be 1..${full}`;
  const n = ulongParameter(m, what);
  if (n < 1 || n > full) {
    throw new Pkcs11Error(C.CKR_MECHANISM_PARAM_INVALID, what);
  }
  return n;
}

export interface MacSpec {
  type: number;
  /** The full MAC length in bytes. */
  length: number;
  /** A _GENERAL mechanism: the parameter (CK_MAC_GENERAL_PARAMS) asks for a shorter MAC. */
  general: boolean;
  keyTypes: readonly number[];
  /** The running MAC over a key's value. */
  open: (backend: CryptoBackend, key: Uint8Array) => Accumulator;
  keySizes: [number, number];
  profiles?: readonly Profile[];
}

/** A MAC as a sign/verify mechanism (verification compares in constant time). */
export function macMechanism(spec: MacSpec): Mechanism {
  const { type, length: fullLength, general, keyTypes, open, keySizes } = spec;
  const start = (backend: CryptoBackend, m: RawMechanism, key: KeyRef) => {
    const length = macLength(m, fullLength, general);
    return { length, acc: open(backend, secretKeyOf(key)) };
  };
  return {
    type,
    keyTypes,
    ...(spec.profiles ? { profiles: spec.profiles } : {}),
    info: { minKeySize: keySizes[0], maxKeySize: keySizes[1], flags: C.CKF_SIGN | C.CKF_VERIFY },
    sign(backend, m, key): SignOperation {
      const { length, acc } = start(backend, m, key);
      const finish = () => acc.finish().slice(0, length);
      return { length, update: (d) => acc.update(d), finish, finishAsync: async () => finish() };
    },
    verify(backend, m, key): VerifyOperation {
      const { length, acc } = start(backend, m, key);
      return {
        update: (d) => acc.update(d),
        finish(sig) {
          if (sig.length !== length) {
            throw new Pkcs11Error(C.CKR_SIGNATURE_LEN_RANGE, `MAC must be ${length} bytes`);
          }
          return backend.timingSafeEqual(acc.finish().subarray(0, length), sig);
        },
      };
    },
  };
}

const cmac = (b: CryptoBackend, k: Uint8Array) => b.createCmac(k);

export const MAC_MECHANISMS: Mechanism[] = [
  ...HASHES.flatMap((row) => {
    const hash = row.hash;
    const hmac = {
      length: HASH_LENGTHS[hash],
      keyTypes: HMAC_KEY_TYPES,
      open: (b: CryptoBackend, k: Uint8Array) => b.createHmac(hash, k),
      keySizes: [1, 4096] as [number, number],
      ...rowProfiles(row),
    };
    return [
      macMechanism({ ...hmac, type: row.hmac[0], general: false }),
      macMechanism({ ...hmac, type: row.hmac[1], general: true }),
    ];
  }),
  ...[false, true].map((general) =>
    macMechanism({
      type: general ? C.CKM_AES_CMAC_GENERAL : C.CKM_AES_CMAC,
      length: 16,
      general,
      keyTypes: [C.CKK_AES],
      open: cmac,
      keySizes: [16, 32],
    }),
  ),
];
