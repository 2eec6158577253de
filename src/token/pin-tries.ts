/**
 * The PIN try counters, stored apart from the token record so that spending a try writes 33 bytes in
 * place and needs no new storage: a full disk still counts every login (issue 16 §3). Two copies live
 * under their own PAL labels; each holds a sequence number, both owners' counters and a CRC-32, and a
 * write goes to the copy not holding the newest state, in place where the port can (Pal.overwrite). A
 * crash that tears a write leaves the other copy, one step older: a try being spent is then not spent
 * (the check it paid for never ran), one being given back stays spent. Both copies are made when a PIN
 * is set, so the in-place writes have their space from then on.
 *
 * A counter belongs to one PIN: it carries the first 8 bytes of that PIN's salt, so a new PIN starts
 * with every try without a write, and a counter left from the old one does not count. Where no counter
 * names the PIN (a store from before this module), the token record's own `triesLeft` is used.
 * These bytes cannot be authenticated (no key exists before a login); an attacker who can write the
 * store can reset them, but can also copy the store away and guess offline at the PBKDF2 cost, which the
 * counter never limited. Layer L5.
 * @module
 */
import { Pkcs11Error } from '../errors.js';
import { CKR_DEVICE_ERROR } from '../pkcs11/constants.js';
import { overwriteLabel, type Pal, readLabel } from '../storage/pal.js';
import { fromHex } from '../util/bytes.js';
import { crc32 } from '../util/crc32.js';
import type { PinOwner, PinRecord } from './pins.js';

export const TRIES_LABELS = ['corepkcs11.tries.0', 'corepkcs11.tries.1'] as const;
const MAGIC = 0x43504b54; // 'CPKT'
const VERSION = 1;
const TAG_BYTES = 8;
/** magic, version, sequence, (tag, tries left) for the SO and the user, CRC-32. */
const SIZE = 4 + 1 + 4 + 2 * (TAG_BYTES + 2) + 4;
const OWNERS: readonly PinOwner[] = ['so', 'user'];

interface Counter {
  tag: Uint8Array;
  left: number;
}

interface State {
  seq: number;
  counters: Record<PinOwner, Counter>;
}

const tagOf = (rec: PinRecord) => fromHex(rec.salt).subarray(0, TAG_BYTES);
const sameTag = (a: Uint8Array, b: Uint8Array) =>
  a.length === b.length && a.every((x, i) => x === b[i]);

function encode(state: State): Uint8Array {
  const out = new Uint8Array(SIZE);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, MAGIC);
  dv.setUint8(4, VERSION);
  dv.setUint32(5, state.seq);
  OWNERS.forEach((owner, i) => {
    const at = 9 + i * (TAG_BYTES + 2);
    out.set(state.counters[owner].tag.subarray(0, TAG_BYTES), at);
    dv.setUint16(at + TAG_BYTES, state.counters[owner].left);
  });
  dv.setUint32(SIZE - 4, crc32(out.subarray(0, SIZE - 4)));
  return out;
}

/** The state in `bytes`, or undefined when they are not a whole, intact copy. */
function decode(bytes: Uint8Array | undefined): State | undefined {
  if (bytes?.length !== SIZE) return undefined;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (dv.getUint32(0) !== MAGIC || dv.getUint8(4) !== VERSION) return undefined;
  if (dv.getUint32(SIZE - 4) !== crc32(bytes.subarray(0, SIZE - 4))) return undefined;
  const counter = (i: number): Counter => {
    const at = 9 + i * (TAG_BYTES + 2);
    return { tag: bytes.slice(at, at + TAG_BYTES), left: dv.getUint16(at + TAG_BYTES) };
  };
  return { seq: dv.getUint32(5), counters: { so: counter(0), user: counter(1) } };
}

const EMPTY: State = {
  seq: 0,
  counters: {
    so: { tag: new Uint8Array(TAG_BYTES), left: 0 },
    user: { tag: new Uint8Array(TAG_BYTES), left: 0 },
  },
};

export class PinTries {
  readonly #pal: Pal;
  readonly #warn: (m: string) => void;
  #state: State = EMPTY;
  /** The port cannot hold the counters (fixed corePKCS11 slots): they live in memory only. */
  volatile = false;

  constructor(pal: Pal, warn: (m: string) => void) {
    this.#pal = pal;
    this.#warn = warn;
    this.reload();
  }

  /** Reads both copies and keeps the newest intact one (another process may have written since). */
  reload(): void {
    if (this.volatile) return;
    const raw = TRIES_LABELS.map((label) => this.#readQuietly(label));
    const newest = raw
      .map(decode)
      .reduce<State | undefined>(
        (best, c) => (c && (!best || c.seq > best.seq) ? c : best),
        undefined,
      );
    if (!newest && raw.some((b) => b !== undefined)) {
      this.#warn('both copies of the PIN try counters are damaged: counting from the token record');
    }
    this.#state = newest ?? EMPTY;
  }

  #readQuietly(label: string): Uint8Array | undefined {
    try {
      return readLabel(this.#pal, label);
    } catch {
      return undefined; // unreadable is damaged: the other copy decides
    }
  }

  /** Tries left for `rec`, the current PIN of `owner`. */
  left(owner: PinOwner, rec: PinRecord): number {
    const c = this.#state.counters[owner];
    const left = sameTag(c.tag, tagOf(rec)) ? c.left : (rec.triesLeft ?? rec.maxTries);
    return Math.max(0, Math.min(left, rec.maxTries));
  }

  /**
   * Durably sets the tries left for `rec`. Call under the store lock, after reload: the other owner's
   * counter is carried over from what is stored.
   */
  set(owner: PinOwner, rec: PinRecord, left: number): void {
    const next: State = {
      seq: this.#state.seq + 1,
      counters: { ...this.#state.counters, [owner]: { tag: tagOf(rec), left } },
    };
    if (next.seq > 0xffffffff) throw new Pkcs11Error(CKR_DEVICE_ERROR, 'PIN try counter worn out');
    if (!this.volatile) {
      overwriteLabel(this.#pal, TRIES_LABELS[next.seq % 2] as string, encode(next), false);
    }
    this.#state = next;
  }

  /**
   * Makes both copies exist (with `rec`'s counter full), so later writes are in place: called when a PIN
   * is set, which writes to storage anyway.
   */
  prepare(owner: PinOwner, rec: PinRecord): void {
    this.set(owner, rec, rec.maxTries);
    if (!this.volatile) this.set(owner, rec, rec.maxTries);
  }
}
