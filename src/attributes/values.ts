/**
 * Attribute values inside the token: normalizing what callers send (by kind), typed reads, and the
 * byte-exact matching C_FindObjects uses. Values are kept in their C layout (CK_ULONG as 8 bytes LE,
 * CK_BBOOL as one byte 0/1) so that C_GetAttributeValue returns them as C callers expect. Layer L2.
 * @module
 */
import { Pkcs11Error } from '../errors.js';
import { CKR_ATTRIBUTE_VALUE_INVALID, CKR_TEMPLATE_INCONSISTENT } from '../pkcs11/constants.js';
import type { RawAttribute } from '../pkcs11/types.js';
import { decodeUlong, encodeBool, encodeUlong, equalBytes, ULONG_SIZE } from '../util/bytes.js';
import { attributeKind } from './kinds.js';

export type AttributeValue = Uint8Array | RawAttribute[];
export type AttributeMap = Map<number, AttributeValue>;

/** Bounds that keep a hostile template from exhausting memory (reported, not silently truncated). */
export const MAX_ATTRIBUTE_LENGTH = 1 << 20;
export const MAX_TEMPLATE_LENGTH = 256;
export const MAX_TEMPLATE_DEPTH = 4;

function invalid(type: number, why: string): never {
  throw new Pkcs11Error(CKR_ATTRIBUTE_VALUE_INVALID, `attribute 0x${type.toString(16)}: ${why}`);
}

/** Validates one value against its kind and returns it in canonical layout. */
export function normalizeValue(type: number, value: AttributeValue, depth = 0): AttributeValue {
  const kind = attributeKind(type);
  if (kind === 'template') {
    if (!Array.isArray(value)) invalid(type, 'expected a nested template');
    if (depth >= MAX_TEMPLATE_DEPTH) invalid(type, 'templates nested too deeply');
    return [...normalizeTemplate(value, depth + 1)].map(([t, v]) => ({ type: t, value: v }));
  }
  if (Array.isArray(value)) return invalid(type, 'a nested template is only valid for *_TEMPLATE');
  if (value.length > MAX_ATTRIBUTE_LENGTH)
    invalid(type, `longer than ${MAX_ATTRIBUTE_LENGTH} bytes`);
  switch (kind) {
    case 'ulong': {
      const v = decodeUlong(value);
      return v === undefined ? invalid(type, 'expected a CK_ULONG') : encodeUlong(v);
    }
    case 'bool':
      if (value.length !== 1) invalid(type, 'expected a one-byte CK_BBOOL');
      return encodeBool(value[0] !== 0);
    case 'date':
      if (value.length !== 0 && (value.length !== 8 || value.some((b) => b < 0x30 || b > 0x39))) {
        invalid(type, 'expected an empty value or a CK_DATE of 8 digits');
      }
      return new Uint8Array(value);
    case 'ulongArray': {
      const width = value.length % ULONG_SIZE === 0 ? ULONG_SIZE : 4;
      if (value.length % width !== 0) invalid(type, 'expected an array of CK_ULONG');
      const out: Uint8Array[] = [];
      for (let i = 0; i < value.length; i += width) {
        const v = decodeUlong(value.subarray(i, i + width));
        if (v === undefined) invalid(type, 'bad CK_ULONG in array');
        out.push(encodeUlong(v));
      }
      const flat = new Uint8Array(out.length * ULONG_SIZE);
      out.forEach((b, i) => {
        flat.set(b, i * ULONG_SIZE);
      });
      return flat;
    }
    default:
      return new Uint8Array(value);
  }
}

/**
 * Normalizes a caller's template into a map. A type given twice with different values is
 * CKR_TEMPLATE_INCONSISTENT (v2.40 §4.1.1); the same value twice is accepted.
 */
export function normalizeTemplate(template: readonly RawAttribute[], depth = 0): AttributeMap {
  if (template.length > MAX_TEMPLATE_LENGTH) {
    throw new Pkcs11Error(
      CKR_ATTRIBUTE_VALUE_INVALID,
      `template longer than ${MAX_TEMPLATE_LENGTH}`,
    );
  }
  const map: AttributeMap = new Map();
  for (const { type, value } of template) {
    const v = normalizeValue(type, value, depth);
    const prev = map.get(type);
    if (prev !== undefined && !valuesEqual(prev, v)) {
      throw new Pkcs11Error(
        CKR_TEMPLATE_INCONSISTENT,
        `attribute 0x${type.toString(16)} given twice`,
      );
    }
    map.set(type, v);
  }
  return map;
}

export function valuesEqual(a: AttributeValue, b: AttributeValue): boolean {
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((x) => {
      const y = b.find((e) => e.type === x.type);
      return y !== undefined && valuesEqual(x.value, y.value);
    });
  }
  return equalBytes(a, b);
}

/** Every attribute of `template` is present in `attrs` with a byte-equal value. */
export function matchesTemplate(attrs: AttributeMap, template: AttributeMap): boolean {
  for (const [type, want] of template) {
    const have = attrs.get(type);
    if (have === undefined || !valuesEqual(have, want)) return false;
  }
  return true;
}

export function readUlong(attrs: AttributeMap, type: number): number | undefined {
  const v = attrs.get(type);
  return v === undefined || Array.isArray(v) ? undefined : decodeUlong(v);
}

export function readBool(attrs: AttributeMap, type: number): boolean | undefined {
  const v = attrs.get(type);
  return v === undefined || Array.isArray(v) ? undefined : v[0] === 1;
}

export function readBytes(attrs: AttributeMap, type: number): Uint8Array | undefined {
  const v = attrs.get(type);
  return v === undefined || Array.isArray(v) ? undefined : v;
}

/** Byte length of a value as C_GetAttributeValue reports it (nested templates: count × sizeof CK_ATTRIBUTE). */
export function valueLength(v: AttributeValue): number {
  return Array.isArray(v) ? v.length * 24 : v.length;
}
