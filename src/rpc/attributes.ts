/**
 * Attribute arrays on the wire (p11-kit rpc-message.c): `aA` entries (type, validity, C length, value typed by
 * attribute-kinds.ts), `fA` query entries (type, buffer size), and their conversion to and from the raw C
 * layout the engine speaks (RawAttribute: CK_ULONG as 8 bytes little-endian, CK_BBOOL as one byte, nested
 * templates as arrays). Counts are bounded by the bytes left and by a cap, nesting by depth 8 as in
 * p11-kit 0.26.3 (CVE-2026-13757), and the total number of attributes by a per-message budget. Layer L7.
 * @module
 */
import { Pkcs11Error } from '../errors.js';
import { CKR_ATTRIBUTE_VALUE_INVALID } from '../pkcs11/constants.js';
import type { AttributeAnswer, AttributeQuery, RawAttribute } from '../pkcs11/types.js';
import { type WireKind, wireKind } from './attribute-kinds.js';
import { malformed, type WireReader, type WireWriter } from './wire.js';

export type WireValue =
  | { kind: 'byte'; value: number }
  | { kind: 'ulong'; value: bigint }
  | { kind: 'date' | 'bytes'; value: Uint8Array | null }
  | { kind: 'mechanisms'; value: bigint[] }
  | { kind: 'attributes'; value: WireAttribute[] };

/** One `aA` entry. `length` is the C ulValueLen; -1 (invalid, no value on the wire) has no `value`. */
export interface WireAttribute {
  type: number;
  length: number;
  value?: WireValue;
}

/** One `fA` entry: the type and the caller's buffer size (0 when pValue was NULL). */
export interface WireQuery {
  type: number;
  room: number;
}

/** sizeof(CK_ATTRIBUTE) on LP64: the C length of a nested template is count × 24. */
export const ATTRIBUTE_STRUCT_SIZE = 24;
export const MAX_NESTING_DEPTH = 8;

/** Shared across one message so nested arrays cannot multiply the cap. */
export interface AttributeBudget {
  left: number;
}

export function readAttributes(
  r: WireReader,
  version: number,
  budget: AttributeBudget,
  depth = 0,
): WireAttribute[] {
  if (depth >= MAX_NESTING_DEPTH) throw malformed('attribute templates nested too deeply');
  // type (4) + validity (1) is the least an entry can take.
  const n = r.count(5, budget.left, 'attribute');
  budget.left -= n;
  const out: WireAttribute[] = [];
  for (let i = 0; i < n; i++) out.push(readAttribute(r, version, budget, depth));
  return out;
}

function readAttribute(
  r: WireReader,
  version: number,
  budget: AttributeBudget,
  depth: number,
): WireAttribute {
  const type = r.uint32();
  if (r.byte() === 0) return { type, length: -1 };
  const length = r.uint32();
  const kind = wireKind(type, version);
  return { type, length, value: readValue(r, kind, version, budget, depth) };
}

function readValue(
  r: WireReader,
  kind: WireKind,
  version: number,
  budget: AttributeBudget,
  depth: number,
): WireValue {
  switch (kind) {
    case 'byte':
      return { kind, value: r.byte() };
    case 'ulong':
      return { kind, value: r.uint64Big() };
    case 'date': {
      const value = r.byteArray('date');
      if (value !== null && value.length !== 0 && value.length !== 8) {
        throw malformed(`a CK_DATE of ${value.length} bytes`);
      }
      return { kind, value };
    }
    case 'bytes':
      return { kind, value: r.byteArray('attribute value') };
    case 'mechanisms': {
      const n = r.count(8, Number.MAX_SAFE_INTEGER, 'mechanism');
      const value: bigint[] = [];
      for (let i = 0; i < n; i++) value.push(r.uint64Big());
      return { kind, value };
    }
    case 'attributes':
      return { kind, value: readAttributes(r, version, budget, depth + 1) };
  }
}

export function writeAttributes(w: WireWriter, attrs: readonly WireAttribute[]): void {
  w.uint32(attrs.length);
  for (const a of attrs) {
    w.uint32(a.type);
    if (a.length < 0 || a.value === undefined) {
      w.byte(0);
      continue;
    }
    w.byte(1).uint32(a.length);
    const v = a.value;
    switch (v.kind) {
      case 'byte':
        w.byte(v.value);
        break;
      case 'ulong':
        w.uint64Big(v.value);
        break;
      case 'date':
      case 'bytes':
        w.byteArray(v.value);
        break;
      case 'mechanisms':
        w.uint32(v.value.length);
        for (const m of v.value) w.uint64Big(m);
        break;
      case 'attributes':
        writeAttributes(w, v.value);
        break;
    }
  }
}

export function readQueries(r: WireReader, cap: number): WireQuery[] {
  const n = r.count(8, cap, 'attribute query');
  const out: WireQuery[] = [];
  for (let i = 0; i < n; i++) out.push({ type: r.uint32(), room: r.uint32() });
  return out;
}

