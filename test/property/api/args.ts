/**
 * Arbitrary arguments for the PKCS11 API, as plain data fast-check can print and shrink: handles that
 * name things the sequence made (sessions, objects) or nothing at all, templates with random attribute
 * types, lengths and values, mechanisms with random parameters, buffers of random sizes, PINs, and
 * values of the wrong JS type. `resolve` turns a spec into the JS value at run time and says whether it
 * is a JS-level misuse (for which a TypeError is the right answer).
 * @module
 */
import fc from 'fast-check';
import { attributeKind } from '../../../src/attributes/kinds.js';
import * as C from '../../../src/pkcs11/constants.js';
import { SO_PIN, USER_PIN } from '../../helpers/token.js';
import { type FixtureName, fixture } from './fixtures.js';

export type KeyClass = 'ecPrivate' | 'ecPublic' | 'rsaPrivate' | 'rsaPublic' | 'aes' | 'hmac';

/** What the sequence has made so far: handles to refer back to, keys also by class. */
export interface Pool {
  slot: Buffer;
  sessions: Buffer[];
  objects: Buffer[];
  keys: Record<KeyClass, Buffer[]>;
}

export type ArgSpec =
  | { k: 'session'; i: number }
  | { k: 'object'; i: number }
  | { k: 'key'; cls: KeyClass; i: number }
  | { k: 'slot' }
  | { k: 'handle'; n: number }
  | { k: 'handleBytes'; b: number[] }
  | { k: 'data'; n: number; fill: number }
  | { k: 'out'; n: number }
  | { k: 'pin'; pin: string | undefined }
  | { k: 'num'; n: number }
  | { k: 'bool'; b: boolean }
  | { k: 'template'; t: AttrSpec[] }
  | { k: 'mechanism'; m: MechSpec }
  | { k: 'fixture'; name: FixtureName; token: boolean; priv: boolean }
  | { k: 'junk'; v: unknown };

export interface AttrSpec {
  type: number;
  value: ValueSpec;
}

export type ValueSpec =
  | { v: 'none' }
  | { v: 'null' }
  | { v: 'num'; n: number }
  | { v: 'bool'; b: boolean }
  | { v: 'str'; s: string }
  | { v: 'bytes'; n: number; fill: number }
  | { v: 'hex'; h: string }
  | { v: 'date'; t: number }
  | { v: 'nested'; t: AttrSpec[] }
  | { v: 'junk'; j: unknown };

export interface MechSpec {
  mechanism: number | { junk: unknown };
  parameter?: ParamSpec;
}

export type ParamSpec =
  | { p: 'null' }
  | { p: 'bytes'; n: number; fill: number }
  | { p: 'num'; n: number }
  | { p: 'struct'; fields: Record<string, ValueSpec | number> }
  | { p: 'junk'; j: unknown };

const ATTRIBUTE_TYPES = [...C.CKA_NAMES.keys()];
const MECHANISMS = [...C.CKM_NAMES.keys()];
const SUPPORTED = [
  C.CKM_SHA256,
  C.CKM_SHA_1,
  C.CKM_SHA512,
  C.CKM_ECDSA,
  C.CKM_ECDSA_SHA256,
  C.CKM_EC_KEY_PAIR_GEN,
  C.CKM_ECDH1_DERIVE,
  C.CKM_RSA_PKCS,
  C.CKM_SHA256_RSA_PKCS,
  C.CKM_RSA_PKCS_PSS,
  C.CKM_SHA256_RSA_PKCS_PSS,
  C.CKM_RSA_PKCS_OAEP,
  C.CKM_RSA_X_509,
  C.CKM_SHA256_HMAC,
  C.CKM_SHA256_HMAC_GENERAL,
  C.CKM_GENERIC_SECRET_KEY_GEN,
  C.CKM_AES_KEY_GEN,
  C.CKM_AES_ECB,
  C.CKM_AES_CBC,
  C.CKM_AES_CBC_PAD,
  C.CKM_AES_CTR,
  C.CKM_AES_GCM,
  C.CKM_AES_CMAC,
  C.CKM_AES_CMAC_GENERAL,
];

/** Numbers a C caller could pass as CK_ULONG, and the edges around them. */
const ulong = fc.oneof(
  { weight: 4, arbitrary: fc.nat(64) },
  { weight: 2, arbitrary: fc.nat() },
  { weight: 1, arbitrary: fc.constantFrom(0x7fffffff, 0xffffffff, 2 ** 32, 2 ** 53 - 1, 2 ** 63) },
);

