/**
 * Token objects on a PAL: what the token adds above the seed's six functions. Every object is one record
 * (all attributes, stable id) under its own PAL label; an index split into buckets lists them, so the
 * token can enumerate objects, keep several under one CKA_LABEL, and find them after a restart. Objects
 * whose CKA_LABEL is a corePKCS11 well-known label are stored under that label when it is free, so a port
 * with fixed slots for those labels still works (without an index, those slots are probed on load).
 *
 * Crash ordering: a new record is written before the index names it, and the index forgets a record
 * before it is destroyed; a cut in between leaves an unreferenced record, never a dangling entry.
 * Layer L5.
 * @module
 */
import { isPkcs11Error, Pkcs11Error } from '../errors.js';
import {
  CKR_DEVICE_ERROR,
  CKR_DEVICE_MEMORY,
  CKR_OBJECT_HANDLE_INVALID,
} from '../pkcs11/constants.js';
import { decodeJsonRecord, encodeJsonRecord } from '../storage/json-record.js';
import { type Pal, readLabel } from '../storage/pal.js';
import { decodeStoredRecord, type StoredAttribute } from '../storage/record.js';
import { type Bucket, type BucketEntry, decodeBucket, encodeBucket } from './index-buckets.js';
import type { RecordSigner } from './record-auth.js';
import { StoreAuthoring } from './store-authoring.js';
import {
  BUCKETS,
  bucketLabel,
  objectLabel,
  TOKEN_LABEL,
  WELL_KNOWN_LABELS,
} from './store-labels.js';
import { type LoadResult, type ReadPass, readStore, type Unreadable } from './store-reader.js';

export { TOKEN_LABEL, WELL_KNOWN_LABELS } from './store-labels.js';

export type { LoadResult, StoredObject } from './store-reader.js';

/** An object to insert: its CKA_LABEL, privacy, and its stored attributes for the id it gets. */
export interface NewObject {
  label: string;
  isPrivate: boolean;
  encode: (id: number) => StoredAttribute[];
}

export class ObjectStore {
  readonly #pal: Pal;
  readonly #random: () => number;
  /** id → PAL label of every object this store knows. */
  readonly #where = new Map<number, string>();
  /** id → bytes of its stored record, and their sum (the storage budget counts these). */
  readonly #sizes = new Map<number, number>();
  #used = 0;
  readonly #maxBytes: number;
  #unreadable: Unreadable[] = [];
  readonly #auth: StoreAuthoring;

  constructor(
    pal: Pal,
    random: () => number,
    signer: RecordSigner,
    maxBytes = Number.POSITIVE_INFINITY,
  ) {
    this.#pal = pal;
    this.#random = random;
    this.#auth = new StoreAuthoring(signer);
    this.#maxBytes = maxBytes;
  }

  /** Records an object this process authenticated (verified at login, or written with the key). */
  markAuthenticated(id: number, isPrivate: boolean): void {
    this.#auth.mark(id, isPrivate);
  }

  /** Bytes of the object records this store knows (as of its last load and its own writes). */
  get usedBytes(): number {
    return this.#used;
  }

