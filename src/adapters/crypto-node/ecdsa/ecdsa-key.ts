/**
 * CKM_ECDSA on a digest the caller computed (PKCS#11 v2.40 mechanisms, "ECDSA without hashing";
 * FIPS 186-4 §6.4; SEC 1 §4.1),
 * for every short Weierstrass curve of the curve table (crypto/curves.ts: the NIST curves, secp256k1,
 * brainpool; prime order, field and scalar of one byte length). `crypto.sign` always hashes, so the
 * signature is assembled here:
 *
 * - **k·G** comes from OpenSSL (`ECDH.setPrivateKey`, constant time). k is a fresh CSPRNG value,
 *   rejection-sampled into [1, n − 1], taken exactly once from a per-curve pool (nonce-pool.ts).
 * - **Blinding.** V8 BigInt arithmetic is not constant time, so no BigInt operation sees k, k⁻¹, d or
 *   a fixed function of them:
 *   - the pool inverts u = k·β (β random) in batches with Montgomery's trick and keeps w = u⁻¹ and β;
 *   - d lives only as two additive shares d₁ + d₂ ≡ d (mod n), re-split by a fresh random mask
 *     before every use, and each share is multiplied and reduced on its own;
 *   - s = w · (β·e + (β·r)·d₁ + (β·r)·d₂) = k⁻¹(e + r·d): every operand is uniform and independent of
 *     the secrets (β·r is uniform because β is), and the result s is public.
 *   Secret operands also carry a multiple of n (`lengthPad`) so their digit count never depends on
 *   their leading zero bits (1 in 512 P-521 scalars would otherwise be one digit shorter).
 * - **r = 0 or s = 0** (probability ~2⁻²⁵⁶) takes the next nonce.
 * - **Verification with a public key** (public data, variable time is fine): with t = (r·s)⁻¹,
 *   T = (e/r)·G + Q by OpenSSL k·G plus one affine BigInt addition, then x(R) = x((r/s)·T) by
 *   `ECDH.computeSecret`. Node re-validates the ECDH key pair inside every `computeSecret` (an extra
 *   n·P and k·G), and no other node:crypto call multiplies an arbitrary point or verifies a raw
 *   digest, so this path runs at ~0.45x `crypto.verify` on P-256 (~0.2x on P-384/P-521).
 * - **Verification when the key holds d** (default for keys created with d): R = u·G with
 *   u = (e + r·d)/s, computed as two OpenSSL fixed-base products u_a·G + u_b·G where u_a is fresh
 *   random and u_b ≡ u − u_a is assembled from the shares with a mask before every addition, so an
 *   attacker who replays the same (digest, r, s) still sees only fresh uniform values; x(R) is
 *   compared projectively (no inversion). ~1.5x `crypto.verify` on P-256, ~0.4x on P-384/P-521
 *   (OpenSSL has no fast fixed-base code for those); `verifyWithPrivateKey: false` turns it off.
 *
 * Residual exposure: d is converted to a BigInt once, unmasked, when the key is built. JS cannot
 * zeroise BigInts, so the shares, pooled w/β and the last nonce held by the ECDH object stay in
 * memory until overwritten or collected. V8's division still branches on its (masked) operands,
 * and Node range-checks k with OpenSSL's BN_cmp before the constant-time k·G.
 * @module
 */

import type { CurveName } from '../../../crypto/curves.js';
import { Pkcs11Error } from '../../../errors.js';
import {
  CKR_ATTRIBUTE_VALUE_INVALID,
  CKR_CURVE_NOT_SUPPORTED,
  CKR_KEY_TYPE_INCONSISTENT,
} from '../../../pkcs11/constants.js';
import { bigIntToBytes, bytesToBigInt, digestToInteger, modInverse } from '../../../util/bigint.js';
import { type CurveContext, sharedContext } from './context.js';
import { curveParams, type EcdsaCurve } from './curves.js';
import { type AffinePoint, addPoints, decodeUncompressed, sumXMatches } from './point.js';

export interface EcdsaKeyMaterial {
  /** The private value d, big-endian (leading zeros optional). Absent for a public key. */
  readonly d?: Uint8Array;
  /** The public point: 04‖X‖Y (SEC 1 uncompressed) or 02/03‖X (compressed). */
  readonly point: Uint8Array;
}

export interface EcdsaKeyOptions {
  /** Verify through d when the key has it (faster; default true). */
  readonly verifyWithPrivateKey?: boolean;
}

