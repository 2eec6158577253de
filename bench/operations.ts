/**
 * The shapes the case files share: a one-part sign, verify or digest through the pkcs11js API (the
 * C_*Init and the call, as a client runs them each time), the raw node:crypto digest beside it, and the
 * case list that joins ours, node:crypto's and SoftHSMv2's operations by name.
 * @module
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Handle } from '../src/api/convert.js';
import type { BenchCase } from './harness.js';
import type { Target } from './targets.js';

/** A target's (or node:crypto's) operations, keyed by case name. */
export type Ops = Record<string, () => unknown>;

/** C_SignInit + C_Sign of `data` into `out`. */
export function signing(t: Target, mechanism: number, key: Handle, data: Buffer, out: Buffer) {
  const { p11, session: s } = t;
  return () => {
    p11.C_SignInit(s, { mechanism }, key);
    p11.C_Sign(s, data, out);
  };
}

/** C_VerifyInit + C_Verify of `signature` over `data`. */
export function verifying(
  t: Target,
  mechanism: number,
  key: Handle,
  data: Buffer,
  signature: Buffer,
) {
  const { p11, session: s } = t;
  return () => {
    p11.C_VerifyInit(s, { mechanism }, key);
    p11.C_Verify(s, data, signature);
  };
}

/** Input sizes of the digest cases, with the names the case names end with. */
export type Sizes = readonly (readonly [name: string, bytes: number])[];

/** C_DigestInit + C_Digest of random data of each size, as `${label} ${size name}`. */
export function digesting(t: Target, mechanism: number, label: string, sizes: Sizes): Ops {
  const { p11, session: s } = t;
  const out = Buffer.alloc(64);
  const ops: Ops = {};
  for (const [name, size] of sizes) {
    const data = randomBytes(size);
    ops[`${label} ${name}`] = () => {
      p11.C_DigestInit(s, { mechanism });
      p11.C_Digest(s, data, out);
    };
  }
  return ops;
}

/** node:crypto's createHash(`hash`) over the same sizes, under the same names. */
export function hashing(hash: string, label: string, sizes: Sizes): Ops {
  const ops: Ops = {};
  for (const [name, size] of sizes) {
    const data = randomBytes(size);
    ops[`${label} ${name}`] = () => createHash(hash).update(data).digest();
  }
  return ops;
}

/** One case per operation of ours, with node:crypto's and SoftHSMv2's of the same name where they exist. */
export function joinCases(ours: Ops, baseline: Ops, softhsm: Ops): BenchCase[] {
  return Object.keys(ours).map((op) => ({
    op,
    ours: ours[op] as () => unknown,
    ...(baseline[op] ? { baseline: baseline[op] } : {}),
    ...(softhsm[op] ? { softhsm: softhsm[op] } : {}),
  }));
}
