/**
 * Independent verification for token tests: turns public-key attributes read from the token into
 * node:crypto KeyObjects, so signatures are checked by OpenSSL rather than by the token itself.
 * @module
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import type { Handle } from '../../src/api/convert.js';
import type { PKCS11 } from '../../src/api/pkcs11.js';
import * as C from '../../src/pkcs11/constants.js';

const CURVES: Record<string, { crv: string; size: number }> = {
  '06082a8648ce3d030107': { crv: 'P-256', size: 32 },
  '06052b81040022': { crv: 'P-384', size: 48 },
  '06052b81040023': { crv: 'P-521', size: 66 },
};

export const EC_PARAMS = {
  'P-256': Buffer.from('06082a8648ce3d030107', 'hex'),
  'P-384': Buffer.from('06052b81040022', 'hex'),
  'P-521': Buffer.from('06052b81040023', 'hex'),
} as const;

function attr(p11: PKCS11, s: Handle, o: Handle, type: number): Buffer {
  const [a] = p11.C_GetAttributeValue(s, o, [{ type }]);
  return a?.value as Buffer;
}

/** The node:crypto public key of a token public-key object. */
export function publicKeyOf(p11: PKCS11, s: Handle, pub: Handle): KeyObject {
  const keyType = attr(p11, s, pub, C.CKA_KEY_TYPE).readUInt32LE(0);
  if (keyType === C.CKK_RSA) {
    const n = attr(p11, s, pub, C.CKA_MODULUS).toString('base64url');
    const e = attr(p11, s, pub, C.CKA_PUBLIC_EXPONENT).toString('base64url');
    return createPublicKey({ key: { kty: 'RSA', n, e }, format: 'jwk' });
  }
  const curve = CURVES[attr(p11, s, pub, C.CKA_EC_PARAMS).toString('hex')];
  if (!curve) throw new Error('unknown curve');
  const der = attr(p11, s, pub, C.CKA_EC_POINT);
  const point = der.subarray(der.length - (2 * curve.size + 1));
  return createPublicKey({
    key: {
      kty: 'EC',
      crv: curve.crv,
      x: point.subarray(1, 1 + curve.size).toString('base64url'),
      y: point.subarray(1 + curve.size).toString('base64url'),
    },
    format: 'jwk',
  });
}
