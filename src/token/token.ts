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
import { Pkcs11Error } from '../errors.js';
import { TokenObject } from '../objects/object.js';
import * as C from '../pkcs11/constants.js';
import type { RawAttribute } from '../pkcs11/types.js';
import type { Pal } from '../storage/pal.js';
import { fromUtf8, toHex } from '../util/bytes.js';
import { ObjectStore } from './object-store.js';
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
    const loaded = this.#store.load();
    const warn = options.warn ?? ((m: string) => process.stderr.write(`corepkcs11: ${m}\n`));
    for (const d of loaded.damaged) warn(`damaged record ignored: ${d}`);
    this.#meta = (loaded.meta as TokenMeta | undefined) ?? {
      v: 1,
      label: '',
      serial: toHex(crypto.randomBytes(8)),
      initialized: false,
    };
    if (!loaded.meta) this.#store.saveMeta(this.#meta);
    for (const s of loaded.objects) {
      const obj = new TokenObject(new Map(s.attributes.map((a) => [a.type, a.value])));
      obj.storageId = s.id;
      this.#index(obj);
    }
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

  #saveMeta(next: TokenMeta): void {
    this.#store.saveMeta(next);
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
   * Starts a PIN check: refuses a locked PIN, then durably spends one try before any comparison runs.
   * Returns the record to compare against.
   */
  #spendTry(owner: PinOwner): PinRecord {
    const rec = this.#meta[owner];
    if (!rec) {
      throw new Pkcs11Error(
        C.CKR_USER_PIN_NOT_INITIALIZED,
        owner === 'user'
          ? 'the user PIN is not initialized (C_InitPIN)'
          : 'the token is not initialized (C_InitToken)',
      );
    }
    if (rec.triesLeft <= 0)
      throw new Pkcs11Error(C.CKR_PIN_LOCKED, `the ${owner.toUpperCase()} PIN is locked`);
    this.#saveMeta({ ...this.#meta, [owner]: { ...rec, triesLeft: rec.triesLeft - 1 } });
    return rec;
  }

  #settle(owner: PinOwner, rec: PinRecord, ok: boolean): void {
    if (!ok) throw new Pkcs11Error(C.CKR_PIN_INCORRECT);
    const now = this.#meta[owner] as PinRecord;
    if (now.triesLeft !== rec.maxTries)
      this.#saveMeta({ ...this.#meta, [owner]: { ...now, triesLeft: rec.maxTries } });
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
    const next: TokenMeta = { v: 1, label, serial: this.#meta.serial, initialized: true, so };
    this.#saveMeta(next);
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
    this.#saveMeta({ ...this.#meta, user });
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
    this.#saveMeta({ ...this.#meta, [owner]: rec });
  }

  close(): void {
    this.#store.close();
  }
}
