/**
 * The token: one slot's persistent state shared by every application that opens it — label, serial,
 * PINs and their counters, and the token objects with a label index (find by label is O(1) in the number
 * of objects). Sessions and login state belong to applications (application.ts), not to the token.
 * Layer L5.
 * @module
 */
import type { AttributeMap } from '../attributes/values.js';
import { readBytes } from '../attributes/values.js';
import type { CryptoBackend } from '../crypto/backend.js';
import { isPkcs11Error, Pkcs11Error } from '../errors.js';
import { TokenObject } from '../objects/object.js';
import * as C from '../pkcs11/constants.js';
import type { RawAttribute } from '../pkcs11/types.js';
import type { Pal } from '../storage/pal.js';
import { fromUtf8, toHex } from '../util/bytes.js';
import { type LoadResult, ObjectStore } from './object-store.js';
import {
  DEFAULT_MAX_TRIES,
  DEFAULT_PIN_ITERATIONS,
  MAX_PIN_LENGTH,
  MIN_PIN_LENGTH,
  makePinRecord,
  type PinRecord,
  pinMatches,
  pinMatchesAsync,
} from './pins.js';

export type PinOwner = 'so' | 'user';

export interface TokenOptions {
  /** PBKDF2 iterations for new PINs (default 600,000; tests may lower it). */
  pinIterations?: number;
  /** Wrong PINs allowed before lockout (default 10). */
  maxPinTries?: number;
  /** Most sessions open at once across all applications (default 1024). */
  maxSessions?: number;
  /** Receives storage problems found at load (damaged records). Default: stderr. */
  warn?: (message: string) => void;
}

interface TokenMeta {
  v: 1;
  label: string;
  serial: string;
  initialized: boolean;
  so?: PinRecord;
  user?: PinRecord;
}

function toAttributes(map: AttributeMap): RawAttribute[] {
  return [...map].map(([type, value]) => ({ type, value }));
}

export class Token {
  readonly crypto: CryptoBackend;
  readonly options: Required<Omit<TokenOptions, 'warn'>>;
  readonly #store: ObjectStore;
  #meta: TokenMeta;
  readonly #objects = new Map<number, TokenObject>();
  readonly #byLabel = new Map<string, Set<TokenObject>>();
  /** Sessions open on this token across all applications (C_InitToken needs none). */
  sessionCount = 0;
  rwSessionCount = 0;

