/**
 * Encryption at rest of private objects' secrets (security goal S5). Each secret attribute of an object
 * with CKA_PRIVATE true is sealed with AES-256-GCM under a per-object key, HKDF-SHA256(token key, object
 * id), with the object id and the attribute type as associated data: a blob copied to another object,
 * attribute or token does not open. Objects with CKA_PRIVATE false are usable without login, so no
 * PIN-derived key can protect them; their values are stored as given. Layer L5.
 * @module
 */
import type { AttributeMap } from '../attributes/values.js';
import type { CryptoBackend } from '../crypto/backend.js';
import { Pkcs11Error } from '../errors.js';
import * as C from '../pkcs11/constants.js';
import type { StoredAttribute } from '../storage/record.js';
import { utf8 } from '../util/bytes.js';

/** The attributes whose values are sealed on private objects. */
export const SEALED_TYPES: ReadonlySet<number> = new Set([
  C.CKA_VALUE,
  C.CKA_PRIVATE_EXPONENT,
  C.CKA_PRIME_1,
  C.CKA_PRIME_2,
  C.CKA_EXPONENT_1,
  C.CKA_EXPONENT_2,
  C.CKA_COEFFICIENT,
]);

function objectKey(crypto: CryptoBackend, tokenKey: Uint8Array, id: number): Uint8Array {
  return crypto.hkdf(tokenKey, new Uint8Array(0), utf8(`corepkcs11 object ${id.toString(16)}`), 32);
}

function aad(id: number, type: number): Uint8Array {
  const out = new Uint8Array(16);
  const dv = new DataView(out.buffer);
  out.set(utf8('cp11'));
  dv.setUint32(4, Math.floor(id / 2 ** 32));
  dv.setUint32(8, id >>> 0);
  dv.setUint32(12, type >>> 0);
  return out;
}

/** The stored form of an object's attributes, secrets sealed when the object is private. */
export function sealAttributes(
  crypto: CryptoBackend,
  tokenKey: Uint8Array | undefined,
  id: number,
  attrs: AttributeMap,
  isPrivate: boolean,
): StoredAttribute[] {
  const needs = isPrivate && [...attrs.keys()].some((t) => SEALED_TYPES.has(t));
  if (needs && !tokenKey) {
    throw new Pkcs11Error(
      C.CKR_USER_NOT_LOGGED_IN,
      'the token key is locked: log in to store private secrets',
    );
  }
  const key = needs ? objectKey(crypto, tokenKey as Uint8Array, id) : undefined;
  const out: StoredAttribute[] = [];
  for (const [type, value] of attrs) {
    if (key && SEALED_TYPES.has(type) && !Array.isArray(value)) {
      out.push({ type, value: crypto.seal(key, value, aad(id, type)), sealed: true });
    } else {
      out.push({ type, value });
    }
  }
  key?.fill(0);
  return out;
}

/** Opens sealed values; throws CKR_DEVICE_ERROR when a blob does not belong to this object. */
export function unsealAttributes(
  crypto: CryptoBackend,
  tokenKey: Uint8Array,
  id: number,
  sealed: ReadonlyMap<number, Uint8Array>,
): AttributeMap {
  const key = objectKey(crypto, tokenKey, id);
  const out: AttributeMap = new Map();
  try {
    for (const [type, blob] of sealed) {
      const plain = crypto.open(key, blob, aad(id, type));
      if (!plain) {
        throw new Pkcs11Error(
          C.CKR_DEVICE_ERROR,
          `object ${id.toString(16)}: sealed attribute 0x${type.toString(16)} does not open (tampered, or from another object or token)`,
        );
      }
      out.set(type, plain);
    }
  } finally {
    key.fill(0);
  }
  return out;
}
