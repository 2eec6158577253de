/**
 * Room kept back for the operations that free space (issue 16 §3): a `.reserve` file of RESERVE_BYTES in
 * the store. On a full file system, deleting an object must still rewrite its index bucket — the new file
 * is written before the old one goes — and a user told to free space with `delete` must be able to. The
 * store gives the reserve up only for a write that does not grow what it stores (a value replaced by one
 * no longer) or to take its lock, and takes it back as soon as there is room again (after that write,
 * after a delete, at a process's first write; opening a store to read it writes nothing). Writes that store more never touch it: they fail with
 * CKR_DEVICE_MEMORY, and the reserve stays for the delete that follows.
 * @module
 */
import { statSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { isPkcs11Error } from '../../errors.js';
import { CKR_DEVICE_MEMORY } from '../../pkcs11/constants.js';
import { writeFileAtomic } from './atomic-write.js';

export const RESERVE_NAME = '.reserve';
/** Covers an index bucket rewrite up to 64 KiB (about 1,800 objects in one bucket, 115,000 in all). */
export const RESERVE_BYTES = 64 * 1024;

export class SpaceReserve {
  readonly #path: string;
  readonly #dir: string;
  /** Whether the reserve is known to be missing (then taking it back is worth a try). */
  #missing = true;

  constructor(dir: string) {
    this.#dir = dir;
    this.#path = join(dir, RESERVE_NAME);
  }

  #tried = false;

  /** ensure, the first time only: a store a process writes to gets its reserve. */
  ensureOnce(): void {
    if (this.#tried) return;
    this.#tried = true;
    this.ensure();
  }

  /** Makes the reserve when it is missing and the file system has room for it; never fails. */
  ensure(): void {
    if (!this.#missing) return;
    try {
      if (statSync(this.#path).size === RESERVE_BYTES) {
        this.#missing = false;
        return;
      }
    } catch {
      // not there: made below
    }
    try {
      writeFileAtomic(this.#dir, RESERVE_NAME, new Uint8Array(RESERVE_BYTES));
      this.#missing = false;
    } catch {
      // no room (or no permission): the store works without it, and tries again later
    }
  }

  /** Gives the reserve up, freeing its space; true when there was one to give. */
  release(): boolean {
    try {
      unlinkSync(this.#path);
      return true;
    } catch {
      return false;
    } finally {
      this.#missing = true;
    }
  }

  /**
   * Runs `write`; if the file system is full, gives the reserve up and runs it again, then takes the
   * reserve back if the write left room. Only for writes that do not grow what the store holds.
   */
  spend<T>(write: () => T): T {
    try {
      return write();
    } catch (e) {
      if (!isPkcs11Error(e, CKR_DEVICE_MEMORY) || !this.release()) throw e;
    }
    const result = write();
    this.ensure();
    return result;
  }
}
