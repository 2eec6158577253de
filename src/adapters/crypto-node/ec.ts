/**
 * EC keys over node:crypto: import (with on-curve and d·G consistency checks), generation, and ECDSA.
 * Hashed ECDSA uses crypto.sign directly; ECDSA over a caller's digest goes through the prehashed signer.
 * @module
 */
import {
  createECDH,
  createHash,
  createPrivateKey,
  createPublicKey,
  ECDH,
  type KeyObject,
  verify,
} from 'node:crypto';
import type { CurveName, EcMaterial, HashName, KeyHandle } from '../../crypto/backend.js';
import { curve as curveRow } from '../../crypto/curves.js';
import {
  CKR_ATTRIBUTE_VALUE_INVALID,
  CKR_MECHANISM_PARAM_INVALID,
} from '../../pkcs11/constants.js';
import { concat, leftPad } from '../../util/bytes.js';
import {
  encodeOid,
  encodePrivateKeyInfo,
  encodeSequence,
  encodeSubjectPublicKeyInfo,
  encodeTlv,
  encodeUnsignedInteger,
  TAG_BIT_STRING,
  TAG_OCTET_STRING,
} from '../../util/der.js';
import { createEcdsaKey, type EcdsaKey } from './ecdsa/index.js';
import { onInput, refused } from './input.js';
import { toBase64Url } from './rsa-math.js';

const INVALID = CKR_ATTRIBUTE_VALUE_INVALID;

export class EcKey implements KeyHandle {
  readonly kind = 'ec';
  readonly isPrivate: boolean;
  readonly bits: number;
  readonly curve: CurveName;
  readonly point: Uint8Array;
  readonly #d: Uint8Array | undefined;
  #object: KeyObject | undefined;
  #prehashed: EcdsaKey | undefined;

  constructor(m: EcMaterial) {
    const c = curveRow(m.curve);
    const size = c.fieldBytes;
    if (m.point.length !== 2 * size + 1 || m.point[0] !== 0x04) {
      throw refused(INVALID, `EC point must be uncompressed (04‖X‖Y, ${2 * size + 1} bytes)`);
    }
    if (m.d) {
      if (m.d.length > c.orderBytes) throw refused(INVALID, 'EC private scalar too long');
      const derived = ecPublicPoint(m.curve, m.d);
      if (Buffer.compare(derived, m.point) !== 0)
        throw refused(INVALID, 'EC point does not match the private key');
    } else {
      // OpenSSL's point decoding rejects points that are not on the curve.
      onInput(INVALID, `the point is not on ${c.name}`, () =>
        ECDH.convertKey(m.point, c.openssl, undefined, undefined, 'uncompressed'),
      );
    }
    this.curve = m.curve;
    this.point = m.point;
    this.#d = m.d;
    this.isPrivate = m.d !== undefined;
    this.bits = c.orderBits;
  }

  /** The node:crypto KeyObject (built on first use: only hashed ECDSA needs it). */
  get object(): KeyObject {
    this.#object ??= keyObjectOf(this.curve, this.point, this.#d);
    return this.#object;
  }

