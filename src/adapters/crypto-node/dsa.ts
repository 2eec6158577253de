/**
 * DSA keys over node:crypto (FIPS 186-4): import from PKCS#11 components through SPKI / PKCS#8 DER,
 * hashed signatures by crypto.sign, and signatures over a digest the caller computed (CKM_DSA), which
 * node:crypto cannot make (it always hashes): k·G's counterpart r = (g^k mod p) mod q is computed by
 * OpenSSL (ffc.ts), the mod-q arithmetic in BigInt with the nonce and the key masked by a fresh random
 * factor, as OpenSSL's own dsa_ossl.c does. Signatures are r‖s, each the size of q.
 * @module
 */
import { createPrivateKey, createPublicKey, type KeyObject, sign, verify } from 'node:crypto';
import type { DsaMaterial, HashName, KeyHandle } from '../../crypto/backend.js';
import { CKR_ATTRIBUTE_VALUE_INVALID } from '../../pkcs11/constants.js';
import { bigIntToBytes, bytesToBigInt, digestToInteger, modInverse } from '../../util/bigint.js';
import {
  encodeOid,
  encodePrivateKeyInfo,
  encodeSequence,
  encodeSubjectPublicKeyInfo,
  encodeUnsignedInteger,
} from '../../util/der.js';
import { checkParameters, modExp, randomBelow } from './ffc.js';
import { onInput, refused } from './input.js';

const INVALID = CKR_ATTRIBUTE_VALUE_INVALID;
/** id-dsa (RFC 3279 §2.3.2). */
const ID_DSA = encodeOid('1.2.840.10040.4.1');

const bits = (x: bigint) => x.toString(2).length;

export class DsaKey implements KeyHandle {
  readonly kind = 'dsa';
  readonly isPrivate: boolean;
  /** Bits of p (the key size PKCS#11 counts). */
  readonly bits: number;
  /** Bytes of q: half a signature. */
  readonly qBytes: number;
  readonly object: KeyObject;
  readonly #m: DsaMaterial;
  readonly #p: bigint;
  readonly #q: bigint;

  constructor(m: DsaMaterial) {
    checkParameters(m);
    const p = bytesToBigInt(m.p);
    const q = bytesToBigInt(m.q);
    const algorithm = encodeSequence(
      ID_DSA,
      encodeSequence(...[m.p, m.q, m.g].map(encodeUnsignedInteger)),
    );
    if (m.x) {
      const x = bytesToBigInt(m.x);
      if (x <= 0n || x >= q) throw refused(INVALID, 'DSA private value out of range');
      const der = encodePrivateKeyInfo(algorithm, encodeUnsignedInteger(m.x));
      this.object = onInput(INVALID, 'not a DSA private key', () =>
        createPrivateKey({ key: Buffer.from(der), format: 'der', type: 'pkcs8' }),
      );
    } else {
      if (!m.y) throw refused(INVALID, 'a DSA public key needs its value');
      const y = bytesToBigInt(m.y);
      if (y <= 1n || y >= p) throw refused(INVALID, 'DSA public value out of range');
      const der = encodeSubjectPublicKeyInfo(algorithm, encodeUnsignedInteger(m.y));
      this.object = onInput(INVALID, 'not a DSA public key', () =>
        createPublicKey({ key: Buffer.from(der), format: 'der', type: 'spki' }),
      );
    }
    this.#m = m;
    this.#p = p;
    this.#q = q;
    this.isPrivate = m.x !== undefined;
    this.bits = bits(p);
    this.qBytes = Math.ceil(bits(q) / 8);
  }

  signHashed(hash: HashName, data: Uint8Array): Uint8Array {
    return new Uint8Array(sign(hash, data, { key: this.object, dsaEncoding: 'ieee-p1363' }));
  }

  verifyHashed(hash: HashName, data: Uint8Array, signature: Uint8Array): boolean {
    if (signature.length !== 2 * this.qBytes) return false;
    return verify(hash, data, { key: this.object, dsaEncoding: 'ieee-p1363' }, signature);
  }

  /** FIPS 186-4 §4.6 over a digest (its leftmost N bits), with k and x masked by a random b. */
  signDigest(digest: Uint8Array): Uint8Array {
    const { p, g } = this.#m;
    const x = bytesToBigInt(this.#m.x as Uint8Array);
    const q = this.#q;
    const z = digestToInteger(digest, bits(q)) % q;
    for (;;) {
      const k = randomBelow(q);
      const r = bytesToBigInt(modExp(p, g, bigIntToBytes(k))) % q;
      if (r === 0n) continue;
      const b = randomBelow(q);
      // s = k⁻¹(z + x·r) = (k·b)⁻¹ · (b·z + (b·x)·r): the inverse and products see only masked values.
      const kbInverse = modInverse((k * b) % q, q);
      const s = (kbInverse * (((b * z) % q) + ((((b * x) % q) * r) % q))) % q;
      if (s === 0n) continue;
      const out = new Uint8Array(2 * this.qBytes);
      bigIntToBytes(r, this.qBytes, out, 0);
      bigIntToBytes(s, this.qBytes, out, this.qBytes);
      return out;
    }
  }

  /** FIPS 186-4 §4.7: v = (g^u1 · y^u2 mod p) mod q, the two powers by OpenSSL (public values). */
  verifyDigest(digest: Uint8Array, signature: Uint8Array): boolean {
    if (signature.length !== 2 * this.qBytes || this.isPrivate) return false;
    const q = this.#q;
    const r = bytesToBigInt(signature, 0, this.qBytes);
    const s = bytesToBigInt(signature, this.qBytes, this.qBytes);
    if (r <= 0n || r >= q || s <= 0n || s >= q) return false;
    const w = modInverse(s, q);
    const u1 = ((digestToInteger(digest, bits(q)) % q) * w) % q;
    const u2 = (r * w) % q;
    const { p, g, y } = this.#m;
    const a = bytesToBigInt(modExp(p, g, bigIntToBytes(u1)));
    const c = bytesToBigInt(modExp(p, y as Uint8Array, bigIntToBytes(u2)));
    return ((a * c) % this.#p) % q === r;
  }
}