  constructor(pal: Pal, crypto: CryptoBackend, options: TokenOptions = {}) {
    this.crypto = crypto;
    this.#processKey = crypto.randomBytes(32);
    this.options = {
      pinIterations: options.pinIterations ?? DEFAULT_PIN_ITERATIONS,
      maxPinTries: options.maxPinTries ?? DEFAULT_MAX_TRIES,
      maxSessions: options.maxSessions ?? 1024,
    };
    const random = () => {
      const b = crypto.randomBytes(6);
      return (
        (b[0] as number) * 2 ** 40 + new DataView(b.buffer).getUint32(1) * 256 + (b[5] as number) ||
        1
      );
    };
    pal.initialize();
    this.#store = new ObjectStore(pal, random);
    this.#warn = options.warn ?? ((m: string) => process.stderr.write(`corepkcs11: ${m}\n`));
    const loaded = this.#store.load();
    for (const d of loaded.damaged) this.#warn(`damaged record ignored: ${d}`);
    this.#meta = (loaded.meta as TokenMeta | undefined) ?? {
      v: 1,
      label: '',
      serial: toHex(crypto.randomBytes(8)),
      initialized: false,
    };
    if (!loaded.meta) this.#saveMetaRecord(this.#meta);
    this.#merge(loaded.objects);
  }

  readonly #warn: (message: string) => void;
  /** Record checksums of the objects as last read, so a refresh only touches what changed. */
  readonly #checksums = new WeakMap<object, number>();

  /** Brings the in-memory objects in line with storage, keeping the instances that did not change. */
  #merge(stored: LoadResult['objects']): void {
    const seen = new Set<number>();
    for (const s of stored) {
      seen.add(s.id);
      const have = this.#objects.get(s.id);
      if (have && this.#checksums.get(have) === s.checksum) continue;
      if (have) this.#checksums.set(have, s.checksum);
      const attrs = new Map(s.attributes.map((a) => [a.type, a.value]));
      if (have) {
        const before = have.label;
        this.#unindex(have, before);
        have.attrs.clear();
        have.update(attrs);
        this.#index(have);
      } else {
        const obj = new TokenObject(attrs);
        obj.storageId = s.id;
        this.#checksums.set(obj, s.checksum);
        this.#index(obj);
      }
    }
    for (const obj of [...this.#objects.values()])
      if (!seen.has(obj.storageId as number)) this.#unindex(obj);
  }

  /**
   * Re-reads storage: objects and PIN state another process changed become visible. Called when an
   * application initializes (each RPC connection and each process does).
   */
  refresh(): void {
    const loaded = this.#store.load();
    for (const d of loaded.damaged) this.#warn(`damaged record ignored: ${d}`);
    if (loaded.meta) this.#setMeta(loaded.meta as TokenMeta);
    this.#merge(loaded.objects);
  }

  get label(): string {
    return this.#meta.label;
  }
  get serial(): string {
    return this.#meta.serial;
  }
  get initialized(): boolean {
    return this.#meta.initialized;
  }
  pinRecord(owner: PinOwner): PinRecord | undefined {
    return this.#meta[owner];
  }

  #index(obj: TokenObject): void {
    this.#objects.set(obj.storageId as number, obj);
    const label = obj.label;
    const set = this.#byLabel.get(label) ?? new Set<TokenObject>();
    this.#byLabel.set(label, set);
    set.add(obj);
  }

  #unindex(obj: TokenObject, label = obj.label): void {
    this.#objects.delete(obj.storageId as number);
    const set = this.#byLabel.get(label);
    set?.delete(obj);
    if (set?.size === 0) this.#byLabel.delete(label);
  }

  /** Token objects, narrowed by CKA_LABEL when the template has one. */
  candidates(template: AttributeMap): Iterable<TokenObject> {
    const label = readBytes(template, C.CKA_LABEL);
    if (label === undefined) return this.#objects.values();
    return this.#byLabel.get(fromUtf8(label)) ?? [];
  }

  hasObject(obj: TokenObject): boolean {
    return obj.storageId !== undefined && this.#objects.get(obj.storageId) === obj;
  }

  get objectCount(): number {
    return this.#objects.size;
  }

  addObject(obj: TokenObject): void {
    obj.storageId = this.#store.insert(obj.label, obj.isPrivate, toAttributes(obj.attrs));
    this.#index(obj);
  }

  /** Persists changed attributes (all or nothing: the in-memory object changes only after the write). */
  updateObject(obj: TokenObject, changes: AttributeMap): void {
    const next = new Map(obj.attrs);
    for (const [t, v] of changes) next.set(t, v);
    const oldLabel = obj.label;
    const probe = new TokenObject(next);
    this.#store.update(obj.storageId as number, probe.isPrivate, toAttributes(next));
    this.#unindex(obj, oldLabel);
    obj.update(changes);
    this.#index(obj);
  }

  removeObject(obj: TokenObject): void {
    this.#store.remove(obj.storageId as number);
    this.#unindex(obj);
  }

  /**
   * Changes the token record under the storage lock, starting from what is stored now, so that two
   * processes never undo each other's counter updates.
   */
  #mutateMeta(change: (current: TokenMeta) => TokenMeta): void {
    this.#store.exclusive(() => {
      const stored = this.#store.readMeta() as TokenMeta | undefined;
      if (stored) this.#setMeta(stored);
      const next = change(this.#meta);
      this.#saveMetaRecord(next);
      this.#setMeta(next);
    });
  }

  /**
   * A port with only the corePKCS11 fixed slots cannot hold the token record: the token then keeps its
   * state (label, PINs) in memory only, says so once, and still serves the objects in those slots.
   */
  #saveMetaRecord(meta: TokenMeta): void {
    try {
      this.#store.saveMeta(meta);
    } catch (e) {
      if (!isPkcs11Error(e, C.CKR_DEVICE_MEMORY)) throw e;
      if (!this.#volatileMeta)
        this.#warn(
          'the storage port cannot hold the token record: PINs and label are not persisted',
        );
      this.#volatileMeta = true;
    }
  }
  #volatileMeta = false;

  #setMeta(next: TokenMeta): void {
    // Any change of a PIN record (new PIN, reset) invalidates the remembered fingerprints.
    for (const owner of ['so', 'user'] as const) {
      if (next[owner]?.verifier !== this.#meta[owner]?.verifier) this.#recent.delete(owner);
    }
    this.#meta = next;
  }

  checkPinLength(pin: Uint8Array): void {
    if (pin.length < MIN_PIN_LENGTH || pin.length > MAX_PIN_LENGTH) {
      throw new Pkcs11Error(
        C.CKR_PIN_LEN_RANGE,
        `PIN length must be ${MIN_PIN_LENGTH}..${MAX_PIN_LENGTH}`,
      );
    }
  }

  /**
   * Starts a PIN check: refuses a missing or locked PIN, then durably spends one try (under the storage
   * lock, from the stored counter) before any comparison runs. Returns the record to compare against.
   */
  #spendTry(owner: PinOwner): PinRecord {
    let spent: PinRecord | undefined;
    this.#mutateMeta((meta) => {
      const rec = meta[owner];
      if (!rec || rec.triesLeft <= 0) return meta;
      spent = rec;
      return { ...meta, [owner]: { ...rec, triesLeft: rec.triesLeft - 1 } };
    });
    if (spent) return spent;
    if (!this.#meta[owner]) {
      throw new Pkcs11Error(
        C.CKR_USER_PIN_NOT_INITIALIZED,
        owner === 'user'
          ? 'the user PIN is not initialized (C_InitPIN)'
          : 'the token is not initialized (C_InitToken)',
      );
    }
    throw new Pkcs11Error(C.CKR_PIN_LOCKED, `the ${owner.toUpperCase()} PIN is locked`);
  }

  #settle(owner: PinOwner, rec: PinRecord, ok: boolean): void {
    if (!ok) throw new Pkcs11Error(C.CKR_PIN_INCORRECT);
    this.#mutateMeta((meta) => {
      const now = meta[owner];
      // Reset only the PIN that was checked: if it changed meanwhile, leave the new one alone.
      if (!now || now.verifier !== rec.verifier || now.triesLeft === now.maxTries) return meta;
      return { ...meta, [owner]: { ...now, triesLeft: now.maxTries } };
    });
  }

  /**
   * A keyed fingerprint of the last PIN that verified, per owner, so that logging in again with the same
   * PIN (every C_Initialize of a client does) does not rerun the slow KDF. Wrong PINs never take this path.
   */
  #fingerprint(pin: Uint8Array): Uint8Array {
    const h = this.crypto.createHmac('sha256', this.#processKey);
    h.update(pin);
    return h.finish();
  }
  readonly #processKey: Uint8Array;
  readonly #recent = new Map<PinOwner, Uint8Array>();

  #fastPath(owner: PinOwner, pin: Uint8Array): boolean {
    const known = this.#recent.get(owner);
    const rec = this.#meta[owner];
    if (!known || !rec || rec.triesLeft <= 0) return false;
    return this.crypto.timingSafeEqual(known, this.#fingerprint(pin));
  }

  verifyPin(owner: PinOwner, pin: Uint8Array): void {
    if (this.#fastPath(owner, pin)) return;
    const rec = this.#spendTry(owner);
    const ok =
      pin.length >= MIN_PIN_LENGTH &&
      pin.length <= MAX_PIN_LENGTH &&
      pinMatches(this.crypto, rec, pin);
    this.#settle(owner, rec, ok);
    this.#recent.set(owner, this.#fingerprint(pin));
  }

  async verifyPinAsync(owner: PinOwner, pin: Uint8Array): Promise<void> {
    if (this.#fastPath(owner, pin)) return;
    const rec = this.#spendTry(owner);
    const ok =
      pin.length >= MIN_PIN_LENGTH &&
      pin.length <= MAX_PIN_LENGTH &&
      (await pinMatchesAsync(this.crypto, rec, pin));
    this.#settle(owner, rec, ok);
    this.#recent.set(owner, this.#fingerprint(pin));
  }

  /** C_InitToken: (re)initializes the token, destroying every token object and the user PIN. */
  initToken(soPin: Uint8Array, label: string): void {
    this.checkPinLength(soPin);
    if (this.#meta.initialized && this.#meta.so) this.verifyPin('so', soPin);
    for (const obj of [...this.#objects.values()]) this.removeObject(obj);
    const so = makePinRecord(
      this.crypto,
      soPin,
      this.options.pinIterations,
      this.options.maxPinTries,
    );
    this.#mutateMeta((meta) => ({ v: 1, label, serial: meta.serial, initialized: true, so }));
  }

  /** C_InitPIN (by the SO): sets the user PIN and resets its counter. */
  initUserPin(pin: Uint8Array): void {
    this.checkPinLength(pin);
    const user = makePinRecord(
      this.crypto,
      pin,
      this.options.pinIterations,
      this.options.maxPinTries,
    );
    this.#mutateMeta((meta) => ({ ...meta, user }));
  }

  /** C_SetPIN: the owner proves the old PIN, then sets a new one. */
  changePin(owner: PinOwner, oldPin: Uint8Array, newPin: Uint8Array): void {
    this.checkPinLength(newPin);
    this.verifyPin(owner, oldPin);
    const rec = makePinRecord(
      this.crypto,
      newPin,
      this.options.pinIterations,
      this.options.maxPinTries,
    );
    this.#mutateMeta((meta) => ({ ...meta, [owner]: rec }));
  }

  close(): void {
    this.#store.close();
  }
}
