/**
 * The versioned byte format of a stored object: every attribute of the object (so nothing is re-derived
 * on load), its stable identity, an authentication section, and a CRC-32 trailer that turns a torn or
 * corrupted record into a clean CKR_DEVICE_ERROR instead of garbage. The PAL stores these bytes
 * opaquely; the token computes and checks the MAC (token/record-auth.ts). Layer L2.
 *
 * Layout (all integers big-endian):
 *   magic "CP11" | version u8 (2) | flags u8 | reserved u16 | object id u64 | attribute count u32 |
 *   attributes… | auth | crc32 u32 over everything before it
 *   attribute: type u32 | form u8 (0 bytes, 1 nested template, 2 sealed bytes) | length u32 | value
 *   nested template value: count u32 | attributes…
 *   auth: 1 | tag (32 bytes, the MAC over everything before auth)
 *       | 0 | base length u32 | base: the last authenticated record of this object, whole, or nothing
 *         (written while no PIN had unlocked the token key: a public object created or changed then)
 * Version 1 records (before authentication) have no auth section; they still read.
 * @module
 */
import { Pkcs11Error } from '../errors.js';
import { CKR_DEVICE_ERROR } from '../pkcs11/constants.js';
import type { RawAttribute } from '../pkcs11/types.js';
import { crc32 } from '../util/crc32.js';

export const RECORD_VERSION = 2;
const LEGACY_VERSION = 1;
export const RECORD_TAG_BYTES = 32;
const MAGIC = [0x43, 0x50, 0x31, 0x31];
const HEADER = 4 + 1 + 1 + 2 + 8 + 4;
const MAX_NESTING = 4;

/** An attribute as stored: `sealed` values are AES-GCM blobs the token opens after login. */
export interface StoredAttribute {
  type: number;
  value: Uint8Array | RawAttribute[];
  sealed?: boolean;
}

export interface ObjectRecord {
  id: number;
  flags: number;
  attributes: StoredAttribute[];
}

/**
 * How a record is authenticated: a MAC over its signed part; none, carrying the last authenticated
 * version as its base (or none, for an object created without a login); legacy for version 1 records.
 */
export type RecordAuth =
  | { kind: 'mac'; tag: Uint8Array }
  | { kind: 'none'; base?: Uint8Array }
  | { kind: 'legacy' };

/** A record as read: its content, its authentication, and the bytes the MAC covers. */
export interface DecodedRecord {
  record: ObjectRecord;
  auth: RecordAuth;
  signed: Uint8Array;
}

