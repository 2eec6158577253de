/**
 * MACs as sign/verify mechanisms: CKM_SHA*_HMAC and their _GENERAL forms (v2.40 mechanisms §2.20–2.25),
 * CKM_AES_CMAC and CKM_AES_CMAC_GENERAL (§2.14). corePKCS11 has CKM_SHA256_HMAC and CKM_AES_CMAC.
 * Layer L4.
 * @module
 */
import { readBytes } from '../attributes/values.js';
import type { Accumulator, CryptoBackend, HashName } from '../crypto/backend.js';
import { HASH_LENGTHS } from '../crypto/backend.js';
import { Pkcs11Error } from '../errors.js';
import { GENERIC_SECRET_KEY_TYPES } from '../objects/tables.js';
import * as C from '../pkcs11/constants.js';
import type { RawMechanism } from '../pkcs11/types.js';
import { requireNoParameter, ulongParameter } from './common.js';
import type { KeyRef, Mechanism, SignOperation, VerifyOperation } from './types.js';

function secretOf(key: KeyRef): Uint8Array {
  const v = readBytes(key.object.attrs, C.CKA_VALUE);
  if (!v || v.length === 0)
    throw new Pkcs11Error(C.CKR_KEY_HANDLE_INVALID, 'secret key without a value');
  return v;
}

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

function macMechanism(
  type: number,
  fullLength: number,
  general: boolean,
  keyTypes: readonly number[],
  open: (backend: CryptoBackend, key: Uint8Array) => Accumulator,
  keySizes: [number, number],
): Mechanism {
  const start = (backend: CryptoBackend, m: RawMechanism, key: KeyRef) => {
    const length = macLength(m, fullLength, general);
    return { length, acc: open(backend, secretOf(key)) };
  };
  return {
    type,
    keyTypes,
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

const HMACS: [number, number, HashName][] = [
  [C.CKM_SHA_1_HMAC, C.CKM_SHA_1_HMAC_GENERAL, 'sha1'],
  [C.CKM_SHA224_HMAC, C.CKM_SHA224_HMAC_GENERAL, 'sha224'],
  [C.CKM_SHA256_HMAC, C.CKM_SHA256_HMAC_GENERAL, 'sha256'],
  [C.CKM_SHA384_HMAC, C.CKM_SHA384_HMAC_GENERAL, 'sha384'],
  [C.CKM_SHA512_HMAC, C.CKM_SHA512_HMAC_GENERAL, 'sha512'],
];

export const MAC_MECHANISMS: Mechanism[] = [
  ...HMACS.flatMap(([plain, general, hash]) => {
    const open = (b: CryptoBackend, k: Uint8Array) => b.createHmac(hash, k);
    return [
      macMechanism(plain, HASH_LENGTHS[hash], false, GENERIC_SECRET_KEY_TYPES, open, [1, 4096]),
      macMechanism(general, HASH_LENGTHS[hash], true, GENERIC_SECRET_KEY_TYPES, open, [1, 4096]),
    ];
  }),
  macMechanism(C.CKM_AES_CMAC, 16, false, [C.CKK_AES], (b, k) => b.createCmac(k), [16, 32]),
  macMechanism(C.CKM_AES_CMAC_GENERAL, 16, true, [C.CKK_AES], (b, k) => b.createCmac(k), [16, 32]),
];
