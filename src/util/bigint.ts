/**
 * BigInt arithmetic on big-endian byte strings, the one copy for the whole tree: bytes ⇄ BigInt (fixed
 * width or minimal), modular power and inverse, gcd, and the FIPS 186-4 digest-to-integer rule. All of
 * it runs in variable time; callers pass only public values or values masked by fresh random factors
 * (see adapters/crypto-node/ecdsa/ecdsa-key.ts). Layer L1.
 * @module
 */

const HEX_VALUE = new Int8Array(128).fill(-1);
for (let i = 0; i < 16; i++) {
  HEX_VALUE['0123456789abcdef'.charCodeAt(i)] = i;
}

/** The unsigned big-endian integer in `bytes[offset, offset + length)`. */
export function bytesToBigInt(
  bytes: Uint8Array,
  offset = 0,
  length = bytes.length - offset,
): bigint {
  const end = offset + length;
  let i = offset;
  let x = 0n;
  for (const head = offset + (length & 7); i < head; i++) x = (x << 8n) | BigInt(bytes[i] ?? 0);
  if (i < end) {
    const view = new DataView(bytes.buffer, bytes.byteOffset + i, end - i);
    for (let j = 0; j < end - i; j += 8) x = (x << 64n) | view.getBigUint64(j);
  }
  return x;
}

/**
 * Writes `x` big-endian into exactly `length` bytes (left-padded with zeros) and returns the target;
 * without a length, into as few bytes as hold it (at least one). Throws a RangeError when x is negative
 * or does not fit.
 */
export function bigIntToBytes(
  x: bigint,
  length = minimalLength(x),
  out: Uint8Array = new Uint8Array(length),
  offset = 0,
): Uint8Array {
  if (x < 0n) throw new RangeError('negative integer');
  const hex = x === 0n ? '' : x.toString(16);
  const pad = 2 * length - hex.length;
  if (pad < 0) throw new RangeError(`integer does not fit in ${length} bytes`);
  out.fill(0, offset, offset + (pad >> 1));
  let o = offset + (pad >> 1);
  let j = 0;
  if (pad & 1) {
    out[o++] = HEX_VALUE[hex.charCodeAt(j++)] ?? 0;
  }
  for (; j < hex.length; j += 2) {
    out[o++] = ((HEX_VALUE[hex.charCodeAt(j)] ?? 0) << 4) | (HEX_VALUE[hex.charCodeAt(j + 1)] ?? 0);
  }
  return out;
}

function minimalLength(x: bigint): number {
  return x <= 0n ? 1 : Math.ceil(x.toString(16).length / 2);
}

/** base^exp mod m, square-and-multiply (variable time). */
export function modPow(base: bigint, exp: bigint, m: bigint): bigint {
  let result = 1n;
  let b = base % m;
  if (b < 0n) b += m;
  for (let e = exp; e > 0n; e >>= 1n) {
    if (e & 1n) result = (result * b) % m;
    b = (b * b) % m;
  }
  return result;
}

export function gcd(a: bigint, b: bigint): bigint {
  let x = a < 0n ? -a : a;
  let y = b < 0n ? -b : b;
  while (y !== 0n) [x, y] = [y, x % y];
  return x;
}

/**
 * FIPS 186-4 §6.4 / SEC 1 §4.1.3 step 5: the integer formed by the leftmost `orderBits` bits of the
 * digest (all of it when shorter). Not reduced mod n.
 */
export function digestToInteger(digest: Uint8Array, orderBits: number): bigint {
  const usable = (orderBits + 7) >> 3;
  if (digest.length <= usable) {
    const e = bytesToBigInt(digest);
    return digest.length * 8 > orderBits ? e >> BigInt(digest.length * 8 - orderBits) : e;
  }
  return bytesToBigInt(digest, 0, usable) >> BigInt(usable * 8 - orderBits);
}

/** Bits of the leading part Lehmer's algorithm simulates in doubles: keeps every value below 2^53. */
const LEAD_BITS = 48;
const SMALL = 1n << BigInt(LEAD_BITS);

/**
 * The inverse of `a` modulo `m` (Lehmer's extended Euclid, Knuth 4.5.2 Algorithm L with the cofactor
 * of `a` tracked). About 3x faster than the plain BigInt Euclid loop because most quotient steps run
 * on 48-bit Numbers. Variable time: public or blinded inputs only.
 * Throws a RangeError when a ≡ 0 (mod m) or gcd(a, m) ≠ 1.
 */
export function modInverse(a: bigint, m: bigint): bigint {
  let u = m;
  let v = a % m;
  if (v < 0n) v += m;
  if (v === 0n) throw new RangeError('zero has no inverse');
  // Invariants: u ≡ xu·a and v ≡ xv·a (mod m).
  let xu = 0n;
  let xv = 1n;
  while (v !== 0n) {
    if (u < SMALL) {
      const [nu, ca, cb] = euclidSmall(Number(u), Number(v));
      u = BigInt(nu);
      xu = BigInt(ca) * xu + BigInt(cb) * xv;
      break;
    }
    const shift = BigInt(u.toString(16).length * 4 - LEAD_BITS);
    let uh = Number(u >> shift);
    let vh = Number(v >> shift);
    // Cofactors of the simulated steps: u' = A·u + B·v, v' = C·u + D·v.
    let A = 1;
    let B = 0;
    let C = 0;
    let D = 1;
    for (;;) {
      if (vh + C === 0 || vh + D === 0) break;
      const q = Math.floor((uh + A) / (vh + C));
      if (q !== Math.floor((uh + B) / (vh + D))) break;
      let t = A - q * C;
      A = C;
      C = t;
      t = B - q * D;
      B = D;
      D = t;
      t = uh - q * vh;
      uh = vh;
      vh = t;
    }
    if (B === 0) {
      const q = u / v;
      let t = u - q * v;
      u = v;
      v = t;
      t = xu - q * xv;
      xu = xv;
      xv = t;
    } else {
      const bA = BigInt(A);
      const bB = BigInt(B);
      const bC = BigInt(C);
      const bD = BigInt(D);
      const nu = bA * u + bB * v;
      v = bC * u + bD * v;
      u = nu;
      const nxu = bA * xu + bB * xv;
      xv = bC * xu + bD * xv;
      xu = nxu;
    }
  }
  if (u !== 1n) throw new RangeError('not invertible: modulus is not prime to the value');
  xu %= m;
  return xu < 0n ? xu + m : xu;
}

/** Euclid on exact Numbers below 2^48: returns [gcd, A, B] with gcd = A·u + B·v. */
function euclidSmall(u: number, v: number): [number, number, number] {
  let A = 1;
  let B = 0;
  let C = 0;
  let D = 1;
  while (v !== 0) {
    const q = Math.floor(u / v);
    let t = u - q * v;
    u = v;
    v = t;
    t = A - q * C;
    A = C;
    C = t;
    t = B - q * D;
    B = D;
    D = t;
  }
  return [u, A, B];
}
