/**
 * The token objects in memory: an index by id and by CKA_LABEL (find by label is O(1) in the number of
 * objects) kept in step with the object store, with private secrets sealed on the way to storage and
 * opened once the token key is unlocked, and every stored record authenticated then (record-check.ts):
 * a record that fails is reported and never used. Layer L5.
 * @module
 */
import type { AttributeMap } from '../attributes/values.js';
import { readBytes } from '../attributes/values.js';
import type { CryptoBackend } from '../crypto/backend.js';
import { isPkcs11Error, reasonOf } from '../errors.js';
import { TokenObject } from '../objects/object.js';
import * as C from '../pkcs11/constants.js';
import type { StoredAttribute } from '../storage/record.js';
import { fromUtf8 } from '../util/bytes.js';
import type { LoadResult, ObjectStore, StoredObject } from './object-store.js';
import type { RecordSigner } from './record-auth.js';
import { authenticatedIds, checkStored, missingPrivate } from './record-check.js';
import { sealAttributes, unsealAttributes } from './sealing.js';
import { BUCKETS } from './store-labels.js';

export class TokenObjects {
  readonly #store: ObjectStore;
  readonly #crypto: CryptoBackend;
  readonly #warn: (m: string) => void;
  readonly #byId = new Map<number, TokenObject>();
  readonly #byLabel = new Map<string, Set<TokenObject>>();
  /** Record checksums as last read, so a refresh only touches objects that changed. */
  readonly #checksums = new WeakMap<TokenObject, number>();
  /** Sealed values of private objects read while the token key was locked. */
  readonly #pending = new Map<TokenObject, Map<number, Uint8Array>>();
  #tokenKey: Uint8Array | undefined;
  readonly #signer: RecordSigner;
  /** Records read while the MAC key was locked, waiting to be authenticated. */
  readonly #unverified = new Map<TokenObject, StoredObject>();
  /** Authenticated in memory but stored without a MAC: written again with it at the next login. */
  readonly #toAdopt = new Map<TokenObject, StoredObject>();
  #bucketAuth: LoadResult['bucketAuth'] = new Map();
  readonly #reportedMissing = new Set<number>();
  /** What authentication refused since the token opened (fsck reports it). */
  readonly rejected: string[] = [];
  /** The ids of the records refused (fsck --repair removes them). */
  readonly rejectedIds = new Set<number>();

  constructor(
    store: ObjectStore,
    crypto: CryptoBackend,
    warn: (m: string) => void,
    signer: RecordSigner,
  ) {
    this.#store = store;
    this.#crypto = crypto;
    this.#warn = warn;
    this.#signer = signer;
  }

