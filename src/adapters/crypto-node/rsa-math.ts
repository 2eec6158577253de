/**
 * BigInt helpers for RSA key import: base64url for JWK, and recovering p and q from (n, e, d) when a
 * caller creates a private key without the CRT components (RFC 8017 allows that form; node:crypto does not).
 * Only runs at import time, on key material the caller already holds.
 * @module
 */

export function toBase64Url(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64url');
}

export function fromBase64Url(s: string): Uint8Array {
  return new Uint8Array(Buffer.from(s, 'base64url'));
}

export function bytesToBigInt(b: Uint8Array): bigint {
  let v = 0n;
  for (const x of b) v = (v << 8n) | BigInt(x);
  return v;
}

export function bigIntToBytes(v: bigint, width = 0): Uint8Array {
  const hex = v.toString(16);
  const len = Math.max(width, Math.ceil(hex.length / 2));
  const out = new Uint8Array(len);
  let x = v;
  for (let i = len - 1; i >= 0; i--) {
    out[i] = Number(x & 0xffn);
    x >>= 8n;
  }
  return out;
}

export function modPow(base: bigint, exp: bigint, mod: bigint): bigint {
  let result = 1n;
  let b = base % mod;
  let e = exp;
  while (e > 0n) {
    if (e & 1n) result = (result * b) % mod;
    b = (b * b) % mod;
    e >>= 1n;
  }
  return result;
}

function gcd(a: bigint, b: bigint): bigint {
  let x = a < 0n ? -a : a;
  let y = b;
  while (y !== 0n) [x, y] = [y, x % y];
  return x;
}

export function modInverse(a: bigint, m: bigint): bigint {
  let [r0, r1] = [((a % m) + m) % m, m];
  let [s0, s1] = [1n, 0n];
  while (r1 !== 0n) {
    const q = r0 / r1;
    [r0, r1] = [r1, r0 - q * r1];
    [s0, s1] = [s1, s0 - q * s1];
  }
  if (r0 !== 1n) throw new Error('not invertible');
  return ((s0 % m) + m) % m;
}

/** Factors n from a private exponent (the probabilistic method of RFC 8017 / NIST SP 800-56B C.2). */
export function recoverPrimes(
  nBytes: Uint8Array,
  eBytes: Uint8Array,
  dBytes: Uint8Array,
): { p: Uint8Array; q: Uint8Array; dp: Uint8Array; dq: Uint8Array; qi: Uint8Array } {
  const n = bytesToBigInt(nBytes);
  const e = bytesToBigInt(eBytes);
  const d = bytesToBigInt(dBytes);
  const k = d * e - 1n;
  if (n < 15n || k <= 0n || k % 2n !== 0n) throw new Error('inconsistent RSA private exponent');
  let t = 0;
  let r = k;
  while (r % 2n === 0n) {
    r /= 2n;
    t++;
  }
  for (let g = 2n; g < 2000n; g++) {
    let y = modPow(g, r, n);
    if (y === 1n || y === n - 1n) continue;
    // square up to t times: the last square is g^k = 1, so a nontrivial root of 1 shows up by then
    for (let i = 1; i <= t; i++) {
      const x = (y * y) % n;
      if (x === 1n) {
        const p = gcd(y - 1n, n);
        const q = n / p;
        if (p * q !== n || p === 1n) break;
        const [big, small] = p > q ? [p, q] : [q, p];
        return {
          p: bigIntToBytes(big),
          q: bigIntToBytes(small),
          dp: bigIntToBytes(d % (big - 1n)),
          dq: bigIntToBytes(d % (small - 1n)),
          qi: bigIntToBytes(modInverse(small, big)),
        };
      }
      if (x === n - 1n) break;
      y = x;
    }
  }
  throw new Error('could not factor the RSA modulus from the private exponent');
}

/**
 * The CRT parts must belong to n and d: OpenSSL signs with the CRT parts alone, so a wrong d (or a wrong
 * prime) would otherwise be stored and reported while signatures still verify.
 */
export function checkCrt(
  nBytes: Uint8Array,
  dBytes: Uint8Array,
  crt: { p?: Uint8Array; q?: Uint8Array; dp?: Uint8Array; dq?: Uint8Array; qi?: Uint8Array },
): void {
  const [n, d, p, q, dp, dq, qi] = [nBytes, dBytes, crt.p, crt.q, crt.dp, crt.dq, crt.qi].map((b) =>
    bytesToBigInt(b ?? new Uint8Array(0)),
  ) as [bigint, bigint, bigint, bigint, bigint, bigint, bigint];
  const ok =
    p > 1n &&
    q > 1n &&
    p * q === n &&
    d % (p - 1n) === dp &&
    d % (q - 1n) === dq &&
    (qi * q) % p === 1n;
  if (!ok) throw new Error('the RSA private key components are inconsistent');
}
