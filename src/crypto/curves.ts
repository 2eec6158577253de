/**
 * The curve table: every fact about every elliptic curve the token knows, in one row per curve. Every
 * other module (CKA_EC_PARAMS decoding, key import, the node:crypto adapter, the ECDSA fast path, the
 * helpers and the CLI) looks curves up here; none keeps a list of its own. Adding a curve is adding a
 * row (and, for a new family or fast path, the flag that says so). Layer L2 (beside the crypto port).
 * @module
 */
import { encodeOid } from '../util/der.js';
import { DOMAINS, type WeierstrassParams } from './curve-domains.js';

export type { WeierstrassParams } from './curve-domains.js';

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

/**
 * A short Weierstrass row: field and order of `bits` bits, domain parameters under its OpenSSL name,
 * and the CKM_ECDSA fast path (every such curve of the table has a prime order).
 */
function weierstrass<const N extends string>({
  bits,
  ...r
}: {
  name: N;
  aliases: readonly string[];
  oid: string;
  bits: number;
  openssl: keyof typeof DOMAINS;
  jwk?: string;
}) {
  return row({
    ...r,
    family: 'weierstrass',
    fieldBits: bits,
    orderBits: bits,
    prehashedEcdsa: true,
    weierstrass: DOMAINS[r.openssl],
  });
}

/** RFC 5639's curves, which OpenSSL names as RFC 5639 does: OID 1.3.36.3.3.2.8.1.1.`arc` (§4.1). */
function brainpool<const N extends keyof typeof DOMAINS>(name: N, arc: number, bits: number) {
  return weierstrass({ name, aliases: [], oid: `1.3.36.3.3.2.8.1.1.${arc}`, bits, openssl: name });
}

/**
 * An RFC 8032 / RFC 7748 row: public and private keys of `bits` bits, named by JWK as by us and by
 * node:crypto in lower case, and no CKM_ECDSA.
 */
function octetKeyPair<const N extends string>(
  family: 'edwards' | 'montgomery',
  name: N,
  alias: string,
  oid: string,
  bits: number,
) {
  return row({
    name,
    aliases: [alias],
    oid,
    family,
    fieldBits: bits,
    orderBits: bits,
    openssl: name.toLowerCase(),
    jwk: name,
    prehashedEcdsa: false,
  });
}

const ROWS = [
  weierstrass({
    name: 'P-256',
    aliases: ['prime256v1', 'secp256r1', 'p256', 'nistp256'],
    oid: '1.2.840.10045.3.1.7',
    bits: 256,
    openssl: 'prime256v1',
    jwk: 'P-256',
  }),
  weierstrass({
    name: 'P-384',
    aliases: ['secp384r1', 'p384', 'nistp384'],
    oid: '1.3.132.0.34',
    bits: 384,
    openssl: 'secp384r1',
    jwk: 'P-384',
  }),
  weierstrass({
    name: 'P-521',
    aliases: ['secp521r1', 'p521', 'nistp521'],
    oid: '1.3.132.0.35',
    bits: 521,
    openssl: 'secp521r1',
    jwk: 'P-521',
  }),
  weierstrass({
    name: 'P-192',
    aliases: ['prime192v1', 'secp192r1', 'p192', 'nistp192'],
    oid: '1.2.840.10045.3.1.1',
    bits: 192,
    openssl: 'prime192v1',
  }),
  weierstrass({
    name: 'P-224',
    aliases: ['secp224r1', 'p224', 'nistp224'],
    oid: '1.3.132.0.33',
    bits: 224,
    openssl: 'secp224r1',
  }),
  weierstrass({
    name: 'secp256k1',
    aliases: ['K-256', 'k256'],
    oid: '1.3.132.0.10',
    bits: 256,
    openssl: 'secp256k1',
    jwk: 'secp256k1',
  }),
  brainpool('brainpoolP160r1', 1, 160),
  brainpool('brainpoolP160t1', 2, 160),
  brainpool('brainpoolP192r1', 3, 192),
  brainpool('brainpoolP192t1', 4, 192),
  brainpool('brainpoolP224r1', 5, 224),
  brainpool('brainpoolP224t1', 6, 224),
  brainpool('brainpoolP256r1', 7, 256),
  brainpool('brainpoolP256t1', 8, 256),
  brainpool('brainpoolP320r1', 9, 320),
  brainpool('brainpoolP320t1', 10, 320),
  brainpool('brainpoolP384r1', 11, 384),
  brainpool('brainpoolP384t1', 12, 384),
  brainpool('brainpoolP512r1', 13, 512),
  brainpool('brainpoolP512t1', 14, 512),
  // RFC 8410 §3 OIDs; PKCS#11 3.0 §2.3.5 / §2.3.7 names (edwards25519, curve25519, …).
  octetKeyPair('edwards', 'Ed25519', 'edwards25519', '1.3.101.112', 256),
  octetKeyPair('edwards', 'Ed448', 'edwards448', '1.3.101.113', 456),
  octetKeyPair('montgomery', 'X25519', 'curve25519', '1.3.101.110', 256),
  octetKeyPair('montgomery', 'X448', 'curve448', '1.3.101.111', 448),
] as const;

/** The name of a curve in the table. */
export type CurveName = (typeof ROWS)[number]['name'];

/** The curves the CKM_ECDSA fast path serves. */
export type PrehashedEcdsaCurve = Extract<(typeof ROWS)[number], { prehashedEcdsa: true }>['name'];

/** Every curve, in the order users see them listed. */
export const CURVES: readonly Curve[] = ROWS;

const BY_NAME = new Map<string, Curve>();
const BY_EXACT = new Map<string, Curve>(CURVES.map((c) => [c.name, c]));
for (const c of CURVES) {
  for (const n of [c.name, ...c.aliases, c.openssl]) BY_NAME.set(n.toLowerCase(), c);
}

/** The row of a curve name (total: the type says it is in the table); exact names need no lower-casing. */
export function curve(name: CurveName): Curve {
  return (BY_EXACT.get(name) ?? BY_NAME.get(name.toLowerCase())) as Curve;
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

/**
 * CK_MECHANISM_INFO key sizes for the curves of a family (those of `minBits` or more): the smallest and
 * largest field, in bits.
 */
export function keySizes(
  family: Curve['family'],
  minBits = 0,
): { minKeySize: number; maxKeySize: number } {
  const bits = CURVES.filter((c) => c.family === family && c.orderBits >= minBits).map(
    (c) => c.fieldBits,
  );
  return { minKeySize: Math.min(...bits), maxKeySize: Math.max(...bits) };
}
