/**
 * What this process remembers about the PINs it checked, so that logging in again does not repeat the
 * slow derivation (issue 16 §1: 100 RPC clients logging in must not cost 100 × 0.2 s):
 * - a keyed verifier of the last PIN that verified, per owner: an HMAC under a key made at start and
 *   never stored, with the salt of the PIN record it verified against. Only the right PIN matches it, so
 *   a wrong one always takes the full, counted check;
 * - the derivations in flight: concurrent checks of one PIN against one record share one derivation
 *   (each then spends and checks on its own, token-record.ts).
 * Layer L5.
 * @module
 */
import type { CryptoBackend } from '../crypto/backend.js';
import { toHex } from '../util/bytes.js';
import type { PinOwner, PinRecord } from './pins.js';

interface Shared {
  promise: Promise<Uint8Array>;
  /** Checks still to take their copy; the last one wipes the shared key. */
  waiting: number;
}

export class PinMemory {
  readonly #crypto: CryptoBackend;
  readonly #key: Uint8Array;
  readonly #verified = new Map<PinOwner, { fingerprint: Uint8Array; salt: string }>();
  readonly #inFlight = new Map<string, Shared>();

  constructor(crypto: CryptoBackend) {
    this.#crypto = crypto;
    this.#key = crypto.randomBytes(32);
  }

  #fingerprint(pin: Uint8Array): Uint8Array {
    const h = this.#crypto.createHmac('sha256', this.#key);
    h.update(pin);
    return h.finish();
  }

  /** The salt of the PIN record `pin` verified against in this process, or undefined. */
  knownSalt(owner: PinOwner, pin: Uint8Array): string | undefined {
    const known = this.#verified.get(owner);
    if (!known) return undefined;
    return this.#crypto.timingSafeEqual(known.fingerprint, this.#fingerprint(pin))
      ? known.salt
      : undefined;
  }

  remember(owner: PinOwner, rec: PinRecord | undefined, pin: Uint8Array): void {
    this.#verified.set(owner, { fingerprint: this.#fingerprint(pin), salt: rec?.salt ?? '' });
  }

  forget(owner?: PinOwner): void {
    if (owner) this.#verified.delete(owner);
    else this.#verified.clear();
  }

  /**
   * The key `pin` derives for `rec`, through `derive` — or through the derivation another check of the
   * same PIN and record already runs. The caller gets a copy of its own (unwrapping wipes it).
   */
  async derive(
    owner: PinOwner,
    rec: PinRecord,
    pin: Uint8Array,
    derive: () => Promise<Uint8Array>,
  ): Promise<Uint8Array> {
    const id = `${owner}:${rec.salt}:${rec.iterations}:${toHex(this.#fingerprint(pin))}`;
    let shared = this.#inFlight.get(id);
    if (!shared) {
      const promise = derive();
      const entry: Shared = { promise, waiting: 0 };
      shared = entry;
      this.#inFlight.set(id, entry);
      // A later check derives afresh: keys are shared only while one derivation is running.
      const done = () => {
        if (this.#inFlight.get(id) === entry) this.#inFlight.delete(id);
      };
      promise.then(done, done);
    }
    shared.waiting++;
    try {
      const key = await shared.promise;
      const copy = new Uint8Array(key);
      if (--shared.waiting === 0) key.fill(0);
      return copy;
    } catch (e) {
      shared.waiting--;
      throw e;
    }
  }
}
