/**
 * Finite-field cryptography over node:crypto: DSA and PKCS#3 Diffie-Hellman domain parameters, key
 * pairs, and the DH agreement. OpenSSL does every exponentiation with a secret exponent, through a
 * DiffieHellman object that holds the exponent as its private key (BN_mod_exp constant-time there);
 * BigInt only ever sees public or random-masked values. Parameters come out of OpenSSL's generators
 * (FIPS 186-4 for DSA, safe primes for DH) as DER, which is read here.
 * @module
 */
import {
  createDiffieHellman,
  type DiffieHellman,
  generateKeyPairSync,
  randomBytes,
} from 'node:crypto';
import type { DhMaterial, FfcPair, FfcParameters, KeyHandle } from '../../crypto/backend.js';
import {
  CKR_ATTRIBUTE_VALUE_INVALID,
  CKR_KEY_SIZE_RANGE,
  CKR_MECHANISM_PARAM_INVALID,
} from '../../pkcs11/constants.js';
import { bigIntToBytes, bytesToBigInt } from '../../util/bigint.js';
import { stripLeadingZeros } from '../../util/bytes.js';
import {
  decodeUnsignedInteger,
  readChildren,
  readSingle,
  TAG_INTEGER,
  TAG_SEQUENCE,
} from '../../util/der.js';
import { onInput, refused } from './input.js';

const bitsOf = (x: bigint) => x.toString(2).length;
const SUBPRIME_BITS = [160, 224, 256];

/**
 * Checks domain parameters before any use: DSA p of 512..4096 bits and q of 160, 224 or 256 (FIPS
 * 186-4's N) below p; DH p of 512..8192 bits; 1 < g < p. Primality is OpenSSL's business when it uses
 * them; these bounds keep every computation here well-defined.
 */
export function checkParameters(params: FfcParameters): void {
  const p = bytesToBigInt(params.p);
  const g = bytesToBigInt(params.g);
  const what = params.q ? 'DSA' : 'DH';
  const [low, high] = params.q ? [512, 4096] : [512, 8192];
  if (bitsOf(p) < low || bitsOf(p) > high || g <= 1n || g >= p) {
    throw refused(CKR_ATTRIBUTE_VALUE_INVALID, `${what} parameters out of range`);
  }
  if (params.q) {
    const q = bytesToBigInt(params.q);
    if (!SUBPRIME_BITS.includes(bitsOf(q)) || q >= p)
      throw refused(CKR_ATTRIBUTE_VALUE_INVALID, `a DSA subprime of ${bitsOf(q)} bits`);
  }
}

/** A DiffieHellman object over (p, g) holding the exponent x: its public key is g^x mod p. */
function holding(p: Uint8Array, g: Uint8Array, x: Uint8Array): DiffieHellman {
  const dh = createDiffieHellman(p, g);
  dh.setPrivateKey(x);
  return dh;
}

/** g^x mod p, computed by OpenSSL (constant time in x), as minimal big-endian bytes. */
export function modExp(p: Uint8Array, g: Uint8Array, x: Uint8Array): Uint8Array {
  if (bytesToBigInt(x) === 0n) return Uint8Array.of(1);
  const dh = holding(p, g, x);
  dh.generateKeys();
  return stripLeadingZeros(new Uint8Array(dh.getPublicKey()));
}

/** A uniform integer in [1, n - 1] (64 extra random bits make the modulo bias negligible). */
export function randomBelow(n: bigint): bigint {
  const bytes = Math.ceil(n.toString(16).length / 2) + 8;
  return (bytesToBigInt(randomBytes(bytes)) % (n - 1n)) + 1n;
}

function integers(der: Uint8Array): Uint8Array[] {
  return readChildren(der).map((t) => {
    if (t.tag !== TAG_INTEGER) throw new Error('node:crypto encoded the parameters unexpectedly');
    return new Uint8Array(decodeUnsignedInteger(t.value));
  });
}

/** The Dss-Parms of a DSA SPKI (RFC 3279 §2.3.2): SEQUENCE { p, q, g }. */
function dssParms(spki: Uint8Array): FfcParameters {
  const algorithm = readChildren(readSingle(spki, TAG_SEQUENCE).value)[0];
  const params = algorithm && readChildren(algorithm.value)[1];
  if (!params || params.tag !== TAG_SEQUENCE) throw new Error('a DSA SPKI without parameters');
  const [p, q, g] = integers(params.value);
  if (!p || !q || !g) throw new Error('incomplete DSA parameters');
  return { p, q, g };
}

