/**
 * The token record — label, serial, initialized flag and the two PIN records — and the PIN check. The
 * record is changed only under the storage lock from what is stored now, so processes never undo each
 * other's changes; the try counters live apart (pin-tries.ts).
 *
 * A PIN check (DESIGN §2.7, issue 16 §1) derives the PIN key first, outside any lock (the slow step,
 * about 0.2 s); then one short section under the store lock spends the try durably, checks, and on
 * success gives it back. A process killed during the derivation has spent nothing, and could not have
 * learned the answer; one killed after the spend has spent it. Concurrent checks of the right PIN never
 * see each other's spent tries, and wrong ones stop at exactly maxPinTries. Layer L5.
 * @module
 */
import type { CryptoBackend } from '../crypto/backend.js';
import { isPkcs11Error, Pkcs11Error } from '../errors.js';
import type { Profile } from '../objects/profile.js';
import * as C from '../pkcs11/constants.js';
import { toHex } from '../util/bytes.js';
import type { ObjectStore } from './object-store.js';
import type { PinTries } from './pin-tries.js';
import {
  MAX_PIN_LENGTH,
  MIN_PIN_LENGTH,
  makePinRecord,
  type PinOwner,
  type PinRecord,
  TOKEN_KEY_LENGTH,
  unwrapTokenKey,
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

/** settle's answer when the PIN was changed by another process during the derivation. */
export const STALE = 'stale';

export class TokenRecord {
  readonly #store: ObjectStore;
  readonly #crypto: CryptoBackend;
  readonly #tries: PinTries;
  readonly #warn: (m: string) => void;
  readonly #policy: PinPolicy;
  #meta: TokenMeta;
  #volatile = false;

  constructor(
    store: ObjectStore,
    crypto: CryptoBackend,
    tries: PinTries,
    policy: PinPolicy,
    warn: (m: string) => void,
    stored: unknown,
    { persistNew = true }: { persistNew?: boolean } = {},
  ) {
    this.#store = store;
    this.#crypto = crypto;
    this.#tries = tries;
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

  /** Tries left for `owner`'s PIN (0 when it has none). */
  triesLeft(owner: PinOwner): number {
    const rec = this.#meta[owner];
    return rec ? this.#tries.left(owner, rec) : 0;
  }

  /** Takes a newer record read by a refresh, and the counters as stored now. */
  replace(stored: unknown): void {
    if (stored) this.#meta = stored as TokenMeta;
    this.#tries.reload();
  }

  /** Re-reads the stored record and counters: another process may have changed or locked a PIN. */
  reload(): void {
    this.replace(this.#store.readMeta());
  }

  /**
   * A port with only the corePKCS11 fixed slots cannot hold the token record: the token then keeps its
   * state (label, PINs, try counters) in memory only, says so once, and still serves the objects in those
   * slots. That is decided by the first save of a new token only: once a record is stored, a save that
   * fails (a full disk) fails the call, so no PIN try is ever checked without being counted in storage.
   */
  #saveFirst(meta: TokenMeta): void {
    try {
      this.#store.saveMeta(meta);
    } catch (e) {
      if (!isPkcs11Error(e, C.CKR_DEVICE_MEMORY)) throw e;
      this.#warn('the storage port cannot hold the token record: PINs and label are not persisted');
      this.#volatile = true;
      this.#tries.volatile = true;
    }
  }

  /** Under the store lock: the record as stored now becomes ours (another process may have changed it). */
  #adoptStored(): void {
    const stored = this.#store.readMeta() as TokenMeta | undefined;
    if (stored) this.#meta = stored;
    this.#tries.reload();
  }

  #mutate(change: (current: TokenMeta) => TokenMeta): void {
    this.#store.exclusive(() => {
      this.#adoptStored();
      const next = change(this.#meta);
      if (!this.#volatile) this.#store.saveMeta(next);
      this.#meta = next;
    });
  }

  checkPinLength(pin: Uint8Array): void {
    if (!pinLengthOk(pin)) {
      throw new Pkcs11Error(
        C.CKR_PIN_LEN_RANGE,
        `PIN length must be ${MIN_PIN_LENGTH}..${MAX_PIN_LENGTH}`,
      );
    }
  }

  /**
   * The PIN record a check of `owner` starts from, as stored now; CKR_USER_PIN_NOT_INITIALIZED without
   * one, CKR_PIN_LOCKED without tries (before any derivation is paid for; settle checks again).
   */
  current(owner: PinOwner): PinRecord {
    this.reload();
    const rec = this.#meta[owner];
    if (!rec) throw notInitialized(owner);
    if (this.#tries.left(owner, rec) <= 0) throw locked(owner);
    return rec;
  }

  /**
   * The critical section of a PIN check, under the store lock: spends a try durably, checks `pinKey`
   * (derived for `rec`; undefined for a PIN of impossible length) and gives the try back when it is
   * right. Returns the token key, or STALE when `rec` is no longer the PIN's record (changed by another
   * process meanwhile) and no `rederive` was given to derive for the new one here.
   */
  settle(
    owner: PinOwner,
    rec: PinRecord,
    pinKey: Uint8Array | undefined,
    rederive?: (now: PinRecord) => Uint8Array,
  ): Uint8Array | typeof STALE {
    return this.#store.exclusive(() => {
      this.#adoptStored();
      const now = this.#meta[owner];
      let key = pinKey;
      if (!now) throw notInitialized(owner);
      if (now.salt !== rec.salt) {
        key?.fill(0);
        if (!rederive) return STALE;
        key = key && rederive(now);
      }
      const left = this.#tries.left(owner, now);
      if (left <= 0) {
        key?.fill(0);
        throw locked(owner);
      }
      this.#tries.set(owner, now, left - 1);
      const tokenKey = key && unwrapTokenKey(this.#crypto, owner, now, key);
      if (!tokenKey) throw new Pkcs11Error(C.CKR_PIN_INCORRECT);
      this.#tries.set(owner, now, now.maxTries);
      return tokenKey;
    });
  }

  /**
   * For a PIN this process verified before (salt `salt`), checked again without a derivation
   * (pin-memory.ts): true when that PIN record is still current and not locked, with every try given
   * back; false when the record changed (a full check is needed).
   */
  confirmKnown(owner: PinOwner, salt: string): boolean {
    this.reload();
    const rec = this.#meta[owner];
    if (rec?.salt !== salt || this.#tries.left(owner, rec) <= 0) return false;
    if (this.#tries.left(owner, rec) === rec.maxTries) return true;
    return this.#store.exclusive(() => {
      this.#adoptStored();
      const now = this.#meta[owner];
      if (now?.salt !== salt || this.#tries.left(owner, now) <= 0) return false;
      this.#tries.set(owner, now, now.maxTries);
      return true;
    });
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

  /** Writes both copies of the new PIN's counter, so that spending its tries needs no new storage. */
  #prepareTries(owner: PinOwner, rec: PinRecord): void {
    try {
      this.#tries.prepare(owner, rec);
    } catch (e) {
      // The PIN is set; without its own counter it starts from the record's full count, as it should.
      this.#warn(`PIN try counters not prepared: ${isPkcs11Error(e) ? e.detail : String(e)}`);
    }
  }

  /**
   * C_InitToken: a new token key, SO PIN and profile; the user PIN is gone. Returns the new token key.
   */
  initialize(soPin: Uint8Array, label: string): Uint8Array {
    const tokenKey = this.#crypto.randomBytes(TOKEN_KEY_LENGTH);
    const so = this.#pinRecord('so', soPin, tokenKey);
    const profile = this.#policy.profile;
    this.#store.exclusive(() => {
      this.#mutate((meta) => ({
        v: 1,
        label,
        serial: meta.serial,
        initialized: true,
        profile,
        so,
      }));
      this.#prepareTries('so', so);
    });
    return tokenKey;
  }

  /** C_InitPIN / C_SetPIN: wraps the (unlocked) token key under a new PIN; objects are not re-encrypted. */
  setPin(owner: PinOwner, pin: Uint8Array, tokenKey: Uint8Array, toBeChanged = false): void {
    this.checkPinLength(pin);
    const rec = { ...this.#pinRecord(owner, pin, tokenKey), toBeChanged };
    this.#store.exclusive(() => {
      this.#mutate((meta) => ({ ...meta, [owner]: rec }));
      this.#prepareTries(owner, rec);
    });
  }
}

export function pinLengthOk(pin: Uint8Array): boolean {
  return pin.length >= MIN_PIN_LENGTH && pin.length <= MAX_PIN_LENGTH;
}

function notInitialized(owner: PinOwner): Pkcs11Error {
  return new Pkcs11Error(
    C.CKR_USER_PIN_NOT_INITIALIZED,
    owner === 'user'
      ? 'the user PIN is not initialized (C_InitPIN)'
      : 'the token is not initialized (C_InitToken)',
  );
}

function locked(owner: PinOwner): Pkcs11Error {
  return new Pkcs11Error(C.CKR_PIN_LOCKED, `the ${owner.toUpperCase()} PIN is locked`);
}
