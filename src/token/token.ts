/**
 * The token: one slot's persistent state shared by every application that opens it — the token record
 * (label, serial, PINs, the wrapped token key) and the token objects. Sessions and login state belong to
 * applications (application.ts), not to the token. Its options and resource limits: token-options.ts.
 * Layer L5.
 * @module
 */
import type { AttributeMap } from '../attributes/values.js';
import type { CryptoBackend } from '../crypto/backend.js';
import { Pkcs11Error } from '../errors.js';
import type { TokenObject } from '../objects/object.js';
import { isProfile, LEGACY_PROFILE, type Profile } from '../objects/profile.js';
import * as C from '../pkcs11/constants.js';
import type { Pal } from '../storage/pal.js';
import { EcPartners } from './ec-partners.js';
import { ObjectStore } from './object-store.js';
import { PinMemory } from './pin-memory.js';
import { PinTries } from './pin-tries.js';
import {
  derivePinKey,
  derivePinKeyAsync,
  isLegacyWrap,
  type PinOwner,
  type PinRecord,
} from './pins.js';
import { RecordSigner } from './record-auth.js';
import {
  assessStorage,
  checkReinitializable,
  DAMAGE_WARNING,
  damageWarnings,
  type StorageHealth,
} from './storage-health.js';
import { TokenObjects } from './token-objects.js';
import { type TokenLimits, type TokenOptions, tokenLimits } from './token-options.js';
import { pinLengthOk, STALE, TokenRecord } from './token-record.js';

export type { PinOwner } from './pins.js';
export type { TokenOptions } from './token-options.js';

/** Derivations for a PIN that other processes keep changing, before the last one runs under the lock. */
const STALE_ROUNDS = 4;

function randomId(crypto: CryptoBackend): () => number {
  return () => {
    const b = crypto.randomBytes(6);
    // 48 bits: exact in a double, and collisions are checked by the store anyway
    return (
      (b[0] as number) * 2 ** 40 + new DataView(b.buffer).getUint32(1) * 256 + (b[5] as number) || 1
    );
  };
}

export class Token {
  readonly crypto: CryptoBackend;
  readonly options: TokenLimits;
  readonly #store: ObjectStore;
  readonly #record: TokenRecord;
  /** What this process remembers of the PINs it checked (pin-memory.ts). */
  readonly #pins: PinMemory;
  readonly #objects: TokenObjects;
  readonly #warn: (message: string) => void;
  /** The record MAC key, derived when a PIN unlocks the token key (record-auth.ts). */
  readonly #signer: RecordSigner;
  /** Some stored record or index bucket is authenticated: the store is not a pre-MAC one. */
  #storeAuthenticated = false;
  /** Damage found in storage at the last load (storage-health.ts). */
  #health: StorageHealth;
  /** The store's generation when it was last read (refresh skips the reload while it holds). */
  #seen: string | undefined;
  /** Private EC keys by public point, for verification with d (ec-partners.ts). */
  readonly ecPartners = new EcPartners();
  /** Sessions open on this token across all applications (C_InitToken needs none). */
  sessionCount = 0;