/** Values of the wrong JS type (or out of any C type's range): a TypeError is fair for these. */
export const junk = fc.oneof(
  fc.constantFrom(-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 64, -(2 ** 60)),
  fc.constantFrom('text', {}, [], true, Symbol.for('x'), 10n, () => 0),
  fc.record({ type: fc.string(), value: fc.nat() }),
);

const byteLength = fc.oneof(
  { weight: 8, arbitrary: fc.nat(40) },
  { weight: 3, arbitrary: fc.constantFrom(1, 4, 8, 16, 24, 32, 33, 48, 64, 65, 97, 128, 256, 512) },
  { weight: 1, arbitrary: fc.nat(4096) },
);
const bytesSpec = fc.record({ n: byteLength, fill: fc.nat(255) });

export const valueSpec: fc.Arbitrary<ValueSpec> = fc.letrec<{ value: ValueSpec; t: AttrSpec[] }>(
  (tie) => ({
    value: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      { weight: 2, arbitrary: fc.constant({ v: 'none' as const }) },
      { weight: 1, arbitrary: fc.constant({ v: 'null' as const }) },
      { weight: 5, arbitrary: ulong.map((n) => ({ v: 'num' as const, n })) },
      { weight: 5, arbitrary: fc.boolean().map((b) => ({ v: 'bool' as const, b })) },
      { weight: 3, arbitrary: fc.string({ maxLength: 40 }).map((s) => ({ v: 'str' as const, s })) },
      { weight: 5, arbitrary: bytesSpec.map((b) => ({ v: 'bytes' as const, ...b })) },
      { weight: 1, arbitrary: fc.integer().map((t) => ({ v: 'date' as const, t })) },
      { weight: 1, arbitrary: tie('t').map((t) => ({ v: 'nested' as const, t: t as AttrSpec[] })) },
      { weight: 1, arbitrary: junk.map((j) => ({ v: 'junk' as const, j })) },
    ),
    t: fc.array(
      fc.record({
        type: fc.oneof(
          { weight: 6, arbitrary: fc.constantFrom(...ATTRIBUTE_TYPES) },
          { weight: 1, arbitrary: fc.nat() },
          { weight: 1, arbitrary: fc.constantFrom(0xffffffff, C.CKA_VENDOR_DEFINED + 1) },
        ),
        value: tie('value') as fc.Arbitrary<ValueSpec>,
      }),
      { maxLength: 4, depthIdentifier: 'template' },
    ),
  }),
).value;

/** A template of random attributes; now and then longer than the token accepts. */
export const templateSpec: fc.Arbitrary<AttrSpec[]> = fc.oneof(
  {
    weight: 20,
    arbitrary: fc.array(
      fc.record({ type: fc.constantFrom(...ATTRIBUTE_TYPES), value: valueSpec }),
      { maxLength: 10 },
    ),
  },
  {
    weight: 4,
    arbitrary: fc.array(fc.record({ type: fc.nat(), value: valueSpec }), { maxLength: 4 }),
  },
  {
    weight: 1,
    arbitrary: fc
      .record({ n: fc.integer({ min: 250, max: 300 }), type: fc.constantFrom(...ATTRIBUTE_TYPES) })
      .map(({ n, type }) =>
        Array.from({ length: n }, () => ({ type, value: { v: 'bool' as const, b: true } })),
      ),
  },
);

const paramField = fc.oneof(
  ulong,
  bytesSpec.map((b) => ({ v: 'bytes' as const, ...b })),
  junk.map((j) => ({ v: 'junk' as const, j })),
);

export const mechanismSpec: fc.Arbitrary<MechSpec> = fc.record(
  {
    mechanism: fc.oneof(
      { weight: 8, arbitrary: fc.constantFrom(...SUPPORTED) },
      { weight: 2, arbitrary: fc.constantFrom(...MECHANISMS) },
      { weight: 1, arbitrary: ulong },
      { weight: 1, arbitrary: junk.map((j) => ({ junk: j })) },
    ),
    parameter: fc.oneof(
      fc.constant({ p: 'null' as const }),
      bytesSpec.map((b) => ({ p: 'bytes' as const, ...b })),
      ulong.map((n) => ({ p: 'num' as const, n })),
      fc
        .dictionary(
          fc.constantFrom(
            'type',
            'hashAlg',
            'mgf',
            'saltLen',
            'source',
            'sourceData',
            'iv',
            'ivBits',
            'aad',
            'tagBits',
            'dataLen',
            'nonce',
            'macLen',
            'kdf',
            'sharedData',
            'publicData',
            'data',
          ),
          paramField,
          { maxKeys: 6 },
        )
        .map((fields) => ({ p: 'struct' as const, fields: { type: 0, ...fields } }))
        .chain((s) => fc.nat(12).map((type) => ({ ...s, fields: { ...s.fields, type } }))),
      junk.map((j) => ({ p: 'junk' as const, j })),
    ),
  },
  { requiredKeys: ['mechanism'] },
);

