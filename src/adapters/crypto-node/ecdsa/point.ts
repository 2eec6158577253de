/**
 * Affine points of the short Weierstrass curves y² = x³ + ax + b over GF(p): SEC 1 §2.3.3/§2.3.4
 * encoding, the on-curve check, and one addition (the only point arithmetic verification needs beside
 * OpenSSL's scalar multiplications). BigInt, variable time: public points only.
 * @module
 */
import { bigIntToBytes, bytesToBigInt, modInverse } from '../../../util/bigint.js';
import type { CurveParams } from './curves.js';

export interface AffinePoint {
  readonly x: bigint;
  readonly y: bigint;
}

/** True when (x, y) has coordinates in [0, p) and satisfies the curve equation. */
export function isOnCurve(c: CurveParams, pt: AffinePoint): boolean {
  const { p, a, b } = c;
  if (pt.x < 0n || pt.x >= p || pt.y < 0n || pt.y >= p) return false;
  const rhs = (((pt.x * pt.x + a) % p) * pt.x + b) % p;
  return (pt.y * pt.y) % p === rhs;
}

/**
 * The uncompressed point 04‖X‖Y, or undefined for any other length, prefix or an off-curve point.
 * (Compressed input is decompressed by the caller through OpenSSL, which validates it.)
 */
export function decodeUncompressed(c: CurveParams, bytes: Uint8Array): AffinePoint | undefined {
  if (bytes.length !== 1 + 2 * c.size || bytes[0] !== 0x04) return undefined;
  const pt = { x: bytesToBigInt(bytes, 1, c.size), y: bytesToBigInt(bytes, 1 + c.size, c.size) };
  return isOnCurve(c, pt) ? pt : undefined;
}

/** 04‖X‖Y with fixed-width coordinates. */
export function encodeUncompressed(c: CurveParams, pt: AffinePoint): Uint8Array {
  const out = new Uint8Array(1 + 2 * c.size);
  out[0] = 0x04;
  bigIntToBytes(pt.x, c.size, out, 1);
  bigIntToBytes(pt.y, c.size, out, 1 + c.size);
  return out;
}

/** P + Q for points on the curve; undefined stands for the point at infinity (P = −Q). */
export function addPoints(c: CurveParams, P: AffinePoint, Q: AffinePoint): AffinePoint | undefined {
  const { p } = c;
  let lambda: bigint;
  if (P.x === Q.x) {
    if (P.y !== Q.y || P.y === 0n) return undefined;
    // Doubling: λ = (3x² + a) / 2y.
    lambda = (((3n * P.x * P.x + c.a) % p) * modInverse(2n * P.y, p)) % p;
  } else {
    lambda = (((Q.y - P.y + p) % p) * modInverse((Q.x - P.x + p) % p, p)) % p;
  }
  const x = (((lambda * lambda - P.x - Q.x) % p) + 2n * p) % p;
  const y = (((lambda * (P.x - x) - P.y) % p) + p) % p;
  return { x, y };
}

/**
 * Whether P + Q is finite with x(P + Q) mod n = r, for 0 < r < n (the ECDSA check). Needs no field
 * inversion: with x = N/D, x ≡ r or x ≡ r + n (when r + n < p) is tested as N ≡ x·D (mod p).
 */
export function sumXMatches(c: CurveParams, P: AffinePoint, Q: AffinePoint, r: bigint): boolean {
  const { p, n } = c;
  if (P.x === Q.x) {
    const sum = addPoints(c, P, Q);
    return sum !== undefined && sum.x % n === r;
  }
  const dx = (Q.x - P.x + p) % p;
  const dy = (Q.y - P.y + p) % p;
  const den = (dx * dx) % p;
  const num = (((dy * dy - (P.x + Q.x) * den) % p) + p) % p;
  if ((r * den) % p === num) return true;
  return r + n < p && ((r + n) * den) % p === num;
}
