/**
 * The token record: label, serial, initialized flag and the two PIN records, kept in storage and changed
 * only under the storage lock from what is stored now (so processes never undo each other's try
 * counters). PIN checks spend a try durably before deriving, then unwrap the token key. Layer L5.
 * @module
 */
import type { CryptoBackend } from '../crypto/backend.js';
import { isPkcs11Error, Pkcs11Error } from '../errors.js';
import type { Profile } from '../objects/profile.js';
import * as C from '../pkcs11/constants.js';
import { toHex } from '../util/bytes.js';
import type { ObjectStore } from './object-store.js';
import {
  MAX_PIN_LENGTH,
  MIN_PIN_LENGTH,
  makePinRecord,
  type PinOwner,
  type PinRecord,
  TOKEN_KEY_LENGTH,
  unwrapTokenKey,
  unwrapTokenKeyAsync,
} from './pins.js';

export interface TokenMeta {
  v: 1;
  label: string;
  serial: string;
  initialized: boolean;
  /** Chosen at C_InitToken (objects/profile.ts); absent in records made before profiles existed. */
  profile?: Profile;
  so?: PinRecord;
  user?: PinRecord;
}

/** What C_InitToken records for a new token: the PIN policy and the profile. */
export interface PinPolicy {
  pinIterations: number;
  maxPinTries: number;
  profile: Profile;
}

export class TokenRecord {
  readonly #store: ObjectStore;
  readonly #crypto: CryptoBackend;
  readonly #warn: (m: string) => void;
  readonly #policy: PinPolicy;
  #meta: TokenMeta;
  #volatile = false;

  constructor(
    store: ObjectStore,
    crypto: CryptoBackend,
    policy: PinPolicy,
    warn: (m: string) => void,
    stored: unknown,
    { persistNew = true }: { persistNew?: boolean } = {},
  ) {
    this.#store = store;
    this.#crypto = crypto;
    this.#policy = policy;
    this.#warn = warn;
    this.#meta = (stored as TokenMeta | undefined) ?? {
      v: 1,
      label: '',
      serial: toHex(crypto.randomBytes(8)),
      initialized: false,
    };
    // A record lost to damage is not replaced by a fresh one: that would make the loss final.
    if (!stored && persistNew) this.#saveFirst(this.#meta);
  }

  get meta(): Readonly<TokenMeta> {
    return this.#meta;
  }

  /** Takes a newer record read by a refresh. */
  replace(stored: unknown): void {
    if (stored) this.#meta = stored as TokenMeta;
  }

  /** Re-reads the stored record: another process may have changed or locked a PIN. */
  reload(): void {
    this.replace(this.#store.readMeta());
  }

  /**
   * A port with only the corePKCS11 fixed slots cannot hold the token record: the token then keeps its
   * state (label, PINs) in memory only, says so once, and still serves the objects in those slots. That is
   * decided by the first save of a new token only: once a record is stored, a save that fails (a full
   * disk) fails the call, so no PIN try is ever checked without being counted in storage.
   */
  #saveFirst(meta: TokenMeta): void {
    try {
      this.#store.saveMeta(meta);
    } catch (e) {
      if (!isPkcs11Error(e, C.CKR_DEVICE_MEMORY)) throw e;
      this.#warn('the storage port cannot hold the token record: PINs and label are not persisted');
      this.#volatile = true;
    }
  }

  #save(meta: TokenMeta): void {
    if (!this.#volatile) this.#store.saveMeta(meta);
  }

  #mutate(change: (current: TokenMeta) => TokenMeta): void {
    this.#store.exclusive(() => {
      const stored = this.#store.readMeta() as TokenMeta | undefined;
      if (stored) this.#meta = stored;
      const next = change(this.#meta);
      this.#save(next);
      this.#meta = next;
    });
  }

  checkPinLength(pin: Uint8Array): void {
    if (pin.length < MIN_PIN_LENGTH || pin.length > MAX_PIN_LENGTH) {
      throw new Pkcs11Error(
        C.CKR_PIN_LEN_RANGE,
        `PIN length must be ${MIN_PIN_LENGTH}..${MAX_PIN_LENGTH}`,
      );
    }
  }

  /** Refuses a missing or locked PIN, then durably spends one try. Returns the record to check. */
  #spendTry(owner: PinOwner): PinRecord {
    let spent: PinRecord | undefined;
    this.#mutate((meta) => {
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

  #settle(owner: PinOwner, rec: PinRecord, key: Uint8Array | undefined): Uint8Array {
    if (!key) throw new Pkcs11Error(C.CKR_PIN_INCORRECT);
    this.restoreTries(owner, rec);
    return key;
  }

  /** After a successful check: the owner's counter goes back to the maximum (if that PIN is still current). */
  restoreTries(owner: PinOwner, rec: PinRecord): void {
    if (this.#meta[owner]?.triesLeft === rec.maxTries) return;
    this.#mutate((meta) => {
      const now = meta[owner];
      // Reset only the PIN that was checked: if it changed meanwhile, leave the new one alone.
      if (!now || now.salt !== rec.salt || now.triesLeft === now.maxTries) return meta;
      return { ...meta, [owner]: { ...now, triesLeft: now.maxTries } };
    });
  }

  #lengthOk(pin: Uint8Array): boolean {
    return pin.length >= MIN_PIN_LENGTH && pin.length <= MAX_PIN_LENGTH;
  }

  /** Checks a PIN (spending a try first) and returns the token key it unwraps. */
  verify(owner: PinOwner, pin: Uint8Array): Uint8Array {
    const rec = this.#spendTry(owner);
    const key = this.#lengthOk(pin) ? unwrapTokenKey(this.#crypto, owner, rec, pin) : undefined;
    return this.#settle(owner, rec, key);
  }

  async verifyAsync(owner: PinOwner, pin: Uint8Array): Promise<Uint8Array> {
    const rec = this.#spendTry(owner);
    const key = this.#lengthOk(pin)
      ? await unwrapTokenKeyAsync(this.#crypto, owner, rec, pin)
      : undefined;
    return this.#settle(owner, rec, key);
  }

  #pinRecord(owner: PinOwner, pin: Uint8Array, tokenKey: Uint8Array): PinRecord {
    return makePinRecord(
      this.#crypto,
      owner,
      pin,
      tokenKey,
      this.#policy.pinIterations,
      this.#policy.maxPinTries,
    );
  }

  /**
   * C_InitToken: a new token key, SO PIN and profile; the user PIN is gone. Returns the new token key.
   */
  initialize(soPin: Uint8Array, label: string): Uint8Array {
    const tokenKey = this.#crypto.randomBytes(TOKEN_KEY_LENGTH);
    const so = this.#pinRecord('so', soPin, tokenKey);
    const profile = this.#policy.profile;
    this.#mutate((meta) => ({ v: 1, label, serial: meta.serial, initialized: true, profile, so }));
    return tokenKey;
  }

  /** C_InitPIN / C_SetPIN: wraps the (unlocked) token key under a new PIN; objects are not re-encrypted. */
  setPin(owner: PinOwner, pin: Uint8Array, tokenKey: Uint8Array, toBeChanged = false): void {
    this.checkPinLength(pin);
    const rec = { ...this.#pinRecord(owner, pin, tokenKey), toBeChanged };
    this.#mutate((meta) => ({ ...meta, [owner]: rec }));
  }
}