export interface EcdsaKey {
  readonly curve: EcdsaCurve;
  /** Bytes of r‖s: twice the order size (64 on P-256). */
  readonly signatureLength: number;
  readonly canSign: boolean;
  /** r‖s, each left-padded to the order's byte length. Any digest length; longer ones are truncated. */
  sign(digest: Uint8Array): Uint8Array;
  /** False for any signature that does not verify, including a wrong length or r, s outside [1, n − 1]. */
  verify(digest: Uint8Array, signature: Uint8Array): boolean;
}

/**
 * A signing/verifying key for CKM_ECDSA. Validates the material: the curve, the point (on the curve,
 * not infinity) and d (in [1, n − 1], d·G equal to the point). Build once per key object.
 * @throws Pkcs11Error CKR_CURVE_NOT_SUPPORTED for another curve, CKR_ATTRIBUTE_VALUE_INVALID for
 *   invalid key material (the caller may remap it).
 */
export function createEcdsaKey(
  curve: CurveName,
  material: EcdsaKeyMaterial,
  options: EcdsaKeyOptions = {},
): EcdsaKey {
  const params = curveParams(curve);
  if (params === undefined) {
    throw new Pkcs11Error(CKR_CURVE_NOT_SUPPORTED, `ECDSA curve ${String(curve)} is not supported`);
  }
  return new EcdsaKeyImpl(sharedContext(params.name), material, options);
}

/** As `createEcdsaKey`, on a given curve context (tests replay known nonces through their own). */
export function createEcdsaKeyIn(
  ctx: CurveContext,
  material: EcdsaKeyMaterial,
  options: EcdsaKeyOptions = {},
): EcdsaKey {
  return new EcdsaKeyImpl(ctx, material, options);
}

class EcdsaKeyImpl implements EcdsaKey {
  readonly curve: EcdsaCurve;
  readonly signatureLength: number;
  readonly canSign: boolean;
  readonly #ctx: CurveContext;
  readonly #q: AffinePoint;
  readonly #verifyWithD: boolean;
  /** Shares of d plus lengthPad each; 0n for a public key. */
  #d1 = 0n;
  #d2 = 0n;
  /** A multiple of n at least as large as any mask from `wide()`. */
  readonly #maskComplement: bigint;

  constructor(ctx: CurveContext, material: EcdsaKeyMaterial, options: EcdsaKeyOptions) {
    const { params } = ctx;
    this.#ctx = ctx;
    this.curve = params.name;
    this.signatureLength = 2 * params.size;
    this.#maskComplement = params.n << BigInt(ctx.blinds.wideBits);
    if (material === null || typeof material !== 'object') {
      throw invalid('EC key material is missing');
    }
    this.#q = decodePoint(ctx, material.point);
    this.canSign = material.d !== undefined;
    this.#verifyWithD = this.canSign && options.verifyWithPrivateKey !== false;
    if (material.d !== undefined) this.#splitPrivate(material.d);
  }

