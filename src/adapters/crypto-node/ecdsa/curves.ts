/**
 * The BigInt view of the curve table (crypto/curves.ts) that the CKM_ECDSA fast path computes with:
 * every curve whose row sets `prehashedEcdsa`, its domain parameters as BigInts and the length pad.
 * Derived from the table, no constants of its own.
 * @module
 */
import { numbersOf, type WeierstrassNumbers } from '../../../crypto/curve-domains.js';
import { type PrehashedEcdsaCurve, CURVES as TABLE } from '../../../crypto/curves.js';

export type EcdsaCurve = PrehashedEcdsaCurve;

/** The domain parameters (field prime p, a, b, base point G = (gx, gy) of prime order n) and more. */
export interface CurveParams extends WeierstrassNumbers {
  readonly name: EcdsaCurve;
  /** OpenSSL's name, for `createECDH`. */
  readonly opensslName: string;
  /** Bit length of n: the digest truncation length of FIPS 186-4 §6.4. */
  readonly orderBits: number;
  /** Bytes of a field element and of a scalar (equal on every curve this path serves). */
  readonly size: number;
  /**
   * A multiple of n such that `x + lengthPad` has the same number of 64-bit BigInt digits for every
   * x in [0, n). Adding it to a secret before a multiplication keeps the operand length, and with it
   * V8's digit loop count, independent of the secret's leading zero bits (1 in 512 P-521 scalars has
   * an empty top digit).
   */
  readonly lengthPad: bigint;
}

function digits(x: bigint): number {
  return Math.ceil(x.toString(2).length / 64);
}

function padFor(n: bigint): bigint {
  for (let shift = 0n; ; shift++) {
    const pad = n << shift;
    if (digits(pad) === digits(pad + n - 1n)) return pad;
  }
}

/** The curves the fast path serves, keyed by name. */
export const CURVES = Object.fromEntries(
  TABLE.flatMap((c) => {
    const w = c.weierstrass;
    if (!c.prehashedEcdsa || !w || c.fieldBytes !== c.orderBytes) return [];
    const numbers = numbersOf(w);
    const params: CurveParams = {
      // The filter above keeps exactly the rows of the PrehashedEcdsaCurve type.
      name: c.name as EcdsaCurve,
      opensslName: c.openssl,
      ...numbers,
      orderBits: c.orderBits,
      size: c.orderBytes,
      lengthPad: padFor(numbers.n),
    };
    return [[c.name, params]];
  }),
) as Readonly<Record<EcdsaCurve, CurveParams>>;

/** The parameters of a curve name, or undefined for anything else (including non-strings). */
export function curveParams(name: unknown): CurveParams | undefined {
  return typeof name === 'string' && Object.hasOwn(CURVES, name)
    ? CURVES[name as EcdsaCurve]
    : undefined;
}
