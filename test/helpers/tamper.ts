/**
 * Offline edits of stored records as an attacker with write access to the store makes them (issue 16
 * #5): a record decoded, changed and encoded again, its CRC put right, its MAC kept, stripped or
 * replaced by a forged "public session" base. Works through the PAL, so on every port.
 * @module
 */

import * as C from '../../src/pkcs11/constants.js';
import type { Pal } from '../../src/storage/pal.js';
import {
  decodeStoredRecord,
  encodeRecord,
  type RecordAuth,
  type StoredAttribute,
} from '../../src/storage/record.js';
import { encodeUlong } from '../../src/util/bytes.js';
import { indexBuckets, readStored, rewriteStored } from './store.js';

export type AttributeEdit = (attrs: Map<number, StoredAttribute>) => void;

/** How the edited record is authenticated: its old MAC kept, none at all, or a forged base. */
export type AuthForgery = 'keep-mac' | 'strip' | 'forge-base';

export function editRecord(
  pal: Pal,
  palLabel: string,
  edit: AttributeEdit,
  forgery: AuthForgery = 'keep-mac',
  id?: number,
): void {
  rewriteStored(pal, palLabel, (bytes) => {
    const { record, auth } = decodeStoredRecord(bytes);
    const attrs = new Map(record.attributes.map((a) => [a.type, a]));
    edit(attrs);
    const next = { ...record, id: id ?? record.id, attributes: [...attrs.values()] };
    const forged: RecordAuth =
      forgery === 'keep-mac'
        ? auth
        : forgery === 'strip'
          ? { kind: 'none' }
          : { kind: 'none', base: Uint8Array.from(bytes) };
    return Buffer.from(encodeRecord(next, forged));
  });
}

/** Sets attribute `type` to `value` (raw bytes or a nested template). */
export function setAttr(type: number, value: StoredAttribute['value']): AttributeEdit {
  return (attrs) => void attrs.set(type, { type, value });
}

export function dropAttr(type: number): AttributeEdit {
  return (attrs) => void attrs.delete(type);
}

/** Swaps the stored bytes under two PAL labels. */
export function swapRecords(pal: Pal, a: string, b: string): void {
  const x = readStored(pal, a);
  const y = readStored(pal, b);
  if (!x || !y) throw new Error('both records must exist');
  rewriteStored(pal, a, () => y.data);
  rewriteStored(pal, b, () => x.data);
}

/** The PAL label of the stored record whose CKA_LABEL is exactly `ckaLabel` (and class `cls`). */
export function storedLabelOf(pal: Pal, ckaLabel: string, cls?: number): string {
  const want = Buffer.from(ckaLabel, 'utf8');
  const is = (attrs: StoredAttribute[], type: number, value: Uint8Array) => {
    const a = attrs.find((x) => x.type === type);
    return (
      a !== undefined && !Array.isArray(a.value) && Buffer.from(value).equals(Buffer.from(a.value))
    );
  };
  for (const entries of indexBuckets(pal).values()) {
    for (const [, label] of entries) {
      const v = readStored(pal, label);
      if (!v) continue;
      const { attributes } = decodeStoredRecord(v.data).record;
      if (!is(attributes, C.CKA_LABEL, want)) continue;
      if (cls === undefined || is(attributes, C.CKA_CLASS, encodeUlong(cls))) return label;
    }
  }
  throw new Error(`no stored record labelled ${ckaLabel}`);
}
