/**
 * What the object store writes to authenticate what it stores (record-auth.ts has the MAC): a record
 * tagged when the MAC key is at hand, and otherwise (a public session before any login) untagged but
 * carrying the last authenticated version of the object as its base, so the next login can tell a
 * change a public session may make from an edit outside the token; and each index bucket's
 * authenticated id set. Layer L5.
 * @module
 */
import {
  decodeStoredRecord,
  encodeRecord,
  type RecordAuth,
  type StoredAttribute,
  signedPart,
} from '../storage/record.js';
import { type Bucket, type BucketEntry, normalizeIds } from './index-buckets.js';
import type { AuthId, RecordSigner } from './record-auth.js';

export class StoreAuthoring {
  readonly #signer: RecordSigner;
  /** Ids whose records this process wrote or verified with the MAC key, with their privacy. */
  readonly #authed = new Map<number, 0 | 1>();

  constructor(signer: RecordSigner) {
    this.#signer = signer;
  }

  get unlocked(): boolean {
    return this.#signer.unlocked;
  }

  mark(id: number, isPrivate: boolean): void {
    this.#authed.set(id, isPrivate ? 1 : 0);
  }

  has(id: number): boolean {
    return this.#authed.has(id);
  }

  forget(id: number): void {
    this.#authed.delete(id);
  }

  clear(): void {
    this.#authed.clear();
  }

  /** The bytes of object `id`'s record under `palLabel`; `previous` is what that label holds now. */
  record(id: number, palLabel: string, attributes: StoredAttribute[], previous?: Uint8Array) {
    const record = { id, flags: 0, attributes };
    if (this.#signer.unlocked) {
      const tag = this.#signer.recordTag(palLabel, signedPart(record));
      return encodeRecord(record, { kind: 'mac', tag });
    }
    let auth: RecordAuth = { kind: 'none' };
    if (previous) {
      const before = decodeStoredRecord(previous).auth;
      if (before.kind === 'mac') auth = { kind: 'none', base: previous };
      else if (before.kind === 'none') auth = before;
    }
    return encodeRecord(record, auth);
  }

  /**
   * The authenticated set of bucket `b` after a change to `entries`. Without the key it stays as stored
   * (a public session cannot vouch for anything); with it, it is every entry this process authenticated
   * plus those the stored set, if its tag holds, already named.
   */
  bucketAuth(b: number, stored: Bucket, entries: BucketEntry[]): Bucket['auth'] {
    if (!this.#signer.unlocked) return stored.auth;
    const present = new Set(entries.map(([id]) => id));
    const old = stored.auth;
    const valid = old && this.#signer.bucketValid(b, old.ids, old.tag) ? old.ids : [];
    const ids: AuthId[] = valid.filter(([id]) => present.has(id));
    for (const id of present) {
      const p = this.#authed.get(id);
      if (p !== undefined) ids.push([id, p]);
    }
    const sorted = normalizeIds(ids);
    return sorted.length === 0
      ? undefined
      : { ids: sorted, tag: this.#signer.bucketTag(b, sorted) };
  }
}
