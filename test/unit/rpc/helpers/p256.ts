/**
 * Just enough P-256 for the fake engine to sign a caller-computed digest (CKM_ECDSA) with a fixed key:
 * Jacobian point arithmetic in BigInt and a deterministic nonce. Test code only: variable time, not
 * RFC 6979, never for real keys.
 * @module
 */
import { createECDH, createHmac, createPublicKey, type KeyObject } from 'node:crypto';

const P = 0xffffffff00000001000000000000000000000000ffffffffffffffffffffffffn;
const N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
const A = P - 3n;
const G: [bigint, bigint] = [
  0x6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296n,
  0x4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5n,
];

const mod = (a: bigint, m: bigint) => ((a % m) + m) % m;
function inv(a: bigint, m: bigint): bigint {
  let [r0, r1, s0, s1] = [mod(a, m), m, 1n, 0n];
  while (r1 !== 0n) {
    const q = r0 / r1;
    [r0, r1] = [r1, r0 - q * r1];
    [s0, s1] = [s1, s0 - q * s1];
  }
  return mod(s0, m);
}

type J = [bigint, bigint, bigint];

function double([x, y, z]: J): J {
  if (y === 0n) return [0n, 1n, 0n];
  const yy = mod(y * y, P);
  const s = mod(4n * x * yy, P);
  const zz = mod(z * z, P);
  const m = mod(3n * x * x + A * zz * zz, P);
  const x3 = mod(m * m - 2n * s, P);
  return [x3, mod(m * (s - x3) - 8n * yy * yy, P), mod(2n * y * z, P)];
}

function add(p: J, q: J): J {
  if (p[2] === 0n) return q;
  if (q[2] === 0n) return p;
  const z1z1 = mod(p[2] * p[2], P);
  const z2z2 = mod(q[2] * q[2], P);
  const u1 = mod(p[0] * z2z2, P);
  const u2 = mod(q[0] * z1z1, P);
  const s1 = mod(p[1] * q[2] * z2z2, P);
  const s2 = mod(q[1] * p[2] * z1z1, P);
  if (u1 === u2) return s1 === s2 ? double(p) : [0n, 1n, 0n];
  const h = u2 - u1;
  const r = s2 - s1;
  const hh = mod(h * h, P);
  const hhh = mod(h * hh, P);
  const x3 = mod(r * r - hhh - 2n * u1 * hh, P);
  return [x3, mod(r * (u1 * hh - x3) - s1 * hhh, P), mod(h * p[2] * q[2], P)];
}

function mulG(k: bigint): bigint {
  let acc: J = [0n, 1n, 0n];
  let base: J = [G[0], G[1], 1n];
  for (let e = k; e > 0n; e >>= 1n) {
    if (e & 1n) acc = add(acc, base);
    base = double(base);
  }
  const zi = inv(acc[2], P);
  return mod(acc[0] * zi * zi, P);
}

const big = (b: Uint8Array) => BigInt(`0x${Buffer.from(b).toString('hex') || '0'}`);
const bytes32 = (v: bigint) => Buffer.from(v.toString(16).padStart(64, '0'), 'hex');

/** A fixed P-256 key: signs digests, exposes the public key for node:crypto verification. */
export class FixedP256Key {
  readonly #d: bigint;
  readonly publicPoint: Uint8Array;
  readonly publicKey: KeyObject;

  constructor(secret = 0x1234_5678_9abc_def0_1234_5678_9abc_def0_1234_5678_9abc_def0_1234_5678n) {
    this.#d = mod(secret, N - 1n) + 1n;
    const ecdh = createECDH('prime256v1');
    ecdh.setPrivateKey(bytes32(this.#d));
    this.publicPoint = new Uint8Array(ecdh.getPublicKey());
    const x = Buffer.from(this.publicPoint.subarray(1, 33)).toString('base64url');
    const y = Buffer.from(this.publicPoint.subarray(33)).toString('base64url');
    this.publicKey = createPublicKey({ key: { kty: 'EC', crv: 'P-256', x, y }, format: 'jwk' });
  }

  /** r || s over a digest (truncated to 256 bits as ECDSA does). */
  sign(digest: Uint8Array): Uint8Array {
    const e = big(digest.subarray(0, 32));
    const mac = createHmac('sha256', bytes32(this.#d)).update(digest).digest();
    const k = mod(big(mac), N - 1n) + 1n;
    const r = mod(mulG(k), N);
    const s = mod(inv(k, N) * (e + r * this.#d), N);
    return new Uint8Array(Buffer.concat([bytes32(r), bytes32(s)]));
  }
}
