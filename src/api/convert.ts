/**
 * JS values ⇄ the engine's raw forms, as pkcs11js does them: handles are 8-byte little-endian Buffers,
 * attribute values are number (CK_ULONG), boolean (CK_BBOOL), string (UTF-8), Buffer (raw), Date
 * (CK_DATE) or null/undefined (empty); results are Buffers. Wrong JS types throw TypeError. Layer L6.
 * @module
 */
import { attributeKind } from '../attributes/kinds.js';
import type { Output, RawAttribute, RawMechanism, StructuredParams } from '../pkcs11/types.js';
import { encodeBool, encodeUlong } from '../util/bytes.js';

export type Handle = Buffer;

export interface Attribute {
  type: number;
  value?: number | boolean | string | Buffer | Uint8Array | Date | null | Attribute[];
}

export type Template = Attribute[];

export interface AttributeResult {
  type: number;
  value?: Buffer | AttributeResult[];
}

export interface Mechanism {
  mechanism: number;
  parameter?: Buffer | Uint8Array | number | ({ type: number } & Record<string, unknown>) | null;
}

const HANDLE_SIZE = 8;

export function toHandle(n: number): Handle {
  // Two little-endian 32-bit halves, as fromHandle reads them: no BigInt per handle handed out.
  const b = Buffer.alloc(HANDLE_SIZE);
  b.writeUInt32LE(n >>> 0, 0);
  b.writeUInt32LE(Math.floor(n / 2 ** 32), 4);
  return b;
}

export function fromHandle(h: unknown, name = 'handle'): number {
  if (!(h instanceof Uint8Array)) throw new TypeError(`${name} must be a Buffer`);
  const n = h.length;
  if (n !== 8 && n !== 4) {
    throw new TypeError(`${name} must be a ${HANDLE_SIZE}-byte handle Buffer, got ${n} bytes`);
  }
  // Read as two little-endian 32-bit halves: cheaper than a BigInt on every call.
  const low =
    ((h[0] as number) |
      ((h[1] as number) << 8) |
      ((h[2] as number) << 16) |
      ((h[3] as number) << 24)) >>>
    0;
  if (n === 4) return low;
  const high =
    ((h[4] as number) |
      ((h[5] as number) << 8) |
      ((h[6] as number) << 16) |
      ((h[7] as number) << 24)) >>>
    0;
  // Handles we hand out are small; anything larger cannot name one of our objects or sessions.
  return high === 0 ? low : high < 0x200000 ? high * 2 ** 32 + low : Number.MAX_SAFE_INTEGER;
}

function dateBytes(d: Date): Uint8Array {
  if (Number.isNaN(d.getTime())) throw new TypeError('invalid Date');
  return Buffer.from(d.toISOString().slice(0, 10).replace(/-/g, ''), 'ascii');
}

/**
 * A CK_DATE value as pkcs11js takes it: a Date, or 'YYYYMMDD' as a string or Buffer (empty for no date).
 * Another JS type is a TypeError with pkcs11js's wording; a string or Buffer that is not a valid date
 * goes to the token, which answers CKR_ATTRIBUTE_VALUE_INVALID (pkcs11js throws a TypeError under 8 bytes).
 */
function dateValue(a: Attribute): Uint8Array {
  const v = a.value;
  if (v instanceof Date) return dateBytes(v);
  if (typeof v === 'string') return Buffer.from(v, 'ascii');
  if (v instanceof Uint8Array) return new Uint8Array(v);
  const type = `0x${a.type.toString(16).padStart(8, '0')}`;
  throw new TypeError(
    `Attribute with type ${type} is not convertible to CK_DATE. Should be a String, Buffer or Date`,
  );
}

