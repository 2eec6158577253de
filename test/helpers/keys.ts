/**
 * Independent verification for token tests: turns public-key attributes read from the token into
 * node:crypto KeyObjects, so signatures are checked by OpenSSL rather than by the token itself.
 * @module
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import type { Handle } from '../../src/api/convert.js';
import type { PKCS11 } from '../../src/api/pkcs11.js';
import * as C from '../../src/pkcs11/constants.js';

const CURVES: Record<string, { crv: string; size: number; okp?: true }> = {
  '06082a8648ce3d030107': { crv: 'P-256', size: 32 },
  '06052b81040022': { crv: 'P-384', size: 48 },
  '06052b81040023': { crv: 'P-521', size: 66 },
  '06032b6570': { crv: 'Ed25519', size: 32, okp: true },
  '06032b6571': { crv: 'Ed448', size: 57, okp: true },
  '06032b656e': { crv: 'X25519', size: 32, okp: true },
  '06032b656f': { crv: 'X448', size: 56, okp: true },
};

/** CKA_EC_PARAMS of the ECDSA curves: namedCurve OIDs (RFC 5480), written out here, not taken from src. */
export const EC_PARAMS = {
  'P-256': Buffer.from('06082a8648ce3d030107', 'hex'),
  'P-384': Buffer.from('06052b81040022', 'hex'),
  'P-521': Buffer.from('06052b81040023', 'hex'),
} as const;

/** CKA_EC_PARAMS of the Edwards and Montgomery curves: the OIDs of RFC 8410 §3. */
export const OKP_PARAMS = {
  Ed25519: Buffer.from('06032b6570', 'hex'),
  Ed448: Buffer.from('06032b6571', 'hex'),
  X25519: Buffer.from('06032b656e', 'hex'),
  X448: Buffer.from('06032b656f', 'hex'),
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
  if (curve.okp) {
    const x = der.subarray(der.length - curve.size).toString('base64url');
    return createPublicKey({ key: { kty: 'OKP', crv: curve.crv, x }, format: 'jwk' });
  }
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
