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
import { CURVE_BYTES } from '../../crypto/backend.js';
import { toBase64Url } from './rsa-math.js';

const OPENSSL_CURVE: Record<CurveName, string> = {
  'P-256': 'prime256v1',
  'P-384': 'secp384r1',
  'P-521': 'secp521r1',
};

const ORDER_BITS: Record<CurveName, number> = { 'P-256': 256, 'P-384': 384, 'P-521': 521 };

/** Signs and verifies a caller-computed digest (CKM_ECDSA). */
export interface PrehashedSigner {
  sign(digest: Uint8Array): Uint8Array;
  verify(digest: Uint8Array, signature: Uint8Array): boolean;
}

export type PrehashedFactory = (
  curve: CurveName,
  m: { d?: Uint8Array; point: Uint8Array },
) => PrehashedSigner;

export class EcKey implements KeyHandle {
  readonly kind = 'ec';
  readonly isPrivate: boolean;
  readonly bits: number;
  readonly curve: CurveName;
  readonly point: Uint8Array;
  readonly #d: Uint8Array | undefined;
  readonly #factory: PrehashedFactory;
  #object: KeyObject | undefined;
  #prehashed: PrehashedSigner | undefined;

  constructor(m: EcMaterial, factory: PrehashedFactory) {
    const size = CURVE_BYTES[m.curve];
    if (m.point.length !== 2 * size + 1 || m.point[0] !== 0x04) {
      throw new Error(`EC point must be uncompressed (04‖X‖Y, ${2 * size + 1} bytes)`);
    }
    if (m.d) {
      if (m.d.length > size) throw new Error('EC private scalar too long');
      const derived = ecPublicPoint(m.curve, m.d);
      if (Buffer.compare(derived, m.point) !== 0)
        throw new Error('EC point does not match the private key');
    } else {
      // OpenSSL's point decoding rejects points that are not on the curve.
      ECDH.convertKey(m.point, OPENSSL_CURVE[m.curve], undefined, undefined, 'uncompressed');
    }
    this.curve = m.curve;
    this.point = m.point;
    this.#d = m.d;
    this.isPrivate = m.d !== undefined;
    this.bits = ORDER_BITS[m.curve];
    this.#factory = factory;
  }

  /** The node:crypto KeyObject (built on first use: only hashed ECDSA needs it). */
  get object(): KeyObject {
    if (!this.#object) {
      const size = CURVE_BYTES[this.curve];
      const jwk: Record<string, string> = {
        kty: 'EC',
        crv: this.curve,
        x: toBase64Url(this.point.subarray(1, 1 + size)),
        y: toBase64Url(this.point.subarray(1 + size)),
      };
      if (this.#d) {
        const d = new Uint8Array(size);
        d.set(this.#d, size - this.#d.length);
        jwk.d = toBase64Url(d);
        this.#object = createPrivateKey({ key: jwk, format: 'jwk' });
      } else {
        this.#object = createPublicKey({ key: jwk, format: 'jwk' });
      }
    }
    return this.#object;
  }

  /** ECDH with this (private) key. */
  ecdh(peer: Uint8Array): Uint8Array {
    if (!this.#d) throw new Error('ECDH needs a private key');
    return ecdhSecret(this, this.#d, peer);
  }

  get prehashed(): PrehashedSigner {
    this.#prehashed ??= this.#factory(this.curve, { d: this.#d, point: this.point });
    return this.#prehashed;
  }

  /** Hash here, then the prehashed signer: faster than crypto.sign, which rebuilds its context per call. */
  signHashed(hash: HashName, data: Uint8Array): Uint8Array {
    return this.prehashed.sign(new Uint8Array(createHash(hash).update(data).digest()));
  }

  /** With d, hash here and check with the prehashed verifier (two fixed-base products, ~1.5x crypto.verify). */
  verifyHashed(hash: HashName, data: Uint8Array, sig: Uint8Array): boolean {
    if (sig.length !== 2 * CURVE_BYTES[this.curve]) return false;
    if (this.#d) {
      return this.prehashed.verify(new Uint8Array(createHash(hash).update(data).digest()), sig);
    }
    return verify(hash, data, { key: this.object, dsaEncoding: 'ieee-p1363' }, sig);
  }
}

/** The ECDH shared secret x(d·Q); throws for a point not on the key's curve. */
export function ecdhSecret(key: EcKey, d: Uint8Array, peer: Uint8Array): Uint8Array {
  const ecdh = createECDH(OPENSSL_CURVE[key.curve]);
  const size = CURVE_BYTES[key.curve];
  const padded = new Uint8Array(size);
  padded.set(d, size - d.length);
  ecdh.setPrivateKey(padded);
  return new Uint8Array(ecdh.computeSecret(peer));
}

export function ecPublicPoint(curve: CurveName, d: Uint8Array): Uint8Array {
  const ecdh = createECDH(OPENSSL_CURVE[curve]);
  const size = CURVE_BYTES[curve];
  const padded = new Uint8Array(size);
  padded.set(d, size - d.length);
  ecdh.setPrivateKey(padded);
  return new Uint8Array(ecdh.getPublicKey());
}

export function generateEc(curve: CurveName): EcMaterial {
  const ecdh = createECDH(OPENSSL_CURVE[curve]);
  ecdh.generateKeys();
  const size = CURVE_BYTES[curve];
  const d = new Uint8Array(size);
  const raw = ecdh.getPrivateKey();
  d.set(raw, size - raw.length);
  return { curve, point: new Uint8Array(ecdh.getPublicKey()), d };
}
