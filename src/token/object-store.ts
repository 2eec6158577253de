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
import type { Pal } from '../storage/pal.js';
import { decodeRecord, encodeRecord, type StoredAttribute } from '../storage/record.js';
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

type Bucket = [number, string][];

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

  constructor(pal: Pal, random: () => number, maxBytes = Number.POSITIVE_INFINITY) {
    this.#pal = pal;
    this.#random = random;
    this.#maxBytes = maxBytes;
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
    const h = this.#pal.findObject(label);
    if (h === 0) return undefined;
    const v = this.#pal.getObjectValue(h);
    try {
      // A copy that survives the cleanup below, also when a port hands out a Buffer (whose slice is a view).
      return new Uint8Array(v.data);
    } finally {
      this.#pal.getObjectValueCleanup(v);
    }
  }

  #exclusive<T>(fn: () => T): T {
    return this.#pal.exclusive ? this.#pal.exclusive(fn) : fn();
  }

  /** Runs `fn` holding the storage lock shared with other processes (re-entrant). */
  exclusive<T>(fn: () => T): T {
    return this.#exclusive(fn);
  }

  /** The token record as stored now (another process may have changed it). */
  readMeta(): unknown {
    const bytes = this.#read(TOKEN_LABEL);
    return bytes ? decodeJsonRecord(bytes, TOKEN_LABEL) : undefined;
  }

  #readBucket(b: number): Bucket {
    const bytes = this.#read(bucketLabel(b));
    if (!bytes) return [];
    const v = decodeJsonRecord(bytes, bucketLabel(b));
    if (!Array.isArray(v))
      throw new Pkcs11Error(CKR_DEVICE_ERROR, `${bucketLabel(b)}: not an index`);
    return v as Bucket;
  }

  /** Damage the PAL found and kept as it was (none for ports that do not report any). */
  palDamage(): string[] {
    return this.#pal.damage?.() ?? [];
  }

  /** The PAL's explicit repair (nothing for ports without one). */
  palRepair(): string[] {
    return this.#exclusive(() => this.#pal.repair?.() ?? []);
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
    return this.#exclusive(() => this.#loadOnce().result);
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
    return this.#exclusive(() => {
      const done: string[] = [];
      for (const u of this.#unreadable) {
        if (u.id !== undefined) this.#updateBucket(u.id, (b) => b.filter(([i]) => i !== u.id));
        const h = u.entryOnly || !u.label ? 0 : this.#pal.findObject(u.label);
        if (h !== 0) this.#pal.destroyObject(h);
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
    return this.#exclusive(() => {
      const written: { id: number; palLabel: string; ownSlot: boolean }[] = [];
      try {
        for (const item of items) {
          const id = this.#newId(written[0] === undefined ? undefined : written[0].id % BUCKETS);
          // A well-known label is used as the PAL label when free (the PAL knows other processes'
          // objects too, and an earlier item of this call may just have taken it).
          const ownSlot =
            WELL_KNOWN_LABELS.includes(item.label) && this.#pal.findObject(item.label) === 0;
          const palLabel = ownSlot ? item.label : objectLabel(id);
          const record = encodeRecord({ id, flags: 0, attributes: item.encode(id) });
          this.#checkBudget(id, record.length);
          const size = record.length;
          this.#pal.saveObject(palLabel, record, item.isPrivate);
          this.#where.set(id, palLabel);
          this.#setSize(id, size);
          written.push({ id, palLabel, ownSlot });
        }
        const first = written[0];
        if (first === undefined) return [];
        this.#updateBucket(first.id, (bucket) => [
          ...bucket,
          ...written.map(({ id, palLabel }): [number, string] => [id, palLabel]),
        ]);
      } catch (e) {
        // A port with only the fixed corePKCS11 slots cannot hold the index; objects in those slots
        // are found by probing them at load, so the index is not needed for them.
        const probed = written.length === items.length && written.every((w) => w.ownSlot);
        if (probed && isPkcs11Error(e, CKR_DEVICE_MEMORY)) return written.map((w) => w.id);
        for (const w of written) {
          this.#where.delete(w.id);
          this.#setSize(w.id, undefined);
          const h = this.#pal.findObject(w.palLabel);
          if (h !== 0) this.#pal.destroyObject(h);
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

  #updateBucket(id: number, change: (b: Bucket) => Bucket): void {
    const b = id % BUCKETS;
    const next = change(this.#readBucket(b));
    if (next.length > 0) {
      this.#pal.saveObject(bucketLabel(b), encodeJsonRecord(next), false);
      return;
    }
    const h = this.#pal.findObject(bucketLabel(b));
    if (h !== 0) this.#pal.destroyObject(h);
  }

  update(id: number, isPrivate: boolean, attributes: StoredAttribute[]): void {
    this.#exclusive(() => {
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
      const record = encodeRecord({ id, flags: 0, attributes });
      this.#checkBudget(id, record.length);
      const size = record.length;
      this.#pal.saveObject(label, record, isPrivate);
      this.#setSize(id, size);
    });
  }

  /** Whether the record under `label` is still object `id` (a damaged one counts as still there). */
  #holds(label: string, id: number): boolean {
    const bytes = this.#read(label);
    if (!bytes) return false;
    try {
      return decodeRecord(bytes).id === id;
    } catch {
      return true;
    }
  }

  remove(id: number): void {
    this.#exclusive(() => {
      const label = this.#where.get(id);
      if (label === undefined) return;
      this.#updateBucket(id, (bucket) => bucket.filter(([i]) => i !== id));
      const h = this.#pal.findObject(label);
      if (h !== 0) this.#pal.destroyObject(h);
      this.#where.delete(id);
      this.#setSize(id, undefined);
    });
  }

  /**
   * Destroys every stored object (C_InitToken): all the index lists, so also objects other processes
   * stored since our last load, and the well-known slots. Index first, then the records.
   */
  clear(): void {
    this.#exclusive(() => {
      const labels = new Set<string>(WELL_KNOWN_LABELS);
      for (let b = 0; b < BUCKETS; b++) {
        try {
          for (const [, label] of this.#readBucket(b)) labels.add(label);
        } catch {
          // a damaged bucket goes below; its records stay behind unreferenced
        }
      }
      for (const label of [
        ...Array.from({ length: BUCKETS }, (_, b) => bucketLabel(b)),
        ...labels,
      ]) {
        const h = this.#pal.findObject(label);
        if (h !== 0) this.#pal.destroyObject(h);
      }
      this.#where.clear();
      this.#sizes.clear();
      this.#used = 0;
    });
  }

  close(): void {
    this.#pal.close?.();
  }
}