  sign(digest: Uint8Array): Uint8Array {
    if (!this.canSign) throw new Pkcs11Error(CKR_KEY_TYPE_INCONSISTENT, 'a public key cannot sign');
    if (!(digest instanceof Uint8Array)) throw new TypeError('digest must be a Uint8Array');
    const { params, mul, nonces, nonceScratch } = this.#ctx;
    const { n, size } = params;
    const e = digestToInteger(digest, params.orderBits);
    for (;;) {
      const { w, beta } = nonces.take(nonceScratch);
      let x: Uint8Array;
      try {
        x = mul.baseX(nonceScratch);
      } finally {
        nonceScratch.fill(0);
      }
      let r = bytesToBigInt(x, 0, size);
      const wrapped = r >= n;
      if (wrapped) r -= n;
      if (r === 0n) continue;
      this.#refreshShares();
      const y = (beta * r) % n;
      const v = (beta * e + ((y * this.#d1) % n) + ((y * this.#d2) % n)) % n;
      const s = (w * v) % n;
      if (s === 0n) continue;
      const out = new Uint8Array(2 * size);
      if (wrapped) bigIntToBytes(r, size, out, 0);
      else out.set(x, 0);
      bigIntToBytes(s, size, out, size);
      return out;
    }
  }

  verify(digest: Uint8Array, signature: Uint8Array): boolean {
    if (!(digest instanceof Uint8Array)) throw new TypeError('digest must be a Uint8Array');
    const { n, size, orderBits } = this.#ctx.params;
    if (!(signature instanceof Uint8Array) || signature.length !== 2 * size) return false;
    const r = bytesToBigInt(signature, 0, size);
    const s = bytesToBigInt(signature, size, size);
    if (r === 0n || r >= n || s === 0n || s >= n) return false;
    const e = digestToInteger(digest, orderBits) % n;
    return this.#verifyWithD ? this.#checkWithPrivate(e, r, s) : this.#checkWithPublic(e, r, s);
  }

  /** x((e/s)·G + (r/s)·Q) mod n = r, computed as x((r/s)·T) with T = (e/r)·G + Q. */
  #checkWithPublic(e: bigint, r: bigint, s: bigint): boolean {
    const { params, mul } = this.#ctx;
    const { n, size } = params;
    const t = modInverse((r * s) % n, n);
    const a = (((e * s) % n) * t) % n;
    const c = (((r * r) % n) * t) % n;
    const tPoint =
      a === 0n ? this.#q : addPoints(params, mul.basePoint(bigIntToBytes(a, size)), this.#q);
    if (tPoint === undefined) return false;
    return bytesToBigInt(mul.productX(bigIntToBytes(c, size), tPoint)) % n === r;
  }

  /** x(u·G) mod n = r with u = (e + r·d)/s = u_a + u_b, never forming u or r·d in one BigInt. */
  #checkWithPrivate(e: bigint, r: bigint, s: bigint): boolean {
    const { params, mul, blinds } = this.#ctx;
    const { n, size } = params;
    const w = modInverse(s, n);
    const wr = (w * r) % n;
    this.#refreshShares();
    const ua = blinds.scalar();
    const x1 = (wr * this.#d1 + n - ua) % n;
    const x2 = (x1 + wr * this.#d2) % n;
    const ub = (x2 + w * e) % n;
    const pa = mul.basePoint(bigIntToBytes(ua, size));
    if (ub === 0n) return pa.x % n === r;
    return sumXMatches(params, pa, mul.basePoint(bigIntToBytes(ub, size)), r);
  }

  #splitPrivate(dBytes: Uint8Array): void {
    const { params, mul, blinds } = this.#ctx;
    const { n, size, lengthPad } = params;
    if (!(dBytes instanceof Uint8Array)) throw invalid('EC private value must be bytes');
    let start = 0;
    while (start < dBytes.length && dBytes[start] === 0) start++;
    if (dBytes.length - start > size) throw invalid('EC private value is longer than the order');
    const fixed = new Uint8Array(size);
    fixed.set(dBytes.subarray(start), size - (dBytes.length - start));
    try {
      const d = bytesToBigInt(fixed);
      if (d === 0n || d >= n) throw invalid('EC private value is not in [1, n-1]');
      const dG = mul.basePoint(fixed);
      if (dG.x !== this.#q.x || dG.y !== this.#q.y) {
        throw invalid('EC private value does not match the public point');
      }
      const d1 = blinds.scalar();
      this.#d1 = d1 + lengthPad;
      this.#d2 = ((d + n - d1) % n) + lengthPad;
    } finally {
      fixed.fill(0);
    }
  }

  /** d₁ += m, d₂ −= m for a fresh mask m, keeping each share (mod n) uniform and padded. */
  #refreshShares(): void {
    const { n, lengthPad } = this.#ctx.params;
    const mask = this.#ctx.blinds.wide();
    this.#d1 = ((this.#d1 + mask) % n) + lengthPad;
    this.#d2 = ((this.#d2 + this.#maskComplement - mask) % n) + lengthPad;
  }
}

function decodePoint(ctx: CurveContext, point: unknown): AffinePoint {
  const { params, mul } = ctx;
  if (!(point instanceof Uint8Array)) throw invalid('EC point must be bytes');
  let bytes: Uint8Array | undefined = point;
  if (point.length === 1 + params.size && (point[0] === 0x02 || point[0] === 0x03)) {
    bytes = mul.decompress(point);
  }
  const q = bytes === undefined ? undefined : decodeUncompressed(params, bytes);
  if (q === undefined) throw invalid(`EC point is not a point of ${params.name}`);
  return q;
}

function invalid(detail: string): Pkcs11Error {
  return new Pkcs11Error(CKR_ATTRIBUTE_VALUE_INVALID, detail);
}