  /** ECDH with this (private) key. */
  ecdh(peer: Uint8Array): Uint8Array {
    if (!this.#d) throw new Error('ECDH needs a private key');
    return ecdhSecret(this, this.#d, peer);
  }

  /** The CKM_ECDSA signer over a caller's digest (ecdsa/ecdsa-key.ts), built on first use. */
  get prehashed(): EcdsaKey {
    this.#prehashed ??= createEcdsaKey(this.curve, { d: this.#d, point: this.point });
    return this.#prehashed;
  }

  /** Hash here, then the prehashed signer: faster than crypto.sign, which rebuilds its context per call. */
  signHashed(hash: HashName, data: Uint8Array): Uint8Array {
    return this.prehashed.sign(new Uint8Array(createHash(hash).update(data).digest()));
  }

  /** With d, hash here and check with the prehashed verifier (two fixed-base products, ~1.5x crypto.verify). */
  verifyHashed(hash: HashName, data: Uint8Array, sig: Uint8Array): boolean {
    if (sig.length !== 2 * curveRow(this.curve).orderBytes) return false;
    if (this.#d) {
      return this.prehashed.verify(new Uint8Array(createHash(hash).update(data).digest()), sig);
    }
    return verify(hash, data, { key: this.object, dsaEncoding: 'ieee-p1363' }, sig);
  }
}

const EC_PUBLIC_KEY_OID = encodeOid('1.2.840.10045.2.1');

/**
 * A KeyObject for a key on `curve`: from a JWK where node:crypto reads one for the curve (the faster
 * import), otherwise from SubjectPublicKeyInfo / PKCS#8 DER naming the curve's OID (RFC 5480, RFC
 * 5915), which OpenSSL reads for every curve it has (brainpool, P-192, P-224).
 */
function keyObjectOf(curve: CurveName, point: Uint8Array, d: Uint8Array | undefined): KeyObject {
  const c = curveRow(curve);
  if (c.jwk !== undefined) {
    const size = c.fieldBytes;
    const jwk: Record<string, string> = {
      kty: 'EC',
      crv: c.jwk,
      x: toBase64Url(point.subarray(1, 1 + size)),
      y: toBase64Url(point.subarray(1 + size)),
    };
    if (!d) return createPublicKey({ key: jwk, format: 'jwk' });
    jwk.d = toBase64Url(leftPad(d, c.orderBytes));
    return createPrivateKey({ key: jwk, format: 'jwk' });
  }
  const algorithm = encodeSequence(EC_PUBLIC_KEY_OID, c.ecParams);
  if (!d) {
    const spki = Buffer.from(encodeSubjectPublicKeyInfo(algorithm, point));
    return createPublicKey({ key: spki, format: 'der', type: 'spki' });
  }
  const scalar = leftPad(d, c.orderBytes);
  // RFC 5915 ECPrivateKey: version 1, d, and the public key as [1] (the curve is in the algorithm).
  const ecPrivateKey = encodeSequence(
    encodeUnsignedInteger(Uint8Array.of(1)),
    encodeTlv(TAG_OCTET_STRING, scalar),
    encodeTlv(0xa1, encodeTlv(TAG_BIT_STRING, concat(Uint8Array.of(0), point))),
  );
  const pkcs8 = Buffer.from(encodePrivateKeyInfo(algorithm, ecPrivateKey));
  try {
    return createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' });
  } finally {
    pkcs8.fill(0);
    ecPrivateKey.fill(0);
    scalar.fill(0);
  }
}

/** An OpenSSL ECDH object holding the private scalar d. */
function ecdhWith(curve: CurveName, d: Uint8Array) {
  const c = curveRow(curve);
  const ecdh = createECDH(c.openssl);
  onInput(INVALID, `not a ${c.name} private value`, () =>
    ecdh.setPrivateKey(leftPad(d, c.orderBytes)),
  );
  return ecdh;
}

/** The ECDH shared secret x(d·Q); throws for a point not on the key's curve. */
export function ecdhSecret(key: EcKey, d: Uint8Array, peer: Uint8Array): Uint8Array {
  const ecdh = ecdhWith(key.curve, d);
  return onInput(
    CKR_MECHANISM_PARAM_INVALID,
    'the public point is not on the curve',
    () => new Uint8Array(ecdh.computeSecret(peer)),
  );
}

export function ecPublicPoint(curve: CurveName, d: Uint8Array): Uint8Array {
  return new Uint8Array(ecdhWith(curve, d).getPublicKey());
}

export function generateEc(curve: CurveName): EcMaterial {
  const ecdh = createECDH(curveRow(curve).openssl);
  ecdh.generateKeys();
  const d = leftPad(ecdh.getPrivateKey(), curveRow(curve).orderBytes);
  return { curve, point: new Uint8Array(ecdh.getPublicKey()), d };
}
