/**
 * The curve table: every fact about every elliptic curve the token knows, in one row per curve. Every
 * other module (CKA_EC_PARAMS decoding, key import, the node:crypto adapter, the ECDSA fast path, the
 * helpers and the CLI) looks curves up here; none keeps a list of its own. Adding a curve is adding a
 * row (and, for a new family or fast path, the flag that says so). Layer L2 (beside the crypto port).
 * @module
 */
import { encodeOid } from '../util/der.js';

/**
 * Short Weierstrass domain parameters (y² = x³ + ax + b over GF(p), base point G of prime order n),
 * hex, as `openssl ecparam -param_enc explicit -text` prints them.
 */
export interface WeierstrassParams {
  readonly p: string;
  readonly a: string;
  readonly b: string;
  readonly n: string;
  readonly gx: string;
  readonly gy: string;
}

/** What a row is written as. */
interface CurveRow<N extends string> {
  /** Our name for the curve (the backend's vocabulary; the JWK name where there is one). */
  readonly name: N;
  /** Other spellings accepted from users and in a PrintableString CKA_EC_PARAMS (case-insensitive). */
  readonly aliases: readonly string[];
  /** The namedCurve OID (RFC 5480 §2.1.1.1, RFC 8410 §3). */
  readonly oid: string;
  readonly family: 'weierstrass' | 'edwards' | 'montgomery';
  /**
   * Bits of a field element and of the group order. Edwards and Montgomery rows give both as b, the bits
   * of their key encoding (RFC 8032 §5: 256 and 456; RFC 7748 §5: 256 and 448): the size of a public and
   * a private key, and the key size PKCS#11 counts (CK_MECHANISM_INFO, as kryoptic and SoftHSMv2 do).
   */
  readonly fieldBits: number;
  readonly orderBits: number;
  /** node:crypto's name: `createECDH` / `namedCurve` (Weierstrass), the key type otherwise (`ed25519`). */
  readonly openssl: string;
  /** The JWK `crv` (RFC 7518 §6.2.1.1, RFC 8037), where one is defined and node:crypto exports it. */
  readonly jwk?: string;
  /** Weierstrass curves: the domain parameters (the ECDSA fast path and the qualification kit use them). */
  readonly weierstrass?: WeierstrassParams;
  /**
   * CKM_ECDSA over a caller's digest through OpenSSL k·G plus blinded BigInt arithmetic
   * (adapters/crypto-node/ecdsa/). Needs `weierstrass`, a prime order (cofactor 1) and equal field and
   * order byte lengths.
   */
  readonly prehashedEcdsa: boolean;
}

/** A row with its derived facts. */
export interface Curve<N extends string = CurveName> extends CurveRow<N> {
  /** Bytes of a field element (a coordinate) and of a scalar (the private value, r and s). */
  readonly fieldBytes: number;
  readonly orderBytes: number;
  /** CKA_EC_PARAMS: the DER of the namedCurve OID. */
  readonly ecParams: Uint8Array;
  /**
   * Bytes of a public key: the uncompressed point 04‖X‖Y (Weierstrass), the RFC 8032 / RFC 7748
   * encoding otherwise.
   */
  readonly publicBytes: number;
}

function row<const R extends CurveRow<string>>(r: R): R & Curve<R['name']> {
  return {
    ...r,
    fieldBytes: Math.ceil(r.fieldBits / 8),
    orderBytes: Math.ceil(r.orderBits / 8),
    ecParams: encodeOid(r.oid),
    publicBytes:
      r.family === 'weierstrass' ? 2 * Math.ceil(r.fieldBits / 8) + 1 : Math.ceil(r.fieldBits / 8),
  };
}