export const session = fc.oneof(
  { weight: 12, arbitrary: fc.nat(7).map((i): ArgSpec => ({ k: 'session', i })) },
  { weight: 1, arbitrary: ulong.map((n): ArgSpec => ({ k: 'handle', n })) },
  {
    weight: 1,
    arbitrary: fc
      .array(fc.nat(255), { maxLength: 10 })
      .map((b): ArgSpec => ({ k: 'handleBytes', b })),
  },
  { weight: 1, arbitrary: junk.map((v): ArgSpec => ({ k: 'junk', v })) },
);
export const object = fc.oneof(
  { weight: 12, arbitrary: fc.nat(31).map((i): ArgSpec => ({ k: 'object', i })) },
  { weight: 2, arbitrary: ulong.map((n): ArgSpec => ({ k: 'handle', n })) },
  { weight: 1, arbitrary: fc.nat(7).map((i): ArgSpec => ({ k: 'session', i })) },
  { weight: 1, arbitrary: junk.map((v): ArgSpec => ({ k: 'junk', v })) },
);
export const slot = fc.oneof(
  { weight: 10, arbitrary: fc.constant<ArgSpec>({ k: 'slot' }) },
  { weight: 1, arbitrary: ulong.map((n): ArgSpec => ({ k: 'handle', n })) },
  { weight: 1, arbitrary: junk.map((v): ArgSpec => ({ k: 'junk', v })) },
);
export const data = fc.oneof(
  { weight: 10, arbitrary: bytesSpec.map((b): ArgSpec => ({ k: 'data', ...b })) },
  { weight: 1, arbitrary: junk.map((v): ArgSpec => ({ k: 'junk', v })) },
);
export const out = fc.oneof(
  {
    weight: 10,
    arbitrary: fc
      .constantFrom(0, 1, 16, 20, 32, 64, 72, 132, 256, 512, 1024, 4096)
      .map((n): ArgSpec => ({ k: 'out', n })),
  },
  { weight: 1, arbitrary: junk.map((v): ArgSpec => ({ k: 'junk', v })) },
);
export const pin = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.constantFrom<ArgSpec>({ k: 'pin', pin: USER_PIN }, { k: 'pin', pin: SO_PIN }),
  },
  {
    weight: 2,
    arbitrary: fc.string({ maxLength: 70 }).map((p): ArgSpec => ({ k: 'pin', pin: p })),
  },
  { weight: 1, arbitrary: fc.constant<ArgSpec>({ k: 'pin', pin: undefined }) },
  { weight: 1, arbitrary: junk.map((v): ArgSpec => ({ k: 'junk', v })) },
);
export const num = fc.oneof(
  { weight: 10, arbitrary: ulong.map((n): ArgSpec => ({ k: 'num', n })) },
  { weight: 1, arbitrary: junk.map((v): ArgSpec => ({ k: 'junk', v })) },
);
export const template = fc.oneof(
  { weight: 20, arbitrary: templateSpec.map((t): ArgSpec => ({ k: 'template', t })) },
  { weight: 1, arbitrary: junk.map((v): ArgSpec => ({ k: 'junk', v })) },
);
export const mechanism = mechanismSpec.map((m): ArgSpec => ({ k: 'mechanism', m }));

// --- resolving specs into JS values ---

export interface Resolved {
  value: unknown;
  /** True when the value is of the wrong JS type (pkcs11js would throw a TypeError too). */
  misuse: boolean;
}

function handleOf(n: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(Math.min(n, 2 ** 64 - 1)));
  return b;
}

function pick(list: Buffer[], i: number): Buffer {
  return list.length === 0 ? handleOf(0x7777) : (list[i % list.length] as Buffer);
}

/**
 * The JS value of an attribute value, and whether it is a JS-level misuse: a wrong JS type, or (as in
 * pkcs11js) a number, boolean or array for a CK_DATE attribute, or a string or Buffer shorter than the
 * 8 bytes of YYYYMMDD.
 */
