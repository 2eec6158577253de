/**
 * Secret-key generation: CKM_AES_KEY_GEN (§2.14) and CKM_GENERIC_SECRET_KEY_GEN (§2.36), the latter also
 * for the HMAC key types (CKK_SHA256_HMAC …) when the template names one. Layer L4.
 * @module
 */
import type { AttributeMap } from '../attributes/values.js';
import { readUlong } from '../attributes/values.js';
import { Pkcs11Error } from '../errors.js';
import { GENERIC_SECRET_KEY_TYPES } from '../objects/tables.js';
import * as C from '../pkcs11/constants.js';
import { encodeUlong } from '../util/bytes.js';
import { requireNoParameter } from './common.js';
import type { Mechanism } from './types.js';

function valueLength(template: AttributeMap, ok: (n: number) => boolean, what: string): number {
  const n = readUlong(template, C.CKA_VALUE_LEN);
  if (n === undefined)
    throw new Pkcs11Error(C.CKR_TEMPLATE_INCOMPLETE, 'CKA_VALUE_LEN is required');
  if (!ok(n)) throw new Pkcs11Error(C.CKR_ATTRIBUTE_VALUE_INVALID, `CKA_VALUE_LEN: ${what}`);
  return n;
}

export const SECRET_KEYGEN_MECHANISMS: Mechanism[] = [
  {
    type: C.CKM_AES_KEY_GEN,
    info: { minKeySize: 16, maxKeySize: 32, flags: C.CKF_GENERATE },
    generateKey(backend, m, template) {
      requireNoParameter(m);
      const n = valueLength(
        template,
        (x) => x === 16 || x === 24 || x === 32,
        'AES keys are 16, 24 or 32 bytes',
      );
      return {
        keyType: C.CKK_AES,
        computed: new Map([
          [C.CKA_VALUE, backend.randomBytes(n)],
          [C.CKA_VALUE_LEN, encodeUlong(n)],
        ]),
      };
    },
  },
  {
    type: C.CKM_GENERIC_SECRET_KEY_GEN,
    info: { minKeySize: 1, maxKeySize: 512, flags: C.CKF_GENERATE },
    generateKey(backend, m, template) {
      requireNoParameter(m);
      const n = valueLength(template, (x) => x >= 1 && x <= 512, '1..512 bytes');
      const keyType = readUlong(template, C.CKA_KEY_TYPE) ?? C.CKK_GENERIC_SECRET;
      if (!GENERIC_SECRET_KEY_TYPES.includes(keyType)) {
        throw new Pkcs11Error(
          C.CKR_TEMPLATE_INCONSISTENT,
          'CKA_KEY_TYPE must be a generic or HMAC key type',
        );
      }
      return {
        keyType,
        computed: new Map([
          [C.CKA_VALUE, backend.randomBytes(n)],
          [C.CKA_VALUE_LEN, encodeUlong(n)],
        ]),
      };
    },
  },
];
