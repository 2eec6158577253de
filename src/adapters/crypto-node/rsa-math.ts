/**
 * RSA key import helpers: base64url for JWK, and recovering p and q from (n, e, d) when a caller
 * creates a private key without the CRT components (RFC 8017 allows that form; node:crypto does not).
 * Only runs at import time, on key material the caller already holds.
 * @module
 */
import { CKR_ATTRIBUTE_VALUE_INVALID } from '../../pkcs11/constants.js';
import { bigIntToBytes, bytesToBigInt, gcd, modInverse, modPow } from '../../util/bigint.js';
import { refused } from './input.js';

export function toBase64Url(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64url');
}

export function fromBase64Url(s: string): Uint8Array {
  return new Uint8Array(Buffer.from(s, 'base64url'));
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
  if (n < 15n || k <= 0n || k % 2n !== 0n)
    throw refused(CKR_ATTRIBUTE_VALUE_INVALID, 'inconsistent RSA private exponent');
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
        if (big === small) break;
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
  throw refused(
    CKR_ATTRIBUTE_VALUE_INVALID,
    'could not factor the RSA modulus from the private exponent',
  );
}

/**
 * The private exponent OpenSSL is given: d mod λ(n), λ = lcm(p − 1, q − 1). Every d ≡ e⁻¹ (mod λ) is the
 * same key, and PKCS#11 lets a caller store a larger one; OpenSSL 3.5 (Node 22 and 24) refuses some
 * such keys at first use ("operation not supported for this keytype": 5 of 25 512-bit keys whose
 * d·e − 1 has a single factor 2, measured), where OpenSSL 3.0 (Node 20) took them all.
 */
export function reducedExponent(
  dBytes: Uint8Array,
  pBytes: Uint8Array,
  qBytes: Uint8Array,
): Uint8Array {
  const [d, p, q] = [dBytes, pBytes, qBytes].map((b) => bytesToBigInt(b)) as [
    bigint,
    bigint,
    bigint,
  ];
  const lambda = ((p - 1n) * (q - 1n)) / gcd(p - 1n, q - 1n);
  return lambda > 0n ? bigIntToBytes(d % lambda) : dBytes;
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
  if (!ok)
    throw refused(CKR_ATTRIBUTE_VALUE_INVALID, 'the RSA private key components are inconsistent');
}