function resolveValue(v: ValueSpec, type?: number): Resolved {
  if (type !== undefined && attributeKind(type) === 'date') {
    const r = resolveValue(v);
    const short =
      (typeof r.value === 'string' && Buffer.byteLength(r.value) < 8) ||
      (Buffer.isBuffer(r.value) && r.value.length < 8);
    if (short || ['num', 'bool', 'nested'].includes(v.v)) return { ...r, misuse: true };
  }
  switch (v.v) {
    case 'none':
      return { value: undefined, misuse: false };
    case 'null':
      return { value: null, misuse: false };
    case 'num':
      return { value: v.n, misuse: v.n >= 2 ** 64 };
    case 'bool':
      return { value: v.b, misuse: false };
    case 'str':
      return { value: v.s, misuse: false };
    case 'bytes':
      return { value: Buffer.alloc(v.n, v.fill), misuse: false };
    case 'hex':
      return { value: Buffer.from(v.h, 'hex'), misuse: false };
    case 'date':
      return { value: new Date(v.t), misuse: false };
    case 'nested': {
      const inner = v.t.map((a) => ({ type: a.type, r: resolveValue(a.value, a.type) }));
      return {
        value: inner.map((a) => ({ type: a.type, value: a.r.value })),
        misuse: inner.some((a) => a.r.misuse),
      };
    }
    case 'junk':
      return { value: v.j, misuse: true };
  }
}

export function resolveTemplate(t: AttrSpec[]): Resolved {
  const attrs = t.map((a) => ({ type: a.type, r: resolveValue(a.value, a.type) }));
  return {
    value: attrs.map((a) => ({ type: a.type, value: a.r.value })),
    misuse: attrs.some((a) => a.r.misuse),
  };
}

const BYTE_FIELDS = new Set([
  'iv',
  'aad',
  'nonce',
  'sourceData',
  'sharedData',
  'publicData',
  'data',
]);

function resolveMechanism(m: MechSpec): Resolved {
  const misuseType = typeof m.mechanism !== 'number';
  const mechanism = typeof m.mechanism === 'number' ? m.mechanism : m.mechanism.junk;
  const p = m.parameter;
  if (p === undefined || p.p === 'null') return { value: { mechanism }, misuse: misuseType };
  if (p.p === 'bytes')
    return { value: { mechanism, parameter: Buffer.alloc(p.n, p.fill) }, misuse: misuseType };
  if (p.p === 'num') return { value: { mechanism, parameter: p.n }, misuse: misuseType };
  if (p.p === 'junk') return { value: { mechanism, parameter: p.j }, misuse: true };
  let misuse = misuseType;
  const parameter: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(p.fields)) {
    if (typeof field === 'number') {
      parameter[key] = field;
      // pkcs11js takes byte fields only as Buffers
      misuse ||= BYTE_FIELDS.has(key);
    } else {
      const r = resolveValue(field);
      parameter[key] = r.value;
      misuse ||= r.misuse || field.v === 'junk';
    }
  }
  return { value: { mechanism, parameter }, misuse };
}

export function resolve(spec: ArgSpec, pool: Pool): Resolved {
  switch (spec.k) {
    case 'session':
      return { value: pick(pool.sessions, spec.i), misuse: false };
    case 'object':
      return { value: pick(pool.objects, spec.i), misuse: false };
    case 'key':
      return { value: pick(pool.keys[spec.cls], spec.i), misuse: false };
    case 'slot':
      return { value: pool.slot, misuse: false };
    case 'handle':
      return { value: handleOf(spec.n), misuse: false };
    case 'handleBytes':
      return {
        value: Buffer.from(spec.b),
        // pkcs11js on 64-bit Linux takes 8-byte handles only ("Should be 8 bytes.")
        misuse: spec.b.length !== 8,
      };
    case 'data':
      return { value: Buffer.alloc(spec.n, spec.fill), misuse: false };
    case 'out':
      return { value: Buffer.alloc(spec.n), misuse: false };
    case 'pin':
      // pkcs11js takes PINs as strings only: a missing one is a TypeError ("Should be a String").
      return { value: spec.pin, misuse: spec.pin === undefined };
    case 'num':
      return { value: spec.n, misuse: false };
    case 'bool':
      return { value: spec.b, misuse: false };
    case 'template':
      return resolveTemplate(spec.t);
    case 'mechanism':
      return resolveMechanism(spec.m);
    case 'fixture':
      return { value: fixture(spec.name, spec.token, spec.priv), misuse: false };
    case 'junk':
      return { value: spec.v, misuse: true };
  }
}