  constructor(pal: Pal, crypto: CryptoBackend, options: TokenOptions = {}) {
    this.crypto = crypto;
    this.options = tokenLimits(options);
    this.#pins = new PinMemory(crypto);
    this.#warn = options.warn ?? ((m: string) => process.stderr.write(`corepkcs11: ${m}\n`));
    pal.initialize();
    this.#signer = new RecordSigner(crypto);
    this.#store = new ObjectStore(
      pal,
      randomId(crypto),
      this.#signer,
      this.options.maxStorageBytes,
    );
    this.#seen = this.#store.generation();
    const loaded = this.#store.load();
    this.#health = assessStorage(loaded, this.#store.palDamage());
    for (const w of damageWarnings(this.#health)) this.#warn(w);
    const tries = new PinTries(pal, this.#warn);
    this.#record = new TokenRecord(
      this.#store,
      crypto,
      tries,
      this.options,
      this.#warn,
      loaded.meta,
      { persistNew: !this.#health.recordLost },
    );
    this.#objects = new TokenObjects(this.#store, crypto, this.#warn, this.#signer);
    this.#storeAuthenticated = loaded.authenticated;
    this.#objects.merge(loaded);
  }

  /**
   * Re-reads storage: objects and PIN state another process changed become visible. Called when an
   * application initializes (each RPC connection and each process does).
   */
  refresh(): void {
    // Nothing changed in storage since we last read or wrote it: skip the reload. (The try counters are
    // written in place, which a port's generation may not see: they are read in any case.)
    const generation = this.#store.generation();
    if (generation !== undefined && generation === this.#seen) {
      this.#record.replace(undefined);
      return;
    }
    const loaded = this.#store.load();
    this.#seen = generation;
    this.#health = assessStorage(loaded, this.#store.palDamage());
    for (const d of loaded.damaged) this.#warn(`${DAMAGE_WARNING}${d}`);
    this.#record.replace(loaded.meta);
    this.#storeAuthenticated ||= loaded.authenticated;
    this.#objects.merge(loaded);
  }

  /** Damage found in storage at the last load, and records refused since: what `fsck` reports. */
  get storageHealth(): Readonly<StorageHealth> {
    return { ...this.#health, rejected: [...this.#objects.rejected] };
  }

  /**
   * The explicit repair (`corepkcs11 fsck --repair`): the PAL rewrites what it reported damaged, then
   * what no repair can read is removed, and (after a login) the records that failed authentication.
   * Returns one line per thing rewritten or removed.
   */
  repairStorage(): string[] {
    const done = this.#store.palRepair();
    this.#seen = undefined;
    this.refresh();
    done.push(...this.#store.removeUnreadable());
    // Records a login refused are never used; with the PIN given, the repair removes them too.
    for (const id of this.#objects.rejectedIds) {
      this.#store.remove(id);
      done.push(`object ${id.toString(16)}: failed authentication, removed`);
    }
    this.#objects.rejectedIds.clear();
    this.#objects.rejected.length = 0;
    this.#seen = undefined;
    this.refresh();
    return done;
  }

  get label(): string {
    return this.#record.meta.label;
  }
  get serial(): string {
    return this.#record.meta.serial;
  }
  get initialized(): boolean {
    return this.#record.meta.initialized;
  }
  /**
   * The profile in force: the one recorded at C_InitToken (a record from before profiles existed
   * keeps the strict choices it was made under); before initialization, the one C_InitToken would record.
   */
  get profile(): Profile {
    const meta = this.#record.meta;
    if (!meta.initialized) return this.options.profile;
    return isProfile(meta.profile) ? meta.profile : LEGACY_PROFILE;
  }
  pinRecord(owner: PinOwner): PinRecord | undefined {
    return this.#record.meta[owner];
  }

  /** Token objects, narrowed by CKA_LABEL when the template has one. */
  candidates(template: AttributeMap): Iterable<TokenObject> {
    return this.#objects.candidates(template);
  }
  hasObject(obj: TokenObject): boolean {
    return this.#objects.has(obj);
  }
  get objectCount(): number {
    return this.#objects.size;
  }
  /** Bytes of the stored object records (the share of maxStorageBytes in use). */
  get storageUsed(): number {
    return this.#store.usedBytes;
  }
  /** CKR_DEVICE_MEMORY when `n` more token objects would pass maxObjects. */
  #checkRoom(n: number): void {
    if (this.#objects.size + n > this.options.maxObjects) {
      throw new Pkcs11Error(
        C.CKR_DEVICE_MEMORY,
        `the token holds ${this.#objects.size} objects, maxObjects ${this.options.maxObjects}`,
      );
    }
  }
  addObject(obj: TokenObject): void {
    this.#checkRoom(1);
    this.#objects.add(obj);
  }
  /** Stores several token objects with one index update (both halves of a key pair). */
  addObjects(objs: readonly TokenObject[]): void {
    this.#checkRoom(objs.length);
    this.#objects.addAll(objs);
  }
  /** Persists changed attributes (all or nothing: the in-memory object changes only after the write). */
  updateObject(obj: TokenObject, changes: AttributeMap): void {
    this.#objects.update(obj, changes);
  }
  removeObject(obj: TokenObject): void {
    this.#objects.remove(obj);
  }

  checkPinLength(pin: Uint8Array): void {
    this.#record.checkPinLength(pin);
  }

  /** Tries left for `owner`'s PIN (CK_TOKEN_INFO's COUNT_LOW / FINAL_TRY / LOCKED flags). */
  pinTriesLeft(owner: PinOwner): number {
    return this.#record.triesLeft(owner);
  }

  /**
   * A PIN this process verified before is checked again by the keyed verifier (pin-memory.ts), while the
   * token key is unlocked here and the stored PIN record is the one it verified against.
   */
  #knownPin(owner: PinOwner, pin: Uint8Array): boolean {
    const salt = this.#pins.knownSalt(owner, pin);
    return salt !== undefined && !!this.#objects.tokenKey && this.#record.confirmKnown(owner, salt);
  }

  #verified(owner: PinOwner, pin: Uint8Array, tokenKey: Uint8Array): void {
    // A PIN set before records had MACs: the first such login of a store that has none migrates it
    // (every record adopted as it is), and that PIN's wrap is renewed so it never migrates again.
    const legacy = isLegacyWrap(this.pinRecord(owner));
    this.#objects.unlock(tokenKey, { migrate: legacy && !this.#storeAuthenticated });
    this.#storeAuthenticated = true;
    if (legacy) this.#record.setPin(owner, pin, tokenKey, this.pinRecord(owner)?.toBeChanged);
    this.#pins.remember(owner, this.pinRecord(owner), pin);
  }

  /**
   * Checks a PIN (token-record.ts: derive outside the lock, then spend, check and give back under it);
   * on success the token key is unlocked (private secrets become usable). A PIN changed by another
   * process during the derivation is derived again for the new record, the last time under the lock.
   */
  verifyPin(owner: PinOwner, pin: Uint8Array): void {
    if (this.#knownPin(owner, pin)) return;
    this.#verified(owner, pin, this.#checkPin(owner, pin));
  }

  /** The full, counted check of `pin` (no keyed verifier): the token key it unwraps. */
  #checkPin(owner: PinOwner, pin: Uint8Array): Uint8Array {
    for (let round = 1; ; round++) {
      const rec = this.#record.current(owner);
      const pinKey = pinLengthOk(pin) ? derivePinKey(this.crypto, rec, pin) : undefined;
      const key = this.#settle(owner, rec, pin, pinKey, round);
      if (key !== STALE) return key;
    }
  }

  async verifyPinAsync(owner: PinOwner, pin: Uint8Array): Promise<void> {
    if (this.#knownPin(owner, pin)) return;
    for (let round = 1; ; round++) {
      const rec = this.#record.current(owner);
      const pinKey = pinLengthOk(pin)
        ? await this.#pins.derive(owner, rec, pin, () => derivePinKeyAsync(this.crypto, rec, pin))
        : undefined;
      const key = this.#settle(owner, rec, pin, pinKey, round);
      if (key !== STALE) {
        this.#verified(owner, pin, key);
        return;
      }
    }
  }

  #settle(
    owner: PinOwner,
    rec: PinRecord,
    pin: Uint8Array,
    key: Uint8Array | undefined,
    round: number,
  ) {
    const rederive = (now: PinRecord) => derivePinKey(this.crypto, now, pin);
    return this.#record.settle(owner, rec, key, round >= STALE_ROUNDS ? rederive : undefined);
  }

  /**
   * `corepkcs11 fsck --pin`: checks the user PIN and authenticates every stored record, writing nothing
   * but the PIN's try counters (spent and given back in place; no adoption, no migration). 'pre-mac': a store from before record MACs,
   * which its first real login migrates (nothing to check until then).
   */
  auditRecords(pin: Uint8Array): 'checked' | 'pre-mac' {
    const key = this.#checkPin('user', pin);
    if (isLegacyWrap(this.pinRecord('user')) && !this.#storeAuthenticated) return 'pre-mac';
    this.#objects.unlock(key, { adopt: false });
    return 'checked';
  }

  /** C_InitToken: (re)initializes the token, destroying every token object and the user PIN. */
  initToken(soPin: Uint8Array, label: string): void {
    // Reinitializing checks the PIN against the current SO PIN (any mismatch, length included, is
    // CKR_PIN_INCORRECT and spends a try); only a new token's first SO PIN is checked for length.
    if (this.initialized && this.pinRecord('so')) this.verifyPin('so', soPin);
    else {
      checkReinitializable(this.#health);
      this.checkPinLength(soPin);
    }
    this.#pins.forget();
    // One step under the storage lock: objects another process adds meanwhile cannot survive it.
    const tokenKey = this.#store.exclusive(() => {
      this.#objects.clear();
      return this.#record.initialize(soPin, label);
    });
    this.#objects.lock();
    this.#verified('so', soPin, tokenKey);
  }

  #unlockedKey(): Uint8Array {
    const key = this.#objects.tokenKey;
    if (!key) throw new Pkcs11Error(C.CKR_USER_NOT_LOGGED_IN, 'the token key is locked');
    return key;
  }

  /** C_InitPIN (by the SO, who has unlocked the token key): sets the user PIN and resets its counter. */
  initUserPin(pin: Uint8Array): void {
    this.#record.setPin('user', pin, this.#unlockedKey());
    this.#pins.forget('user');
  }

  /** C_SetPIN: the owner proves the old PIN, then the token key is wrapped under the new one. */
  changePin(owner: PinOwner, oldPin: Uint8Array, newPin: Uint8Array): void {
    this.checkPinLength(newPin);
    this.verifyPin(owner, oldPin);
    this.#record.setPin(owner, newPin, this.#unlockedKey());
    this.#pins.forget(owner);
  }

  close(): void {
    this.#objects.lock();
    this.#store.close();
  }
}