const ROWS = [
  row({
    name: 'P-256',
    aliases: ['prime256v1', 'secp256r1', 'p256', 'nistp256'],
    oid: '1.2.840.10045.3.1.7',
    family: 'weierstrass',
    fieldBits: 256,
    orderBits: 256,
    openssl: 'prime256v1',
    jwk: 'P-256',
    prehashedEcdsa: true,
    weierstrass: {
      p: 'ffffffff00000001000000000000000000000000ffffffffffffffffffffffff',
      a: 'ffffffff00000001000000000000000000000000fffffffffffffffffffffffc',
      b: '5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604b',
      n: 'ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551',
      gx: '6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296',
      gy: '4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5',
    },
  }),
  row({
    name: 'P-384',
    aliases: ['secp384r1', 'p384', 'nistp384'],
    oid: '1.3.132.0.34',
    family: 'weierstrass',
    fieldBits: 384,
    orderBits: 384,
    openssl: 'secp384r1',
    jwk: 'P-384',
    prehashedEcdsa: true,
    weierstrass: {
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
    },
  }),
  row({
    name: 'P-521',
    aliases: ['secp521r1', 'p521', 'nistp521'],
    oid: '1.3.132.0.35',
    family: 'weierstrass',
    fieldBits: 521,
    orderBits: 521,
    openssl: 'secp521r1',
    jwk: 'P-521',
    prehashedEcdsa: true,
    weierstrass: {
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
    },
  }),
  // RFC 8410 §3 OIDs; PKCS#11 3.0 §2.3.5 / §2.3.7 names (edwards25519, curve25519, …).
  row({
    name: 'Ed25519',
    aliases: ['edwards25519'],
    oid: '1.3.101.112',
    family: 'edwards',
    fieldBits: 256,
    orderBits: 256,
    openssl: 'ed25519',
    jwk: 'Ed25519',
    prehashedEcdsa: false,
  }),
  row({
    name: 'Ed448',
    aliases: ['edwards448'],
    oid: '1.3.101.113',
    family: 'edwards',
    fieldBits: 456,
    orderBits: 456,
    openssl: 'ed448',
    jwk: 'Ed448',
    prehashedEcdsa: false,
  }),
  row({
    name: 'X25519',
    aliases: ['curve25519'],
    oid: '1.3.101.110',
    family: 'montgomery',
    fieldBits: 256,
    orderBits: 256,
    openssl: 'x25519',
    jwk: 'X25519',
    prehashedEcdsa: false,
  }),
  row({
    name: 'X448',
    aliases: ['curve448'],
    oid: '1.3.101.111',
    family: 'montgomery',
    fieldBits: 448,
    orderBits: 448,
    openssl: 'x448',
    jwk: 'X448',
    prehashedEcdsa: false,
  }),
] as const;

/** The name of a curve in the table. */
export type CurveName = (typeof ROWS)[number]['name'];

/** The curves the CKM_ECDSA fast path serves. */
export type PrehashedEcdsaCurve = Extract<(typeof ROWS)[number], { prehashedEcdsa: true }>['name'];

/** Every curve, in the order users see them listed. */
export const CURVES: readonly Curve[] = ROWS;

const BY_NAME = new Map<string, Curve>();
for (const c of CURVES) {
  for (const n of [c.name, ...c.aliases, c.openssl]) BY_NAME.set(n.toLowerCase(), c);
}

/** The row of a curve name (total: the type says it is in the table). */
export function curve(name: CurveName): Curve {
  return BY_NAME.get(name.toLowerCase()) as Curve;
}

/**
 * The curve a name, alias or OpenSSL name (any case) stands for; undefined for anything else,
 * non-strings included.
 */
export function curveNamed(name: unknown): Curve | undefined {
  return typeof name === 'string' ? BY_NAME.get(name.toLowerCase()) : undefined;
}

/** The curve of a namedCurve OID (dotted). */
export function curveOfOid(oid: string): Curve | undefined {
  return CURVES.find((c) => c.oid === oid);
}

/** The curve whose raw ECDSA signatures (r‖s) are `length` bytes. */
export function curveOfSignatureLength(length: number): Curve | undefined {
  return CURVES.find((c) => c.family === 'weierstrass' && 2 * c.orderBytes === length);
}

/** The names of the curves (of one family), for messages ("P-256, P-384 and P-521"). */
export function curveList(family?: Curve['family']): string {
  const names = CURVES.filter((c) => family === undefined || c.family === family).map(
    (c) => c.name,
  );
  return names.length < 2
    ? names.join('')
    : `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}`;
}

/** CK_MECHANISM_INFO key sizes for the curves of a family: the smallest and largest field, in bits. */
export function keySizes(family: Curve['family']): { minKeySize: number; maxKeySize: number } {
  const bits = CURVES.filter((c) => c.family === family).map((c) => c.fieldBits);
  return { minKeySize: Math.min(...bits), maxKeySize: Math.max(...bits) };
}
