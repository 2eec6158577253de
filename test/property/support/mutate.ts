/**
 * Byte-level mutations of valid encodings, as plain data fast-check can shrink: bit flips, overwritten
 * bytes, 32-bit fields set to edge values (lengths and counts inflated), truncations, insertions and
 * duplicated slices. Most mutants of a DER, record or RPC body are near misses, which is where parsers
 * break.
 * @module
 */
import fc from 'fast-check';
import { Pkcs11Error } from '../../../src/errors.js';

export type Mutation =
  | { op: 'flip'; at: number; bit: number }
  | { op: 'set'; at: number; byte: number }
  | { op: 'u32'; at: number; value: number }
  | { op: 'truncate'; at: number }
  | { op: 'insert'; at: number; bytes: number[] }
  | { op: 'repeat'; at: number; length: number };

export const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ op: fc.constant('flip' as const), at: fc.nat(), bit: fc.nat(7) }),
  fc.record({
    op: fc.constant('set' as const),
    at: fc.nat(),
    byte: fc.constantFrom(0, 1, 0x7f, 0x80, 0x81, 0x82, 0x84, 0xff),
  }),
  fc.record({
    op: fc.constant('u32' as const),
    at: fc.nat(),
    value: fc.constantFrom(0, 1, 0x7f, 0xffff, 0x7fff_ffff, 0x8000_0000, 0xffff_fffe, 0xffff_ffff),
  }),
  fc.record({ op: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({
    op: fc.constant('insert' as const),
    at: fc.nat(),
    bytes: fc.array(fc.nat(255), { minLength: 1, maxLength: 8 }),
  }),
  fc.record({
    op: fc.constant('repeat' as const),
    at: fc.nat(),
    length: fc.integer({ min: 1, max: 64 }),
  }),
);

export function mutate(input: Uint8Array, ops: readonly Mutation[]): Uint8Array {
  let b = Uint8Array.from(input);
  for (const m of ops) {
    if (b.length === 0) break;
    const at = m.at % b.length;
    switch (m.op) {
      case 'flip':
        b[at] = (b[at] as number) ^ (1 << m.bit);
        break;
      case 'set':
        b[at] = m.byte;
        break;
      case 'u32':
        if (b.length >= 4) new DataView(b.buffer).setUint32(Math.min(at, b.length - 4), m.value);
        break;
      case 'truncate':
        b = b.slice(0, at);
        break;
      case 'insert':
        b = Uint8Array.from([...b.subarray(0, at), ...m.bytes, ...b.subarray(at)]);
        break;
      case 'repeat': {
        const slice = b.subarray(at, at + m.length);
        b = Uint8Array.from([
          ...b.subarray(0, at + slice.length),
          ...slice,
          ...b.subarray(at + slice.length),
        ]);
        break;
      }
    }
  }
  return b;
}

/** A seed from `seeds`, mutated 1–4 times; or now and then random bytes. */
export function mutated(seeds: readonly Uint8Array[]): fc.Arbitrary<Uint8Array> {
  return fc.oneof(
    {
      weight: 8,
      arbitrary: fc
        .tuple(fc.nat(seeds.length - 1), fc.array(mutation, { minLength: 1, maxLength: 4 }))
        .map(([i, ops]) => mutate(seeds[i] as Uint8Array, ops)),
    },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 200 }) },
    {
      weight: 1,
      arbitrary: fc.nat(seeds.length - 1).map((i) => Uint8Array.from(seeds[i] as Uint8Array)),
    },
  );
}

/** Runs `fn`; a Pkcs11Error with one of `codes` is a refusal, anything else thrown is rethrown. */
export function refusedWith(codes: readonly number[], fn: () => unknown): 'ok' | 'refused' {
  try {
    fn();
    return 'ok';
  } catch (e) {
    if (e instanceof Pkcs11Error && codes.includes(e.code)) return 'refused';
    throw e;
  }
}