export function writeQueries(w: WireWriter, queries: readonly WireQuery[]): void {
  w.uint32(queries.length);
  for (const q of queries) w.uint32(q.type).uint32(q.room);
}

export function toQueries(queries: readonly WireQuery[]): AttributeQuery[] {
  return queries.map((q) => ({ type: q.type, capacity: q.room === 0 ? null : q.room }));
}

// ---- wire → raw C layout (request templates) -------------------------------------------------------

function invalid(type: number, why: string): Pkcs11Error {
  return new Pkcs11Error(CKR_ATTRIBUTE_VALUE_INVALID, `attribute 0x${type.toString(16)}: ${why}`);
}

/** A template as the engine takes it. */
export function toRawTemplate(attrs: readonly WireAttribute[]): RawAttribute[] {
  return attrs.map(toRawAttribute);
}

function toRawAttribute(a: WireAttribute): RawAttribute {
  const v = a.value;
  if (a.length < 0 || v === undefined)
    throw invalid(a.type, 'ulValueLen is CK_UNAVAILABLE_INFORMATION');
  if (v.kind === 'attributes') return { type: a.type, value: toRawTemplate(v.value) };
  const natural = naturalBytes(v);
  if (a.length === natural.length) return { type: a.type, value: natural };
  if (v.kind === 'byte' || v.kind === 'ulong') {
    // The client copied `length` bytes of the C value into a zeroed CK_BYTE/CK_ULONG: hand the engine
    // exactly what the application gave, so a wrong size is its ATTRIBUTE_VALUE_INVALID, not ours.
    if (a.length > natural.length)
      throw invalid(a.type, `${a.length} bytes for a fixed-size value`);
    return { type: a.type, value: natural.subarray(0, a.length) };
  }
  if (a.length < natural.length) throw malformed(`attribute value longer than its declared length`);
  // A longer C length than the data sent: the C side would see uninitialised bytes; send none.
  return { type: a.type, value: natural };
}

function naturalBytes(v: Exclude<WireValue, { kind: 'attributes' }>): Uint8Array {
  switch (v.kind) {
    case 'byte':
      return Uint8Array.of(v.value);
    case 'ulong':
      return ulongLE(v.value);
    case 'date':
    case 'bytes':
      return v.value === null ? new Uint8Array(0) : v.value;
    case 'mechanisms': {
      const out = new Uint8Array(v.value.length * 8);
      const view = new DataView(out.buffer);
      v.value.forEach((m, i) => {
        view.setBigUint64(i * 8, m, true);
      });
      return out;
    }
  }
}

function ulongLE(v: bigint): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, v, true);
  return out;
}

// ---- raw C layout → wire (C_GetAttributeValue replies) ---------------------------------------------

/**
 * The reply entries for C_GetAttributeValue answers. An answer without a value (a size query) gets a
 * placeholder that decodes for its kind, exactly as p11-kit's server writes it, except that a
 * CKA_ALLOWED_MECHANISMS placeholder carries count 0 (p11-kit 0.24 writes a count without elements).
 */
export function fromAnswers(answers: readonly AttributeAnswer[], version: number): WireAttribute[] {
  return answers.map((a) => {
    if (a.length < 0) return { type: a.type, length: -1 };
    const kind = wireKind(a.type, version);
    return { type: a.type, length: a.length, value: fromRaw(kind, a.value, version) };
  });
}

function fromRaw(
  kind: WireKind,
  raw: Uint8Array | RawAttribute[] | undefined,
  version: number,
): WireValue {
  if (kind === 'attributes') {
    const nested = Array.isArray(raw) ? raw : [];
    return { kind, value: nested.map((n) => fromNested(n, version)) };
  }
  const bytes = raw === undefined || Array.isArray(raw) ? undefined : raw;
  switch (kind) {
    case 'byte':
      return { kind, value: bytes?.[0] ?? 0 };
    case 'ulong': {
      if (bytes === undefined) return { kind, value: 0n };
      const padded = new Uint8Array(8);
      padded.set(bytes.subarray(0, 8));
      return { kind, value: new DataView(padded.buffer).getBigUint64(0, true) };
    }
    case 'date':
    case 'bytes':
      return { kind, value: bytes ?? null };
    case 'mechanisms': {
      if (bytes === undefined) return { kind, value: [] };
      const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      const value: bigint[] = [];
      for (let i = 0; i + 8 <= bytes.length; i += 8) value.push(view.getBigUint64(i, true));
      return { kind, value };
    }
  }
}

function fromNested(a: RawAttribute, version: number): WireAttribute {
  const kind = wireKind(a.type, version);
  const length = Array.isArray(a.value) ? a.value.length * ATTRIBUTE_STRUCT_SIZE : a.value.length;
  return { type: a.type, length, value: fromRaw(kind, a.value, version) };
}