/** FIPS 186-4 §4.2: the (L, N) pairs OpenSSL generates. */
const DSA_SIZES = new Map([
  [1024, [160]],
  [2048, [224, 256]],
  [3072, [256]],
]);

/** New DSA domain parameters of `primeBits` (L) and `subprimeBits` (N). */
export function generateDsaParameters(primeBits: number, subprimeBits: number): FfcParameters {
  if (!DSA_SIZES.get(primeBits)?.includes(subprimeBits)) {
    throw refused(CKR_KEY_SIZE_RANGE, `DSA (L, N) of (${primeBits}, ${subprimeBits}) bits`);
  }
  const { publicKey } = generateKeyPairSync('dsa', {
    modulusLength: primeBits,
    divisorLength: subprimeBits,
    publicKeyEncoding: { type: 'spki', format: 'der' },
    privateKeyEncoding: { type: 'pkcs8', format: 'der' },
  });
  return dssParms(publicKey);
}

/** New PKCS#3 DH parameters: a safe prime of `primeBits` and generator 2 (slow: seconds for 2048). */
export function generateDhParameters(primeBits: number): FfcParameters {
  if (primeBits < 512 || primeBits > 8192)
    throw refused(CKR_KEY_SIZE_RANGE, 'DH primes of 512..8192 bits');
  const dh = createDiffieHellman(primeBits);
  return { p: new Uint8Array(dh.getPrime()), g: new Uint8Array(dh.getGenerator()) };
}

/**
 * A fresh key pair on (p, q, g) or (p, g): DSA x uniform in [1, q-1] (FIPS 186-4 §B.1.2); DH x of exactly
 * `valueBits` bits when asked (CKA_VALUE_BITS), else of p's size less one bit. y = g^x mod p.
 */
export function generateFfcPair(params: FfcParameters, valueBits?: number): FfcPair {
  checkParameters(params);
  const p = bytesToBigInt(params.p);
  let x: bigint;
  if (params.q) x = randomBelow(bytesToBigInt(params.q));
  else {
    const bits = valueBits ?? p.toString(2).length - 1;
    if (bits < 2 || bits >= p.toString(2).length)
      throw refused(CKR_KEY_SIZE_RANGE, `a DH private value of ${bits} bits`);
    x =
      (bytesToBigInt(randomBytes(Math.ceil(bits / 8) + 8)) % (1n << BigInt(bits - 1))) |
      (1n << BigInt(bits - 1));
  }
  const xBytes = bigIntToBytes(x);
  return { x: xBytes, y: modExp(params.p, params.g, xBytes) };
}

/** The DH secret g^(xy) mod p, left-padded to p's length (PKCS#3); a bad peer value is refused. */
export function dhSecret(params: FfcParameters, x: Uint8Array, peer: Uint8Array): Uint8Array {
  const p = bytesToBigInt(params.p);
  const y = bytesToBigInt(peer);
  // SP 800-56A §5.6.2.3.1: 1 < y < p - 1 (the ones that give away the secret).
  if (y <= 1n || y >= p - 1n)
    throw refused(CKR_MECHANISM_PARAM_INVALID, 'the peer value is out of range');
  const secret = onInput(CKR_MECHANISM_PARAM_INVALID, 'the peer value does not agree', () =>
    holding(params.p, params.g, x).computeSecret(peer),
  );
  return bigIntToBytes(bytesToBigInt(secret), params.p.length);
}

/** A PKCS#3 DH private key (512..8192-bit prime, 1 < g < p, 1 < x < p - 1). */
export class DhKey implements KeyHandle {
  readonly kind = 'dh';
  readonly isPrivate = true;
  readonly bits: number;
  readonly #m: DhMaterial;

  constructor(m: DhMaterial) {
    checkParameters(m);
    const p = bytesToBigInt(m.p);
    const x = bytesToBigInt(m.x);
    if (x <= 1n || x >= p - 1n)
      throw refused(CKR_ATTRIBUTE_VALUE_INVALID, 'DH private value out of range');
    this.#m = m;
    this.bits = bitsOf(p);
  }

  agree(peer: Uint8Array): Uint8Array {
    return dhSecret(this.#m, this.#m.x, peer);
  }
}
