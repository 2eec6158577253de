/**
 * Domain parameters of the NIST prime curves CKM_ECDSA supports (FIPS 186-4 D.1.2.3–D.1.2.5, SEC 2),
 * as printed by `openssl ecparam -param_enc explicit -text`. Constants only; no arithmetic.
 * @module
 */

export type EcdsaCurve = 'P-256' | 'P-384' | 'P-521';

export interface CurveParams {
  readonly name: EcdsaCurve;
  /** OpenSSL's name, for `createECDH`. */
  readonly opensslName: string;
  /** Field prime. */
  readonly p: bigint;
  readonly a: bigint;
  readonly b: bigint;
  /** Order of the base point (prime; cofactor 1 on all three curves). */
  readonly n: bigint;
  readonly gx: bigint;
  readonly gy: bigint;
  /** Bit length of n: the digest truncation length of FIPS 186-4 §6.4. */
  readonly orderBits: number;
  /** Bytes of a field element and of a scalar (equal on these curves): 32, 48, 66. */
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

function curve(
  name: EcdsaCurve,
  opensslName: string,
  hex: { p: string; a: string; b: string; n: string; gx: string; gy: string },
): CurveParams {
  const n = BigInt(`0x${hex.n}`);
  const orderBits = n.toString(2).length;
  return {
    name,
    opensslName,
    p: BigInt(`0x${hex.p}`),
    a: BigInt(`0x${hex.a}`),
    b: BigInt(`0x${hex.b}`),
    n,
    gx: BigInt(`0x${hex.gx}`),
    gy: BigInt(`0x${hex.gy}`),
    orderBits,
    size: Math.ceil(orderBits / 8),
    lengthPad: padFor(n),
  };
}

export const CURVES: Readonly<Record<EcdsaCurve, CurveParams>> = {
  'P-256': curve('P-256', 'prime256v1', {
    p: 'ffffffff00000001000000000000000000000000ffffffffffffffffffffffff',
    a: 'ffffffff00000001000000000000000000000000fffffffffffffffffffffffc',
    b: '5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604b',
    n: 'ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551',
    gx: '6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296',
    gy: '4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5',
  }),
  'P-384': curve('P-384', 'secp384r1', {
    p:
      'fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffe' +
      'ffffffff0000000000000000ffffffff',
    a:
      'fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffe' +
      'ffffffff0000000000000000fffffffc',
    b:
      'b3312fa7e23ee7e4988e056be3f82d19181d9c6efe8141120314088f5013875a' +
      'c656398d8a2ed19d2a85c8edd3ec2aef',
    n:
      'ffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf' +
      '581a0db248b0a77aecec196accc52973',
    gx:
      'aa87ca22be8b05378eb1c71ef320ad746e1d3b628ba79b9859f741e082542a38' +
      '5502f25dbf55296c3a545e3872760ab7',
    gy:
      '3617de4a96262c6f5d9e98bf9292dc29f8f41dbd289a147ce9da3113b5f0b8c0' +
      '0a60b1ce1d7e819d7a431d7c90ea0e5f',
  }),
  'P-521': curve('P-521', 'secp521r1', {
    p:
      '1fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff' +
      'ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff' +
      'fff',
    a:
      '1fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff' +
      'ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff' +
      'ffc',
    b:
      '51953eb9618e1c9a1f929a21a0b68540eea2da725b99b315f3b8b489918ef109' +
      'e156193951ec7e937b1652c0bd3bb1bf073573df883d2c34f1ef451fd46b503f' +
      '00',
    n:
      '1fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff' +
      'ffa51868783bf2f966b7fcc0148f709a5d03bb5c9b8899c47aebb6fb71e91386' +
      '409',
    gx:
      'c6858e06b70404e9cd9e3ecb662395b4429c648139053fb521f828af606b4d3d' +
      'baa14b5e77efe75928fe1dc127a2ffa8de3348b3c1856a429bf97e7e31c2e5bd' +
      '66',
    gy:
      '11839296a789a3bc0045c8a5fb42c7d1bd998f54449579b446817afbd17273e6' +
      '62c97ee72995ef42640c550b9013fad0761353c7086a272c24088be94769fd16' +
      '650',
  }),
};

/** The parameters of a curve name, or undefined for anything else (including non-strings). */
export function curveParams(name: unknown): CurveParams | undefined {
  return typeof name === 'string' && Object.hasOwn(CURVES, name)
    ? CURVES[name as EcdsaCurve]
    : undefined;
}