class Writer {
  #chunks: Uint8Array[] = [];
  #size = 0;
  u8(v: number) {
    this.bytes(Uint8Array.of(v));
  }
  u16(v: number) {
    this.bytes(Uint8Array.of(v >>> 8, v & 0xff));
  }
  u32(v: number) {
    this.bytes(Uint8Array.of(v >>> 24, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff));
  }
  u64(v: number) {
    this.u32(Math.floor(v / 2 ** 32));
    this.u32(v >>> 0);
  }
  bytes(b: Uint8Array) {
    this.#chunks.push(b);
    this.#size += b.length;
  }
  finish(): Uint8Array {
    const out = new Uint8Array(this.#size + 4);
    let off = 0;
    for (const c of this.#chunks) {
      out.set(c, off);
      off += c.length;
    }
    new DataView(out.buffer).setUint32(off, crc32(out.subarray(0, off)));
    return out;
  }
}

function writeAttributes(w: Writer, attrs: readonly StoredAttribute[], depth: number): void {
  if (depth > MAX_NESTING)
    throw new Pkcs11Error(CKR_DEVICE_ERROR, 'templates nested too deeply to store');
  for (const a of attrs) {
    w.u32(a.type);
    if (Array.isArray(a.value)) {
      w.u8(1);
      const inner = new Writer();
      inner.u32(a.value.length);
      writeAttributes(inner, a.value, depth + 1);
      const body = inner.finish().subarray(0, -4);
      w.u32(body.length);
      w.bytes(body);
    } else {
      w.u8(a.sealed ? 2 : 0);
      w.u32(a.value.length);
      w.bytes(a.value);
    }
  }
}

function writeSigned(w: Writer, rec: ObjectRecord): void {
  w.bytes(Uint8Array.from(MAGIC));
  w.u8(RECORD_VERSION);
  w.u8(rec.flags);
  w.u16(0);
  w.u64(rec.id);
  w.u32(rec.attributes.length);
  writeAttributes(w, rec.attributes, 0);
}

/** The bytes of `rec` its MAC covers: everything before the auth section. */
export function signedPart(rec: ObjectRecord): Uint8Array {
  const w = new Writer();
  writeSigned(w, rec);
  return w.finish().subarray(0, -4);
}

export function encodeRecord(rec: ObjectRecord, auth: RecordAuth = { kind: 'none' }): Uint8Array {
  const w = new Writer();
  writeSigned(w, rec);
  if (auth.kind === 'mac') {
    if (auth.tag.length !== RECORD_TAG_BYTES)
      throw new RangeError('record MAC of the wrong length');
    w.u8(1);
    w.bytes(auth.tag);
  } else {
    const base = auth.kind === 'none' ? (auth.base ?? new Uint8Array(0)) : new Uint8Array(0);
    w.u8(0);
    w.u32(base.length);
    w.bytes(base);
  }
  return w.finish();
}

/**
 * The length encodeRecord gives a record whose attributes have these values, counted without writing it
 * (C_GetObjectSize and the object-size limit ask on every object made).
 */
export function recordSize(values: Iterable<Uint8Array | RawAttribute[]>): number {
  // The attributes, then an empty `none` auth section (kind u8, base length u32) and the CRC-32.
  return HEADER + valuesSize(values, 0) + 5 + 4;
}

function valuesSize(values: Iterable<Uint8Array | RawAttribute[]>, depth: number): number {
  if (depth > MAX_NESTING)
    throw new Pkcs11Error(CKR_DEVICE_ERROR, 'templates nested too deeply to store');
  let n = 0;
  for (const v of values) {
    // type u32, form u8, length u32, then the value (a nested template: its count u32 and attributes).
    n +=
      9 +
      (Array.isArray(v)
        ? 4 +
          valuesSize(
            v.map((a) => a.value),
            depth + 1,
          )
        : v.length);
  }
  return n;
}

function corrupt(why: string): never {
  throw new Pkcs11Error(CKR_DEVICE_ERROR, `stored object record is damaged: ${why}`);
}

class Reader {
  #dv: DataView;
  #off: number;
  readonly end: number;
  constructor(b: Uint8Array, off: number, end: number) {
    this.#dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
    this.#off = off;
    this.end = end;
  }
  #need(n: number) {
    if (this.#off + n > this.end) corrupt('truncated');
  }
  u8() {
    this.#need(1);
    return this.#dv.getUint8(this.#off++);
  }
  u32() {
    this.#need(4);
    const v = this.#dv.getUint32(this.#off);
    this.#off += 4;
    return v;
  }
  bytes(n: number): Uint8Array {
    this.#need(n);
    const b = new Uint8Array(this.#dv.buffer, this.#dv.byteOffset + this.#off, n).slice();
    this.#off += n;
    return b;
  }
  get offset() {
    return this.#off;
  }
}

function readAttributes(r: Reader, count: number, end: number, depth: number): StoredAttribute[] {
  if (depth > MAX_NESTING) corrupt('nesting too deep');
  // Each attribute takes at least 9 bytes: bound the count before allocating anything.
  if (count > (end - r.offset) / 9) corrupt('attribute count exceeds the record');
  const out: StoredAttribute[] = [];
  for (let i = 0; i < count; i++) {
    const type = r.u32();
    const form = r.u8();
    const length = r.u32();
    if (form === 0) out.push({ type, value: r.bytes(length) });
    else if (form === 2 && depth === 0) out.push({ type, value: r.bytes(length), sealed: true });
    else if (form === 1) {
      const innerEnd = r.offset + length;
      if (innerEnd > end) corrupt('nested template overruns');
      out.push({ type, value: readAttributes(r, r.u32(), innerEnd, depth + 1) as RawAttribute[] });
      if (r.offset !== innerEnd) corrupt('nested template length mismatch');
    } else corrupt(`unknown attribute form ${form}`);
  }
  return out;
}

export function decodeRecord(bytes: Uint8Array): ObjectRecord {
  return decodeStoredRecord(bytes).record;
}

/** A record with its authentication; a base must itself be an authenticated record of the same id. */
export function decodeStoredRecord(bytes: Uint8Array): DecodedRecord {
  if (bytes.length < HEADER + 4) corrupt('too short');
  const body = bytes.length - 4;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (dv.getUint32(body) !== crc32(bytes.subarray(0, body))) corrupt('checksum mismatch');
  if (!MAGIC.every((m, i) => bytes[i] === m)) corrupt('bad magic');
  const version = bytes[4];
  if (version !== RECORD_VERSION && version !== LEGACY_VERSION) {
    corrupt(`unsupported record version ${version}`);
  }
  const flags = bytes[5] as number;
  // Ids are below 2^53 (exact as a number); a larger one could only be read back as another id.
  if (dv.getUint32(8) > 0x1f_ffff) corrupt('object id out of range');
  const id = dv.getUint32(8) * 2 ** 32 + dv.getUint32(12);
  const r = new Reader(bytes, HEADER, body);
  const attributes = readAttributes(r, dv.getUint32(16), body, 0);
  const signedEnd = r.offset;
  const auth = version === LEGACY_VERSION ? ({ kind: 'legacy' } as const) : readAuth(r, id);
  if (r.offset !== body) corrupt('trailing bytes');
  // A copy (a Buffer's slice would be a view of bytes a PAL zeroes at cleanup).
  const signed = Uint8Array.from(bytes.subarray(0, signedEnd));
  return { record: { id, flags, attributes }, auth, signed };
}

function readAuth(r: Reader, id: number): RecordAuth {
  const kind = r.u8();
  if (kind === 1) return { kind: 'mac', tag: r.bytes(RECORD_TAG_BYTES) };
  if (kind !== 0) corrupt(`unknown authentication form ${kind}`);
  const length = r.u32();
  if (length === 0) return { kind: 'none' };
  const base = r.bytes(length);
  const inner = decodeStoredRecord(base);
  if (inner.auth.kind !== 'mac' || inner.record.id !== id)
    corrupt('base is not this object, authenticated');
  return { kind: 'none', base };
}
