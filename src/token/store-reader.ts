/**
 * One reading pass over everything the token stored (object-store.ts load): the token record, every
 * index bucket and every record it names, and the corePKCS11 well-known slots. Nothing is written;
 * what cannot be read is reported, and remembered for the explicit repair. Layer L5.
 * @module
 */
import { isPkcs11Error, reasonOf } from '../errors.js';
import { CKR_OBJECT_HANDLE_INVALID } from '../pkcs11/constants.js';
import type { Pal } from '../storage/pal.js';
import { decodeStoredRecord, type RecordAuth, type StoredAttribute } from '../storage/record.js';
import type { Bucket } from './index-buckets.js';
import { BUCKETS, bucketLabel, TOKEN_LABEL, WELL_KNOWN_LABELS } from './store-labels.js';

export interface StoredObject {
  id: number;
  isPrivate: boolean;
  attributes: StoredAttribute[];
  /** The record's checksum: equal checksums mean the stored object did not change. */
  checksum: number;
  /** Where the record lives (the label its index entry names), and how it is authenticated. */
  palLabel: string;
  auth: RecordAuth;
  /** The bytes its MAC covers. */
  signed: Uint8Array;
}

export interface LoadResult {
  meta: unknown;
  objects: StoredObject[];
  /** Records that could not be read (damaged storage); reported, never silently dropped. */
  damaged: string[];
  /** Each index bucket's authenticated id set, as stored (tags not checked here). */
  bucketAuth: Map<number, NonNullable<Bucket['auth']>>;
  /** Some record carries a MAC or some bucket an authenticated set: the store is not a pre-MAC one. */
  authenticated: boolean;
}

/** What a pass could not read: a record (by PAL label), or an index entry naming nothing. */
export interface Unreadable {
  label?: string;
  id?: number | undefined;
  entryOnly?: boolean;
}

export interface ReadPass {
  result: LoadResult;
  /** A file named by the index went, or an entry did not match its record: maybe a writer's race. */
  raced: boolean;
  unreadable: Unreadable[];
  /** id → PAL label and id → record bytes of every object read. */
  where: Map<number, string>;
  sizes: Map<number, number>;
}

/** How the pass reads the token record and the index buckets (object-store.ts owns their formats). */
export interface ReadSources {
  pal: Pal;
  readMeta(): unknown;
  readBucket(b: number): Bucket;
}

export function readStore({ pal, readMeta, readBucket }: ReadSources): ReadPass {
  const pass: ReadPass = {
    result: {
      meta: undefined,
      objects: [],
      damaged: [],
      bucketAuth: new Map(),
      authenticated: false,
    },
    raced: false,
    unreadable: [],
    where: new Map(),
    sizes: new Map(),
  };
  const { damaged, objects } = pass.result;
  try {
    pass.result.meta = readMeta();
  } catch (e) {
    // Reported, and the token treats its record as lost, not absent (storage-health.ts).
    damaged.push(`${TOKEN_LABEL}: ${reasonOf(e)}`);
    pass.unreadable.push({ label: TOKEN_LABEL });
  }
  /**
   * A read that failed: damage, unless the file went between the lookup and the read (another process
   * emptied a bucket or destroyed a record): that is a race, and the pass is read again under the lock.
   */
  const failed = (label: string, e: unknown) => {
    if (isPkcs11Error(e, CKR_OBJECT_HANDLE_INVALID)) pass.raced = true;
    damaged.push(`${label}: ${reasonOf(e)}`);
  };
  const mismatch = (id: number | undefined, line: string) => {
    pass.raced = true;
    pass.unreadable.push({ id, entryOnly: true });
    damaged.push(line);
  };
  const readObject = (label: string, expectedId?: number) => {
    try {
      const h = pal.findObject(label);
      if (h === 0) return mismatch(expectedId, `${label}: listed in the index but missing`);
      const v = pal.getObjectValue(h);
      try {
        const { record: rec, auth, signed } = decodeStoredRecord(v.data);
        if (expectedId !== undefined && rec.id !== expectedId) {
          return mismatch(expectedId, `${label}: holds object ${rec.id}, index says ${expectedId}`);
        }
        if (pass.where.has(rec.id)) return;
        pass.where.set(rec.id, label);
        pass.sizes.set(rec.id, v.data.length);
        const dv = new DataView(v.data.buffer, v.data.byteOffset, v.data.byteLength);
        const checksum = dv.getUint32(v.data.length - 4);
        if (auth.kind === 'mac') pass.result.authenticated = true;
        const { attributes } = rec;
        objects.push({
          id: rec.id,
          isPrivate: v.isPrivate,
          attributes,
          checksum,
          palLabel: label,
          auth,
          signed,
        });
      } finally {
        pal.getObjectValueCleanup(v);
      }
    } catch (e) {
      failed(label, e);
      pass.unreadable.push({ label, id: expectedId });
    }
  };
  for (let b = 0; b < BUCKETS; b++) {
    let bucket: Bucket;
    try {
      bucket = readBucket(b);
    } catch (e) {
      failed(bucketLabel(b), e);
      continue;
    }
    if (bucket.auth) {
      pass.result.bucketAuth.set(b, bucket.auth);
      pass.result.authenticated = true;
    }
    for (const [id, label] of bucket.entries) readObject(label, id);
  }
  const taken = new Set(pass.where.values());
  for (const label of WELL_KNOWN_LABELS)
    if (!taken.has(label) && pal.findObject(label) !== 0) readObject(label);
  return pass;
}