function valueBytes(a: Attribute): Uint8Array | RawAttribute[] {
  const v = a.value;
  if (v === undefined || v === null) return new Uint8Array(0);
  if (attributeKind(a.type) === 'date') return dateValue(a);
  if (typeof v === 'number') {
    if (!Number.isInteger(v) || v < 0 || v >= 2 ** 64)
      throw new TypeError(
        `attribute 0x${a.type.toString(16)}: CK_ULONG must be an integer from 0 to 2^64 - 1`,
      );
    return encodeUlong(v);
  }
  if (typeof v === 'boolean') return encodeBool(v);
  if (typeof v === 'string') return Buffer.from(v, 'utf8');
  if (v instanceof Date) return dateBytes(v);
  if (v instanceof Uint8Array) return new Uint8Array(v);
  if (Array.isArray(v)) return toTemplate(v);
  throw new TypeError(`attribute 0x${a.type.toString(16)}: unsupported value type`);
}

/** A template whose shape arguments.ts has checked (an array of entries with a numeric type). */
export function toTemplate(template: readonly Attribute[]): RawAttribute[] {
  return template.map((a) => ({ type: a.type, value: valueBytes(a) }));
}

export function toResult(value: Uint8Array | RawAttribute[]): Buffer | AttributeResult[] {
  if (Array.isArray(value)) return value.map((a) => ({ type: a.type, value: toResult(a.value) }));
  return Buffer.from(value);
}

function bytesParam(v: unknown): Uint8Array | undefined {
  if (v === undefined || v === null) return undefined;
  if (v instanceof Uint8Array) return new Uint8Array(v);
  throw new TypeError('mechanism parameter fields must be Buffers');
}

/** The byte-string fields of the structured parameters (pkcs11/types.ts), copied out of the caller's Buffers. */
const BYTE_FIELDS = new Set([
  'iv',
  'aad',
  'nonce',
  'sourceData',
  'sharedData',
  'publicData',
  'data',
  'contextData',
  'salt',
  'info',
  'saltSourceData',
  'prfData',
  'password',
]);

/**
 * A mechanism whose shape arguments.ts has checked: a numeric type and a parameter that is nothing, a
 * number, a Buffer or an object with a numeric `type` (a structured parameter, pkcs11/types.ts).
 */
export function toMechanism({ mechanism, parameter }: Mechanism): RawMechanism {
  if (parameter === undefined || parameter === null) return { mechanism };
  if (typeof parameter === 'number') return { mechanism, parameter };
  if (parameter instanceof Uint8Array) return { mechanism, parameter: new Uint8Array(parameter) };
  const p: Record<string, unknown> = { ...parameter };
  // The parameter's own fields (a few), not every name of the list (13 lookups per call).
  for (const key in p) {
    if (BYTE_FIELDS.has(key)) p[key] = bytesParam(p[key]);
  }
  // A key named inside a parameter (CK_HKDF_PARAMS hSaltKey) is a handle, as everywhere in this API.
  if (p.saltKey !== undefined && p.saltKey !== null) p.saltKey = fromHandle(p.saltKey, 'saltKey');
  return { mechanism, parameter: p as unknown as StructuredParams };
}

/** A C_*Init mechanism: null is PKCS#11 3.0's NULL mechanism, which ends the active operation. */
export function toInitMechanism(m: Mechanism | null): RawMechanism | null {
  return m === null ? null : toMechanism(m);
}

export function bytesArg(v: unknown, name: string): Uint8Array {
  if (!(v instanceof Uint8Array)) throw new TypeError(`${name} must be a Buffer`);
  return v;
}

export function pinArg(pin: unknown): Uint8Array | undefined {
  if (pin === undefined || pin === null) return undefined;
  if (typeof pin === 'string') return Buffer.from(pin, 'utf8');
  if (pin instanceof Uint8Array) return pin;
  throw new TypeError('PIN must be a string');
}

export function outBuffer(v: unknown, name = 'outData'): Buffer {
  if (!Buffer.isBuffer(v)) throw new TypeError(`${name} must be a Buffer`);
  return v;
}

/**
 * The C capacity of an output Buffer. pkcs11js hands an empty Buffer to the module as a NULL pointer,
 * which makes the call a length query that leaves the operation active; so does this API.
 */
export function capacityOf(out: Buffer): number | null {
  return out.length === 0 ? null : out.length;
}

/** Copies an engine result into the caller's buffer and returns the filled slice, as pkcs11js does. */
export function fill(out: Buffer, r: Output): Buffer {
  if (r.bytes) out.set(r.bytes);
  return out.subarray(0, r.length);
}
