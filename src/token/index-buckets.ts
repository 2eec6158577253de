/**
 * The format of one index bucket (object-store.ts): the (object id, PAL label) entries of the objects
 * whose id falls in it, and the set of ids whose records were authenticated, with its tag
 * (record-auth.ts). A public session, which has no MAC key, rewrites the entries and keeps the
 * authenticated set as it found it; so a record whose MAC was stripped outside the token still shows
 * up as one that had it. JSON with a CRC (json-record.ts); version 1 buckets were a bare entry list.
 * Layer L5.
 * @module
 */
import { Pkcs11Error } from '../errors.js';
import { CKR_DEVICE_ERROR } from '../pkcs11/constants.js';
import { decodeJsonRecord, encodeJsonRecord } from '../storage/json-record.js';
import type { AuthId } from './record-auth.js';

export type BucketEntry = [id: number, palLabel: string];

export interface Bucket {
  entries: BucketEntry[];
  /** The authenticated ids (sorted) and their tag; absent in buckets never written with the key. */
  auth?: { ids: AuthId[]; tag: string };
}

const isEntry = (e: unknown): e is BucketEntry =>
  Array.isArray(e) && e.length === 2 && Number.isSafeInteger(e[0]) && typeof e[1] === 'string';
const isAuthId = (e: unknown): e is AuthId =>
  Array.isArray(e) && e.length === 2 && Number.isSafeInteger(e[0]) && (e[1] === 0 || e[1] === 1);

export function decodeBucket(bytes: Uint8Array, label: string): Bucket {
  const v = decodeJsonRecord(bytes, label) as unknown;
  const bad = () => new Pkcs11Error(CKR_DEVICE_ERROR, `${label}: not an index`);
  if (Array.isArray(v)) {
    if (!v.every(isEntry)) throw bad();
    return { entries: v };
  }
  if (typeof v !== 'object' || v === null) throw bad();
  const { entries, auth } = v as { entries?: unknown; auth?: { ids?: unknown; tag?: unknown } };
  if (!Array.isArray(entries) || !entries.every(isEntry)) throw bad();
  if (auth === undefined) return { entries };
  if (!Array.isArray(auth.ids) || !auth.ids.every(isAuthId) || typeof auth.tag !== 'string')
    throw bad();
  return { entries, auth: { ids: auth.ids, tag: auth.tag } };
}

export function encodeBucket(b: Bucket): Uint8Array {
  return encodeJsonRecord(
    b.auth ? { v: 2, entries: b.entries, auth: b.auth } : { v: 2, entries: b.entries },
  );
}

/** Sorted, without duplicates: the form the tag covers. */
export function normalizeIds(ids: Iterable<AuthId>): AuthId[] {
  const byId = new Map<number, AuthId>();
  for (const a of ids) byId.set(a[0], a);
  return [...byId.values()].sort((x, y) => x[0] - y[0]);
}