  #setSize(id: number, bytes: number | undefined): void {
    this.#used += (bytes ?? 0) - (this.#sizes.get(id) ?? 0);
    if (bytes === undefined) this.#sizes.delete(id);
    else this.#sizes.set(id, bytes);
  }

  /** CKR_DEVICE_MEMORY when replacing object `id`'s record by `bytes` bytes would break the budget. */
  #checkBudget(id: number, bytes: number): void {
    const after = this.#used - (this.#sizes.get(id) ?? 0) + bytes;
    if (after > this.#maxBytes) {
      throw new Pkcs11Error(
        CKR_DEVICE_MEMORY,
        `the token's storage is full: ${after} bytes of objects, maxStorageBytes ${this.#maxBytes}`,
      );
    }
  }

  #read(label: string): Uint8Array | undefined {
    return readLabel(this.#pal, label);
  }

  /** Runs `fn` holding the storage lock shared with other processes (re-entrant). */
  exclusive<T>(fn: () => T): T {
    return this.#pal.exclusive ? this.#pal.exclusive(fn) : fn();
  }

  /** Destroys the record under `label`, if there is one. */
  #destroy(label: string): void {
    const h = this.#pal.findObject(label);
    if (h !== 0) this.#pal.destroyObject(h);
  }

  /** The token record as stored now (another process may have changed it). */
  readMeta(): unknown {
    const bytes = this.#read(TOKEN_LABEL);
    return bytes ? decodeJsonRecord(bytes, TOKEN_LABEL) : undefined;
  }

  #readBucket(b: number): Bucket {
    const bytes = this.#read(bucketLabel(b));
    return bytes ? decodeBucket(bytes, bucketLabel(b)) : { entries: [] };
  }

  /** Damage the PAL found and kept as it was (none for ports that do not report any). */
  palDamage(): string[] {
    return this.#pal.damage?.() ?? [];
  }

  /** The PAL's explicit repair (nothing for ports without one). */
  palRepair(): string[] {
    return this.exclusive(() => this.#pal.repair?.() ?? []);
  }

  /** The PAL's change marker, or undefined when it has none (then every load reads everything). */
  generation(): string | undefined {
    return this.#pal.generation?.();
  }

  /**
   * Reads every object the index names. The first pass takes no lock (readers do not hold up writers or
   * each other), so it can fall between two steps of another process's change: an index entry read just
   * before that process destroyed or replaced its record. Such a pass is read again under the storage
   * lock, where a record the index names and storage lacks is damage, reported as such.
   */
  load(): LoadResult {
    const first = this.#loadOnce();
    if (!first.raced) return first.result;
    return this.exclusive(() => this.#loadOnce().result);
  }

  /** One pass of load (store-reader.ts); `raced` when an entry did not match its record. */
  #loadOnce(): ReadPass {
    const pass = readStore({
      pal: this.#pal,
      readMeta: () => this.readMeta(),
      readBucket: (b) => this.#readBucket(b),
    });
    this.#where.clear();
    this.#sizes.clear();
    this.#used = 0;
    for (const [id, label] of pass.where) this.#where.set(id, label);
    for (const [id, size] of pass.sizes) this.#setSize(id, size);
    this.#unreadable = pass.unreadable;
    return pass;
  }

  /**
   * Part of the explicit repair (`corepkcs11 fsck --repair`): removes the records the last load could
   * not read by any means (the PAL's own repair has run first), and index entries naming records that
   * are gone. Nothing readable is removed. Returns one line per removal.
   */
  removeUnreadable(): string[] {
    return this.exclusive(() => {
      const done: string[] = [];
      for (const u of this.#unreadable) {
        if (u.id !== undefined) this.#updateBucket(u.id, (e) => e.filter(([i]) => i !== u.id));
        if (!u.entryOnly && u.label) this.#destroy(u.label);
        done.push(
          u.entryOnly
            ? `index entry of object ${u.id} removed (no such record)`
            : `${u.label}: unreadable, removed`,
        );
      }
      this.#unreadable = [];
      return done;
    });
  }

  saveMeta(meta: unknown): void {
    this.#pal.saveObject(TOKEN_LABEL, encodeJsonRecord(meta), true);
  }

  /**
   * Stores a new object and returns its id. `label` is its CKA_LABEL (for the well-known slots);
   * `encode` gives the stored attributes for the id chosen (sealed values are bound to it).
   */
  insert(label: string, isPrivate: boolean, encode: (id: number) => StoredAttribute[]): number {
    return this.insertAll([{ label, isPrivate, encode }])[0] as number;
  }

  /**
   * Stores new objects together (both halves of a key pair): every record is written first, then one
   * index update names them all — their ids share a bucket — so a pair costs one index write, not two.
   * All or nothing: if any step fails, the records already written are destroyed again.
   */
  insertAll(items: readonly NewObject[]): number[] {
    return this.exclusive(() => {
      const written: { id: number; palLabel: string; ownSlot: boolean }[] = [];
      try {
        for (const item of items) {
          const id = this.#newId(written[0] === undefined ? undefined : written[0].id % BUCKETS);
          // A well-known label is used as the PAL label when free (the PAL knows other processes'
          // objects too, and an earlier item of this call may just have taken it).
          const ownSlot =
            WELL_KNOWN_LABELS.includes(item.label) && this.#pal.findObject(item.label) === 0;
          const palLabel = ownSlot ? item.label : objectLabel(id);
          const record = this.#auth.record(id, palLabel, item.encode(id));
          this.#checkBudget(id, record.length);
          const size = record.length;
          this.#pal.saveObject(palLabel, record, item.isPrivate);
          this.#where.set(id, palLabel);
          this.#setSize(id, size);
          if (this.#auth.unlocked) this.#auth.mark(id, item.isPrivate);
          written.push({ id, palLabel, ownSlot });
        }
        const first = written[0];
        if (first === undefined) return [];
        this.#updateBucket(first.id, (entries) => [
          ...entries,
          ...written.map(({ id, palLabel }): BucketEntry => [id, palLabel]),
        ]);
      } catch (e) {
        // A port with only the fixed corePKCS11 slots cannot hold the index; objects in those slots
        // are found by probing them at load, so the index is not needed for them.
        const probed = written.length === items.length && written.every((w) => w.ownSlot);
        if (probed && isPkcs11Error(e, CKR_DEVICE_MEMORY)) return written.map((w) => w.id);
        for (const w of written) {
          this.#where.delete(w.id);
          this.#auth.forget(w.id);
          this.#setSize(w.id, undefined);
          this.#destroy(w.palLabel);
        }
        throw e;
      }
      return written.map((w) => w.id);
    });
  }

  /** A fresh id, in `bucket` when given (the random low bits replaced). */
  #newId(bucket?: number): number {
    for (;;) {
      const r = this.#random();
      const id = bucket === undefined ? r : r - (r % BUCKETS) + bucket;
      if (id > 0 && !this.#where.has(id)) return id;
    }
  }

  #updateBucket(id: number, change: (entries: BucketEntry[]) => BucketEntry[]): void {
    const b = id % BUCKETS;
    const stored = this.#readBucket(b);
    const entries = change(stored.entries);
    const auth = this.#auth.bucketAuth(b, stored, entries);
    // A bucket emptied without the key keeps its authenticated set: the next login sees what went.
    if (entries.length > 0 || auth) {
      const next = auth ? { entries, auth } : { entries };
      this.#pal.saveObject(bucketLabel(b), encodeBucket(next), false);
      return;
    }
    this.#destroy(bucketLabel(b));
  }

  /**
   * Writes the records of objects the login just verified that carry no MAC yet (created or changed
   * by a public session, or stored before records had one) again with their MAC, and names them in
   * their buckets' authenticated sets.
   */
  adopt(
    objects: readonly { id: number; isPrivate: boolean; attributes: StoredAttribute[] }[],
  ): void {
    if (objects.length === 0) return;
    this.exclusive(() => {
      for (const o of objects) {
        const label = this.#where.get(o.id);
        if (label === undefined || !this.#holds(label, o.id)) continue;
        this.#pal.saveObject(label, this.#auth.record(o.id, label, o.attributes), o.isPrivate);
        this.#auth.mark(o.id, o.isPrivate);
      }
      for (const b of new Set(objects.map((o) => o.id % BUCKETS))) this.#updateBucket(b, (e) => e);
    });
  }

  update(id: number, isPrivate: boolean, attributes: StoredAttribute[]): void {
    this.exclusive(() => {
      const label = this.#where.get(id);
      if (label === undefined)
        throw new Pkcs11Error(CKR_DEVICE_ERROR, `object ${id} is not in storage`);
      // Another process may have destroyed the object since we read it: writing its record again would
      // bring it back (a well-known label is probed at load) or leave an orphan record behind.
      if (!this.#holds(label, id)) {
        this.#where.delete(id);
        this.#setSize(id, undefined);
        throw new Pkcs11Error(
          CKR_OBJECT_HANDLE_INVALID,
          `object ${id} was destroyed by another process`,
        );
      }
      const record = this.#auth.record(id, label, attributes, this.#read(label));
      this.#checkBudget(id, record.length);
      const size = record.length;
      this.#pal.saveObject(label, record, isPrivate);
      this.#setSize(id, size);
      if (!this.#auth.unlocked) return;
      const known = this.#auth.has(id);
      this.#auth.mark(id, isPrivate);
      // An object first authenticated now joins its bucket's authenticated set.
      if (!known) this.#updateBucket(id, (e) => e);
    });
  }

  /** Whether the record under `label` is still object `id` (a damaged one counts as still there). */
  #holds(label: string, id: number): boolean {
    const bytes = this.#read(label);
    if (!bytes) return false;
    try {
      return decodeStoredRecord(bytes).record.id === id;
    } catch {
      return true;
    }
  }

  remove(id: number): void {
    this.exclusive(() => {
      const label = this.#where.get(id);
      if (label === undefined) return;
      this.#auth.forget(id);
      this.#updateBucket(id, (entries) => entries.filter(([i]) => i !== id));
      this.#destroy(label);
      this.#where.delete(id);
      this.#setSize(id, undefined);
    });
  }

  /**
   * Destroys every stored object (C_InitToken): all the index lists, so also objects other processes
   * stored since our last load, and the well-known slots. Index first, then the records.
   */
  clear(): void {
    this.exclusive(() => {
      const labels = new Set<string>(WELL_KNOWN_LABELS);
      for (let b = 0; b < BUCKETS; b++) {
        try {
          for (const [, label] of this.#readBucket(b).entries) labels.add(label);
        } catch {
          // a damaged bucket goes below; its records stay behind unreferenced
        }
      }
      for (let b = 0; b < BUCKETS; b++) this.#destroy(bucketLabel(b));
      for (const label of labels) this.#destroy(label);
      this.#where.clear();
      this.#auth.clear();
      this.#sizes.clear();
      this.#used = 0;
    });
  }

  close(): void {
    this.#pal.close?.();
  }
}
