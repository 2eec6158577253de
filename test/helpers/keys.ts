/**
 * Independent verification for token tests: turns public-key attributes read from the token into
 * node:crypto KeyObjects, so signatures are checked by OpenSSL rather than by the token itself.
 * @module
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import type { Handle, Template } from '../../src/api/convert.js';
import type { PKCS11 } from '../../src/api/pkcs11.js';
import * as C from '../../src/pkcs11/constants.js';
import {
  encodeOid,
  encodeSequence,
  encodeTlv,
  readSingle,
  TAG_BIT_STRING,
  TAG_OCTET_STRING,
} from '../../src/util/der.js';

/** The Edwards and Montgomery curves by CKA_EC_PARAMS (hex): JWK name and raw key size (RFC 8410). */
const OKP_CURVES: Record<string, { crv: string; size: number }> = {
  '06032b6570': { crv: 'Ed25519', size: 32 },
  '06032b6571': { crv: 'Ed448', size: 57 },
  '06032b656e': { crv: 'X25519', size: 32 },
  '06032b656f': { crv: 'X448', size: 56 },
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

/** A key pair's handles, as C_GenerateKeyPair returns them. */
export interface KeyPairHandles {
  publicKey: Handle;
  privateKey: Handle;
}

/** Attributes a generated pair's templates add to what the key type needs. */
export interface PairTemplates {
  public?: Template;
  private?: Template;
}

/** An EC key pair made on the token: CKM_EC_KEY_PAIR_GEN on `curve`. */
export function ecPair(
  p11: PKCS11,
  s: Handle,
  curve: keyof typeof EC_PARAMS,
  t: PairTemplates = {},
): KeyPairHandles {
  return p11.C_GenerateKeyPair(
    s,
    { mechanism: C.CKM_EC_KEY_PAIR_GEN },
    [{ type: C.CKA_EC_PARAMS, value: EC_PARAMS[curve] }, ...(t.public ?? [])],
    t.private ?? [],
  );
}

/** An RSA key pair made on the token: CKM_RSA_PKCS_KEY_PAIR_GEN of `bits`. */
export function rsaPair(
  p11: PKCS11,
  s: Handle,
  bits: number,
  t: PairTemplates = {},
): KeyPairHandles {
  return p11.C_GenerateKeyPair(
    s,
    { mechanism: C.CKM_RSA_PKCS_KEY_PAIR_GEN },
    [{ type: C.CKA_MODULUS_BITS, value: bits }, ...(t.public ?? [])],
    t.private ?? [],
  );
}

/** The uncompressed point 04‖x‖y of a node:crypto EC public key (P-256, P-384, P-521). */
export function ecPointOf(key: KeyObject): Buffer {
  const jwk = key.export({ format: 'jwk' });
  return Buffer.concat([
    Buffer.from([0x04]),
    Buffer.from(jwk.x as string, 'base64url'),
    Buffer.from(jwk.y as string, 'base64url'),
  ]);
}

/** A CKO_PUBLIC_KEY of `curve` on the token with the CKA_EC_POINT given (raw or DER, as the test wants). */
export function ecPublicObject(
  p11: PKCS11,
  s: Handle,
  curve: keyof typeof EC_PARAMS,
  ecPoint: Buffer,
): Handle {
  return p11.C_CreateObject(s, [
    { type: C.CKA_CLASS, value: C.CKO_PUBLIC_KEY },
    { type: C.CKA_KEY_TYPE, value: C.CKK_EC },
    { type: C.CKA_EC_PARAMS, value: EC_PARAMS[curve] },
    { type: C.CKA_EC_POINT, value: ecPoint },
  ]);
}

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
  const okp = OKP_CURVES[attr(p11, s, pub, C.CKA_EC_PARAMS).toString('hex')];
  if (okp) {
    const der = attr(p11, s, pub, C.CKA_EC_POINT);
    const x = der.subarray(der.length - okp.size).toString('base64url');
    return createPublicKey({ key: { kty: 'OKP', crv: okp.crv, x }, format: 'jwk' });
  }
  return createPublicKey({
    key: Buffer.from(ecSpki(attr(p11, s, pub, C.CKA_EC_PARAMS), attr(p11, s, pub, C.CKA_EC_POINT))),
    format: 'der',
    type: 'spki',
  });
}

/**
 * The SubjectPublicKeyInfo (RFC 5480) of an EC key from its CKA_EC_PARAMS (the named curve's OID, or
 * explicit parameters) and CKA_EC_POINT (DER OCTET STRING or raw), for node:crypto to verify with.
 */
export function ecSpki(ecParams: Uint8Array, ecPoint: Uint8Array): Uint8Array {
  let point = ecPoint;
  try {
    const inner = readSingle(ecPoint, TAG_OCTET_STRING).value;
    if (inner[0] === 0x04) point = inner;
  } catch {
    // a raw 04‖X‖Y
  }
  return encodeSequence(
    encodeSequence(encodeOid('1.2.840.10045.2.1'), ecParams),
    encodeTlv(TAG_BIT_STRING, Uint8Array.of(0, ...point)),
  );
}
