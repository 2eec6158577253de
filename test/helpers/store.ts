/**
 * Looking under the token at what it stored, for persistence tests: the PAL labels of the object records
 * the token's index names, reading and rewriting (damaging) a stored value through the PAL, and a
 * snapshot of every attribute of an object as the engine answers it.
 * @module
 */
import * as C from '../../src/pkcs11/constants.js';
import type { Pal } from '../../src/storage/pal.js';
import type { Application } from '../../src/token/application.js';

/** The stored bytes under a PAL label, with the private flag, or undefined. */
export function readStored(
  pal: Pal,
  label: string,
): { data: Buffer; isPrivate: boolean } | undefined {
  const h = pal.findObject(label);
  if (h === 0) return undefined;
  const v = pal.getObjectValue(h);
  const out = { data: Buffer.from(v.data), isPrivate: v.isPrivate };
  pal.getObjectValueCleanup(v);
  return out;
}

/** The stored bytes under a PAL label; throws when there are none. */
export function storedData(pal: Pal, label: string): Buffer {
  const v = readStored(pal, label);
  if (!v) throw new Error(`nothing stored under ${label}`);
  return v.data;
}

/** Replaces the stored bytes under a PAL label (keeping its private flag). */
export function rewriteStored(pal: Pal, label: string, change: (b: Buffer) => Buffer): void {
  const v = readStored(pal, label);
  if (!v) throw new Error(`nothing stored under ${label}`);
  pal.saveObject(label, change(v.data), v.isPrivate);
}

/** The index bucket labels the token uses (object-store.ts), with what each lists. */
export function indexBuckets(pal: Pal): Map<string, [number, string][]> {
  const out = new Map<string, [number, string][]>();
  for (let b = 0; b < 64; b++) {
    const label = `corepkcs11.idx.${b}`;
    const v = readStored(pal, label);
    // a bucket is JSON followed by a CRC-32: its entries (a bare list in version 1 buckets)
    if (!v) continue;
    const json = JSON.parse(v.data.subarray(0, -4).toString('utf8'));
    out.set(label, (Array.isArray(json) ? json : json.entries) as [number, string][]);
  }
  return out;
}

/** The PAL label of the stored record of the object whose CKA_LABEL is `ckaLabel` (the first such). */
export function recordLabelOf(pal: Pal, ckaLabel: string): string {
  const needle = Buffer.from(ckaLabel, 'utf8');
  for (const entries of indexBuckets(pal).values()) {
    for (const [, label] of entries) {
      if (readStored(pal, label)?.data.includes(needle)) return label;
    }
  }
  throw new Error(`no stored record holds ${ckaLabel}`);
}

const ALL_TYPES = [...C.CKA_NAMES.keys()];

/** Every attribute the engine reports for an object: type → hex value, or 'unavailable' (-1). */
export function snapshot(
  engine: Application,
  session: number,
  object: number,
): Map<number, string> {
  const { answers } = engine.getAttributeValue(
    session,
    object,
    ALL_TYPES.map((type) => ({ type, capacity: 1 << 20 })),
  );
  const out = new Map<number, string>();
  for (const a of answers) {
    if (a.length === -1) continue;
    out.set(
      a.type,
      Array.isArray(a.value)
        ? JSON.stringify(a.value)
        : Buffer.from(a.value as Uint8Array).toString('hex'),
    );
  }
  return out;
}

/** The attribute types an object has that cannot be revealed (length -1 though the type applies). */
export function concealed(
  engine: Application,
  session: number,
  object: number,
  types: number[],
): number[] {
  const { answers } = engine.getAttributeValue(
    session,
    object,
    types.map((type) => ({ type, capacity: 1 << 20 })),
  );
  return answers.filter((a) => a.length === -1).map((a) => a.type);
}