  #index(obj: TokenObject): void {
    this.#byId.set(obj.storageId as number, obj);
    const set = this.#byLabel.get(obj.label) ?? new Set<TokenObject>();
    this.#byLabel.set(obj.label, set);
    set.add(obj);
  }

  #unindex(obj: TokenObject, label = obj.label): void {
    this.#byId.delete(obj.storageId as number);
    this.#pending.delete(obj);
    this.#unverified.delete(obj);
    this.#toAdopt.delete(obj);
    const set = this.#byLabel.get(label);
    set?.delete(obj);
    if (set?.size === 0) this.#byLabel.delete(label);
  }

  /** Brings memory in line with what storage holds, keeping the instances that did not change. */
  merge(load: LoadResult): void {
    const seen = new Set<number>();
    this.#bucketAuth = load.bucketAuth;
    for (const s of load.objects) {
      seen.add(s.id);
      const have = this.#byId.get(s.id);
      if (have && this.#checksums.get(have) === s.checksum) continue;
      const attrs: AttributeMap = new Map();
      const sealed = new Map<number, Uint8Array>();
      for (const a of s.attributes) {
        if (a.sealed && !Array.isArray(a.value)) sealed.set(a.type, a.value);
        else attrs.set(a.type, a.value);
      }
      const obj = have ?? new TokenObject(attrs);
      if (have) {
        this.#unindex(have);
        have.attrs.clear();
        have.update(attrs);
      }
      obj.storageId = s.id;
      obj.verified = false;
      this.#checksums.set(obj, s.checksum);
      this.#index(obj);
      this.#unverified.set(obj, s);
      if (sealed.size > 0) this.#pending.set(obj, sealed);
    }
    for (const obj of [...this.#byId.values()])
      if (!seen.has(obj.storageId as number)) this.#unindex(obj);
    if (this.#tokenKey) {
      this.#authenticate(false);
      this.#openPending();
    }
  }

  /**
   * Makes the token key available: every stored record is authenticated (those that fail are dropped),
   * records a public session wrote are adopted, pending sealed values are opened; the same happens on
   * every later load. `migrate`: the first login of a pre-MAC store adopts every record as it is.
   * `adopt` false (fsck): nothing is written, adoption waits for a real login.
   */
  unlock(
    tokenKey: Uint8Array,
    { migrate = false, adopt = true }: { migrate?: boolean; adopt?: boolean } = {},
  ): void {
    this.#tokenKey = tokenKey;
    this.#signer.unlock(tokenKey);
    this.#authenticate(migrate);
    if (adopt) this.#adopt();
    this.#openPending();
  }

  lock(): void {
    this.#tokenKey?.fill(0);
    this.#tokenKey = undefined;
    this.#signer.lock();
  }

  #authenticate(migrate: boolean): void {
    for (const [obj, s] of this.#unverified) {
      const ids = authenticatedIds(this.#bucketAuth, this.#signer, s.id % BUCKETS);
      const verdict = checkStored(s, { signer: this.#signer, authenticatedIds: ids, migrate });
      if (typeof verdict === 'object') {
        const line = `object ${s.id.toString(16)} ("${obj.label}") is not used: ${verdict.rejected}`;
        this.#warn(line);
        this.rejected.push(line);
        this.rejectedIds.add(s.id);
        this.#unindex(obj);
        continue;
      }
      obj.verified = true;
      if (verdict === 'adopt') this.#toAdopt.set(obj, s);
      else this.#store.markAuthenticated(s.id, obj.isPrivate);
    }
    this.#unverified.clear();
    const present = new Set(this.#byId.keys());
    for (const id of missingPrivate(this.#bucketAuth, this.#signer, present)) {
      if (this.#reportedMissing.has(id)) continue;
      this.#reportedMissing.add(id);
      const line = `private object ${id.toString(16)} is gone: removed outside the token`;
      this.#warn(line);
      this.rejected.push(line);
    }
  }

  /** Writes the records authenticated without a MAC again with one (a login's job). */
  #adopt(): void {
    const list = [...this.#toAdopt].map(([obj, s]) => ({
      id: s.id,
      isPrivate: obj.isPrivate,
      attributes: s.attributes,
    }));
    try {
      this.#store.adopt(list);
      this.#toAdopt.clear();
    } catch (e) {
      // Still authenticated in memory; the next login tries again.
      this.#warn(`records not rewritten with their MAC: ${reasonOf(e)}`);
    }
  }

  get tokenKey(): Uint8Array | undefined {
    return this.#tokenKey;
  }

  #openPending(): void {
    for (const [obj, sealed] of [...this.#pending]) {
      try {
        obj.update(
          unsealAttributes(
            this.#crypto,
            this.#tokenKey as Uint8Array,
            obj.storageId as number,
            sealed,
          ),
        );
        this.#pending.delete(obj);
      } catch (e) {
        // A blob that does not open is damage or tampering: the object is unusable, never wrong data.
        this.#warn(`object dropped: ${reasonOf(e)}`);
        this.#unindex(obj);
      }
    }
  }

  candidates(template: AttributeMap): Iterable<TokenObject> {
    const label = readBytes(template, C.CKA_LABEL);
    if (label === undefined) return this.#byId.values();
    return this.#byLabel.get(fromUtf8(label)) ?? [];
  }

  has(obj: TokenObject): boolean {
    return (
      obj.storageId !== undefined &&
      this.#byId.get(obj.storageId) === obj &&
      !this.#pending.has(obj)
    );
  }

  get size(): number {
    return this.#byId.size;
  }

  all(): TokenObject[] {
    return [...this.#byId.values()];
  }

  #encode(id: number, attrs: AttributeMap, isPrivate: boolean): StoredAttribute[] {
    return sealAttributes(this.#crypto, this.#tokenKey, id, attrs, isPrivate);
  }

  add(obj: TokenObject): void {
    this.addAll([obj]);
  }

  /** Stores objects together (one index update for all of them, see ObjectStore.insertAll). */
  addAll(objs: readonly TokenObject[]): void {
    const ids = this.#store.insertAll(
      objs.map((obj) => ({
        label: obj.label,
        isPrivate: obj.isPrivate,
        encode: (id: number) => this.#encode(id, obj.attrs, obj.isPrivate),
      })),
    );
    objs.forEach((obj, i) => {
      obj.storageId = ids[i];
      obj.verified = true;
      this.#index(obj);
    });
  }

  /** Persists changed attributes; the object in memory changes only once the write succeeded. */
  update(obj: TokenObject, changes: AttributeMap): void {
    const next = new Map(obj.attrs);
    for (const [t, v] of changes) next.set(t, v);
    const isPrivate = new TokenObject(next).isPrivate;
    const id = obj.storageId as number;
    try {
      this.#store.update(id, isPrivate, this.#encode(id, next, isPrivate));
    } catch (e) {
      // Destroyed by another process: gone here too.
      if (isPkcs11Error(e, C.CKR_OBJECT_HANDLE_INVALID)) this.#unindex(obj);
      throw e;
    }
    this.#unindex(obj);
    obj.update(changes);
    this.#index(obj);
  }

  /** Destroys every stored object, this process's and any other's (C_InitToken). */
  clear(): void {
    this.#store.clear();
    for (const obj of this.all()) this.#unindex(obj);
  }

  remove(obj: TokenObject): void {
    this.#store.remove(obj.storageId as number);
    this.#unindex(obj);
  }
}
