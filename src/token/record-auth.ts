/**
 * The MAC that authenticates every stored object (DESIGN §2.7, issue 16 #5): HMAC-SHA256 under a key
 * derived from the token key, over a record's whole signed part (identity, flags, every attribute,
 * sealed values included) and the PAL label it lives under (what the index entry naming it says), so
 * no attribute can be edited, no record moved to another object's place, and no record of another
 * token passed off, without the PIN. The index buckets' authenticated id sets (index-buckets.ts) are
 * tagged the same way. The key exists only while a PIN has unlocked the token key — which is why the PIN
 * try counters (pin-tries.ts) carry none: a try is read and spent before the PIN is checked. Layer L5.
 * @module
 */
import type { CryptoBackend } from '../crypto/backend.js';
import { fromHex, toHex, utf8 } from '../util/bytes.js';

const RECORD_DOMAIN = 'corepkcs11 record v2';
const BUCKET_DOMAIN = 'corepkcs11 index v2';

/** An authenticated id in an index bucket, and whether its object is private. */
export type AuthId = [id: number, isPrivate: 0 | 1];

function u32(n: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, n >>> 0);
  return out;
}

export class RecordSigner {
  readonly #crypto: CryptoBackend;
  #key: Uint8Array | undefined;

  constructor(crypto: CryptoBackend) {
    this.#crypto = crypto;
  }

  /** Derives the MAC key from the token key (a PIN has just unlocked it). */
  unlock(tokenKey: Uint8Array): void {
    this.#key?.fill(0);
    this.#key = this.#crypto.hkdf(tokenKey, new Uint8Array(0), utf8('corepkcs11 record mac'), 32);
  }

  lock(): void {
    this.#key?.fill(0);
    this.#key = undefined;
  }

  get unlocked(): boolean {
    return this.#key !== undefined;
  }

  #mac(domain: string, parts: Uint8Array[]): Uint8Array {
    if (!this.#key) throw new Error('record MAC key is locked');
    const h = this.#crypto.createHmac('sha256', this.#key);
    const name = utf8(domain);
    h.update(u32(name.length));
    h.update(name);
    for (const p of parts) {
      h.update(u32(p.length));
      h.update(p);
    }
    return h.finish();
  }

  /** The tag of a record's signed part stored under `palLabel`. */
  recordTag(palLabel: string, signed: Uint8Array): Uint8Array {
    return this.#mac(RECORD_DOMAIN, [utf8(palLabel), signed]);
  }

  recordValid(palLabel: string, signed: Uint8Array, tag: Uint8Array): boolean {
    return this.#crypto.timingSafeEqual(this.recordTag(palLabel, signed), tag);
  }

  /** The tag of bucket `b`'s authenticated id set (sorted by id). */
  bucketTag(b: number, ids: readonly AuthId[]): string {
    return toHex(this.#mac(BUCKET_DOMAIN, [u32(b), utf8(JSON.stringify(ids))]));
  }

  bucketValid(b: number, ids: readonly AuthId[], tag: string): boolean {
    if (!/^[0-9a-f]{64}$/.test(tag)) return false;
    return this.#crypto.timingSafeEqual(fromHex(this.bucketTag(b, ids)), fromHex(tag));
  }
}
